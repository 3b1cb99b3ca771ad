"""Screening an intake and what follows: storing it current or awaiting a clinician's
confirmation, confirming it, re-screening for new table limits, and its lapse.

Screening changes are announced with `screening_changed` inside the transaction, so the
programmes app can pause inversion atomically with the screening that forbids it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from clinic.audit import audit_change
from clinic.models import Clinic
from patients.domain import gate
from patients.domain.answers import BP_MAX_AGE_DAYS
from patients.domain.screening import (
    DEFAULT_RULE_SET,
    Decision,
    TableLimits,
    intake_valid_until,
    outcome_is_worse,
    patient_screening_decision,
    screen_intake,
)
from patients.models import Channel, Intake, Outcome, Patient, Referral, Screening
from patients.services.access import lowers_only_with_confirmation, require_care_of
from patients.services.answers import answers_from_json
from patients.services.patients import patient_local_date
from patients.services.signals import screening_awaiting_confirmation, screening_changed

# A finding the service adds to a health update's screening (not a rule: it never changes
# the outcome): the blood pressure it reuses was measured too long ago.
BP_REMEASURE = "bp_remeasure"


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


def bp_remeasure_finding(intake: Intake, measured_on: date) -> dict[str, str]:
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


def screen_and_store(
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
    audit_change(
        screening,
        "create",
        summary + (": awaiting a clinician's confirmation" if awaiting else ""),
        by=by,
        channel=Channel.SYSTEM,
        clinic=patient.clinic,
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
def screening_confirm(*, screening: Screening, by, channel: str, request=None) -> Screening:
    """A clinician confirms a patient's answers that lowered their screening: it becomes
    the current one. Only the patient's newest screening, unexpired, can be confirmed."""
    patient = (
        Patient.objects.select_for_update().select_related("clinic").get(pk=screening.patient_id)
    )
    require_care_of(by, patient)
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
    audit_change(
        screening,
        "update",
        f"Patient's answers confirmed: screening now {screening.get_outcome_display()}",
        by=by,
        channel=channel,
        clinic=patient.clinic,
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
        audit_change(
            screening,
            "create",
            f"Re-screened for table limits v{limits.version}: {screening.get_outcome_display()}",
            by=by,
            channel=Channel.SYSTEM,
            clinic=patient.clinic,
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
