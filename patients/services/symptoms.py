"""Symptoms a patient reports at a check-in: a red flag (urgent referral at once) and a
stop symptom (no inversion until a clinician reviews it)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_change
from patients.models import Patient

RED_FLAG_SUMMARY = "Red flag reported: urgent referral required"
STOP_SYMPTOM_SUMMARY = "Stop symptom reported: inversion stopped until a clinician reviews it"


def _symptom_report(
    *, patient: Patient, symptom: str, note: str, by, channel: str, summary: str
) -> bool:
    """Stand `symptom` ("red_flag", "stop_symptom") on the locked patient: its time moved
    to now, the note added to a standing one's. Audited; True if newly set."""
    patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
    return _symptom_stand(
        patient=patient, symptom=symptom, note=note, by=by, channel=channel, summary=summary
    )


def _symptom_stand(
    *, patient: Patient, symptom: str, note: str, by, channel: str, summary: str
) -> bool:
    reported_at, notes = f"{symptom}_reported_at", f"{symptom}_note"
    newly = getattr(patient, reported_at) is None
    setattr(patient, reported_at, timezone.now())
    setattr(patient, notes, note if newly else f"{getattr(patient, notes)}\n{note}".strip())
    patient.save(update_fields=[reported_at, notes, "updated_at"])
    audit_change(patient, "update", summary, by=by, channel=channel, changes={symptom: True})
    return newly


@transaction.atomic
def patient_red_flag_report(*, patient: Patient, note: str, by, channel: str) -> bool:
    """A red-flag symptom reported outside an intake (a check-in): urgent referral at once.

    The patient stays in urgent referral until a clinician records a referral whose
    outcome excludes serious pathology (`referral_result_record`). Each report moves the
    time to now, so only a referral recorded after the latest red flag can clear it.
    True if newly set.
    """
    return _symptom_report(
        patient=patient,
        symptom="red_flag",
        note=note,
        by=by,
        channel=channel,
        summary=RED_FLAG_SUMMARY,
    )


@transaction.atomic
def patient_stop_symptom_report(*, patient: Patient, note: str, by, channel: str) -> bool:
    """A stop symptom reported at a check-in: inversion stops on every plan of the patient,
    the running one and any drafted later, until a clinician reviews it
    (`patient_stop_symptom_clear`). Each report moves the time to now. True if newly set."""
    return _symptom_report(
        patient=patient,
        symptom="stop_symptom",
        note=note,
        by=by,
        channel=channel,
        summary=STOP_SYMPTOM_SUMMARY,
    )


def patient_checkin_symptoms_held(
    *, patient: Patient, stop_note: str, red_flag_note: str | None, by, channel: str
) -> None:
    """A check-in's stop symptom (and red flag, with `red_flag_note`), stood as
    `patient_red_flag_report` and `patient_stop_symptom_report` do, on a patient row the
    caller's transaction already holds: locked and loaded under the lock by
    `treatment_today(lock=True)`, as `checkin_submit` has it. No second read and no
    savepoint; `patient` is changed in place."""
    if red_flag_note is not None:
        _symptom_stand(
            patient=patient,
            symptom="red_flag",
            note=red_flag_note,
            by=by,
            channel=channel,
            summary=RED_FLAG_SUMMARY,
        )
    _symptom_stand(
        patient=patient,
        symptom="stop_symptom",
        note=stop_note,
        by=by,
        channel=channel,
        summary=STOP_SYMPTOM_SUMMARY,
    )


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
