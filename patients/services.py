"""State changes for patients: intake, screening, overrides, referrals, health updates.

Each service is one transaction. Screening changes are announced with the
`screening_changed` signal inside that transaction, so the programmes app can
pause inversion atomically with the screening that forbids it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import django.dispatch
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from clinic.audit import audit_record
from clinic.models import Clinic, Membership, Role
from clinic.permissions import may_change_patient, may_reassign_patient
from clinic.roles import role_of
from patients.domain import gate
from patients.domain.answers import (
    BP_MAX_AGE_DAYS,
    IntakeAnswers,
    answer_errors,
    bp_measured_recently,
    bp_too_old_message,
)
from patients.domain.outcomes import ODI_SECTIONS, score_odi
from patients.domain.screening import (
    DEFAULT_RULE_SET,
    Decision,
    TableLimits,
    intake_valid_until,
    outcome_is_worse,
    patient_screening_decision,
    questionnaire_required,
    screen_intake,
)
from patients.models import (
    Channel,
    Intake,
    Invitation,
    Outcome,
    Patient,
    Referral,
    Screening,
    ScreeningOverride,
)

QUESTIONNAIRE_VERSION = "2026.1"

# Sent inside the transaction whenever a patient's current screening changes or
# lapses: kwargs patient, screening (the new current one, or None), reason, by, today.
screening_changed = django.dispatch.Signal()

# Sent inside the transaction when a patient's own answers would lower their screening
# (patients escalate, clinicians clear): the new screening is stored awaiting a
# clinician's confirmation and the current one stays. kwargs: patient, screening (the
# one awaiting), current (the screening that stays current), by, today, message (for the
# clinician), dedupe_key (one alert per screening). programmes answers it with a
# CONFIRM_SCREENING alert.
screening_awaiting_confirmation = django.dispatch.Signal()

# Sent inside the transaction when a patient's time zone changes (their "today" moves):
# kwargs patient (saved, locked), previous (the zone before). programmes restarts the
# count of sessions at the current step from the new local date.
time_zone_changed = django.dispatch.Signal()

# A finding the service adds to a health update's screening (not a rule: it never changes
# the outcome): the blood pressure it reuses was measured too long ago.
BP_REMEASURE = "bp_remeasure"


@dataclass(frozen=True)
class IntakeMeasurements:
    bp_measured_by: str
    bp_measured_at: datetime
    baseline_pain: int
    odi_sections: tuple[int | None, ...]


def _require_clinician(user, clinic: Clinic) -> None:
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


def _require_care_of(user, patient: Patient) -> None:
    """Decisions that lower a patient's screening (confirming, overriding, a referral's
    result) are the responsible clinician's or a clinic administrator's (`clinic.rules`)."""
    _require_clinician(user, patient.clinic)
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


def patient_local_date(patient: Patient) -> date:
    """The patient's own local date: intakes, screenings and referrals are dated in it."""
    return timezone.localtime(timezone.now(), patient.zone).date()


def patient_reported(*, by, channel: str) -> bool:
    """The patient's own answers: the portal, or a patient's account through any channel."""
    return channel == Channel.PORTAL or role_of(by) == Role.PATIENT


def _answers_to_json(answers: IntakeAnswers) -> dict[str, Any]:
    data = dataclasses.asdict(answers)
    for key, value in data.items():
        if isinstance(value, date):
            data[key] = value.isoformat()
        elif isinstance(value, frozenset | set):
            data[key] = sorted(value)
    return data


def answers_from_json(data: dict[str, Any]) -> IntakeAnswers:
    values = dict(data)
    for field in dataclasses.fields(IntakeAnswers):
        value = values.get(field.name)
        if field.name.endswith("_date") and isinstance(value, str):
            values[field.name] = date.fromisoformat(value)
        elif field.name in ("conditions", "medications"):
            values[field.name] = frozenset(value or ())
    known = {field.name for field in dataclasses.fields(IntakeAnswers)}
    return IntakeAnswers(**{key: value for key, value in values.items() if key in known})


def table_limits_for(clinic: Clinic) -> TableLimits:
    return TableLimits(
        max_weight_kg=float(clinic.table_max_weight_kg),
        max_height_cm=float(clinic.table_max_height_cm),
        version=clinic.table_limits_version,
    )


def _clinical_codes(screening: Screening) -> frozenset[str]:
    """The codes of a screening's findings that count towards its outcome (not notes)."""
    return frozenset(f["code"] for f in screening.findings if f.get("tier") != Outcome.CLEARED)


def _finding_json(finding) -> dict[str, str]:
    return {
        "code": finding.code,
        "tier": finding.tier,
        "evidence": finding.evidence,
        "clinician_message": finding.clinician_message,
        "patient_message": finding.patient_message,
    }


def _bp_remeasure_finding(intake: Intake, measured_on: date) -> dict[str, str]:
    day = f"{measured_on.day} {measured_on:%b %Y}"
    return {
        "code": BP_REMEASURE,
        "tier": Outcome.CLEARED,  # a note: it never changes the outcome
        "evidence": f"Blood pressure {intake.systolic_bp}/{intake.diastolic_bp} mmHg measured "
        f"on {day}, more than {BP_MAX_AGE_DAYS} days before this update",
        "clinician_message": "This health update reuses the last intake's blood pressure, "
        f"measured more than {BP_MAX_AGE_DAYS} days ago: re-measure it and record a new "
        "intake.",
        "patient_message": f"Your blood pressure was last measured on {day}. Please ask the "
        "clinic to measure it again.",
    }


def _codes(findings) -> list[str]:
    return [finding["code"] for finding in findings]


def _awaiting_message(*, patient: Patient, screening: Screening, current: Screening, today):
    new = set(_codes(screening.findings))
    old = set(_codes(current.findings))
    change = (
        f"would renew the expired {current.get_outcome_display().lower()} screening"
        if current.is_expired(today) and not outcome_is_worse(current.outcome, screening.outcome)
        else f"would change the screening from {current.get_outcome_display().lower()} to "
        f"{screening.get_outcome_display().lower()}"
    )
    return (
        f"{patient.full_name}'s own answers (intake {screening.intake.number}) {change}. "
        "The current screening stays until a clinician confirms the new one. "
        f"New findings: {', '.join(sorted(new - old)) or 'none'}. "
        f"No longer reported: {', '.join(sorted(old - new)) or 'none'}."
    )


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


def _screen_and_store(
    *,
    patient: Patient,
    intake: Intake,
    by,
    channel: str,
    today: date,
    reason: str,
    extra_findings: tuple[dict[str, str], ...] = (),
    valid_until: date | None = None,
) -> Screening:
    """Screen an intake and store the screening: current at once, or (a patient's own
    answers that would lower it) awaiting a clinician's confirmation."""
    answers = answers_from_json(intake.answers)
    result = screen_intake(
        answers,
        rules=DEFAULT_RULE_SET,
        limits=table_limits_for(patient.clinic),
        today=today,
        emergency_number=patient.emergency_phone,
    )
    valid_until = min(valid_until or intake_valid_until(intake.taken_on), intake_valid_until(today))
    current = patient.current_screening
    decision = Decision.CURRENT
    if lowers_only_with_confirmation(by=by, channel=channel, patient=patient):
        decision = patient_screening_decision(
            new=result.outcome,
            current=current.outcome if current else None,
            current_valid_until=current.valid_until if current else None,
            today=today,
            dropped_findings=_clinical_codes(current) - {f.code for f in result.findings}
            if current
            else frozenset(),
        )
        if current is not None and not outcome_is_worse(result.outcome, current.outcome):
            # The patient's answers never extend what a clinician recorded.
            valid_until = min(valid_until, current.valid_until)
    awaiting = decision is Decision.AWAITS_CONFIRMATION
    screening = Screening.objects.create(
        patient=patient,
        intake=intake,
        outcome=result.outcome,
        findings=[_finding_json(finding) for finding in result.findings] + list(extra_findings),
        rule_set_version=result.rule_set_version,
        screened_on=today,
        valid_until=valid_until,
        awaiting_confirmation=awaiting,
    )
    summary = f"Screened: {screening.get_outcome_display()} (rules {screening.rule_set_version})"
    audit_record(
        actor=by,
        action="create",
        channel=Channel.SYSTEM,
        obj=screening,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary=summary + (": awaiting a clinician's confirmation" if awaiting else ""),
        changes={
            "outcome": screening.outcome,
            "codes": _codes(screening.findings),
            **({"awaiting_confirmation": True} if awaiting else {}),
        },
    )
    if awaiting:
        screening_awaiting_confirmation.send(
            sender=Screening,
            patient=patient,
            screening=screening,
            current=current,
            by=by,
            today=today,
            message=_awaiting_message(
                patient=patient, screening=screening, current=current, today=today
            ),
            dedupe_key=f"confirm-screening:{screening.pk}",
        )
        return screening
    patient.current_screening = screening
    patient.save(update_fields=["current_screening", "updated_at"])
    screening_changed.send(
        sender=Screening, patient=patient, screening=screening, reason=reason, by=by, today=today
    )
    return screening


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
        answers=_answers_to_json(answers),
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
    audit_record(
        actor=by,
        action="create",
        channel=channel,
        obj=intake,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary=f"Intake {intake.number} recorded ({reason})"
        + (", Oswestry not answered" if odi is None else ""),
        request=request,
    )
    _screen_and_store(
        patient=patient,
        intake=intake,
        by=by,
        channel=channel,
        today=today,
        reason=reason,
        extra_findings=(_bp_remeasure_finding(intake, measured_on),) if bp_old else (),
        valid_until=_measurements_valid_until(patient, carried_from) if carried_from else None,
    )
    return intake


def intake_screening(intake: Intake) -> Screening | None:
    """The screening an intake produced (current, or awaiting confirmation)."""
    return intake.screenings.order_by("-created_at", "-pk").first()


def health_update_answers(previous: IntakeAnswers, changes: dict[str, Any]) -> IntakeAnswers:
    """The previous answers with a patient's reported changes applied (lists only grow)."""
    values = dataclasses.asdict(previous)
    for key, value in changes.items():
        if key in ("conditions", "medications"):
            values[key] = frozenset(previous.__getattribute__(key)) | frozenset(value)
        else:
            values[key] = value
    values["conditions"] = frozenset(values["conditions"])
    values["medications"] = frozenset(values["medications"])
    return IntakeAnswers(**values)


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


@transaction.atomic
def screening_confirm(*, screening: Screening, by, channel: str, request=None) -> Screening:
    """A clinician confirms a patient's answers that lowered their screening: it becomes
    the current one. Only the patient's newest screening, unexpired, can be confirmed."""
    patient = (
        Patient.objects.select_for_update().select_related("clinic").get(pk=screening.patient_id)
    )
    _require_care_of(by, patient)
    screening = Screening.objects.select_for_update().get(pk=screening.pk)
    if not screening.awaiting_confirmation:
        raise ValidationError({"screening": "This screening is not awaiting confirmation."})
    newest = patient.screenings.order_by("-created_at", "-pk").values_list("pk", flat=True).first()
    if newest != screening.pk:
        raise ValidationError(
            {"screening": "A newer screening supersedes this one: it can't be confirmed."}
        )
    today = patient_local_date(patient)
    if screening.is_expired(today):
        raise ValidationError({"screening": "This screening has expired: a new intake is needed."})
    previous = patient.current_screening
    screening.awaiting_confirmation = False
    screening.confirmed_by = by
    screening.confirmed_at = timezone.now()
    screening.save(update_fields=["awaiting_confirmation", "confirmed_by", "confirmed_at"])
    patient.current_screening = screening
    patient.save(update_fields=["current_screening", "updated_at"])
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=screening,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary=f"Patient's answers confirmed: screening now {screening.get_outcome_display()}",
        changes={
            "outcome": screening.outcome,
            "previous_outcome": previous.outcome if previous else None,
            "confirmed": True,
        },
        request=request,
    )
    screening_changed.send(
        sender=Screening,
        patient=patient,
        screening=screening,
        reason="confirmed",
        by=by,
        today=today,
    )
    return screening


def rescreen_above_table_limits(sender, *, clinic: Clinic, limits, by, **_) -> int:
    """New, lower table limits: every patient of the clinic whose current intake is now
    above them is re-screened contraindicated at once (connected in PatientsConfig.ready).

    The intake is screened again as of the day it was first screened, so only the limits
    differ; only a stricter outcome is stored, valid as long as the one it replaces.
    Returns how many patients were re-screened.
    """
    candidates = (
        Patient.objects.filter(
            clinic=clinic,
            current_screening__outcome__in=[Outcome.CLEARED, Outcome.REVIEW_REQUIRED],
        )
        .filter(
            models.Q(current_screening__intake__weight_kg__gt=limits.max_weight_kg)
            | models.Q(current_screening__intake__height_cm__gt=limits.max_height_cm)
        )
        .values_list("pk", flat=True)
    )
    count = 0
    for patient_id in list(candidates):
        patient = (
            Patient.objects.select_for_update(of=("self",))
            .select_related("clinic", "current_screening__intake")
            .get(pk=patient_id)
        )
        current = patient.current_screening
        result = screen_intake(
            answers_from_json(current.intake.answers),
            rules=DEFAULT_RULE_SET,
            limits=table_limits_for(patient.clinic),
            today=current.screened_on,
            emergency_number=patient.emergency_phone,
        )
        if not outcome_is_worse(result.outcome, current.outcome):
            continue
        kept = [f for f in current.findings if f["code"] == BP_REMEASURE]
        screening = Screening.objects.create(
            patient=patient,
            intake=current.intake,
            outcome=result.outcome,
            findings=[_finding_json(finding) for finding in result.findings] + kept,
            rule_set_version=result.rule_set_version,
            screened_on=patient_local_date(patient),
            valid_until=current.valid_until,
        )
        patient.current_screening = screening
        patient.save(update_fields=["current_screening", "updated_at"])
        audit_record(
            actor=by,
            action="create",
            channel=Channel.SYSTEM,
            obj=screening,
            clinic=patient.clinic,
            patient_id=patient.pk,
            summary=f"Re-screened for table limits v{limits.version}: "
            f"{screening.get_outcome_display()}",
            changes={"outcome": screening.outcome, "codes": _codes(screening.findings)},
        )
        screening_changed.send(
            sender=Screening,
            patient=patient,
            screening=screening,
            reason="table_limits",
            by=by,
            today=screening.screened_on,
        )
        count += 1
    return count


def screening_awaiting(patient: Patient) -> Screening | None:
    """The patient's newest screening if it awaits a clinician's confirmation."""
    newest = patient.screenings.order_by("-created_at", "-pk").first()
    return newest if newest is not None and newest.awaiting_confirmation else None


@transaction.atomic
def screening_override_record(
    *, screening: Screening, clinician, reason: str, channel: str, request=None
) -> ScreeningOverride:
    """Approve inversion for a review_required screening. Nothing else can be overridden."""
    screening = (
        Screening.objects.select_for_update().select_related("patient__clinic").get(pk=screening.pk)
    )
    _require_care_of(clinician, screening.patient)
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
    audit_record(
        actor=clinician,
        action="create",
        channel=channel,
        obj=override,
        clinic=screening.patient.clinic,
        patient_id=screening.patient_id,
        summary="Inversion override recorded",
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
    _require_clinician(by, patient.clinic)
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give the clinical reason for revoking the override."})
    override = ScreeningOverride.objects.select_for_update().get(pk=override.pk)
    if override.revoked_at is not None:
        raise ValidationError({"override": "This override has already been revoked."})
    override.revoked_at = timezone.now()
    override.revoked_by = by
    override.revoke_reason = reason.strip()
    override.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=override,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary="Inversion override revoked",
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
    _require_clinician(by, patient.clinic)
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
    audit_record(
        actor=by,
        action="create",
        channel=channel,
        obj=referral,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary=f"Urgent referral to {referral.referred_to}"
        + ("" if screening is not None else " (red flag reported at a check-in)"),
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
    _require_care_of(by, patient)
    referral = Referral.objects.select_for_update().get(pk=referral.pk)
    if result not in (Referral.Result.PATHOLOGY_EXCLUDED, Referral.Result.SPECIALIST_CARE):
        raise ValidationError({"result": "Choose the result of the referral."})
    referral.result = result
    referral.result_notes = notes
    referral.result_recorded_on = patient_local_date(patient)
    referral.save(update_fields=["result", "result_notes", "result_recorded_on"])
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=referral,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary=f"Referral result: {referral.get_result_display()}",
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
        audit_record(
            actor=by,
            action="update",
            channel=channel,
            obj=patient,
            clinic=patient.clinic,
            patient_id=patient.pk,
            summary="Check-in red flag cleared: serious pathology excluded on referral",
            changes={"red_flag": False, "reported_at": reported_at.isoformat()},
            request=request,
        )
    return referral


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
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=patient,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary="Red flag reported: urgent referral required",
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
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=patient,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary="Stop symptom reported: inversion stopped until a clinician reviews it",
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
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=patient,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary=f"Stop symptom reviewed: {reason}",
        changes={"stop_symptom": False, "reported_at": reported_at.isoformat()},
        request=request,
    )
    return True


def screening_status(patient: Patient) -> gate.ScreeningStatus:
    """The gate's view of a patient's current screening (reads override and referral)."""
    screening = patient.current_screening
    if screening is None:
        return gate.ScreeningStatus(outcome=None, valid_until=None)
    if patient.red_flag_reported_at is not None:  # a check-in red flag: urgent until cleared
        return gate.ScreeningStatus(outcome=gate.URGENT_REFERRAL, valid_until=screening.valid_until)
    override = getattr(screening, "override", None)
    referral = getattr(screening, "referral", None)
    return gate.ScreeningStatus(
        outcome=screening.outcome,
        valid_until=screening.valid_until,
        override_until=override.expires_on
        if override is not None and override.revoked_at is None
        else None,
        referral_cleared=bool(referral and referral.result == Referral.Result.PATHOLOGY_EXCLUDED),
    )


def treatment_permission(patient: Patient, *, today: date | None = None) -> gate.Permission:
    return gate.treatment_permission(
        screening_status(patient), today=today or patient_local_date(patient)
    )


def screening_expiry_sweep(*, now: datetime | None = None) -> int:
    """Announce every current screening or override that lapsed in its patient's own
    date, so inversion pauses. Safe to re-run."""
    now = now or timezone.now()
    # No zone is more than a day from UTC: candidates first, each patient's date after.
    latest_today = now.astimezone(UTC).date() + timedelta(days=1)
    lapsed = Patient.objects.filter(current_screening__valid_until__lt=latest_today).select_related(
        "current_screening", "clinic"
    )
    count = 0
    for patient in lapsed.iterator(chunk_size=500):
        today = timezone.localtime(now, patient.zone).date()
        if today <= patient.current_screening.valid_until:
            continue
        with transaction.atomic():
            screening_changed.send(
                sender=Screening,
                patient=patient,
                screening=patient.current_screening,
                reason="expired",
                by=None,
                today=today,
            )
        count += 1
    return count


# Portal invitations: a one-time link, 7 days, single use; only its hash is kept.


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_send(*, patient: Patient, by, base_url: str, request=None) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link after commit. Returns it with the raw token."""
    _require_clinician(by, patient.clinic)
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
    audit_record(
        actor=by,
        action="create",
        channel=Channel.ADMIN,
        obj=invitation,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary="Portal invitation sent",
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
    audit_record(
        actor=user,
        action="update",
        channel=Channel.PORTAL,
        obj=invitation,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary="Invitation accepted",
        request=request,
    )
    return user


# Reminder settings (CLINICAL.md section 7), changed by the patient in the portal or the API.

REMINDER_SETTINGS = (
    "reminder_time",
    "time_zone",
    "remind_by_email",
    "remind_by_sms",
    "remind_in_portal",
    "reminders_opted_out",
)


@transaction.atomic
def patient_reminder_settings_update(
    *, patient: Patient, changes: dict[str, Any], by, channel: str, request=None
) -> Patient:
    """Change some of a patient's reminder settings, audited; an opt-out holds at once."""
    unknown = set(changes) - set(REMINDER_SETTINGS)
    if unknown:
        raise ValueError(f"Not reminder settings: {sorted(unknown)}")
    if changes.get("remind_by_sms") and not patient.phone:
        raise ValidationError(
            {"remind_by_sms": "There is no mobile number on file: ask the clinic to add one."}
        )
    locked = Patient.objects.select_for_update(of=("self",)).get(pk=patient.pk)
    previous = locked.time_zone
    for name, value in changes.items():
        setattr(patient, name, value)
        setattr(locked, name, value)
    # Only the settings are written, on the locked row: nothing else can be put back.
    locked.save(update_fields=[*changes, "updated_at"])
    if locked.time_zone != previous:
        time_zone_changed.send(sender=Patient, patient=locked, previous=previous)
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=patient,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary="Reminder settings changed",
        changes={name: str(value) for name, value in changes.items()},
        request=request,
    )
    return patient


# A patient's details, changed by a clinician in the admin or the API.

PATIENT_DETAILS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "email",
    "phone",
    "time_zone",
    "clinician",
    "emergency_number",
    *REMINDER_SETTINGS,
)
# Each is written by its own service only: intake and screening, a check-in's red flag,
# the measurements an intake records, the portal account an invitation creates.
PATIENT_RECORDED_ELSEWHERE = (
    "current_screening",
    "red_flag_reported_at",
    "red_flag_note",
    "stop_symptom_reported_at",
    "stop_symptom_note",
    "weight_kg",
    "height_cm",
    "user",
    "clinic",
)


def _detail_differs(patient: Patient, name: str, value) -> bool:
    if name == "clinician":
        return patient.clinician_id != getattr(value, "pk", value)
    return getattr(patient, name) != value


@transaction.atomic
def patient_update(
    *, patient: Patient, changes: dict[str, Any], by, channel: str, request=None
) -> Patient:
    """Change a patient's identity, contact, care or reminder details, audited.

    Locks the patient's row and writes only the fields whose value differs from it: the
    current screening, a red flag and an intake's measurements are never written here,
    so a save that overlaps a health update can't put back the screening it replaced.
    """
    refused = {
        name: "Recorded only through its own service (intake, screening, check-in, invitation)."
        if name in PATIENT_RECORDED_ELSEWHERE
        else "Not a detail of the patient that can be changed."
        for name in changes
        if name not in PATIENT_DETAILS
    }
    if refused:
        raise ValidationError(refused)
    fresh = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
    changed = {
        name: value for name, value in changes.items() if _detail_differs(fresh, name, value)
    }
    if not changed:
        return fresh
    if not may_change_patient(by, fresh):
        raise PermissionDenied(
            "Only the patient's responsible clinician or a clinic administrator can change "
            "this patient."
        )
    if "clinician" in changed and not may_reassign_patient(by, fresh):
        raise PermissionDenied(
            "Only a clinic administrator can name another responsible clinician."
        )
    previous_zone = fresh.time_zone
    errors: dict[str, str] = {}
    if "clinician" in changed:
        membership = getattr(changed["clinician"], "membership", None)
        if membership is None or (
            membership.clinic_id != fresh.clinic_id
            or membership.role not in (Role.CLINICIAN, Role.CLINIC_ADMIN)
        ):
            errors["clinician"] = "Choose a clinician of the patient's clinic."
    if (
        changed.get("date_of_birth") is not None
        and changed["date_of_birth"] >= timezone.localdate()
    ):
        errors["date_of_birth"] = "The date of birth must be in the past."
    sms = changed.get("remind_by_sms", fresh.remind_by_sms)
    phone = changed.get("phone", fresh.phone)
    if sms and not phone and {"remind_by_sms", "phone"} & set(changed):
        errors["remind_by_sms"] = "There is no mobile number on file for SMS reminders."
    before_clinician_id = fresh.clinician_id
    for name, value in changed.items():
        setattr(fresh, name, value)
    try:
        others = [f.name for f in Patient._meta.concrete_fields if f.name not in changed]
        fresh.clean_fields(exclude=others)
    except ValidationError as invalid:
        errors.update({name: " ".join(found) for name, found in invalid.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    fresh.save(update_fields=[*changed, "updated_at"])
    if "time_zone" in changed:
        time_zone_changed.send(sender=Patient, patient=fresh, previous=previous_zone)
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=fresh,
        clinic=fresh.clinic,
        patient_id=fresh.pk,
        summary=f"Patient details changed: {', '.join(changed)}",
        # Field names (and staff ids) only: the audit trail outlives an erasure, so it holds
        # no identity.
        changes={
            "fields": sorted(changed),
            **(
                {"clinician": [before_clinician_id, fresh.clinician_id]}
                if "clinician" in changed
                else {}
            ),
        },
        request=request,
    )
    return fresh
