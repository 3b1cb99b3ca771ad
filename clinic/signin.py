"""Sign-in hardening: limits across accounts, rate-limited reset e-mails, session lifetime.

- Password spraying: django-axes locks one user name at one address after
  `AXES_FAILURE_LIMIT` failures. `SignInLimitsHandler` adds two limits that no
  spread of user names escapes: `SIGNIN_ADDRESS_FAILURE_LIMIT` failures from one
  address within the cool-off hour lock that address out for every account, and
  `SIGNIN_GLOBAL_FAILURE_LIMIT` failures across the service within
  `SIGNIN_GLOBAL_WINDOW_MINUTES` make every sign-in wait until the window has
  fewer. Both are counted by PostgreSQL from axes' own tables, and both apply
  wherever axes does: the sign-in pages, the admin, the code step and the API.
- Password reset: at most `PASSWORD_RESET_ADDRESS_LIMIT` requests per address
  (then 429) and `PASSWORD_RESET_ACCOUNT_LIMIT` e-mails per account (then silently
  none, so the page never tells whether an account exists) per window.
- Sessions: `SessionLifetimeMiddleware` signs a session out after an idle time and
  after an absolute lifetime, shorter for staff-side accounts than for patients.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt, AccessFailureLog
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.signals import user_logged_in
from django.db.models import Sum
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clinic.models import PasswordResetRequest

# Limits across accounts (password spraying).


def address_failures(ip_address: str | None, *, since) -> int:
    """Failed sign-ins from one address since `since`, whatever user names they gave."""
    if not ip_address:
        return 0
    total = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since).aggregate(
        failures=Sum("failures_since_start")
    )["failures"]
    return total or 0


def global_failures(*, since) -> int:
    """Failed sign-ins across the whole service since `since` (index: migration 0005)."""
    return AccessFailureLog.objects.filter(attempt_time__gte=since).count()


def over_limits_across_accounts(request: HttpRequest) -> bool:
    now = getattr(request, "axes_attempt_time", None) or timezone.now()
    address = getattr(request, "axes_ip_address", None)
    if address_failures(address, since=get_cool_off_threshold(request)) >= (
        settings.SIGNIN_ADDRESS_FAILURE_LIMIT
    ):
        return True
    window = timedelta(minutes=settings.SIGNIN_GLOBAL_WINDOW_MINUTES)
    return global_failures(since=now - window) >= settings.SIGNIN_GLOBAL_FAILURE_LIMIT


class SignInLimitsHandler(AxesDatabaseHandler):
    """django-axes' database handler, plus the per-address and global limits."""

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        return super().is_locked(request, credentials) or over_limits_across_accounts(request)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if over_limits_across_accounts(request):
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=(credentials or {}).get("username"),
                ip_address=request.axes_ip_address,
            )


# Password-reset e-mails.


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _reset_window_start():
    return timezone.now() - timedelta(minutes=settings.PASSWORD_RESET_WINDOW_MINUTES)


class RateLimitedPasswordResetForm(PasswordResetForm):
    """Django's reset form, sending an account at most its quota of e-mails per window."""

    def get_users(self, email: str):
        since = _reset_window_start()
        for user in super().get_users(email):
            sent = PasswordResetRequest.objects.filter(user=user, requested_at__gte=since).count()
            if sent >= settings.PASSWORD_RESET_ACCOUNT_LIMIT:
                continue
            PasswordResetRequest.objects.create(user=user, ip_address=self.ip_address)
            yield user


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset page, refusing an address that asked too often (429)."""

    form_class = RateLimitedPasswordResetForm

    def post(self, request, *args, **kwargs):
        address = _client_ip(request)
        asked = PasswordResetRequest.objects.filter(
            ip_address=address, user__isnull=True, requested_at__gte=_reset_window_start()
        ).count()
        if address and asked >= settings.PASSWORD_RESET_ADDRESS_LIMIT:
            return render(request, "registration/password_reset_limited.html", status=429)
        PasswordResetRequest.objects.create(ip_address=address)
        return super().post(request, *args, **kwargs)

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.ip_address = _client_ip(self.request)
        return form


# Session lifetime.

SIGNED_IN_AT = "inverto_signed_in_at"
LAST_SEEN = "inverto_last_seen"
# The last request is written to the session at most this often (one save a minute).
LAST_SEEN_EVERY = 60


def session_limits(user) -> tuple[int, int]:
    """(idle, absolute) lifetime in seconds for the account's side of the clinic."""
    if user.is_staff or user.is_superuser:
        return 60 * settings.SESSION_IDLE_MINUTES_STAFF, 3600 * settings.SESSION_MAX_HOURS_STAFF
    return 60 * settings.SESSION_IDLE_MINUTES_PATIENT, 3600 * settings.SESSION_MAX_HOURS_PATIENT


def _now() -> int:
    return int(timezone.now().timestamp())


@receiver(user_logged_in, dispatch_uid="clinic.signin.start_session_clock")
def start_session_clock(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = _now()
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN] = now


class SessionLifetimeMiddleware:
    """Sign out a session idle too long, or signed in too long ago; then the page asks
    for a sign-in as for anyone signed out. Goes after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:
            self._check(request, session)
        return self.get_response(request)

    @staticmethod
    def _check(request: HttpRequest, session) -> None:
        now = _now()
        signed_in_at, last_seen = session.get(SIGNED_IN_AT), session.get(LAST_SEEN)
        if not isinstance(signed_in_at, int) or not isinstance(last_seen, int):
            # A session from before these limits: its clock starts now.
            session[SIGNED_IN_AT] = session[LAST_SEEN] = now
            return
        if not request.user.is_authenticated:
            return
        idle, absolute = session_limits(request.user)
        if now - last_seen > idle or now - signed_in_at > absolute:
            logout(request)
            request.session_timed_out = True
        elif now - last_seen >= LAST_SEEN_EVERY:
            session[LAST_SEEN] = now
