"""State changes for plans. Every path that makes an inversion step current comes here.

`_make_step_current` is the one guarded place: it asks the screening gate and
the progression caps, and refuses with a ValidationError the admin, API and
tasks show as they are. The database guard of migration 0011 stands behind it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_record
from patients import services as patient_services
from patients.models import Patient
from programmes.alerts import alert_raise
from programmes.domain.permission import (
    INVERSION_CATEGORY,
    NOT_NOW,
    PauseCause,
    PlanFacts,
    TreatmentPermission,
    treatment_permission,
)
from programmes.domain.progression import (
    CheckInRecord,
    PlanState,
    Proposal,
    advance_pace_refusal,
    propose_progression,
    step_violations,
    template_violations,
)
from programmes.domain.symptoms import EXIT_ADVICE
from programmes.models import (
    CheckIn,
    ClinicianAlert,
    Exercise,
    Plan,
    PlanEvent,
    PlanExercise,
    PlanInversionStep,
    PlanStatus,
    ProgrammeTemplate,
    TemplateKind,
)
from programmes.permission import (
    TreatmentToday,
    inversion_doses,
    plan_facts,
    screening_facts,
    treatment_today,
)
from programmes.screening_alerts import INTAKE_ALERTS

RECENT_CHECKIN_DAYS = 7


def _record(
    plan: Plan,
    kind: str,
    *,
    by=None,
    reason: str = "",
    from_step=None,
    to_step=None,
    data: dict | None = None,
) -> PlanEvent:
    event = PlanEvent.objects.create(
        plan=plan,
        kind=kind,
        by=by if getattr(by, "is_authenticated", False) else None,
        reason=reason,
        from_step=from_step,
        to_step=to_step,
        data=data or {},
    )
    audit_record(
        actor=by,
        action="update" if kind != PlanEvent.Kind.CREATED else "create",
        channel=None,  # the request's, task's or command's own (clinic.audit context)
        obj=plan,
        clinic=plan.clinic,
        patient_id=plan.patient_id,
        summary=f"Plan {event.get_kind_display().lower()}" + (f": {reason}" if reason else ""),
    )
    return event


def _lock(plan: Plan) -> Plan:
    """The plan, locked, with its patient locked first (the one lock order)."""
    return treatment_today(plan.patient_id, plan=plan, lock=True).plan


def _steps(plan: Plan) -> list[PlanInversionStep]:
    return list(plan.inversion_steps.order_by("order"))


def plan_day(plan: Plan, today: date) -> int:
    return max((today - plan.start_date).days, 0)


def _if_running(plan: Plan, **changes) -> PlanFacts:
    """The plan's facts as they would be after a change (activation, resume)."""
    return dataclasses.replace(plan_facts(plan), **changes)


def _permission_after(
    today_: TreatmentToday, *, stop_reviewed: bool = False, **changes
) -> TreatmentPermission:
    """Today's permission for the plan as it would stand after `changes` (and, with
    `stop_reviewed`, once a clinician has reviewed the patient's stop symptom)."""
    facts = screening_facts(today_.patient)
    if stop_reviewed:
        facts = dataclasses.replace(facts, stop_symptom_pending=False)
    return treatment_permission(
        screening=facts,
        plan=_if_running(today_.plan, **changes) if today_.plan is not None else None,
        symptoms_today=today_.symptoms_today,
        today=today_.today,
    )


def exercises_refused(permission: TreatmentPermission, exercises) -> list[str]:
    """Names of the exercises today's permission refuses (inversion ones where it may not)."""
    return [
        exercise.name
        for exercise in exercises
        if not permission.allows_exercise(
            category=exercise.category, contraindication_tags=exercise.contraindication_tags
        )
    ]


def _plan_doses(plan: Plan) -> list:
    """The plan's inversion exercises as they stand now (fresh: edits may precede)."""
    return inversion_doses(PlanExercise.objects.filter(plan=plan).select_related("exercise"))


def _make_step_current(
    plan: Plan,
    step: PlanInversionStep | None,
    *,
    permission: TreatmentPermission,
    today: date,
    gated: bool = True,
) -> None:
    """The one guarded place an inversion step becomes current.

    The step must keep every cap measured against the step before it in the plan (the
    start ranges for the first), at the plan's ceiling, on the plan's current day. Unless
    the plan's inversion isn't running (`gated` false: a step set back while paused),
    today's permission must allow inversion and the day's inversion, the step with the
    plan's inversion exercises, must fit today's limits.
    """
    if step is not None:
        if gated and not permission.inversion:
            raise ValidationError({"current_step": f"Inversion refused: {permission.reason}"})
        previous = plan.inversion_steps.filter(order__lt=step.order).order_by("-order").first()
        violations = step_violations(
            step.as_domain(),
            previous=previous.as_domain() if previous is not None else None,
            ceiling_deg=plan.ceiling_deg,
            full_inversion_allowed=plan.full_inversion_allowed,
            plan_day=plan_day(plan, today),
        )
        if gated:
            violations = (
                permission.limits.prescription_violations(step.as_domain(), _plan_doses(plan))
                + violations
            )
        if violations:
            raise ValidationError({"current_step": " ".join(dict.fromkeys(violations))})
    plan.current_step = step
    plan.step_started_on = today if step is not None else None


# What an exercise of the library is, as a prescription counts it: its category, its
# default hold (a plan's blank hold), and the screening outcomes it must not be given to.
EXERCISE_PRESCRIBING_FIELDS = ("category", "default_hold_seconds", "contraindication_tags")


def exercise_change_problems(exercise: Exercise, changes: dict) -> dict[str, str]:
    """Why this change to a library exercise (field: new value) can't be saved (empty: it can).

    Its category and default hold are what plans in use prescribe (an inversion exercise
    is inversion; a blank hold on a plan is the library's): a change would rewrite those
    prescriptions past every check, so it waits until no plan in use holds it.
    """
    if exercise.pk is None:
        return {}
    stored = Exercise.objects.filter(pk=exercise.pk).values(*EXERCISE_PRESCRIBING_FIELDS).get()
    fields = [
        name
        for name, value in changes.items()
        if name in EXERCISE_PRESCRIBING_FIELDS and _differs_stored(value, stored[name])
    ]
    inversion = INVERSION_CATEGORY in (stored["category"], changes.get("category"))
    if not fields or (fields == ["default_hold_seconds"] and not inversion):
        return {}  # a default hold of a non-inversion exercise is only a default
    in_use = (
        Plan.objects.filter(
            exercises__exercise_id=exercise.pk,
            status__in=(PlanStatus.DRAFT, PlanStatus.ACTIVE, PlanStatus.PAUSED),
        )
        .distinct()
        .count()
    )
    if not in_use:
        return {}
    message = (
        f"On {in_use} plan{'s' if in_use != 1 else ''} in use: this would change what "
        "they prescribe. Add a new exercise instead."
    )
    return {name: message for name in fields}


def _differs_stored(value, stored) -> bool:
    if isinstance(stored, list):  # tags: only one taken away loosens a prescription
        return bool(set(stored) - set(value or ()))
    return value != stored


def plan_assignment_problems(
    *, patient: Patient, template: ProgrammeTemplate, today: date | None = None
) -> dict[str, str]:
    """Why this template can't be given to this patient today (empty: it can).

    A stop symptom awaiting review doesn't stop a plan being given: it starts with
    inversion paused for that review (`plan_activate`)."""
    permission = _permission_after(
        treatment_today(patient.pk, plan=None, today=today), stop_reviewed=True
    )
    if not permission.programme:
        return {"patient": permission.reason}
    if template.inversion_steps.exists() and not permission.inversion:
        return {
            "template": f"Inversion is not allowed for this patient ({permission.reason}): "
            "choose an exercise-only template."
        }
    exercises = Exercise.objects.filter(pk__in=template.exercises.values("exercise"))
    refused = exercises_refused(permission, exercises)
    if refused:
        return {"template": f"Not allowed by the patient's screening: {', '.join(refused)}."}
    doses = inversion_doses(template.exercises.select_related("exercise"))
    if doses:
        first = template.inversion_steps.order_by("order").first()
        found = permission.limits.prescription_violations(
            first.as_domain() if first is not None else None, doses
        )
        if found:
            return {"template": " ".join(dict.fromkeys(found))}
    return {}


@transaction.atomic
def plan_create_from_template(
    *,
    patient: Patient,
    template: ProgrammeTemplate,
    by,
    start_date: date | None = None,
    clinician=None,
    ceiling_deg: int = 60,
    full_inversion_allowed: bool = False,
    auto_advance: bool = False,
) -> Plan:
    """Copy a template into a draft plan for the patient (the template is never shared)."""
    today = treatment_today(patient.pk, plan=None, lock=True).today
    problems = plan_assignment_problems(patient=patient, template=template, today=today)
    if problems:
        raise ValidationError(problems)
    steps = list(template.inversion_steps.order_by("order"))
    prescriptions = list(template.exercises.select_related("exercise").order_by("order"))
    if ceiling_deg > 60 and not full_inversion_allowed:
        raise ValidationError(
            {"ceiling_deg": "Above 60° needs full inversion allowed on the plan."}
        )
    problems = template_violations(
        [s.as_domain() for s in steps],
        ceiling_deg=ceiling_deg,
        full_inversion_allowed=full_inversion_allowed,
    )
    plan = Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        template=template,
        name=template.name,
        clinician=clinician or by,
        start_date=start_date or today,
        ceiling_deg=ceiling_deg,
        full_inversion_allowed=full_inversion_allowed,
        auto_advance=auto_advance,
    )
    PlanInversionStep.objects.bulk_create(
        PlanInversionStep(plan=plan, **step.prescription()) for step in steps
    )
    PlanExercise.objects.bulk_create(
        PlanExercise(plan=plan, **dose.prescription()) for dose in prescriptions
    )
    _record(
        plan,
        PlanEvent.Kind.CREATED,
        by=by,
        reason=f"From template “{template.name}”",
        data={"template_id": template.pk, "cap_warnings": list(problems)},
    )
    return plan


def plan_check_steps(plan: Plan) -> tuple[str, ...]:
    """Cap problems in a plan's own step list (after a clinician edited it)."""
    return template_violations(
        [s.as_domain() for s in _steps(plan)],
        ceiling_deg=plan.ceiling_deg,
        full_inversion_allowed=plan.full_inversion_allowed,
    )


def plan_check_exercises(plan: Plan, *, permission: TreatmentPermission | None = None) -> None:
    """Refuse exercises today's permission forbids (an inversion one included)."""
    if permission is None:
        permission = treatment_today(plan.patient_id, plan=plan).permission
    exercises = Exercise.objects.filter(pk__in=plan.exercises.values("exercise"))
    refused = exercises_refused(permission, exercises)
    if refused:
        raise ValidationError(
            {"exercises": f"Not allowed by the patient's screening: {', '.join(refused)}."}
        )
    doses = _plan_doses(plan)
    if doses and permission.inversion:
        first = plan.current_step or plan.inversion_steps.order_by("order").first()
        found = permission.limits.prescription_violations(
            first.as_domain() if first is not None else None, doses
        )
        if found:
            raise ValidationError({"exercises": " ".join(dict.fromkeys(found))})


@transaction.atomic
def plan_activate(*, plan: Plan, by, today: date | None = None) -> Plan:
    now = treatment_today(plan.patient_id, plan=plan, lock=True, today=today)
    plan, today = now.plan, now.today
    if plan.status not in (PlanStatus.DRAFT,):
        raise ValidationError(
            {"status": f"A {plan.get_status_display().lower()} plan can't be activated."}
        )
    start = max(plan.start_date, today)
    # A stop symptom no clinician has reviewed yet: the plan starts with inversion paused
    # for that review (resume asks for it); everything else is judged as if reviewed.
    stop_pending = plan.patient.stop_symptom_reported_at is not None
    stop_note = (plan.patient.stop_symptom_note or "A stop symptom awaits review.").strip()
    permission = _permission_after(
        now, status=PlanStatus.ACTIVE, start_date=start, stop_reviewed=stop_pending
    )
    if not permission.programme and start <= today:
        raise ValidationError({"patient": permission.reason})
    if Plan.objects.running().filter(patient=plan.patient).exclude(pk=plan.pk).exists():
        raise ValidationError({"status": "This patient already has a running plan: end it first."})
    if start > today:
        # A future start: what it prescribes is judged on today's screening as if it
        # started today (the day's own permission decides what is shown then).
        permission = _permission_after(
            now, status=PlanStatus.ACTIVE, start_date=today, stop_reviewed=stop_pending
        )
    if permission.programme:
        plan_check_exercises(plan, permission=permission)
    problems = plan_check_steps(plan)
    if problems:
        raise ValidationError({"inversion_steps": " ".join(problems)})
    steps = _steps(plan)
    plan.status = PlanStatus.ACTIVE
    plan.start_date = start
    _make_step_current(plan, steps[0] if steps else None, permission=permission, today=today)
    plan.inversion_paused = stop_pending
    plan.inversion_pause_cause = PauseCause.STOP_SYMPTOM if stop_pending else PauseCause.NONE
    plan.pause_reason = stop_note if stop_pending else ""
    plan.save(
        update_fields=[
            "status",
            "start_date",
            "current_step",
            "step_started_on",
            "inversion_paused",
            "inversion_pause_cause",
            "pause_reason",
            "updated_at",
        ]
    )
    _record(
        plan,
        PlanEvent.Kind.ACTIVATED,
        by=by,
        to_step=0 if steps else None,
        reason=steps[0].describe() if steps else "Exercise only",
    )
    return plan


@transaction.atomic
def plan_pause(*, plan: Plan, by, reason: str) -> Plan:
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give a reason for pausing the plan."})
    plan = _lock(plan)
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError({"status": "Only an active plan can be paused."})
    plan.status = PlanStatus.PAUSED
    plan.pause_reason = reason.strip()
    plan.save(update_fields=["status", "pause_reason", "updated_at"])
    _record(plan, PlanEvent.Kind.PAUSED, by=by, reason=plan.pause_reason)
    return plan


def resume_needs(plan: Plan) -> str:
    """What a clinician must give to resume this plan: "" or "confirmation" (and a reason).

    A stop symptom the patient reported (on this plan or before it) is reviewed first."""
    if plan.inversion_paused and plan.inversion_pause_cause in (
        PauseCause.STOP_SYMPTOM,
        PauseCause.RED_FLAG,
    ):
        return "confirmation"
    if plan.patient.stop_symptom_reported_at is not None:
        return "confirmation"
    return ""


@transaction.atomic
def plan_resume(
    *, plan: Plan, by, reason: str = "", confirmed: bool = False, today: date | None = None
) -> Plan:
    """Resume a paused plan, or inversion stopped by a symptom or screening, after review.

    After a stop or red-flag symptom the clinician confirms and gives a reason (audited);
    after a red flag, today's permission also needs the referral's outcome on record.
    """
    now = treatment_today(plan.patient_id, plan=plan, lock=True, today=today)
    plan, today = now.plan, now.today
    if plan.status not in (PlanStatus.PAUSED, PlanStatus.ACTIVE) or (
        plan.status == PlanStatus.ACTIVE and not plan.inversion_paused
    ):
        raise ValidationError({"status": "Only a paused plan can be resumed."})
    if resume_needs(plan) and not (confirmed and reason and reason.strip()):
        raise ValidationError(
            {
                "reason": "Inversion was stopped by a symptom: confirm you have reviewed it "
                "and give the clinical reason for resuming."
            }
        )
    stop_pending = plan.patient.stop_symptom_reported_at is not None
    permission = _permission_after(
        now,
        status=PlanStatus.ACTIVE,
        inversion_paused=False,
        pause_cause=PauseCause.NONE,
        stop_reviewed=stop_pending,
    )
    if not permission.programme:
        raise ValidationError({"patient": permission.reason})
    if stop_pending:  # confirmed, with a reason (above): the review is recorded
        patient_services.patient_stop_symptom_clear(
            patient=plan.patient, by=by, reason=reason.strip(), channel="admin"
        )
    was_paused = plan.status == PlanStatus.PAUSED
    plan.status = PlanStatus.ACTIVE
    fields = ["status", "updated_at"]
    if plan.inversion_paused:
        if plan.current_step_id is not None or _has_inversion_exercise(plan):
            if not permission.inversion:
                if not was_paused:
                    raise ValidationError({"patient": f"Inversion refused: {permission.reason}"})
            else:
                started_on = plan.step_started_on
                _make_step_current(plan, plan.current_step, permission=permission, today=today)
                plan.step_started_on = started_on or today
                plan.inversion_paused = False
                plan.inversion_pause_cause = PauseCause.NONE
                plan.pause_reason = ""
                fields += [
                    "current_step",
                    "step_started_on",
                    "inversion_paused",
                    "inversion_pause_cause",
                    "pause_reason",
                ]
        else:
            plan.inversion_paused = False
            plan.inversion_pause_cause = PauseCause.NONE
            fields += ["inversion_paused", "inversion_pause_cause"]
    elif not permission.inversion and (
        plan.current_step_id is not None or _has_inversion_exercise(plan)
    ):
        # Resumed while today's permission refuses inversion (a lapse the sweep has not
        # reached): the exercises go on, inversion stays paused.
        plan.inversion_paused = True
        plan.inversion_pause_cause = PauseCause.SCREENING
        plan.pause_reason = f"Screening: {permission.reason}"
        fields += ["inversion_paused", "inversion_pause_cause", "pause_reason"]
    if was_paused and not plan.inversion_paused:
        plan.pause_reason = ""
        fields.append("pause_reason")
    plan.save(update_fields=list(dict.fromkeys(fields)))
    _record(
        plan,
        PlanEvent.Kind.RESUMED,
        by=by,
        reason=reason.strip(),
        data={"confirmed": bool(confirmed)},
    )
    return plan


def _neighbour(
    plan: Plan, offset: int
) -> tuple[PlanInversionStep | None, PlanInversionStep | None]:
    steps = _steps(plan)
    if plan.current_step_id is None:
        return None, None
    index = next(i for i, s in enumerate(steps) if s.pk == plan.current_step_id)
    target = index + offset
    return steps[index], steps[target] if 0 <= target < len(steps) else None


@transaction.atomic
def plan_advance(
    *,
    plan: Plan,
    by,
    reason: str = "",
    pace_override_reason: str = "",
    today: date | None = None,
) -> Plan:
    """Advance the plan one step, at the engine's pace and never past the caps.

    The pace is the engine's: an advance today needs what automatic advance needs
    (`advance_pace_refusal`). A clinician who advances sooner records why in
    `pace_override_reason` (audited: the event's data and the audit row say so); the caps
    are checked in `_make_step_current` either way. `reason` is the event's note.
    """
    now = treatment_today(plan.patient_id, plan=plan, lock=True, today=today)
    plan, today = now.plan, now.today
    if not plan.inversion_active:
        raise ValidationError({"status": "Inversion is not running on this plan."})
    current, target = _neighbour(plan, +1)
    if target is None:
        raise ValidationError({"current_step": "This is already the last step of the plan."})
    override = (pace_override_reason or "").strip()
    pace = advance_pace_refusal(plan_state(plan), recent_checkin_records(plan, today), today)
    if pace and not override:
        raise ValidationError(
            {
                "pace": f"Not yet at this step's pace: {pace} To advance sooner, give the "
                "clinical reason for overriding the pace."
            }
        )
    _make_step_current(plan, target, permission=now.permission, today=today)
    plan.proposal_action = ""
    plan.save(update_fields=["current_step", "step_started_on", "proposal_action", "updated_at"])
    note = reason or override or target.describe()
    data = {}
    if pace:
        data = {"pace_overridden": True, "pace_override_reason": override, "pace": pace}
        note = f"Pace overridden: {override}. {reason or target.describe()}"
    _record(
        plan,
        PlanEvent.Kind.ADVANCED,
        by=by,
        reason=note,
        from_step=current.order,
        to_step=target.order,
        data=data,
    )
    return plan


@transaction.atomic
def plan_go_back(*, plan: Plan, by, reason: str = "", today: date | None = None) -> Plan:
    now = treatment_today(plan.patient_id, plan=plan, lock=True, today=today)
    plan, today = now.plan, now.today
    if plan.current_step_id is None or plan.status not in (PlanStatus.ACTIVE, PlanStatus.PAUSED):
        raise ValidationError({"status": "This plan has no inversion step to go back from."})
    current, target = _neighbour(plan, -1)
    if target is None:
        raise ValidationError({"current_step": "This is already the first step."})
    # Lower, and when inversion isn't running not gated by today's permission; the
    # caps hold either way.
    _make_step_current(
        plan, target, permission=now.permission, today=today, gated=plan.inversion_active
    )
    plan.proposal_action = ""
    plan.save(update_fields=["current_step", "step_started_on", "proposal_action", "updated_at"])
    _record(
        plan,
        PlanEvent.Kind.WENT_BACK,
        by=by,
        reason=reason or target.describe(),
        from_step=current.order,
        to_step=target.order,
    )
    return plan


@transaction.atomic
def plan_end(*, plan: Plan, by, reason: str = "", completed: bool = False) -> Plan:
    now = treatment_today(plan.patient_id, plan=plan, lock=True)
    plan = now.plan
    if plan.status in (PlanStatus.ENDED, PlanStatus.COMPLETED):
        raise ValidationError({"status": "This plan has already ended."})
    plan.status = PlanStatus.COMPLETED if completed else PlanStatus.ENDED
    plan.end_date = now.today
    plan.save(update_fields=["status", "end_date", "updated_at"])
    _record(
        plan, PlanEvent.Kind.COMPLETED if completed else PlanEvent.Kind.ENDED, by=by, reason=reason
    )
    return plan


def _has_inversion_exercise(plan: Plan) -> bool:
    return any(dose.exercise.category == INVERSION_CATEGORY for dose in plan.exercises.all())


@transaction.atomic
def plan_pause_inversion(*, plan: Plan, by, reason: str, cause: str) -> bool:
    """Stop inversion at once (symptom, screening); exercises go on. True if it changed.

    A stop or red-flag symptom replaces a milder cause, so its resume asks for review.
    """
    plan = _lock(plan)
    if not plan.is_running:
        return False
    symptom = cause in (PauseCause.STOP_SYMPTOM, PauseCause.RED_FLAG)
    # A symptom pauses even a plan with no inversion on it now: none is added, and the
    # plan shows "resume after review", until a clinician has reviewed it.
    if not symptom and plan.current_step_id is None and not _has_inversion_exercise(plan):
        return False
    graver = cause in (PauseCause.STOP_SYMPTOM, PauseCause.RED_FLAG) and (
        plan.inversion_pause_cause not in (PauseCause.STOP_SYMPTOM, PauseCause.RED_FLAG)
        or cause == PauseCause.RED_FLAG
    )
    if plan.inversion_paused and not graver:
        return False
    plan.inversion_paused = True
    plan.inversion_pause_cause = cause
    plan.pause_reason = reason
    plan.save(
        update_fields=["inversion_paused", "inversion_pause_cause", "pause_reason", "updated_at"]
    )
    _record(plan, PlanEvent.Kind.INVERSION_PAUSED, by=by, reason=reason)
    return True


def restart_step_count_on_zone_change(sender, *, patient: Patient, previous: str, **_) -> None:
    """A patient's "today" moved with their time zone: sessions at the current step count
    again from the new local date, so a change of zone never makes extra session days
    (connected in `ProgrammesConfig.ready`)."""
    now = treatment_today(patient.pk, lock=True)
    plan = now.plan
    if plan is None or plan.current_step_id is None:
        return
    if plan.step_started_on is not None and plan.step_started_on >= now.today:
        return
    plan.step_started_on = now.today
    plan.save(update_fields=["step_started_on", "updated_at"])
    _record(
        plan,
        PlanEvent.Kind.EDITED,
        by=None,
        reason=f"Time zone changed from {previous} to {patient.time_zone}: sessions at this "
        f"step count from {now.today.isoformat()}.",
    )


def pause_when_screening_forbids(
    sender, *, patient: Patient, screening, reason: str, by, today: date, **_
):
    """A worse or expired screening pauses inversion (or the whole plan) in the same
    transaction, and tells the clinician at once (connected in `ProgrammesConfig.ready`)."""
    now = treatment_today(patient.pk, lock=True, today=today)
    plan = now.plan
    if plan is None:
        return
    permission = now.permission
    paused_plan = paused_inversion = False
    if not permission.programme and plan.status == PlanStatus.ACTIVE:
        plan_pause(plan=plan, by=by, reason=f"Screening: {permission.reason}")
        paused_plan = True
    if not _permission_after(now, status=PlanStatus.ACTIVE, inversion_paused=False).inversion:
        paused_inversion = plan_pause_inversion(
            plan=plan,
            by=by,
            reason=f"Screening ({reason}): {permission.reason}",
            cause=PauseCause.SCREENING,
        )
    if not (paused_plan or paused_inversion):
        return
    if screening is not None and reason != "expired" and screening.outcome in INTAKE_ALERTS:
        return  # the screening's own alert, raised next, says what was paused
    # One alert per pause: a later pause on the same screening (its override revoked,
    # say) is news again.
    pause_event = plan.events.order_by("-pk").values_list("pk", flat=True).first()
    alert_raise(
        patient=now.patient,
        plan=plan,
        kind=ClinicianAlert.Kind.SCREENING_PAUSE,
        message=f"{'Plan' if paused_plan else 'Inversion'} paused after a screening "
        f"change ({reason}): {permission.reason}",
        dedupe_key=f"screening-pause:{plan.pk}:{screening.pk if screening else today}:"
        f"{pause_event}",
    )


# Progression.


def plan_state(plan: Plan) -> PlanState | None:
    steps = _steps(plan)
    if not steps or plan.current_step_id is None:
        return None
    index = next(i for i, s in enumerate(steps) if s.pk == plan.current_step_id)
    return PlanState(
        steps=tuple(s.as_domain() for s in steps),
        current_index=index,
        ceiling_deg=plan.ceiling_deg,
        full_inversion_allowed=plan.full_inversion_allowed,
        start_date=plan.start_date,
        paused=not plan.inversion_active,
        step_started_on=plan.step_started_on,
    )


def recent_checkin_records(plan: Plan, today: date) -> list[CheckInRecord]:
    """Check-ins of the last 7 days up to `today`, since the last resume (an old stop
    symptom is reviewed). The engine decides which of them count toward advancing."""
    since = today - timedelta(days=RECENT_CHECKIN_DAYS - 1)
    resumed = (
        plan.events.filter(kind=PlanEvent.Kind.RESUMED)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    checkins = plan.checkins.filter(local_date__gte=since, local_date__lte=today)
    if resumed:
        checkins = checkins.filter(submitted_at__gt=resumed)
    # The position in the plan's steps, as `PlanState.current_index` counts it.
    index_of = {s.pk: i for i, s in enumerate(_steps(plan))}
    return [
        CheckInRecord(
            day=c.local_date,
            step_index=index_of.get(c.step_id, -1),
            inversion_done=c.step_id is not None and c.completion != CheckIn.Completion.NOT_DONE,
            pain_before=c.pain_before,
            pain_after=c.pain_after,
            symptoms=frozenset(c.symptoms),
        )
        for c in checkins.order_by("local_date", "submitted_at")
    ]


@transaction.atomic
def progression_evaluate(*, plan_id: int, today: date | None = None) -> Proposal | None:
    """Propose the next move; with automatic advance on, apply it (still within the caps)."""
    plan = Plan.objects.filter(pk=plan_id).only("pk", "patient_id").first()
    if plan is None:
        return None
    now = treatment_today(plan.patient_id, plan=plan, lock=True, today=today)
    plan, today = now.plan, now.today
    if not plan.is_running:
        return None
    # A screening that lapsed since the hourly sweep pauses inversion now, before any
    # proposal: the database refuses to save a plan that still inverts past its screening.
    pause_when_screening_forbids(
        sender=None, patient=plan.patient, screening=None, reason="lapsed", by=None, today=today
    )
    plan = _lock(plan)
    state = plan_state(plan)
    if state is None:
        return None
    proposal = propose_progression(state, recent_checkin_records(plan, today), today)
    steps = _steps(plan)
    target = steps[proposal.target_index]
    changed = (plan.proposal_action, plan.proposal_reason) != (proposal.action, proposal.reason)
    plan.proposal_action = proposal.action
    plan.proposal_reason = proposal.reason
    plan.proposal_target = target
    plan.proposal_at = timezone.now()
    plan.save(
        update_fields=[
            "proposal_action",
            "proposal_reason",
            "proposal_target",
            "proposal_at",
            "updated_at",
        ]
    )
    if changed:
        _record(
            plan,
            PlanEvent.Kind.PROPOSAL,
            reason=proposal.reason,
            data={"action": proposal.action, "target": proposal.target_index},
        )
    if proposal.action == "pause":
        plan_pause_inversion(
            plan=plan, by=None, reason=proposal.reason, cause=PauseCause.PROGRESSION
        )
    elif plan.auto_advance and plan.inversion_active:
        try:
            if proposal.action == "advance":
                plan_advance(
                    plan=plan, by=None, reason=f"Automatic: {proposal.reason}", today=today
                )
            elif proposal.action == "go_back":
                plan_go_back(
                    plan=plan, by=None, reason=f"Automatic: {proposal.reason}", today=today
                )
        except ValidationError as refusal:
            _record(plan, PlanEvent.Kind.REFUSED, reason=" ".join(refusal.messages))
    return proposal


START_DATE_FIXED = (
    "A running plan's start date can't be changed: it dates the first two weeks' limit and "
    "what counts toward progression. End the plan and start a new one instead."
)


def plan_start_date_change_refused(plan: Plan, new_start: date | None) -> str:
    """Why `plan`'s start date can't become `new_start` ("" when it can).

    A running (active or paused) plan keeps its start date: moving it back would lift the
    first-two-weeks daily limit and let older check-ins count. A draft's may change.
    Every plan edit path asks this before it writes `start_date`.
    """
    if new_start is None or plan.pk is None:
        return ""
    stored = Plan.objects.filter(pk=plan.pk).values_list("status", "start_date").first()
    if stored is None:
        return ""
    status, start = stored
    if status in (PlanStatus.ACTIVE, PlanStatus.PAUSED) and new_start != start:
        return START_DATE_FIXED
    return ""


# Today's prescription.


@dataclass(frozen=True)
class TodayExercise:
    id: int  # the plan exercise (dose)
    name: str
    category: str
    dosage: str
    instructions: str


@dataclass(frozen=True)
class TodayPrescription:
    day: date
    plan: Plan | None
    inversion: PlanInversionStep | None
    inversion_reason: str
    exit_advice: str
    exercises: tuple[TodayExercise, ...]
    nothing_reason: str

    @property
    def has_session(self) -> bool:
        return self.inversion is not None or bool(self.exercises)


def prescription_for(patient: Patient, day: date | None = None) -> TodayPrescription:
    """What the patient should do today, or why there is nothing: today's permission decides.

    Inversion (a step, or an exercise of the inversion category) is shown only where the
    permission allows it within today's limits.
    """
    now = treatment_today(patient.pk, today=day)
    return prescription_from(now)


def prescription_from(now: TreatmentToday) -> TodayPrescription:
    plan, day, permission = now.plan, now.today, now.permission
    if plan is None:
        return TodayPrescription(
            day,
            None,
            None,
            "",
            EXIT_ADVICE,
            (),
            "You have no programme yet: your clinician will set one up after your assessment.",
        )
    if plan.status == PlanStatus.PAUSED:
        return TodayPrescription(
            day,
            plan,
            None,
            "",
            EXIT_ADVICE,
            (),
            "Your programme is paused by your clinician. "
            + (f"Reason: {plan.pause_reason}" if plan.pause_reason else ""),
        )
    if not permission.programme:
        return TodayPrescription(day, plan, None, "", EXIT_ADVICE, (), permission.patient_reason)
    inversion = now.inversion_step
    inversion_reason = ""
    if plan.current_step_id is not None and inversion is None:
        inversion_reason = (
            "Inversion is paused until your clinician reviews it. " + plan.pause_reason
            if plan.inversion_paused
            else permission.patient_reason or NOT_NOW
        )
    exercises = tuple(
        TodayExercise(
            id=p.pk,
            name=p.exercise.name,
            category=p.exercise.get_category_display(),
            dosage=p.dosage_text(),
            instructions=p.exercise.patient_instructions,
        )
        for p in now.exercises
    )
    return TodayPrescription(day, plan, inversion, inversion_reason, EXIT_ADVICE, exercises, "")


def template_check(template: ProgrammeTemplate) -> tuple[str, ...]:
    """Cap problems of a template's steps (default ceiling), for the template admin."""
    steps = [s.as_domain() for s in template.inversion_steps.order_by("order")]
    if template.kind == TemplateKind.EXERCISE_ONLY and steps:
        return ("An exercise-only template can't have inversion steps.",)
    return template_violations(steps, ceiling_deg=60, full_inversion_allowed=False)


# Plan edits.
#
# A plan's settings and prescription change only here: the admin's change form and
# inlines and the API's updates call these. Each locks the patient and then the plan
# (the one lock order), compares with the fresh rows, and writes only what changed,
# so an edit that overlaps a check-in's pause, a screening's pause or another edit
# never writes back what it read before them.

PLAN_EDITABLE = (
    "name",
    "clinician",
    "start_date",
    "end_date",
    "ceiling_deg",
    "full_inversion_allowed",
    "auto_advance",
)
# Each moves through its own service only (activate, pause, resume, advance, go back, end,
# the progression engine): an edit never writes them.
PLAN_MOVED_BY_ACTIONS = (
    "status",
    "current_step",
    "step_started_on",
    "inversion_paused",
    "inversion_pause_cause",
    "pause_reason",
    "proposal_action",
    "proposal_reason",
    "proposal_target",
    "proposal_at",
)
STEP_FIELDS = (
    "order",
    "angle_deg",
    "hold_seconds",
    "sessions_per_day",
    "days_per_week",
    "cycles",
    "cycle_seconds",
)
DOSE_FIELDS = ("order", "exercise", "sets", "repetitions", "hold_seconds", "times_per_day")
_ENDED = (PlanStatus.ENDED, PlanStatus.COMPLETED)


@dataclass(frozen=True)
class RowEdits:
    """Changes to a plan's inversion steps or exercises, as a form set or the API sends
    them: rows to add (field values), rows to change (id: the changed values), rows to
    delete (ids)."""

    added: tuple[dict, ...] = ()
    changed: dict[int, dict] = dataclasses.field(default_factory=dict)
    deleted: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.deleted)


def _as_json(value):
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


def _plan_edited(plan: Plan, *, by, channel: str, request, summary: str, changes: dict) -> None:
    """The plan's timeline and the audit trail, each with the fields that changed."""
    PlanEvent.objects.create(
        plan=plan,
        kind=PlanEvent.Kind.EDITED,
        by=by if getattr(by, "is_authenticated", False) else None,
        reason=summary,
        data={"changes": changes},
    )
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=plan,
        clinic=plan.clinic,
        patient_id=plan.patient_id,
        summary=f"Plan edited: {summary}",
        changes=changes,
        request=request,
    )


def _differs(plan: Plan, name: str, value) -> bool:
    if name == "clinician":
        return plan.clinician_id != getattr(value, "pk", value)
    return getattr(plan, name) != value


def _plan_update_problems(plan: Plan, changed: dict, *, today: date) -> dict[str, str]:
    problems: dict[str, str] = {}
    if plan.status in _ENDED:
        return {"status": "An ended plan can't be changed."}
    if "name" in changed and not (changed["name"] or "").strip():
        problems["name"] = "Give the plan a name."
    if "start_date" in changed:
        if plan.status != PlanStatus.DRAFT:
            problems["start_date"] = "A running plan's start date cannot be changed."
        elif changed["start_date"] is None:
            problems["start_date"] = "Give the plan a start date."
    start = changed.get("start_date") or plan.start_date
    end = changed.get("end_date", plan.end_date)
    if "end_date" in changed and end is not None:
        if end < start:
            problems["end_date"] = "The end date is before the start date."
        elif plan.is_running and end < today:
            problems["end_date"] = "The end date is in the past: end the plan instead."
    ceiling = changed.get("ceiling_deg", plan.ceiling_deg)
    full = changed.get("full_inversion_allowed", plan.full_inversion_allowed)
    if ceiling is None or not 15 <= ceiling <= 90:
        problems["ceiling_deg"] = "The ceiling is between 15° and 90°."
    elif ceiling > 60 and not full:
        problems["ceiling_deg"] = "Above 60° only when full inversion is allowed on this plan."
    else:
        # Every step keeps the ceiling (PostgreSQL holds it), not only the current one.
        limit = min(ceiling, 90 if full else 60)
        above = plan.inversion_steps.filter(angle_deg__gt=limit).order_by("order").first()
        if above is not None:
            field = "ceiling_deg" if "ceiling_deg" in changed else "full_inversion_allowed"
            problems[field] = (
                f"Step {above.order + 1} is at {above.angle_deg}°, above {limit}°: "
                + (
                    "go back a step first."
                    if above.pk == plan.current_step_id
                    else "change the plan's steps first, or keep the ceiling."
                )
            )
    if "clinician" in changed:
        from clinic.permissions import CLINICAL_ROLES

        user = changed["clinician"]
        membership = getattr(user, "membership", None) if user is not None else None
        if membership is None or (
            membership.clinic_id != plan.clinic_id or membership.role not in CLINICAL_ROLES
        ):
            problems["clinician"] = "Choose a clinician of the patient's clinic."
    return problems


@transaction.atomic
def plan_update(*, plan: Plan, changes: dict, by, channel: str, request=None) -> Plan:
    """Change a plan's settings (name, clinician, dates, ceiling, automatic advance).

    The plan's status, current step and pauses move only through their own services; a
    running plan's start date never changes (it would lift the first weeks' limits).
    Writes only the fields whose value differs from the locked row; audited with them.
    """
    refused = {
        name: "Changed only through the plan's actions (activate, pause, resume, advance, "
        "go back, end)."
        if name in PLAN_MOVED_BY_ACTIONS
        else "Not a setting of the plan that can be changed."
        for name in changes
        if name not in PLAN_EDITABLE
    }
    if refused:
        raise ValidationError(refused)
    now = treatment_today(plan.patient_id, plan=plan, lock=True)
    plan = now.plan
    changed = {name: value for name, value in changes.items() if _differs(plan, name, value)}
    if not changed:
        return plan
    if "name" in changed and changed["name"] is not None:
        changed["name"] = changed["name"].strip()
    problems = _plan_update_problems(plan, changed, today=now.today)
    if problems:
        raise ValidationError(problems)
    before = {name: _as_json(getattr(plan, name)) for name in changed}
    for name, value in changed.items():
        setattr(plan, name, value)
    plan.save(update_fields=[*changed, "updated_at"])
    _plan_edited(
        plan,
        by=by,
        channel=channel,
        request=request,
        summary=f"changed {', '.join(changed)}",
        changes={
            name: {"from": before[name], "to": _as_json(value)} for name, value in changed.items()
        },
    )
    return plan


def prescribing_permission(now: TreatmentToday) -> TreatmentPermission:
    """What may be prescribed on this plan today, as if it ran from today: a draft, a
    plan starting later or one the clinician paused is judged like a running one (with
    any pause of its inversion), so nothing is added that today's permission refuses."""
    plan = now.plan
    return _permission_after(
        now, status=PlanStatus.ACTIVE, start_date=min(plan.start_date, now.today)
    )


def _step_rows(plan: Plan, edits: RowEdits) -> tuple[list[dict], str]:
    """A draft's steps as they would be after the edits, in order (or why they can't be)."""
    existing = {step.pk: step for step in plan.inversion_steps.all()}
    if (set(edits.changed) | set(edits.deleted)) - set(existing):
        return [], "A step to change or delete is not on this plan."
    if any(set(values) - set(STEP_FIELDS) for values in (*edits.added, *edits.changed.values())):
        return [], "Only a step's order, angle, hold, sessions, days and cycles can be set."
    rows = [
        {**{name: getattr(step, name) for name in STEP_FIELDS}, **edits.changed.get(pk, {})}
        for pk, step in existing.items()
        if pk not in edits.deleted
    ] + [{"sessions_per_day": 1, "days_per_week": 7, **values} for values in edits.added]
    orders = [row.get("order") for row in rows]
    if None in orders or len(set(orders)) != len(orders):
        return [], "Each step needs its own order."
    return sorted(rows, key=lambda row: row["order"]), ""


def _step_problems(plan: Plan, edits: RowEdits, permission: TreatmentPermission) -> list[str]:
    if plan.status != PlanStatus.DRAFT:
        return ["Only a draft plan's steps can be changed: a running plan moves by its actions."]
    problems = []
    if (edits.added or edits.changed) and not permission.inversion:
        problems.append(
            f"Inversion is not allowed for this patient ({permission.reason}): "
            "no inversion step can be added or changed."
        )
    rows, problem = _step_rows(plan, edits)
    if problem:
        return [*problems, problem]
    try:
        steps = [PlanInversionStep(**row).as_domain() for row in rows]
    except (TypeError, ValueError) as error:
        return [*problems, str(error)]
    problems.extend(
        template_violations(
            steps, ceiling_deg=plan.ceiling_deg, full_inversion_allowed=plan.full_inversion_allowed
        )
    )
    return problems


def _exercise_problems(plan: Plan, edits: RowEdits, permission: TreatmentPermission) -> list[str]:
    existing = {dose.pk: dose for dose in plan.exercises.all()}
    unknown = (set(edits.changed) | set(edits.deleted)) - set(existing)
    if unknown:
        return ["An exercise to change or delete is not on this plan."]
    if any(set(values) - set(DOSE_FIELDS) for values in (*edits.added, *edits.changed.values())):
        return ["Only an exercise's order, exercise and dose can be set."]
    # A new dose of an exercise prescribes it again: it is judged like an added one.
    prescribed = [values.get("exercise") for values in edits.added] + [
        values.get("exercise", existing[pk].exercise)
        for pk, values in edits.changed.items()
        if set(values) - {"order"}
    ]
    if any(not isinstance(exercise, Exercise) for exercise in prescribed):
        return ["Choose an exercise of the library."]
    foreign = [e.name for e in prescribed if e.clinic_id not in (None, plan.clinic_id)]
    if foreign:
        return [f"Not in this clinic's library: {', '.join(foreign)}."]
    refused = exercises_refused(permission, prescribed)
    if refused:
        return [
            f"Not allowed for this patient today ({permission.reason}): "
            f"{', '.join(dict.fromkeys(refused))}."
        ]
    if permission.inversion:
        return list(_inversion_after_edits(plan, existing, edits, permission))
    return []


def _inversion_after_edits(
    plan: Plan, existing: dict, edits: RowEdits, permission: TreatmentPermission
) -> tuple[str, ...]:
    """The day's inversion the plan would prescribe after the edits, against today's
    limits: the current step (a draft's first) with every inversion exercise."""
    rows = [
        SimpleNamespace(**{**_dose_values(dose), **edits.changed.get(pk, {})})
        for pk, dose in existing.items()
        if pk not in edits.deleted
    ] + [
        SimpleNamespace(
            **{"sets": 1, "repetitions": None, "hold_seconds": None, "times_per_day": 1, **values}
        )
        for values in edits.added
    ]
    doses = inversion_doses(rows)
    if not doses:
        return ()
    step = plan.current_step or plan.inversion_steps.order_by("order").first()
    return permission.limits.prescription_violations(
        step.as_domain() if step is not None else None, doses
    )


def _dose_values(dose: PlanExercise) -> dict:
    return {name: getattr(dose, name) for name in DOSE_FIELDS}


def plan_prescription_problems(
    *,
    plan: Plan,
    steps: RowEdits | None = None,
    exercises: RowEdits | None = None,
    today: date | None = None,
) -> dict[str, list[str]]:
    """Why these edits to a plan's steps or exercises can't be made today (empty: they can).

    An inversion step, or an exercise of the inversion category (whatever its tags), is
    refused unless today's permission allows inversion; exercises are refused by the
    screening outcomes their tags name. The plan's own ceiling (as given, edited or not)
    bounds its steps.
    """
    now = treatment_today(plan.patient_id, plan=plan, today=today)
    return _prescription_problems(plan, now, steps=steps, exercises=exercises)


def _prescription_problems(plan: Plan, now: TreatmentToday, *, steps, exercises) -> dict:
    if now.plan.status in _ENDED:
        return {"status": ["An ended plan can't be changed."]}
    permission = prescribing_permission(now)
    problems = {}
    if steps:
        found = _step_problems(plan, steps, permission)
        if found:
            problems["inversion_steps"] = found
    if exercises:
        found = _exercise_problems(plan, exercises, permission)
        if found:
            problems["exercises"] = found
    return problems


def _edits_summary(kind: str, edits: RowEdits) -> dict:
    return {
        f"{kind}_added": [{k: _as_json(v) for k, v in row.items()} for row in edits.added],
        f"{kind}_changed": {
            str(pk): {k: _as_json(v) for k, v in values.items()}
            for pk, values in edits.changed.items()
        },
        f"{kind}_deleted": list(edits.deleted),
    }


@transaction.atomic
def plan_prescription_update(
    *,
    plan: Plan,
    steps: RowEdits | None = None,
    exercises: RowEdits | None = None,
    by,
    channel: str,
    request=None,
) -> Plan:
    """Add, change or delete a plan's inversion steps (a draft's only) and exercises.

    Re-asks today's permission under the plan's lock, so an inversion step or an
    inversion-category exercise is never added for a patient who may not invert today,
    even when the screening changed or a stop symptom arrived since the page was read.
    """
    now = treatment_today(plan.patient_id, plan=plan, lock=True)
    locked = now.plan
    steps = steps if steps else None
    exercises = exercises if exercises else None
    if steps is None and exercises is None:
        return locked
    problems = _prescription_problems(locked, now, steps=steps, exercises=exercises)
    if problems:
        raise ValidationError(problems)
    changes: dict = {}
    if steps is not None:
        # A draft's steps are referenced by nothing yet: the new list replaces the old
        # (orders may be swapped without meeting each other on the way).
        rows, _ = _step_rows(locked, steps)
        locked.inversion_steps.all().delete()
        PlanInversionStep.objects.bulk_create(PlanInversionStep(plan=locked, **row) for row in rows)
        changes.update(_edits_summary("steps", steps))
    if exercises is not None:
        PlanExercise.objects.filter(plan=locked, pk__in=exercises.deleted).delete()
        for pk, values in exercises.changed.items():
            if values:
                PlanExercise.objects.filter(plan=locked, pk=pk).update(**values)
        PlanExercise.objects.bulk_create(
            PlanExercise(plan=locked, **values) for values in exercises.added
        )
        changes.update(_edits_summary("exercises", exercises))
    locked.save(update_fields=["updated_at"])
    parts = [
        f"{len(getattr(edits, what))} {kind} {what}"
        for kind, edits in (("step(s)", steps), ("exercise(s)", exercises))
        if edits is not None
        for what in ("added", "changed", "deleted")
        if getattr(edits, what)
    ]
    _plan_edited(
        locked, by=by, channel=channel, request=request, summary=", ".join(parts), changes=changes
    )
    return locked
