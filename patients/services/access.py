"""Who may decide what about a patient's screening, and whose answers wait for a clinician."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from clinic.models import Clinic, Membership, Role
from clinic.permissions import may_change_patient
from clinic.roles import role_of
from patients.models import Channel, Patient


def require_clinician(user, clinic: Clinic) -> None:
    """Only a clinician (or clinic administrator) of this clinic may decide on screening."""
    if user is not None and user.is_superuser:
        return
    try:
        membership = user.membership
    except (AttributeError, Membership.DoesNotExist):
        raise PermissionDenied("Only a clinician of this clinic can do this.") from None
    if membership.clinic_id != clinic.pk or membership.role not in (
        Role.CLINICIAN,
        Role.CLINIC_ADMIN,
    ):
        raise PermissionDenied("Only a clinician of this clinic can do this.")


def require_care_of(user, patient: Patient) -> None:
    """Decisions that lower a patient's screening (confirming, overriding, a referral's
    result) are the responsible clinician's or a clinic administrator's (`clinic.rules`)."""
    require_clinician(user, patient.clinic)
    if not may_change_patient(user, patient):
        raise PermissionDenied(
            "Only the patient's responsible clinician or a clinic administrator can decide this."
        )


def lowers_only_with_confirmation(*, by, channel: str, patient: Patient) -> bool:
    """Whose answers can't lower a screening at once: the patient's own, and a clinician's
    who isn't responsible for the patient (their intake waits for one who is)."""
    if patient_reported(by=by, channel=channel):
        return True
    return by is not None and not by.is_superuser and not may_change_patient(by, patient)


def patient_reported(*, by, channel: str) -> bool:
    """The patient's own answers: the portal, or a patient's account through any channel."""
    return channel == Channel.PORTAL or role_of(by) == Role.PATIENT
