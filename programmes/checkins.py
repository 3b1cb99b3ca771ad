"""Check-ins: the patient's report of a session, and the safety stops it triggers.

`checkin_submit` is one transaction: the check-in is stored, a stop symptom
pauses inversion and raises a clinician alert, a mild symptom goes back one
step, all before the response is rendered. Follow-up work (progression for
automatic advance, alert e-mails) is enqueued on commit, so a rolled-back
check-in enqueues nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Avg, OuterRef
from django.utils import timezone

from clinic.audit import audit_record
from patients import services as patient_services
from patients.domain.outcomes import score_odi
from patients.models import Patient
from programmes import services
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
    PlanStatus,
    QuestionnaireResponse,
)

MAX_INVERSION_SECONDS = 1200  # twice the longest allowed hold: anything more is a typo
QUESTIONNAIRE_EVERY_DAYS = 14


@dataclass(frozen=True)
class CheckInInput:
    idempotency_key: uuid.UUID
    completion: str
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
    checkin: CheckIn
    created: bool
    assessment: SymptomAssessment
    inversion_paused: bool
    went_back: bool


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
    for field in ("pain_before", "pain_after"):
        value = getattr(data, field)
        if value is not None and not 0 <= value <= 10:
            errors[field] = "Pain is rated from 0 (none) to 10 (worst imaginable)."
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


def alert_raise(
    *, patient: Patient, plan: Plan | None, kind: str, message: str, dedupe_key: str
) -> bool:
    """Record an alert once (the unique key); e-mail it after commit. True if new."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO programmes_clinicianalert
                (clinic_id, patient_id, plan_id, kind, message, dedupe_key, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING id
            """,
            [patient.clinic_id, patient.pk, plan.pk if plan else None, kind, message, dedupe_key],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    from programmes.tasks import alert_email

    alert_id = row[0]
    transaction.on_commit(lambda: alert_email.delay(alert_id))
    return True


# What `patients.services.treatment_permission` reads, joined to the plan's patient.
_GATE_RELATED = ("patient__current_screening__override", "patient__current_screening__referral")


def running_plan(patient: Patient) -> Plan | None:
    return (
        Plan.objects.running()
        .filter(patient=patient)
        .select_related("current_step", *_GATE_RELATED, "patient__clinic")
        .first()
    )


def own_running_plan(user) -> Plan | None:
    """The signed-in patient's running plan, for a check-in: one query.

    The plan comes with what `checkin_submit` reads for every check-in: its
    patient (scoped to the user, as `Patient.objects.for_user` scopes it), the
    clinic, the current step, the screening with its override and referral (the
    gate decides whether today's check-in records an inversion step: a lapsed
    screening refuses it before the expiry sweep pauses the plan), and the ids of
    the plan's exercises (`exercise_ids`).
    """
    return (
        Plan.objects.for_user(user)
        .running()
        .filter(patient__user=user)
        .select_related("current_step", *_GATE_RELATED, "patient__clinic")
        .annotate(
            exercise_ids=ArraySubquery(
                PlanExercise.objects.filter(plan=OuterRef("pk")).order_by().values("pk")
            )
        )
        .first()
    )


_LOOK_UP = object()  # `checkin_submit(plan=...)` not given: find the running plan

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


def _inversion_permitted_today(plan: Plan, today: date) -> bool:
    """Today's treatment permission (the screening gate, as `prescription_for` asks it):
    a lapsed screening or override refuses inversion before the expiry sweep pauses
    the plan, so the plan's own `inversion_active` is not enough.

    `plan.patient` comes with its screening, override and referral (`running_plan`,
    `own_running_plan`), so asking costs no query.
    """
    return patient_services.treatment_permission(plan.patient, today=today).inversion


def _first_checkin(patient: Patient, key: uuid.UUID) -> CheckInResult | None:
    """The check-in already stored under this key (a double submit or a retry), if any."""
    existing = CheckIn.objects.filter(patient=patient, idempotency_key=key).first()
    if existing is None:
        return None
    return CheckInResult(existing, False, classify_symptoms(existing.symptoms), False, False)


@transaction.atomic
def checkin_submit(
    *, patient: Patient, data: CheckInInput, channel: str, request=None, plan=_LOOK_UP
) -> CheckInResult:
    """Store a check-in once, and act on its symptoms in the same transaction.

    `plan`, when given, is the patient's running plan (None: they have none) as
    `own_running_plan` reads it, so the caller's one query serves both.
    """
    today = timezone.localtime(timezone.now(), patient.zone).date()
    errors = checkin_errors(data, today=today)
    if errors:
        raise ValidationError(errors)
    if plan is _LOOK_UP:
        plan = running_plan(patient)
    if plan is None:
        first = _first_checkin(patient, data.idempotency_key)
        if first is not None:  # sent before the plan ended: the first one stands
            return first
        raise ValidationError({"plan": "You have no programme to check in to yet."})
    exercise_ids = sorted(set(data.exercise_ids))
    if exercise_ids:
        known = getattr(plan, "exercise_ids", None)
        if known is None:
            known = PlanExercise.objects.filter(plan=plan).values_list("pk", flat=True)
        if not set(exercise_ids) <= set(known):
            first = _first_checkin(patient, data.idempotency_key)
            if first is not None:
                return first
            raise ValidationError({"exercise_ids": "Choose exercises from your own programme."})
    # The plan may run inversion while today's gate refuses it (a lapsed screening or
    # override the expiry sweep has not yet paused): then nothing is recorded as inversion.
    gate_refuses = plan.inversion_active and not _inversion_permitted_today(plan, today)
    inversion_step = plan.current_step if plan.inversion_active and not gate_refuses else None
    if gate_refuses and (
        data.inversion_angle_deg is not None or data.inversion_seconds is not None
    ):
        first = _first_checkin(patient, data.idempotency_key)
        if first is not None:  # sent while inversion was allowed: the first one stands
            return first
        raise ValidationError({"inversion_angle_deg": INVERSION_NOT_PERMITTED})
    checkin = CheckIn(
        plan=plan,
        patient=patient,
        clinic_id=patient.clinic_id,
        idempotency_key=data.idempotency_key,
        local_date=data.local_date or today,
        submitted_at=timezone.now(),
        completion=data.completion,
        step=inversion_step,
        inversion_angle_deg=data.inversion_angle_deg if inversion_step else None,
        inversion_seconds=data.inversion_seconds if inversion_step else None,
        pain_before=data.pain_before,
        pain_after=data.pain_after,
        symptoms=sorted(set(data.symptoms)),
        note=data.note.strip(),
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
        # The key is taken: this is a repeat, or the same key raced in from another
        # request (the insert waited for it to commit). That one stands.
        existing = CheckIn.objects.get(patient=patient, idempotency_key=data.idempotency_key)
        return CheckInResult(existing, False, classify_symptoms(existing.symptoms), False, False)
    checkin.pk = row[0]
    checkin._state.adding = False
    checkin._state.db = connection.alias
    _exercises_done_store(checkin, exercise_ids)
    audit_record(
        actor=getattr(request, "user", None),
        action="create",
        channel=channel,
        obj=checkin,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary=f"Check-in {checkin.local_date}",
        request=request,
    )

    assessment = classify_symptoms(checkin.symptoms)
    paused = went_back = False
    if assessment.stop:
        symptoms = symptom_labels(assessment.stop_codes)
        reason = f"Stop symptom reported on {checkin.local_date}: {symptoms}."
        paused = services.plan_pause_inversion(plan=plan, by=None, reason=reason)
        alert_raise(
            patient=patient,
            plan=plan,
            kind=ClinicianAlert.Kind.RED_FLAG
            if assessment.red_flag
            else ClinicianAlert.Kind.STOP_SYMPTOM,
            message=reason
            + (" Red flag: urgent referral advice shown." if assessment.red_flag else ""),
            dedupe_key=f"stop:{checkin.pk}",
        )
    elif assessment.mild and inversion_step is not None:
        went_back = _apply_mild_symptom_rule(plan, today=checkin.local_date)
    worst_pain = max(
        (p for p in (checkin.pain_before, checkin.pain_after) if p is not None), default=None
    )
    if pain_needs_alert(checkin.pain_before, checkin.pain_after):
        alert_raise(
            patient=patient,
            plan=plan,
            kind=ClinicianAlert.Kind.HIGH_PAIN,
            message=f"Pain {worst_pain}/10 reported on {checkin.local_date}.",
            dedupe_key=f"pain:{patient.pk}:{checkin.local_date}",
        )
    # While today's gate refuses inversion (a lapsed screening the sweep has not yet
    # paused) there is nothing to progress, and the database refuses the plan's save.
    if plan.auto_advance and not assessment.stop and not gate_refuses:
        from programmes.tasks import progression_evaluate

        plan_id = plan.pk
        transaction.on_commit(lambda: progression_evaluate.delay(plan_id))
    return CheckInResult(checkin, True, assessment, paused, went_back)


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


# Questionnaires.


def questionnaire_due(patient: Patient, plan: Plan | None, today: date) -> bool:
    """A follow-up is due every 2 weeks of a running plan (CLINICAL.md s.5)."""
    if plan is None or plan.status != PlanStatus.ACTIVE:
        return False
    if (today - plan.start_date).days < QUESTIONNAIRE_EVERY_DAYS:
        return False
    last = plan.questionnaires.order_by("-taken_on").values_list("taken_on", flat=True).first()
    since = last or plan.start_date
    return (today - since).days >= QUESTIONNAIRE_EVERY_DAYS


@transaction.atomic
def questionnaire_submit(
    *,
    patient: Patient,
    pain: int,
    odi_sections: tuple[int | None, ...],
    kind: str = "follow_up",
    request=None,
) -> QuestionnaireResponse:
    plan = running_plan(patient)
    if plan is None:
        raise ValidationError({"plan": "Questionnaires are part of a running programme."})
    errors = {}
    if not 0 <= pain <= 10:
        errors["pain"] = "Pain is rated from 0 (none) to 10 (worst imaginable)."
    try:
        odi = score_odi(list(odi_sections))
    except ValueError as error:
        errors["odi_sections"] = str(error)
    if errors:
        raise ValidationError(errors)
    today = timezone.localtime(timezone.now(), patient.zone).date()
    response, _ = QuestionnaireResponse.objects.update_or_create(
        plan=plan,
        taken_on=today,
        defaults={
            "patient": patient,
            "clinic_id": patient.clinic_id,
            "kind": kind,
            "pain": pain,
            "odi_sections": list(odi_sections),
            "odi_percent": Decimal(str(odi.percent)),
        },
    )
    audit_record(
        actor=getattr(request, "user", None),
        action="create",
        channel="portal",
        obj=response,
        clinic=patient.clinic,
        patient_id=patient.pk,
        summary=f"Questionnaire: ODI {odi.percent}%",
        request=request,
    )
    return response


# Reads for History and Progress, aggregated in PostgreSQL.


@dataclass(frozen=True)
class CalendarDay:
    day: date
    status: str  # done, partial, missed, none (nothing prescribed or not yet)


def checkin_calendar(patient: Patient, *, start: date, end: date, today: date) -> list[CalendarDay]:
    """One row per day from a day grid joined to the patient's check-ins, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH days AS (
                SELECT d::date AS day FROM generate_series(%(start)s::date, %(end)s::date,
                                                           interval '1 day') AS d
            ),
            done AS (
                SELECT local_date,
                       bool_or(completion = 'done') AS any_done,
                       bool_or(completion = 'partial') AS any_partial
                  FROM programmes_checkin
                 WHERE patient_id = %(patient)s AND local_date BETWEEN %(start)s AND %(end)s
                 GROUP BY local_date
            )
            SELECT days.day,
                   CASE
                       WHEN done.any_done THEN 'done'
                       WHEN done.any_partial THEN 'partial'
                       WHEN days.day < %(today)s AND EXISTS (
                           SELECT 1 FROM programmes_plan p
                            WHERE p.patient_id = %(patient)s
                              AND p.status IN ('active', 'paused', 'completed', 'ended')
                              AND p.start_date <= days.day
                              AND (p.end_date IS NULL OR p.end_date >= days.day)
                       ) THEN 'missed'
                       ELSE 'none'
                   END
              FROM days LEFT JOIN done ON done.local_date = days.day
             ORDER BY days.day
            """,
            {"start": start, "end": end, "today": today, "patient": patient.pk},
        )
        return [CalendarDay(day, status) for day, status in cursor.fetchall()]


@dataclass(frozen=True)
class PainPoint:
    day: date
    before: float | None
    after: float | None


def pain_series(patient: Patient, *, since: date) -> list[PainPoint]:
    """Average pain before and after per day, oldest first."""
    rows = (
        CheckIn.objects.filter(patient=patient, local_date__gte=since)
        .values("local_date")
        .order_by("local_date")
        .annotate(
            before=Avg("pain_before"),
            after=Avg("pain_after"),
        )
    )
    return [
        PainPoint(row["local_date"], _round(row["before"]), _round(row["after"])) for row in rows
    ]


def _round(value) -> float | None:
    return None if value is None else round(float(value), 1)
