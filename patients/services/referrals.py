"""Urgent referrals: the one a red flag demands (an urgent-referral screening's, or a
check-in's red flag), and what came of it."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.audit import audit_change
from patients.models import Outcome, Patient, Referral, Screening
from patients.services.access import require_care_of, require_clinician
from patients.services.patients import patient_local_date


def checkin_referral(patient: Patient) -> Referral | None:
    """The referral recorded for the patient's open check-in red flag, if any."""
    if patient.red_flag_reported_at is None:
        return None
    return (
        Referral.objects.filter(
            patient=patient,
            screening__isnull=True,
            created_at__gte=patient.red_flag_reported_at,
        )
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def referral_record(
    *,
    patient: Patient | None = None,
    screening: Screening | None = None,
    by,
    referred_to: str,
    referred_on: date,
    channel: str,
    request=None,
) -> Referral:
    """Record the urgent referral a red flag demands.

    With `screening`: the referral an urgent-referral screening demands. Without: the
    referral for a red flag the patient reported at a check-in
    (`Patient.red_flag_reported_at`). `patient` may be left out when `screening` names it.
    """
    if patient is None and screening is None:
        raise ValidationError({"patient": "Say whose referral this is."})
    patient_id = patient.pk if patient is not None else screening.patient_id
    patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient_id)
    require_clinician(by, patient.clinic)
    if screening is not None:
        screening = Screening.objects.get(pk=screening.pk)
        if screening.patient_id != patient.pk:
            raise ValidationError({"screening": "This screening is another patient's."})
        if screening.outcome != Outcome.URGENT_REFERRAL:
            raise ValidationError(
                {"screening": "Only an urgent-referral screening needs a referral."}
            )
        if Referral.objects.filter(screening=screening).exists():
            raise ValidationError(
                {"screening": "This screening's referral is already recorded: record its result."}
            )
    elif patient.red_flag_reported_at is None:
        raise ValidationError(
            {"patient": "No red flag is waiting for a referral for this patient."}
        )
    elif checkin_referral(patient) is not None:
        raise ValidationError(
            {"patient": "The referral for this red flag is already recorded: record its result."}
        )
    if referred_on > patient_local_date(patient):
        raise ValidationError({"referred_on": "The referral date is in the future."})
    if not referred_to.strip():
        raise ValidationError({"referred_to": "Say where the patient was referred."})
    referral = Referral.objects.create(
        patient=patient,
        screening=screening,
        referred_to=referred_to.strip(),
        referred_on=referred_on,
        recorded_by=by,
    )
    audit_change(
        referral,
        "create",
        f"Urgent referral to {referral.referred_to}"
        + ("" if screening is not None else " (red flag reported at a check-in)"),
        by=by,
        channel=channel,
        clinic=patient.clinic,
        request=request,
    )
    return referral


@transaction.atomic
def referral_result_record(
    *, referral: Referral, by, result: str, notes: str, channel: str, request=None
) -> Referral:
    """What came of a referral. Serious pathology excluded on a check-in red flag's
    referral clears the red flag; specialist care keeps it (no programme)."""
    patient_id = Referral.objects.filter(pk=referral.pk).values_list("patient_id", flat=True).get()
    patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient_id)
    require_care_of(by, patient)
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if result not in (Referral.Result.PATHOLOGY_EXCLUDED, Referral.Result.SPECIALIST_CARE):
        raise ValidationError({"result": "Choose the result of the referral."})
    referral.result = result
    referral.result_notes = notes
    referral.result_recorded_on = patient_local_date(patient)
    referral.save(update_fields=["result", "result_notes", "result_recorded_on"])
    audit_change(
        referral,
        "update",
        f"Referral result: {referral.get_result_display()}",
        by=by,
        channel=channel,
        clinic=patient.clinic,
        changes={"result": result},
        request=request,
    )
    answers_red_flag = (
        referral.screening_id is None
        and patient.red_flag_reported_at is not None
        and referral.created_at >= patient.red_flag_reported_at
    )
    if answers_red_flag and result == Referral.Result.PATHOLOGY_EXCLUDED:
        reported_at = patient.red_flag_reported_at
        patient.red_flag_reported_at = None
        patient.save(update_fields=["red_flag_reported_at", "updated_at"])
        audit_change(
            patient,
            "update",
            "Check-in red flag cleared: serious pathology excluded on referral",
            by=by,
            channel=channel,
            changes={"red_flag": False, "reported_at": reported_at.isoformat()},
            request=request,
        )
    return referral
