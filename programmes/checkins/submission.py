"""Check-ins: the patient's report of a session, and the safety stops it triggers.

`checkin_submit` is one transaction: the check-in is stored, a stop symptom
pauses inversion and raises a clinician alert, a mild symptom goes back one
step, all before the response is rendered. Follow-up work (progression for
automatic advance, alert e-mails) is enqueued on commit, so a rolled-back
check-in enqueues nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from clinic.audit import audit_batch, audit_change
from patients import services as patient_services
from patients.models import Patient
from programmes import services
from programmes.alerts import alert_raise
from programmes.domain.permission import PauseCause
from programmes.domain.progression import propose_progression
from programmes.domain.symptoms import (
    KNOWN_SYMPTOMS,
    SymptomAssessment,
    classify_symptoms,
    pain_needs_alert,
    symptom_labels,
)
from programmes.models import (
    CheckIn,
    ClinicianAlert,
    Plan,
    PlanExercise,
    PlanInversionStep,
)
from programmes.permission import TreatmentToday, treatment_today

MAX_INVERSION_SECONDS = 1200  # twice the longest allowed hold: anything more is a typo


@dataclass(frozen=True)
class CheckInInput:
    """A check-in as the interface read it; a field it could not read is None or empty."""

    idempotency_key: uuid.UUID | None
    completion: str | None
    inversion_angle_deg: int | None = None
    inversion_seconds: int | None = None
    exercise_ids: tuple[int, ...] = ()
    pain_before: int | None = None
    pain_after: int | None = None
    symptoms: tuple[str, ...] = ()
    note: str = ""
    local_date: date | None = None


@dataclass(frozen=True)
class CheckInResult:
    checkin: CheckIn | None  # None: a safety symptom acted on with no plan to store it in
    created: bool
    assessment: SymptomAssessment
    inversion_paused: bool
    went_back: bool
    refused: dict[str, str] = field(default_factory=dict)  # fields not kept, and why
    clinician_alerted: bool = False  # an alert was raised (or already stood) for this report
    plan: Plan | None = None  # the running plan as this check-in left it (paused, set back)


def checkin_errors(data: CheckInInput, *, today: date) -> dict[str, str]:
    """Shape and range checks shared by the portal form and the API."""
    errors: dict[str, str] = {}
    if data.completion not in CheckIn.Completion.values:
        errors["completion"] = "Say whether you did the session, partly or not at all."
    if data.inversion_angle_deg is not None and not 0 <= data.inversion_angle_deg <= 90:
        errors["inversion_angle_deg"] = (
            "The angle is between 0° (flat) and 90° (fully upside down)."
        )
    if (
        data.inversion_seconds is not None
        and not 0 <= data.inversion_seconds <= MAX_INVERSION_SECONDS
    ):
        errors["inversion_seconds"] = (
            "Time inverted is between 0 and 20 minutes (1200 seconds)."
            if data.inversion_seconds >= 0
            else "Time can't be negative."
        )
    for name in ("pain_before", "pain_after"):
        value = getattr(data, name)
        if value is not None and not 0 <= value <= 10:
            errors[name] = "Pain is rated from 0 (none) to 10 (worst imaginable)."
    unknown = sorted(set(data.symptoms) - KNOWN_SYMPTOMS)
    if unknown:
        errors["symptoms"] = f"Unknown symptom code(s): {', '.join(unknown)}."
    if data.local_date is not None and data.local_date > today:
        errors["local_date"] = "A check-in can't be for a day in the future."
    if data.local_date is not None and data.local_date < today - timedelta(days=7):
        errors["local_date"] = "Check-ins can be added for the last 7 days only."
    if len(data.note) > 2000:
        errors["note"] = "Keep the note under 2000 characters."
    return errors


def running_plan(patient: Patient) -> Plan | None:
    """The patient's running plan as today's permission sees it (for pages and answers)."""
    return treatment_today(patient.pk).plan


# One statement stores the check-in or finds its key taken: the unique constraint, not
# a read before the write, decides which request of a double submit stands.
_INSERT_CHECKIN = """
INSERT INTO programmes_checkin
    (plan_id, patient_id, clinic_id, idempotency_key, local_date, submitted_at, completion,
     step_id, inversion_angle_deg, inversion_seconds, pain_before, pain_after, symptoms, note)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT ON CONSTRAINT checkin_idempotency_unique DO NOTHING
RETURNING id
"""


INVERSION_NOT_PERMITTED = (
    "Inversion is not allowed at the moment: your clinician will review it. "
    "Check in without the inversion angle and time."
)
NO_PROGRAMME = "You have no programme to check in to yet."


def _first_checkin(patient: Patient, key: uuid.UUID | None) -> CheckInResult | None:
    """The check-in already stored under this key (a double submit or a retry), if any."""
    if key is None:
        return None
    existing = (
        CheckIn.objects.filter(patient=patient, idempotency_key=key).select_related("plan").first()
    )
    if existing is None:
        return None
    return _stored_result(existing, patient=patient, plan=existing.plan)


def _stored_result(existing: CheckIn, *, patient: Patient, plan: Plan | None) -> CheckInResult:
    """A check-in already stored under its key, answered as it was when stored: a stop
    symptom it carried was told to the clinician and paused inversion then, so a retry
    never answers "not told" or "not paused"."""
    assessment = classify_symptoms(existing.symptoms, patient.emergency_phone)
    paused = assessment.stop and plan is not None and plan.inversion_paused
    return CheckInResult(
        existing, False, assessment, paused, False, clinician_alerted=assessment.stop
    )


def _refusals(
    data: CheckInInput, now: TreatmentToday, refused: dict[str, str]
) -> tuple[dict[str, str], PlanInversionStep | None]:
    """Every field this check-in can't keep, and the inversion step it records (if any)."""
    errors = dict(refused)
    errors.update(
        {k: v for k, v in checkin_errors(data, today=now.today).items() if k not in errors}
    )
    plan = now.plan
    if plan is None:
        errors.setdefault("plan", NO_PROGRAMME)
        return errors, None
    chosen = set(data.exercise_ids)
    # Read only when some are named: a check-in without exercises costs no statement here.
    if chosen and plan.exercises.filter(pk__in=chosen).count() != len(chosen):
        errors.setdefault("exercise_ids", "Choose exercises from your own programme.")
    step = now.inversion_step
    if step is None and (
        data.inversion_angle_deg is not None or data.inversion_seconds is not None
    ):
        errors.setdefault("inversion_angle_deg", INVERSION_NOT_PERMITTED)
    return errors, step


def _safety_signal(data: CheckInInput, assessment: SymptomAssessment, errors: dict) -> bool:
    """What is acted on whatever else the check-in got wrong: a stop or mild symptom, or
    pain of 7 or more in an answer that could be read (the rest is refused field by field)."""
    pains = [
        value
        for name in ("pain_before", "pain_after")
        if name not in errors and isinstance(value := getattr(data, name), int) and 0 <= value <= 10
    ]
    return assessment.stop or assessment.mild or pain_needs_alert(*pains)


@transaction.atomic
def checkin_submit(
    *,
    patient: Patient,
    data: CheckInInput,
    channel: str,
    request=None,
    refused: dict[str, str] | None = None,
) -> CheckInResult:
    """Store a check-in once, and act on its symptoms in the same transaction.

    Symptoms come first (CLINICAL.md s.4): a stop symptom pauses inversion and alerts the
    clinician, a red flag also puts the patient in urgent referral, whatever else the
    check-in got wrong. `refused` names fields the interface could not read (their values
    are absent from `data`). Without a safety signal (a stop or mild symptom, pain of 7 or
    more), any refused field refuses the whole check-in (ValidationError, nothing stored).
    With one, the fields that are valid are stored with it and acted on, the rest are
    refused field by field, and the result carries them in `refused` for the interface.
    """
    # The patient row, then the plan row, locked and read once: every step below works on
    # these rows (the exercises are read only if the check-in names some).
    now = treatment_today(patient.pk, lock=True, exercises=False)
    patient, plan, today = now.patient, now.plan, now.today
    # Unknown codes are refused (checkin_errors), the known ones acted on.
    symptoms = tuple(sorted(set(data.symptoms) & KNOWN_SYMPTOMS))
    assessment = classify_symptoms(symptoms, patient.emergency_phone)
    errors, inversion_step = _refusals(data, now, refused or {})
    if errors:
        first = _first_checkin(patient, data.idempotency_key)
        if first is not None:  # a repeat: the first one stands, never at a new symptom's cost
            repeat = _repeat(
                first,
                patient=patient,
                plan=plan,
                assessment=assessment,
                by=getattr(request, "user", None),
                channel=channel,
            )
            return replace(repeat, plan=plan)
        if not _safety_signal(data, assessment, errors):
            raise ValidationError(errors)

    checkin = None
    if plan is not None:
        checkin = _store(
            patient=patient,
            plan=plan,
            data=data,
            errors=errors,
            step=inversion_step,
            today=today,
        )
        if checkin is None:  # the key was seen (a repeat, or it raced in): that one stands
            existing = CheckIn.objects.get(patient=patient, idempotency_key=data.idempotency_key)
            repeat = _repeat(
                _stored_result(existing, patient=patient, plan=plan),
                patient=patient,
                plan=plan,
                assessment=assessment,
                by=getattr(request, "user", None),
                channel=channel,
            )
            return replace(repeat, plan=plan)

    paused = went_back = told = False
    # The check-in's audit row and a stop symptom's go in as one INSERT: nothing in here
    # is caught and carried on from, so no row can outlive a change rolled back.
    with audit_batch():
        if checkin is not None:
            audit_change(
                checkin,
                "create",
                f"Check-in {checkin.local_date}"
                + (f" (refused: {', '.join(sorted(errors))})" if errors else ""),
                by=getattr(request, "user", None),
                channel=channel,
                request=request,
            )
        if assessment.stop:
            paused, told = _act_on_stop(
                patient=patient,
                plan=plan,
                assessment=assessment,
                day=checkin.local_date if checkin else today,
                key=data.idempotency_key,
                by=getattr(request, "user", None),
                channel=channel,
            )
    if not assessment.stop and assessment.mild and inversion_step is not None:
        went_back = _apply_mild_symptom_rule(plan, today=checkin.local_date)
        if went_back:  # set back on a row of its own: read the step it left
            plan.refresh_from_db()
    if checkin is not None and pain_needs_alert(checkin.pain_before, checkin.pain_after):
        worst_pain = max(p for p in (checkin.pain_before, checkin.pain_after) if p is not None)
        told = (
            alert_raise(
                patient=patient,
                plan=plan,
                kind=ClinicianAlert.Kind.HIGH_PAIN,
                message=f"Pain {worst_pain}/10 reported on {checkin.local_date}.",
                dedupe_key=f"pain:{patient.pk}:{checkin.local_date}",
            )
            or told
        )
    # Progression runs only where inversion may go on today.
    if (
        plan is not None
        and plan.auto_advance
        and not assessment.stop
        and inversion_step is not None
    ):
        from programmes.tasks import progression_evaluate

        plan_id = plan.pk
        transaction.on_commit(lambda: progression_evaluate.delay(plan_id))
    return CheckInResult(
        checkin,
        checkin is not None,
        assessment,
        paused,
        went_back,
        refused=errors,
        clinician_alerted=told or assessment.stop,
        plan=plan,
    )


def _repeat(
    first: CheckInResult,
    *,
    patient: Patient,
    plan: Plan | None,
    assessment: SymptomAssessment,
    by,
    channel: str,
) -> CheckInResult:
    """A key seen before: the first check-in stands, but a stop symptom it did not carry
    is added to it and acted on now (a retry must never lose chest pain)."""
    stored = first.checkin
    new_codes = set(assessment.stop_codes) - set(stored.symptoms)
    if not new_codes:
        return first
    stored.symptoms = sorted(set(stored.symptoms) | set(assessment.stop_codes))
    stored.save(update_fields=["symptoms"])
    with audit_batch():
        paused, _ = _act_on_stop(
            patient=patient,
            plan=plan,
            assessment=classify_symptoms(new_codes, patient.emergency_phone),
            day=stored.local_date,
            key=f"{stored.idempotency_key}:{','.join(sorted(new_codes))}",
            by=by,
            channel=channel,
        )
    return CheckInResult(
        stored,
        False,
        classify_symptoms(stored.symptoms, patient.emergency_phone),
        paused,
        False,
        clinician_alerted=True,
    )


def _store(
    *,
    patient: Patient,
    plan: Plan,
    data: CheckInInput,
    errors: dict[str, str],
    step: PlanInversionStep | None,
    today: date,
) -> CheckIn | None:
    """Insert the check-in with its valid fields (a refused one is left empty). None: the
    idempotency key was taken meanwhile."""

    def kept(name: str, value):
        return None if name in errors else value

    # A session not done has no angle or time, whatever a form pre-filled or a client sent.
    inverted = (
        step is not None
        and "inversion_angle_deg" not in errors
        and data.completion != CheckIn.Completion.NOT_DONE
    )
    exercise_ids = [] if "exercise_ids" in errors else sorted(set(data.exercise_ids))
    checkin = CheckIn(
        plan=plan,
        patient=patient,
        clinic_id=patient.clinic_id,
        idempotency_key=data.idempotency_key
        if data.idempotency_key is not None and "idempotency_key" not in errors
        else uuid.uuid4(),
        local_date=kept("local_date", data.local_date) or today,
        submitted_at=timezone.now(),
        completion=kept("completion", data.completion) or "",
        step=step,
        inversion_angle_deg=kept("inversion_angle_deg", data.inversion_angle_deg)
        if inverted
        else None,
        inversion_seconds=kept("inversion_seconds", data.inversion_seconds) if inverted else None,
        pain_before=kept("pain_before", data.pain_before),
        pain_after=kept("pain_after", data.pain_after),
        symptoms=sorted(set(data.symptoms) & KNOWN_SYMPTOMS),
        note=(kept("note", data.note) or "").strip(),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_CHECKIN,
            [
                plan.pk,
                patient.pk,
                checkin.clinic_id,
                checkin.idempotency_key,
                checkin.local_date,
                checkin.submitted_at,
                checkin.completion,
                checkin.step_id,
                checkin.inversion_angle_deg,
                checkin.inversion_seconds,
                checkin.pain_before,
                checkin.pain_after,
                checkin.symptoms,
                checkin.note,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    checkin.pk = row[0]
    checkin._state.adding = False
    checkin._state.db = connection.alias
    _exercises_done_store(checkin, exercise_ids)
    return checkin


def _act_on_stop(
    *,
    patient: Patient,
    plan: Plan | None,
    assessment: SymptomAssessment,
    day: date,
    key: uuid.UUID | str | None,
    by,
    channel: str,
) -> tuple[bool, bool]:
    """Pause inversion, record a red flag, tell the clinician. (paused, alerted).

    `patient` and `plan` are the rows `checkin_submit` holds locked, loaded under the lock:
    they are changed in place, with no second read and no savepoint."""
    symptoms = symptom_labels(assessment.stop_codes)
    reason = f"Stop symptom reported on {day}: {symptoms}."
    # On the patient, whatever plan there is: a plan drafted or activated later starts
    # with inversion paused until a clinician has reviewed it.
    patient_services.patient_checkin_symptoms_held(
        patient=patient,
        stop_note=reason,
        red_flag_note=(
            f"Red-flag symptom reported at a check-in on {day}: "
            f"{symptom_labels(assessment.red_flag_codes)}."
        )
        if assessment.red_flag
        else None,
        by=by,
        channel=channel,
    )
    paused = False
    if plan is not None:
        paused = services.plan_pause_inversion_held(
            plan=plan,
            by=None,
            reason=reason,
            cause=PauseCause.RED_FLAG if assessment.red_flag else PauseCause.STOP_SYMPTOM,
        )
    alert_raise(
        patient=patient,
        plan=plan,
        kind=ClinicianAlert.Kind.RED_FLAG
        if assessment.red_flag
        else ClinicianAlert.Kind.STOP_SYMPTOM,
        message=reason
        + (" Red flag: urgent referral advice shown." if assessment.red_flag else ""),
        dedupe_key=f"stop:{patient.pk}:{key or uuid.uuid4()}",
    )
    return paused, True


def _exercises_done_store(checkin: CheckIn, exercise_ids: list[int]) -> None:
    """The exercises done, in one insert (no read of the empty set first, as `.set` does)."""
    if exercise_ids:
        through = CheckIn.exercises_done.through
        through.objects.bulk_create(
            [through(checkin_id=checkin.pk, planexercise_id=pk) for pk in exercise_ids]
        )


def exercises_done_ids_known(checkin: CheckIn, exercise_ids) -> None:
    """Let a new check-in's `exercises_done` answer its ids without a query.

    What a prefetch leaves, but each PlanExercise carries only its id and plan:
    for serializing the ids (the API's answer), not for reading the exercises.
    """
    ids = sorted(set(exercise_ids))
    done = PlanExercise.objects.filter(pk__in=ids)
    done._result_cache = [PlanExercise(pk=pk, plan_id=checkin.plan_id) for pk in ids]
    done._prefetch_done = True
    checkin._prefetched_objects_cache = {"exercises_done": done}


def _apply_mild_symptom_rule(plan: Plan, *, today: date) -> bool:
    """CLINICAL.md s.3: a mild symptom goes back one step; two in 7 days hold and alert."""
    plan.refresh_from_db()
    state = services.plan_state(plan)
    if state is None:
        return False
    proposal = propose_progression(state, services.recent_checkin_records(plan, today), today)
    if proposal.alert_clinician and proposal.action == "hold":
        alert_raise(
            patient=plan.patient,
            plan=plan,
            kind=ClinicianAlert.Kind.MILD_REPEATED,
            message=proposal.reason,
            dedupe_key=f"mild:{plan.pk}:{today}",
        )
    if proposal.action != "go_back":
        return False
    try:
        services.plan_go_back(
            plan=plan, by=None, reason=f"Mild symptom: {proposal.reason}", today=today
        )
    except ValidationError:
        return False
    return True
