"""Portal invitations: a one-time link, 7 days, single use; only its hash is kept."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clinic.audit import audit_change
from clinic.models import Role
from patients.models import Channel, Invitation, Patient
from patients.services.access import require_clinician


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_send(*, patient: Patient, by, base_url: str, request=None) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link after commit. Returns it with the raw token."""
    require_clinician(by, patient.clinic)
    if patient.user_id is not None:
        raise ValidationError({"patient": "This patient already has a portal account."})
    if not patient.email:
        raise ValidationError({"email": "Add the patient's e-mail address first."})
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        patient=patient,
        token_hash=_token_hash(token),
        email=patient.email,
        created_by=by,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    link = f"{base_url.rstrip('/')}{reverse('invitation_accept', args=[token])}"
    audit_change(
        invitation,
        "create",
        "Portal invitation sent",
        by=by,
        channel=Channel.ADMIN,
        clinic=patient.clinic,
        request=request,
    )
    clinic_name = patient.clinic.name
    days = settings.INVITATION_VALID_DAYS

    def send() -> None:
        send_mail(
            subject=f"Your {clinic_name} patient portal",
            message=(
                f"Hello {patient.first_name},\n\n{clinic_name} has invited you to the patient "
                f"portal, where you will see your daily programme and check in after each "
                f"session.\n\nSet your password here (the link works once, for {days} days):\n"
                f"{link}\n"
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )

    transaction.on_commit(send)
    return invitation, token


def invitation_for_token(token: str) -> Invitation | None:
    """The open invitation for this token, or None if unknown, used or expired."""
    return (
        Invitation.objects.select_related("patient")
        .filter(token_hash=_token_hash(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


@transaction.atomic
def invitation_accept(*, token: str, password: str, request=None):
    """Create the patient's portal account from an open invitation; the link then dies."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("patient__clinic")
        .filter(token_hash=_token_hash(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if invitation is None:
        raise ValidationError({"token": "This invitation link has expired or was already used."})
    patient = invitation.patient
    if patient.user_id is not None:
        raise ValidationError({"token": "This patient already has a portal account."})
    username = invitation.email.lower()
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        username = f"{username}-{patient.pk}"
    user = user_model(
        username=username,
        email=invitation.email,
        first_name=patient.first_name,
        last_name=patient.last_name,
    )
    try:
        password_validation.validate_password(password, user)
    except ValidationError as weak:
        raise ValidationError({"password": weak.messages}) from None
    user.set_password(password)
    user.save()
    from clinic.roles import membership_grant

    membership_grant(user=user, clinic=patient.clinic, role=Role.PATIENT)
    patient.user = user
    patient.save(update_fields=["user", "updated_at"])
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    audit_change(
        invitation,
        "update",
        "Invitation accepted",
        by=user,
        channel=Channel.PORTAL,
        clinic=patient.clinic,
        request=request,
    )
    return user
