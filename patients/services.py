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
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import django.dispatch
from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from clinic.audit import audit_record
from clinic.models import Clinic, Membership, Role
from patients.domain import gate
from patients.domain.answers import IntakeAnswers, answer_errors
from patients.domain.outcomes import score_odi
from patients.domain.screening import (
    DEFAULT_RULE_SET,
    TableLimits,
    intake_valid_until,
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
    )


def _screen_and_store(
    *, patient: Patient, intake: Intake, by, today: date, reason: str
) -> Screening:
    answers = answers_from_json(intake.answers)
    result = screen_intake(
        answers, rules=DEFAULT_RULE_SET, limits=table_limits_for(patient.clinic), today=today
    )
    screening = Screening.objects.create(
        patient=patient,
        intake=intake,
        outcome=result.outcome,
        findings=[
            {
                "code": finding.code,
                "tier": finding.tier,
                "evidence": finding.evidence,
                "clinician_message": finding.clinician_message,
                "patient_message": finding.patient_message,
            }
            for finding in result.findings
        ],
        rule_set_version=result.rule_set_version,
        screened_on=today,
        valid_until=intake_valid_until(intake.taken_on),
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
        summary=f"Screened: {screening.get_outcome_display()} (rules {screening.rule_set_version})",
        changes={"outcome": screening.outcome, "codes": [f["code"] for f in screening.findings]},
    )
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
    """Store a new intake (superseding the last) and screen it, all or nothing."""
    today = taken_on or timezone.localdate()
    errors = answer_errors(answers, today=today)
    if not 0 <= measurements.baseline_pain <= 10:
        errors["baseline_pain"] = "Pain is rated from 0 (none) to 10 (worst imaginable)."
    if measurements.bp_measured_at > timezone.now():
        errors["bp_measured_at"] = "The measurement time is in the future."
    try:
        odi = score_odi(list(measurements.odi_sections))
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
        odi_sections=list(measurements.odi_sections),
        odi_percent=Decimal(str(odi.percent)),
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
        summary=f"Intake {intake.number} recorded ({reason})",
        request=request,
    )
    _screen_and_store(patient=patient, intake=intake, by=by, today=today, reason=reason)
    return intake


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
    """A new condition, medication, pregnancy or surgery: re-screen at once (CLINICAL.md s.1)."""
    current = patient.intakes.order_by("-number").first()
    if current is None:
        raise ValidationError({"intake": "Complete the intake before sending a health update."})
    answers = health_update_answers(answers_from_json(current.answers), changes)
    today = timezone.localdate()
    answers = dataclasses.replace(answers, age_years=patient.age_on(today))
    return intake_submit(
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
        taken_on=today,
        reason="health_update",
        request=request,
    )


@transaction.atomic
def screening_override_record(
    *, screening: Screening, clinician, reason: str, channel: str, request=None
) -> ScreeningOverride:
    """Approve inversion for a review_required screening. Nothing else can be overridden."""
    screening = (
        Screening.objects.select_for_update().select_related("patient__clinic").get(pk=screening.pk)
    )
    _require_clinician(clinician, screening.patient.clinic)
    if screening.outcome != Outcome.REVIEW_REQUIRED:
        outcome = screening.get_outcome_display().lower()
        raise ValidationError({"screening": f"A {outcome} screening can't be overridden."})
    if screening.patient.current_screening_id != screening.pk:
        raise ValidationError({"screening": "Only the current screening can be overridden."})
    if screening.is_expired(timezone.localdate()):
        raise ValidationError({"screening": "This screening has expired: a new intake is needed."})
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give the clinical reason for the override."})
    if hasattr(screening, "override"):
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
def referral_record(
    *, screening: Screening, by, referred_to: str, referred_on: date, channel: str, request=None
) -> Referral:
    _require_clinician(by, screening.patient.clinic)
    if screening.outcome != Outcome.URGENT_REFERRAL:
        raise ValidationError({"screening": "Only an urgent-referral screening needs a referral."})
    if referred_on > timezone.localdate():
        raise ValidationError({"referred_on": "The referral date is in the future."})
    if not referred_to.strip():
        raise ValidationError({"referred_to": "Say where the patient was referred."})
    referral = Referral.objects.create(
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
        clinic=screening.patient.clinic,
        patient_id=screening.patient_id,
        summary=f"Urgent referral to {referral.referred_to}",
        request=request,
    )
    return referral


@transaction.atomic
def referral_result_record(
    *, referral: Referral, by, result: str, notes: str, channel: str, request=None
) -> Referral:
    referral = (
        Referral.objects.select_for_update()
        .select_related("screening__patient")
        .get(pk=referral.pk)
    )
    patient = referral.screening.patient
    _require_clinician(by, patient.clinic)
    if result not in (Referral.Result.PATHOLOGY_EXCLUDED, Referral.Result.SPECIALIST_CARE):
        raise ValidationError({"result": "Choose the result of the referral."})
    referral.result = result
    referral.result_notes = notes
    referral.result_recorded_on = timezone.localdate()
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
    return referral


def screening_status(patient: Patient) -> gate.ScreeningStatus:
    """The gate's view of a patient's current screening (reads override and referral)."""
    screening = patient.current_screening
    if screening is None:
        return gate.ScreeningStatus(outcome=None, valid_until=None)
    override = getattr(screening, "override", None)
    referral = getattr(screening, "referral", None)
    return gate.ScreeningStatus(
        outcome=screening.outcome,
        valid_until=screening.valid_until,
        override_until=override.expires_on if override else None,
        referral_cleared=bool(referral and referral.result == Referral.Result.PATHOLOGY_EXCLUDED),
    )


def treatment_permission(patient: Patient, *, today: date | None = None) -> gate.Permission:
    return gate.treatment_permission(screening_status(patient), today=today or timezone.localdate())


def screening_expiry_sweep(*, today: date) -> int:
    """Announce every current screening that lapsed, so inversion pauses. Safe to re-run."""
    lapsed = Patient.objects.filter(current_screening__valid_until__lt=today).select_related(
        "current_screening", "clinic"
    )
    count = 0
    for patient in lapsed.iterator(chunk_size=500):
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
