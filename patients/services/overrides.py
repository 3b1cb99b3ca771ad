"""A clinician's inversion override of a review-required screening, and its revocation."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_change
from patients.models import Outcome, Patient, Screening, ScreeningOverride
from patients.services.access import require_care_of, require_clinician
from patients.services.patients import patient_local_date
from patients.services.signals import screening_changed


@transaction.atomic
def screening_override_record(
    *, screening: Screening, clinician, reason: str, channel: str, request=None
) -> ScreeningOverride:
    """Approve inversion for a review_required screening. Nothing else can be overridden."""
    screening = (
        Screening.objects.select_for_update().select_related("patient__clinic").get(pk=screening.pk)
    )
    require_care_of(clinician, screening.patient)
    if screening.outcome != Outcome.REVIEW_REQUIRED:
        outcome = screening.get_outcome_display().lower()
        raise ValidationError({"screening": f"A {outcome} screening can't be overridden."})
    if screening.patient.current_screening_id != screening.pk:
        raise ValidationError({"screening": "Only the current screening can be overridden."})
    if screening.is_expired(patient_local_date(screening.patient)):
        raise ValidationError({"screening": "This screening has expired: a new intake is needed."})
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give the clinical reason for the override."})
    existing = getattr(screening, "override", None)
    if existing is not None and existing.revoked_at is not None:
        raise ValidationError(
            {"screening": "This screening's override was revoked: a new intake is needed first."}
        )
    if existing is not None:
        raise ValidationError({"screening": "This screening already has an override."})
    override = ScreeningOverride.objects.create(
        screening=screening,
        screening_outcome=screening.outcome,
        reason=reason.strip(),
        clinician=clinician,
        expires_on=screening.valid_until,
    )
    audit_change(
        override,
        "create",
        "Inversion override recorded",
        by=clinician,
        channel=channel,
        clinic=screening.patient.clinic,
        patient_ids=[screening.patient_id],
        changes={"reason": override.reason, "expires_on": override.expires_on.isoformat()},
        request=request,
    )
    return override


@transaction.atomic
def screening_override_revoke(
    *, override: ScreeningOverride, by, reason: str, channel: str, request=None
) -> ScreeningOverride:
    """A clinician withdraws an inversion override, with the reason; inversion pauses
    (announced with `screening_changed`, answered by programmes in this transaction)."""
    patient_id = (
        ScreeningOverride.objects.filter(pk=override.pk)
        .values_list("screening__patient_id", flat=True)
        .get()
    )
    patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient_id)
    require_clinician(by, patient.clinic)
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give the clinical reason for revoking the override."})
    override = ScreeningOverride.objects.select_for_update().get(pk=override.pk)
    if override.revoked_at is not None:
        raise ValidationError({"override": "This override has already been revoked."})
    override.revoked_at = timezone.now()
    override.revoked_by = by
    override.revoke_reason = reason.strip()
    override.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_change(
        override,
        "update",
        "Inversion override revoked",
        by=by,
        channel=channel,
        clinic=patient.clinic,
        patient_ids=[patient.pk],
        changes={"revoked": True, "reason": override.revoke_reason},
        request=request,
    )
    screening_changed.send(
        sender=Screening,
        patient=patient,
        screening=patient.current_screening,
        reason="override_revoked",
        by=by,
        today=patient_local_date(patient),
    )
    return override
