"""A plan's life: given from a template, activated, paused, resumed, ended; and inversion
stopped at once when a symptom or the screening calls for it.

Each service locks the patient and then the plan (the one lock order), asks today's
permission as it would stand after the change, and records the change once
(`events.plan_event_record`). A step becomes current only in `gate.make_step_current`.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from patients import services as patient_services
from patients.models import Patient
from programmes.domain.caps import DEFAULT_CAPS, ceiling_allowed
from programmes.domain.permission import PauseCause, TreatmentPermission
from programmes.domain.progression import template_violations
from programmes.models import (
    Exercise,
    Plan,
    PlanEvent,
    PlanExercise,
    PlanInversionStep,
    PlanStatus,
    ProgrammeTemplate,
)
from programmes.permission import inversion_doses, treatment_today
from programmes.services.events import plan_event_record
from programmes.services.gate import (
    ENDED,
    exercises_refused,
    make_step_current,
    permission_after,
    plan_doses,
    plan_has_inversion_exercise,
    plan_lock,
    plan_steps,
)


def plan_assignment_problems(
    *, patient: Patient, template: ProgrammeTemplate, today: date | None = None
) -> dict[str, str]:
    """Why this template can't be given to this patient today (empty: it can).

    A stop symptom awaiting review doesn't stop a plan being given: it starts with
    inversion paused for that review (`plan_activate`)."""
    permission = permission_after(
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
    ceiling_deg: int = DEFAULT_CAPS.default_ceiling_deg,
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
    if not ceiling_allowed(ceiling_deg, full_inversion_allowed=full_inversion_allowed):
        raise ValidationError(
            {
                "ceiling_deg": f"Above {DEFAULT_CAPS.default_ceiling_deg}° needs full "
                "inversion allowed on the plan."
            }
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
    plan_event_record(
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
        [s.as_domain() for s in plan_steps(plan)],
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
    doses = plan_doses(plan)
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
    permission = permission_after(
        now, status=PlanStatus.ACTIVE, start_date=start, stop_reviewed=stop_pending
    )
    if not permission.programme and start <= today:
        raise ValidationError({"patient": permission.reason})
    if Plan.objects.running_for(plan.patient).exclude(pk=plan.pk).exists():
        raise ValidationError({"status": "This patient already has a running plan: end it first."})
    if start > today:
        # A future start: what it prescribes is judged on today's screening as if it
        # started today (the day's own permission decides what is shown then).
        permission = permission_after(
            now, status=PlanStatus.ACTIVE, start_date=today, stop_reviewed=stop_pending
        )
    if permission.programme:
        plan_check_exercises(plan, permission=permission)
    problems = plan_check_steps(plan)
    if problems:
        raise ValidationError({"inversion_steps": " ".join(problems)})
    steps = plan_steps(plan)
    plan.status = PlanStatus.ACTIVE
    plan.start_date = start
    make_step_current(plan, steps[0] if steps else None, permission=permission, today=today)
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
    plan_event_record(
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
    plan = plan_lock(plan)
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError({"status": "Only an active plan can be paused."})
    plan.status = PlanStatus.PAUSED
    plan.pause_reason = reason.strip()
    plan.save(update_fields=["status", "pause_reason", "updated_at"])
    plan_event_record(plan, PlanEvent.Kind.PAUSED, by=by, reason=plan.pause_reason)
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
    if not plan.is_running or (plan.status == PlanStatus.ACTIVE and not plan.inversion_paused):
        raise ValidationError({"status": "Only a paused plan can be resumed."})
    if resume_needs(plan) and not (confirmed and reason and reason.strip()):
        raise ValidationError(
            {
                "reason": "Inversion was stopped by a symptom: confirm you have reviewed it "
                "and give the clinical reason for resuming."
            }
        )
    stop_pending = plan.patient.stop_symptom_reported_at is not None
    permission = permission_after(
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
        if plan.current_step_id is not None or plan_has_inversion_exercise(plan):
            if not permission.inversion:
                if not was_paused:
                    raise ValidationError({"patient": f"Inversion refused: {permission.reason}"})
            else:
                started_on = plan.step_started_on
                make_step_current(plan, plan.current_step, permission=permission, today=today)
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
        plan.current_step_id is not None or plan_has_inversion_exercise(plan)
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
    plan_event_record(
        plan,
        PlanEvent.Kind.RESUMED,
        by=by,
        reason=reason.strip(),
        data={"confirmed": bool(confirmed)},
    )
    return plan


@transaction.atomic
def plan_end(*, plan: Plan, by, reason: str = "", completed: bool = False) -> Plan:
    now = treatment_today(plan.patient_id, plan=plan, lock=True)
    plan = now.plan
    if plan.status in ENDED:
        raise ValidationError({"status": "This plan has already ended."})
    plan.status = PlanStatus.COMPLETED if completed else PlanStatus.ENDED
    plan.end_date = now.today
    plan.save(update_fields=["status", "end_date", "updated_at"])
    plan_event_record(
        plan, PlanEvent.Kind.COMPLETED if completed else PlanEvent.Kind.ENDED, by=by, reason=reason
    )
    return plan


@transaction.atomic
def plan_pause_inversion(*, plan: Plan, by, reason: str, cause: str) -> bool:
    """Stop inversion at once (symptom, screening); exercises go on. True if it changed.

    A stop or red-flag symptom replaces a milder cause, so its resume asks for review.
    """
    return plan_pause_inversion_held(plan=plan_lock(plan), by=by, reason=reason, cause=cause)


def plan_pause_inversion_held(*, plan: Plan, by, reason: str, cause: str) -> bool:
    """`plan_pause_inversion` on a plan the caller's transaction already holds: locked
    (its patient first) and loaded under the lock by `treatment_today(lock=True)`, as
    `checkin_submit` has it. No second read and no savepoint; `plan` is changed in place."""
    if not plan.is_running:
        return False
    symptom = cause in (PauseCause.STOP_SYMPTOM, PauseCause.RED_FLAG)
    # A symptom pauses even a plan with no inversion on it now: none is added, and the
    # plan shows "resume after review", until a clinician has reviewed it.
    if not symptom and plan.current_step_id is None and not plan_has_inversion_exercise(plan):
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
    plan_event_record(plan, PlanEvent.Kind.INVERSION_PAUSED, by=by, reason=reason)
    return True
