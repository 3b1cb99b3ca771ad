"""API tokens: issued at each sign-in, expiring when idle, revoked when the account changes.

Only a token's SHA-256 digest is stored, so a copy of the database signs nobody in.
Each sign-in issues a new key and revokes the account's earlier ones (rotation); a
token unused for `API_TOKEN_IDLE_DAYS` or older than `API_TOKEN_MAX_AGE_DAYS` is
refused and marked expired. Every token of an account is revoked when its password
changes or is reset, its second factor is reset or changed, its role or clinic
changes, or it is deactivated: `tokens_revoke` is the one function all of them call.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from clinic.audit import audit_change
from clinic.models import ApiToken, AuditEvent, Membership

Reason = ApiToken.RevokeReason

# A token's last use is written at most this often: a request a minute is one UPDATE.
TOUCH_EVERY = timedelta(seconds=60)


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None if request is not None else None


def _limits() -> tuple[timedelta, timedelta]:
    return (
        timedelta(days=settings.API_TOKEN_IDLE_DAYS),
        timedelta(days=settings.API_TOKEN_MAX_AGE_DAYS),
    )


def token_expired(token: ApiToken, *, now) -> bool:
    idle, max_age = _limits()
    return now - token.last_used_at > idle or now - token.created_at > max_age


def _clinic_of_user_id(user_id: int):
    membership = Membership.objects.filter(user_id=user_id).select_related("clinic").first()
    return membership.clinic if membership else None


def tokens_revoke(
    *,
    user,
    reason: str,
    by=None,
    channel: str = AuditEvent.Channel.SYSTEM,
    request=None,
    tokens=None,
) -> int:
    """Revoke the account's live API tokens (or only `tokens`, a queryset of them).

    Returns how many were revoked; when any were, one audit row says why. Safe to call
    inside any transaction: it only updates rows.
    """
    live = (tokens if tokens is not None else ApiToken.objects.filter(user_id=user.pk)).filter(
        revoked_at__isnull=True
    )
    revoked = live.update(revoked_at=timezone.now(), revoked_reason=reason)
    if revoked and reason != Reason.ROTATED:
        audit_change(
            user,
            AuditEvent.Action.UPDATE,
            f"{revoked} API token(s) revoked: {Reason(reason).label.lower()}",
            by=by,
            channel=channel,
            clinic=_clinic_of_user_id(user.pk),
            changes={"tokens_revoked": revoked, "reason": reason},
            request=request,
        )
    return revoked


@transaction.atomic
def token_issue(*, user, request=None) -> str:
    """A new API token for `user`, replacing their earlier ones. Returns the key (shown once)."""
    tokens_revoke(user=user, reason=Reason.ROTATED)
    key = secrets.token_hex(20)
    now = timezone.now()
    ApiToken.objects.create(
        user=user,
        digest=token_digest(key),
        created_ip=_client_ip(request),
        last_used_at=now,
    )
    return key


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused once revoked, idle too long or too old.

    One query per request, as DRF's own, which brings the user's membership along (every
    view's role check reads it); the last use is written at most once a minute.
    """

    def authenticate_credentials(self, key: str):
        token = (
            ApiToken.objects.select_related("user__membership")
            .filter(digest=token_digest(key), revoked_at__isnull=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        if token_expired(token, now=now):
            tokens_revoke(
                user=token.user,
                reason=Reason.EXPIRED,
                tokens=ApiToken.objects.filter(pk=token.pk),
            )
            raise exceptions.AuthenticationFailed("Token expired: sign in again.")
        if now - token.last_used_at >= TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token


# What revokes every token of an account, whichever path made the change.


class RevokeApiTokensOnPasswordChange:
    """Not a rule about passwords: Django tells each password validator after a password
    is set and saved (`password_changed`), on every path — the change and reset pages,
    invitations, the admin, `changepassword`. That is the hook used here."""

    def validate(self, password: str, user=None) -> None:
        return None

    def password_changed(self, password: str, user=None) -> None:
        if user is not None and user.pk is not None:
            tokens_revoke(user=user, reason=Reason.PASSWORD_CHANGED)

    def get_help_text(self) -> str:
        return ""


@receiver(post_save, sender=get_user_model(), dispatch_uid="clinic.tokens.deactivated")
def revoke_tokens_of_deactivated_account(sender, instance, created, **kwargs) -> None:
    if not created and not instance.is_active:
        tokens_revoke(user=instance, reason=Reason.DEACTIVATED)


@receiver(post_save, sender=TOTPDevice, dispatch_uid="clinic.tokens.device_saved")
def revoke_tokens_when_second_factor_set_up(
    sender, instance, created, update_fields=None, **kwargs
) -> None:
    """A token got with the password alone must not outlive turning the second factor on.

    Only when the device becomes confirmed: created so, or saved naming `confirmed`
    (as the set-up page does); django-otp saves the device at every code it checks.
    """
    becomes_confirmed = created or (update_fields is not None and "confirmed" in update_fields)
    if instance.confirmed and becomes_confirmed:
        tokens_revoke(user=instance.user, reason=Reason.SECOND_FACTOR_CHANGED)


@receiver(post_delete, sender=TOTPDevice, dispatch_uid="clinic.tokens.device_deleted")
def revoke_tokens_when_second_factor_removed(sender, instance, **kwargs) -> None:
    """A reset (lost phone), a patient turning it off, or an administrator removing it."""
    if instance.confirmed:
        user_model = get_user_model()
        user = user_model.objects.filter(pk=instance.user_id).first()
        if user is not None:
            tokens_revoke(user=user, reason=Reason.SECOND_FACTOR_CHANGED)
