"""Sign-ins in the audit trail: each success, failure and sign-out, with the address.

django-axes keeps its own AccessAttempt and AccessLog tables for lockout; these rows
put sign-ins beside the reads and changes a reviewer follows, under the account's clinic.
Connected by importing this module in `ClinicConfig.ready()`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from clinic.audit import audit_event
from clinic.models import AuditEvent, Membership

USERNAME_SHOWN = 150  # Django's user name length: a longer "name" is cut, never stored whole


def _clinic_id(user_id: int | None) -> int | None:
    if user_id is None:
        return None
    return Membership.objects.filter(user_id=user_id).values_list("clinic_id", flat=True).first()


def signin_record(request, user, *, how: str = "password") -> AuditEvent:
    """A successful sign-in (`how`: password, API token, ...)."""
    return audit_event(
        actor=user,
        action=AuditEvent.Action.LOGIN,
        object_type="auth.user",
        object_id=str(user.pk),
        clinic_id=_clinic_id(user.pk),
        summary=f"Signed in ({how}): {user.get_username()}",
        request=request,
    )


@receiver(user_logged_in, dispatch_uid="clinic.signin_audit.logged_in")
def _logged_in(sender, request, user, **kwargs) -> None:
    signin_record(request, user)


@receiver(user_logged_out, dispatch_uid="clinic.signin_audit.logged_out")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is None:
        return
    audit_event(
        actor=user,
        action=AuditEvent.Action.LOGOUT,
        object_type="auth.user",
        object_id=str(user.pk),
        clinic_id=_clinic_id(user.pk),
        summary=f"Signed out: {user.get_username()}",
        request=request,
    )


@receiver(user_login_failed, dispatch_uid="clinic.signin_audit.login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    """A wrong password or second-factor code; the name tried is kept, never the secret."""
    username = str((credentials or {}).get("username") or "")[:USERNAME_SHOWN]
    user_id = (
        get_user_model()
        .objects.filter(**{get_user_model().USERNAME_FIELD: username})
        .values_list("pk", flat=True)
        .first()
        if username
        else None
    )
    audit_event(
        actor=None,
        action=AuditEvent.Action.LOGIN_FAILED,
        object_type="auth.user",
        object_id="" if user_id is None else str(user_id),
        clinic_id=_clinic_id(user_id),
        summary=f"Sign-in failed: {username or '(no user name)'}"
        + ("" if user_id is not None else " (no such account)"),
        changes={"username": username},
        request=request,
    )
