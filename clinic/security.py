"""Security headers Django 5.2 doesn't send itself: a content security policy, a
permissions policy, and `no-store` on whatever a signed-in user is shown.

Django's SecurityMiddleware covers nosniff, referrer, COOP and HSTS; 5.2 has no
CSP support yet (it arrives in 6.0). A well-kept package would be one more
dependency for two header lines, so this small middleware sets them instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

logger = logging.getLogger(__name__)

# No inline script anywhere: every script is a static file, the portal's htmx
# runs with allowEval and allowScriptTags off. Styles allow 'unsafe-inline'
# because Django's admin writes a <style> block on change lists and style
# attributes on widgets; a style can't run code.
CSP_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


CONTENT_SECURITY_POLICY = "; ".join(f"{name} {sources}" for name, sources in CSP_DIRECTIVES.items())
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """Add the CSP and permissions policy to every response that has none of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


NO_STORE = "no-store, private"


class NoStoreMiddleware:
    """`Cache-Control: no-store, private` on every response to a signed-in user, so no
    browser or proxy keeps a copy of a patient's page or record.

    Signed in means a session user or, once DRF has authenticated a request, a token's
    user (DRF sets it on the Django request too); a request that sends credentials
    counts as well, whatever it was answered. Placed outside the authentication
    middleware, so static files, which never reach it, stay cacheable.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if getattr(user, "is_authenticated", False) or "HTTP_AUTHORIZATION" in request.META:
            cache_control = response.headers.get("Cache-Control", "")
            if "no-store" not in cache_control or "private" not in cache_control:
                response.headers["Cache-Control"] = NO_STORE
        return response


class NulBytesMiddleware:
    """400 for a NUL in the path or the query string. PostgreSQL refuses NUL in text, so
    one reaching a filter or a search would be a database error (500); no address or
    filter value of ours has one. Form and JSON fields refuse NUL themselves."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value
            for key, values in request.GET.lists()
            for value in values
        ):
            message = "A NUL character is not allowed in an address."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message, content_type="text/plain")
        return self.get_response(request)


class AdminChangelistQueryMiddleware:
    """400 when an admin change list can't apply its query string.

    Django's ChangeList lets some values escape as exceptions instead of its own
    "?e=1" page: a date-hierarchy year past 9998 or beyond a C long, a list filter of a
    library that passes its value to the ORM unchecked. This covers every admin, the
    libraries' included; the project's own filters ignore values they never offered
    (clinic.admin_scoping.OfferedChoiceFilter).
    """

    REFUSED = (ValueError, OverflowError, ValidationError, DataError)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        match = request.resolver_match
        if (
            match is None
            or match.namespace != "admin"
            or not (match.url_name or "").endswith("_changelist")
            or not isinstance(exception, self.REFUSED)
        ):
            return None
        logger.warning("Admin change list %s refused its query: %r", request.path, exception)
        return HttpResponseBadRequest(
            "The filters in this address can't be applied.", content_type="text/plain"
        )
