"""Intakes and health updates: a patient's answers and measurements, recorded and
screened at once, all or nothing (CLINICAL.md s.1)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_change
from patients.domain.answers import (
    IntakeAnswers,
    answer_errors,
    bp_measured_recently,
    bp_too_old_message,
)
from patients.domain.outcomes import ODI_SECTIONS, score_odi
from patients.domain.screening import intake_valid_until, questionnaire_required
from patients.models import Intake, Patient, Screening
from patients.services.answers import answers_from_json, answers_to_json, health_update_answers
from patients.services.patients import patient_local_date
from patients.services.screening import bp_remeasure_finding, screen_and_store

QUESTIONNAIRE_VERSION = "2026.1"


@dataclass(frozen=True)
class IntakeMeasurements:
    bp_measured_by: str
    bp_measured_at: datetime
    baseline_pain: int
    odi_sections: tuple[int | None, ...]


def _measurements_valid_until(patient: Patient, carried_from: Intake) -> date:
    """The validity of the intake whose measurements a health update reuses.

    A health update re-screens at once but does not renew the 90 days: the blood pressure
    and the rest of the answers it carries are no fresher than the last full intake.
    """
    measured = (
        patient.intakes.filter(reason="intake", number__lte=carried_from.number)
        .order_by("-number")
        .values_list("taken_on", flat=True)
        .first()
    )
    return intake_valid_until(measured or carried_from.taken_on)


@transaction.atomic
def intake_submit(
    *,
    patient: Patient,
    answers: IntakeAnswers,
    measurements: IntakeMeasurements,
    by,
    channel: str,
    taken_on: date | None = None,
    reason: str = "intake",
    request=None,
) -> Intake:
    """Store a new intake (superseding the last) and screen it, all or nothing.

    The blood pressure must have been measured within `BP_MAX_AGE_DAYS` of the intake
    day. One Oswestry section must be answered, unless the answers report a red flag.
    A patient's own answers (portal, or the API as the patient) never lower the screening
    at once: see `patient_screening_decision`.
    """
    return _intake_record(
        patient=patient,
        answers=answers,
        measurements=measurements,
        by=by,
        channel=channel,
        today=taken_on or patient_local_date(patient),
        reason=reason,
        request=request,
        carried_from=None,
    )


def _intake_record(
    *,
    patient: Patient,
    answers: IntakeAnswers,
    measurements: IntakeMeasurements,
    by,
    channel: str,
    today: date,
    reason: str,
    request,
    carried_from: Intake | None,
) -> Intake:
    """An intake, or (`carried_from`) a health update reusing that intake's measurements.

    A health update is never refused for its reused measurements (a patient reporting a
    pregnancy must be screened at once): an old blood pressure is flagged for
    re-measuring instead, and an unanswered questionnaire stays unanswered.
    """
    errors = answer_errors(answers, today=today)
    if not 0 <= measurements.baseline_pain <= 10:
        errors["baseline_pain"] = "Pain is rated from 0 (none) to 10 (worst imaginable)."
    measured_on = timezone.localtime(measurements.bp_measured_at, patient.zone).date()
    bp_old = not bp_measured_recently(measured_on, today=today)
    if measurements.bp_measured_at > timezone.now():
        errors["bp_measured_at"] = "The measurement time is in the future."
    elif bp_old and carried_from is None:
        errors["bp_measured_at"] = bp_too_old_message(measured_on)
    sections = list(measurements.odi_sections)
    odi = None
    unanswered = len(sections) == ODI_SECTIONS and all(score is None for score in sections)
    if unanswered and carried_from is None and questionnaire_required(answers, today=today):
        errors["odi_sections"] = "Answer at least one section of the Oswestry questionnaire."
    elif not unanswered:
        try:
            odi = score_odi(sections)
        except ValueError as error:
            errors["odi_sections"] = str(error)
    if errors:
        raise ValidationError(errors)

    # Lock the patient so two intakes submitted at once get distinct numbers.
    patient = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
    last_number = patient.intakes.order_by("-number").values_list("number", flat=True).first()
    intake = Intake.objects.create(
        patient=patient,
        number=(last_number or 0) + 1,
        questionnaire_version=QUESTIONNAIRE_VERSION,
        taken_on=today,
        answers=answers_to_json(answers),
        systolic_bp=answers.systolic_bp,
        diastolic_bp=answers.diastolic_bp,
        bp_measured_by=measurements.bp_measured_by,
        bp_measured_at=measurements.bp_measured_at,
        weight_kg=Decimal(str(answers.weight_kg)),
        height_cm=Decimal(str(answers.height_cm)),
        baseline_pain=measurements.baseline_pain,
        odi_sections=sections,
        odi_percent=Decimal(str(odi.percent)) if odi is not None else None,
        reason=reason,
        recorded_by=by if getattr(by, "is_authenticated", False) else None,
        channel=channel,
    )
    patient.weight_kg = intake.weight_kg
    patient.height_cm = intake.height_cm
    patient.save(update_fields=["weight_kg", "height_cm", "updated_at"])
    audit_change(
        intake,
        "create",
        f"Intake {intake.number} recorded ({reason})"
        + (", Oswestry not answered" if odi is None else ""),
        by=by,
        channel=channel,
        clinic=patient.clinic,
        request=request,
    )
    screen_and_store(
        patient=patient,
        intake=intake,
        by=by,
        channel=channel,
        today=today,
        reason=reason,
        extra_findings=(bp_remeasure_finding(intake, measured_on),) if bp_old else (),
        valid_until=_measurements_valid_until(patient, carried_from) if carried_from else None,
    )
    return intake


def intake_screening(intake: Intake) -> Screening | None:
    """The screening an intake produced (current, or awaiting confirmation)."""
    return intake.screenings.order_by("-created_at", "-pk").first()


@transaction.atomic
def patient_health_update(
    *, patient: Patient, changes: dict[str, Any], by, channel: str, request=None
) -> Intake:
    """A new condition, medication, pregnancy or surgery: re-screen at once (CLINICAL.md s.1).

    The last intake's measurements are reused. The update is accepted whatever their age
    (an old blood pressure is flagged in the findings for re-measuring), and its
    screening is valid no longer than that intake's. From the patient, it can make the
    screening stricter at once; anything less strict waits for a clinician.
    """
    current = patient.intakes.order_by("-number").first()
    if current is None:
        raise ValidationError({"intake": "Complete the intake before sending a health update."})
    answers = health_update_answers(answers_from_json(current.answers), changes)
    today = patient_local_date(patient)
    answers = dataclasses.replace(answers, age_years=patient.age_on(today))
    return _intake_record(
        patient=patient,
        answers=answers,
        measurements=IntakeMeasurements(
            bp_measured_by=current.bp_measured_by,
            bp_measured_at=current.bp_measured_at,
            baseline_pain=current.baseline_pain,
            odi_sections=tuple(current.odi_sections),
        ),
        by=by,
        channel=channel,
        today=today,
        reason="health_update",
        request=request,
        carried_from=current,
    )


def patient_rescreen(*, patient: Patient, by, channel: str, request=None) -> Intake | None:
    """The last intake's answers screened again with the patient's age today, as a
    health update changing nothing; None before any intake (nothing to screen)."""
    if not patient.intakes.exists():
        return None
    return patient_health_update(
        patient=patient, changes={}, by=by, channel=channel, request=request
    )
