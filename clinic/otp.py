"""The second factor (TOTP through django-otp): who needs it, and the gate that asks for it.

Staff, clinicians and clinic administrators (every `is_staff` account) always
need one; a patient needs one once they have turned it on. A password alone
then opens nothing but the code step, the authenticator set-up and sign-out:
`SecondFactorMiddleware` is that gate for every page (the admin, the staff
area and the portal) and for session-authenticated API calls. Token API
clients never carry a session, so the gate doesn't see them.

Lockout: a wrong code is a failed login to django-axes (same username and
address as the password), and axes only forgets failures once the whole
sign-in, code included, has succeeded (`AXES_RESET_ON_SUCCESS` is off and
`reset_failures_after_sign_in` does it), so signing in again with the password
can't buy more guesses at the code.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_session_hash
from axes.models import AccessLog
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django_otp import devices_for_user

# Pages a signed-in user without their second factor may still open.
OPEN_URL_NAMES = {
    "otp_verify",
    "otp_setup",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "invitation_accept",
    "livez",
    "healthz",
}


def has_confirmed_device(user) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def second_factor_required(user) -> bool:
    """Staff-side accounts always; a patient once they have confirmed an authenticator."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or has_confirmed_device(user)


def second_factor_missing(request: HttpRequest) -> bool:
    """Signed in with a password, but not (yet) with the second factor they need.

    A verified session costs no query; an unverified patient's costs one (do they
    have an authenticator?), asked afresh each time so that turning it on in one
    browser takes effect in every other session at once.
    """
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return False
    return second_factor_required(user)


def redirect_to_second_factor(request: HttpRequest) -> HttpResponse:
    next_path = request.get_full_path() if request.method == "GET" else "/"
    url = f"{reverse('otp_verify')}?{urlencode({'next': next_path})}"
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


class SecondFactorMiddleware:
    """Send a signed-in user who still owes their second factor to the code step.

    Goes after django-otp's OTPMiddleware (which sets `user.is_verified()`).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and match.url_name in OPEN_URL_NAMES:
            return None
        if not second_factor_missing(request):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": "Enter the code from your authenticator app first."}, status=403
            )
        return redirect_to_second_factor(request)


def cycle_session_after_second_factor(request: HttpRequest) -> None:
    """A new session key (and CSRF token) once the second factor is in, as Django does
    after the password: a key seen before the code step is worth nothing after it."""
    before = get_client_session_hash(request)
    request.session.cycle_key()
    rotate_token(request)
    # The sign-in record follows the session, so signing out still closes it.
    AccessLog.objects.filter(session_hash=before, logout_time__isnull=True).update(
        session_hash=get_client_session_hash(request)
    )


def lockout_credentials(user) -> dict[str, str]:
    return {"username": user.get_username()}


def is_locked_out(request: HttpRequest, user) -> bool:
    return AxesProxyHandler.is_locked(request, lockout_credentials(user))


def reset_failures_after_sign_in(request: HttpRequest, user) -> None:
    """Forget the user's failed attempts from this address: the sign-in is complete."""
    AxesProxyHandler.update_request(request)
    AxesProxyHandler.reset_attempts(
        username=user.get_username(), ip_address=request.axes_ip_address
    )


@receiver(user_logged_in, dispatch_uid="clinic.otp.reset_failures_without_second_factor")
def reset_failures_without_second_factor(sender, request, user, **kwargs) -> None:
    """A password sign-in is the whole sign-in for users without a second factor."""
    if request is None:
        return
    if user.is_staff or user.is_superuser or has_confirmed_device(user):
        return
    reset_failures_after_sign_in(request, user)


def second_factor_reset(*, membership, by, request: HttpRequest | None = None) -> int:
    """Remove a staff member's authenticators (a lost phone): they set up a new one at
    their next sign-in. Only a clinic administrator of that clinic; audited."""
    from django.core.exceptions import PermissionDenied
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinic.audit import audit_change
    from clinic.roles import actor_of
    from clinic.rules import second_factor_reset_refusal

    refusal = second_factor_reset_refusal(
        actor_of(by),
        target_role=membership.role,
        target_is_superuser=membership.user.is_superuser,
        target_clinic_id=membership.clinic_id,
    )
    if refusal:
        raise PermissionDenied(refusal)
    removed, _ = TOTPDevice.objects.filter(user_id=membership.user_id).delete()
    audit_change(
        membership,
        "update",
        f"Second factor reset for {membership.user}",
        by=by,
        channel="admin",
        request=request,
    )
    return removed
