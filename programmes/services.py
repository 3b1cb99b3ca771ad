"""State changes for plans. Every path that makes an inversion step current comes here.

`_make_step_current` is the one guarded place: it asks the screening gate and
the progression caps, and refuses with a ValidationError the admin, API and
tasks show as they are. The database trigger of migration 0002 stands behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from clinic.audit import audit_record
from patients import services as patient_services
from patients.models import Outcome, Patient
from patients.services import screening_changed
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
    Exercise,
    Plan,
    PlanEvent,
    PlanExercise,
    PlanInversionStep,
    PlanStatus,
    ProgrammeTemplate,
    TemplateKind,
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
    return (
        Plan.objects.select_for_update(of=("self",))
        .select_related("patient__current_screening__override", "patient__clinic", "current_step")
        .get(pk=plan.pk)
    )


def patient_today(patient: Patient) -> date:
    """The patient's own local date: days, sessions and check-ins are counted in it."""
    return timezone.localtime(timezone.now(), patient.zone).date()


_today = patient_today


def _steps(plan: Plan) -> list[PlanInversionStep]:
    return list(plan.inversion_steps.order_by("order"))


def plan_day(plan: Plan, today: date) -> int:
    return max((today - plan.start_date).days, 0)


def forbidden_exercises(exercises, outcome: str | None, *, inversion_allowed: bool) -> list[str]:
    """Names of exercises whose contraindication tags forbid them for this outcome."""
    names = []
    for exercise in exercises:
        tags = set(exercise.contraindication_tags)
        if outcome in tags and not (inversion_allowed and outcome == Outcome.REVIEW_REQUIRED):
            names.append(exercise.name)
    return names


def _make_step_current(plan: Plan, step: PlanInversionStep | None, *, today: date) -> None:
    """The one guarded place an inversion step becomes current.

    The gate must allow inversion today, and the step must keep every cap
    measured against the step before it in the plan (the start ranges for the
    first), at the plan's ceiling, on the plan's current day.
    """
    if step is not None:
        permission = patient_services.treatment_permission(plan.patient, today=today)
        if not permission.inversion:
            raise ValidationError({"current_step": f"Inversion refused: {permission.reason}"})
        previous = plan.inversion_steps.filter(order__lt=step.order).order_by("-order").first()
        violations = step_violations(
            step.as_domain(),
            previous=previous.as_domain() if previous is not None else None,
            ceiling_deg=plan.ceiling_deg,
            full_inversion_allowed=plan.full_inversion_allowed,
            plan_day=plan_day(plan, today),
        )
        if violations:
            raise ValidationError({"current_step": " ".join(violations)})
    plan.current_step = step
    plan.step_started_on = today if step is not None else None


def plan_assignment_problems(
    *, patient: Patient, template: ProgrammeTemplate, today: date | None = None
) -> dict[str, str]:
    """Why this template can't be given to this patient (empty: it can)."""
    today = today or _today(patient)
    permission = patient_services.treatment_permission(patient, today=today)
    if not permission.programme:
        return {"patient": permission.reason}
    outcome = patient.current_screening.outcome if patient.current_screening else None
    if template.inversion_steps.exists() and outcome in (
        Outcome.CONTRAINDICATED,
        Outcome.URGENT_REFERRAL,
    ):
        return {
            "template": "Inversion is contraindicated for this patient: choose an exercise-only "
            "template."
        }
    exercises = Exercise.objects.filter(pk__in=template.exercises.values("exercise"))
    forbidden = forbidden_exercises(exercises, outcome, inversion_allowed=permission.inversion)
    if forbidden:
        return {"template": f"Not allowed by the patient's screening: {', '.join(forbidden)}."}
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
    today = _today(patient)
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


def plan_check_exercises(plan: Plan) -> None:
    patient = plan.patient
    permission = patient_services.treatment_permission(patient)
    outcome = patient.current_screening.outcome if patient.current_screening else None
    exercises = Exercise.objects.filter(pk__in=plan.exercises.values("exercise"))
    forbidden = forbidden_exercises(exercises, outcome, inversion_allowed=permission.inversion)
    if forbidden:
        raise ValidationError(
            {"exercises": f"Not allowed by the patient's screening: {', '.join(forbidden)}."}
        )


@transaction.atomic
def plan_activate(*, plan: Plan, by, today: date | None = None) -> Plan:
    plan = _lock(plan)
    today = today or _today(plan.patient)
    if plan.status not in (PlanStatus.DRAFT,):
        raise ValidationError(
            {"status": f"A {plan.get_status_display().lower()} plan can't be activated."}
        )
    permission = patient_services.treatment_permission(plan.patient, today=today)
    if not permission.programme:
        raise ValidationError({"patient": permission.reason})
    if Plan.objects.running().filter(patient=plan.patient).exclude(pk=plan.pk).exists():
        raise ValidationError({"status": "This patient already has a running plan: end it first."})
    plan_check_exercises(plan)
    problems = plan_check_steps(plan)
    if problems:
        raise ValidationError({"inversion_steps": " ".join(problems)})
    steps = _steps(plan)
    plan.status = PlanStatus.ACTIVE
    if plan.start_date < today:
        plan.start_date = today
    _make_step_current(plan, steps[0] if steps else None, today=today)
    plan.inversion_paused = False
    plan.pause_reason = ""
    plan.save()
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


@transaction.atomic
def plan_resume(*, plan: Plan, by, today: date | None = None) -> Plan:
    """Resume a paused plan, or inversion stopped by a symptom or screening, after review."""
    plan = _lock(plan)
    today = today or _today(plan.patient)
    if plan.status not in (PlanStatus.PAUSED, PlanStatus.ACTIVE) or (
        plan.status == PlanStatus.ACTIVE and not plan.inversion_paused
    ):
        raise ValidationError({"status": "Only a paused plan can be resumed."})
    permission = patient_services.treatment_permission(plan.patient, today=today)
    if not permission.programme:
        raise ValidationError({"patient": permission.reason})
    plan.status = PlanStatus.ACTIVE
    plan.inversion_paused = False
    plan.pause_reason = ""
    if plan.current_step_id is not None:
        # Re-check the gate: resuming makes the step current again.
        started_on = plan.step_started_on
        _make_step_current(plan, plan.current_step, today=today)
        plan.step_started_on = started_on or today
    plan.save()
    _record(plan, PlanEvent.Kind.RESUMED, by=by)
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
    plan = _lock(plan)
    today = today or _today(plan.patient)
    if not plan.inversion_active:
        raise ValidationError({"status": "Inversion is not running on this plan."})
    current, target = _neighbour(plan, +1)
    if target is None:
        raise ValidationError({"current_step": "This is already the last step of the plan."})
    _make_step_current(plan, target, today=today)
    plan.proposal_action = ""
    plan.save()
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
    plan = _lock(plan)
    today = today or _today(plan.patient)
    if plan.current_step_id is None or plan.status not in (PlanStatus.ACTIVE, PlanStatus.PAUSED):
        raise ValidationError({"status": "This plan has no inversion step to go back from."})
    current, target = _neighbour(plan, -1)
    if target is None:
        raise ValidationError({"current_step": "This is already the first step."})
    if plan.inversion_active:
        _make_step_current(plan, target, today=today)
    else:
        plan.current_step, plan.step_started_on = target, today  # lower and not running: no gate
    plan.proposal_action = ""
    plan.save()
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
    plan = _lock(plan)
    if plan.status in (PlanStatus.ENDED, PlanStatus.COMPLETED):
        raise ValidationError({"status": "This plan has already ended."})
    plan.status = PlanStatus.COMPLETED if completed else PlanStatus.ENDED
    plan.end_date = _today(plan.patient)
    plan.save(update_fields=["status", "end_date", "updated_at"])
    _record(
        plan, PlanEvent.Kind.COMPLETED if completed else PlanEvent.Kind.ENDED, by=by, reason=reason
    )
    return plan


def plan_pause_inversion(*, plan: Plan, by, reason: str) -> bool:
    """Stop inversion at once (symptom, screening); exercises go on. True if it changed."""
    plan = _lock(plan)
    if plan.inversion_paused or plan.current_step_id is None or not plan.is_running:
        return False
    plan.inversion_paused = True
    plan.pause_reason = reason
    plan.save(update_fields=["inversion_paused", "pause_reason", "updated_at"])
    _record(plan, PlanEvent.Kind.INVERSION_PAUSED, by=by, reason=reason)
    return True


@receiver(screening_changed, dispatch_uid="programmes.pause_on_screening")
def pause_when_screening_forbids(
    sender, *, patient: Patient, screening, reason: str, by, today: date, **_
):
    """A worse or expired screening pauses inversion (or the whole plan) in the same transaction."""
    patient = Patient.objects.select_related("current_screening__override").get(pk=patient.pk)
    permission = patient_services.treatment_permission(patient, today=today)
    for plan in Plan.objects.running().filter(patient=patient):
        if not permission.programme and plan.status == PlanStatus.ACTIVE:
            plan_pause(plan=plan, by=by, reason=f"Screening: {permission.reason}")
        if not permission.inversion:
            plan_pause_inversion(
                plan=plan, by=by, reason=f"Screening ({reason}): {permission.reason}"
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
    plan = _lock(Plan(pk=plan_id))
    today = today or _today(plan.patient)
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
        plan_pause_inversion(plan=plan, by=None, reason=proposal.reason)
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
    """What the patient should do today, or why there is nothing.

    Inversion is shown only if the plan has it running and the gate agrees today.
    """
    day = day or _today(patient)
    plan = (
        Plan.objects.running()
        .filter(patient=patient)
        .select_related("current_step")
        .prefetch_related("exercises__exercise")
        .first()
    )
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
    if plan.start_date > day:
        return TodayPrescription(
            day,
            plan,
            None,
            "",
            EXIT_ADVICE,
            (),
            f"Your programme starts on {plan.start_date:%A %d %B}.",
        )
    inversion = None
    inversion_reason = ""
    if plan.current_step_id is not None:
        permission = patient_services.treatment_permission(patient, today=day)
        if plan.inversion_paused:
            inversion_reason = (
                "Inversion is paused until your clinician reviews it. " + plan.pause_reason
            )
        elif not permission.inversion:
            inversion_reason = (
                "Inversion is not allowed at the moment: your clinician will review it."
            )
        else:
            inversion = plan.current_step
    exercises = tuple(
        TodayExercise(
            name=p.exercise.name,
            category=p.exercise.get_category_display(),
            dosage=p.dosage_text(),
            instructions=p.exercise.patient_instructions,
        )
        for p in plan.exercises.all()
    )
    return TodayPrescription(day, plan, inversion, inversion_reason, EXIT_ADVICE, exercises, "")


def template_check(template: ProgrammeTemplate) -> tuple[str, ...]:
    """Cap problems of a template's steps (default ceiling), for the template admin."""
    steps = [s.as_domain() for s in template.inversion_steps.order_by("order")]
    if template.kind == TemplateKind.EXERCISE_ONLY and steps:
        return ("An exercise-only template can't have inversion steps.",)
    return template_violations(steps, ceiling_deg=60, full_inversion_allowed=False)
