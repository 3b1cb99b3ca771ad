"""State changes for plans. Every path that makes an inversion step current comes here.

`_make_step_current` is the one guarded place: it asks the screening gate and
the progression caps, and refuses with a ValidationError the admin, API and
tasks show as they are. The database guard of migration 0010 stands behind it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_record
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
    plan_facts,
    screening_facts,
    treatment_today,
)

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
        channel="system" if by is None else "admin",
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


def _permission_after(today_: TreatmentToday, **changes) -> TreatmentPermission:
    """Today's permission for the plan as it would stand after `changes`."""
    return treatment_permission(
        screening=screening_facts(today_.patient),
        plan=_if_running(today_.plan, **changes),
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


def _make_step_current(
    plan: Plan, step: PlanInversionStep | None, *, permission: TreatmentPermission, today: date
) -> None:
    """The one guarded place an inversion step becomes current.

    Today's permission must allow inversion, the step must fit today's limits, and it
    must keep every cap measured against the step before it in the plan (the start
    ranges for the first), at the plan's ceiling, on the plan's current day.
    """
    if step is not None:
        if not permission.inversion:
            raise ValidationError({"current_step": f"Inversion refused: {permission.reason}"})
        previous = plan.inversion_steps.filter(order__lt=step.order).order_by("-order").first()
        violations = permission.limits.violations(step.as_domain()) + step_violations(
            step.as_domain(),
            previous=previous.as_domain() if previous is not None else None,
            ceiling_deg=plan.ceiling_deg,
            full_inversion_allowed=plan.full_inversion_allowed,
            plan_day=plan_day(plan, today),
        )
        if violations:
            raise ValidationError({"current_step": " ".join(dict.fromkeys(violations))})
    plan.current_step = step
    plan.step_started_on = today if step is not None else None


def plan_assignment_problems(
    *, patient: Patient, template: ProgrammeTemplate, today: date | None = None
) -> dict[str, str]:
    """Why this template can't be given to this patient today (empty: it can)."""
    permission = treatment_today(patient.pk, plan=None, today=today).permission
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


@transaction.atomic
def plan_activate(*, plan: Plan, by, today: date | None = None) -> Plan:
    now = treatment_today(plan.patient_id, plan=plan, lock=True, today=today)
    plan, today = now.plan, now.today
    if plan.status not in (PlanStatus.DRAFT,):
        raise ValidationError(
            {"status": f"A {plan.get_status_display().lower()} plan can't be activated."}
        )
    start = max(plan.start_date, today)
    permission = _permission_after(now, status=PlanStatus.ACTIVE, start_date=start)
    if not permission.programme and start <= today:
        raise ValidationError({"patient": permission.reason})
    if Plan.objects.running().filter(patient=plan.patient).exclude(pk=plan.pk).exists():
        raise ValidationError({"status": "This patient already has a running plan: end it first."})
    plan_check_exercises(plan, permission=permission)
    problems = plan_check_steps(plan)
    if problems:
        raise ValidationError({"inversion_steps": " ".join(problems)})
    steps = _steps(plan)
    plan.status = PlanStatus.ACTIVE
    plan.start_date = start
    if start > today:  # a future start: the step is checked against the screening on the day
        permission = _permission_after(now, status=PlanStatus.ACTIVE, start_date=today)
    _make_step_current(plan, steps[0] if steps else None, permission=permission, today=today)
    plan.inversion_paused = False
    plan.inversion_pause_cause = PauseCause.NONE
    plan.pause_reason = ""
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
    """What a clinician must give to resume this plan: "" or "confirmation" (and a reason)."""
    if plan.inversion_paused and plan.inversion_pause_cause in (
        PauseCause.STOP_SYMPTOM,
        PauseCause.RED_FLAG,
    ):
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
    permission = _permission_after(
        now, status=PlanStatus.ACTIVE, inversion_paused=False, pause_cause=PauseCause.NONE
    )
    if not permission.programme:
        raise ValidationError({"patient": permission.reason})
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
def plan_advance(*, plan: Plan, by, reason: str = "", today: date | None = None) -> Plan:
    now = treatment_today(plan.patient_id, plan=plan, lock=True, today=today)
    plan, today = now.plan, now.today
    if not plan.inversion_active:
        raise ValidationError({"status": "Inversion is not running on this plan."})
    current, target = _neighbour(plan, +1)
    if target is None:
        raise ValidationError({"current_step": "This is already the last step of the plan."})
    _make_step_current(plan, target, permission=now.permission, today=today)
    plan.proposal_action = ""
    plan.save(update_fields=["current_step", "step_started_on", "proposal_action", "updated_at"])
    _record(
        plan,
        PlanEvent.Kind.ADVANCED,
        by=by,
        reason=reason or target.describe(),
        from_step=current.order,
        to_step=target.order,
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
    if plan.inversion_active:
        _make_step_current(plan, target, permission=now.permission, today=today)
    else:
        plan.current_step, plan.step_started_on = target, today  # lower and not running: no gate
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
    if plan.current_step_id is None and not _has_inversion_exercise(plan):
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
    if paused_plan or paused_inversion:
        alert_raise(
            patient=now.patient,
            plan=plan,
            kind=ClinicianAlert.Kind.SCREENING_PAUSE,
            message=f"{'Plan' if paused_plan else 'Inversion'} paused after a screening "
            f"change ({reason}): {permission.reason}",
            dedupe_key=f"screening-pause:{plan.pk}:{screening.pk if screening else today}",
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
    )


def recent_checkin_records(plan: Plan, today: date) -> list[CheckInRecord]:
    """Check-ins of the last 7 days, since the last resume (an old stop symptom is reviewed)."""
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
    order_of = {s.pk: s.order for s in _steps(plan)}
    return [
        CheckInRecord(
            day=c.local_date,
            step_index=order_of.get(c.step_id, -1),
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


# Today's prescription.


@dataclass(frozen=True)
class TodayExercise:
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
