"""Symptoms a patient reports at a check-in: a red flag (urgent referral at once) and a
stop symptom (no inversion until a clinician reviews it)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_change
from patients.models import Patient


@transaction.atomic
def patient_red_flag_report(*, patient: Patient, note: str, by, channel: str) -> bool:
    """A red-flag symptom reported outside an intake (a check-in): urgent referral at once.

    The patient stays in urgent referral until a clinician records a referral whose
    outcome excludes serious pathology (`referral_result_record`). Each report moves the
    time to now, so only a referral recorded after the latest red flag can clear it.
    True if newly set.
    """
    patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
    newly = patient.red_flag_reported_at is None
    patient.red_flag_reported_at = timezone.now()
    patient.red_flag_note = note if newly else f"{patient.red_flag_note}\n{note}".strip()
    patient.save(update_fields=["red_flag_reported_at", "red_flag_note", "updated_at"])
    audit_change(
        patient,
        "update",
        "Red flag reported: urgent referral required",
        by=by,
        channel=channel,
        changes={"red_flag": True},
    )
    return newly


@transaction.atomic
def patient_stop_symptom_report(*, patient: Patient, note: str, by, channel: str) -> bool:
    """A stop symptom reported at a check-in: inversion stops on every plan of the patient,
    the running one and any drafted later, until a clinician reviews it
    (`patient_stop_symptom_clear`). Each report moves the time to now. True if newly set."""
    patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
    newly = patient.stop_symptom_reported_at is None
    patient.stop_symptom_reported_at = timezone.now()
    patient.stop_symptom_note = note if newly else f"{patient.stop_symptom_note}\n{note}".strip()
    patient.save(update_fields=["stop_symptom_reported_at", "stop_symptom_note", "updated_at"])
    audit_change(
        patient,
        "update",
        "Stop symptom reported: inversion stopped until a clinician reviews it",
        by=by,
        channel=channel,
        changes={"stop_symptom": True},
    )
    return newly


@transaction.atomic
def patient_stop_symptom_clear(
    *, patient: Patient, by, reason: str, channel: str, request=None
) -> bool:
    """A clinician has reviewed the stop symptom (confirmed, with a reason). True if it stood."""
    patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
    if patient.stop_symptom_reported_at is None:
        return False
    reported_at = patient.stop_symptom_reported_at
    patient.stop_symptom_reported_at = None
    patient.save(update_fields=["stop_symptom_reported_at", "updated_at"])
    audit_change(
        patient,
        "update",
        f"Stop symptom reviewed: {reason}",
        by=by,
        channel=channel,
        changes={"stop_symptom": False, "reported_at": reported_at.isoformat()},
        request=request,
    )
    return True
