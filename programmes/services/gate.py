"""The one guarded place an inversion step becomes current, and what it asks.

`make_step_current` asks the screening gate (today's permission) and the progression
caps, and refuses with a ValidationError the admin, API and tasks show as they are. The
database guard of migration 0011 stands behind it.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from django.core.exceptions import ValidationError

from programmes.domain.permission import (
    INVERSION_CATEGORY,
    PlanFacts,
    TreatmentPermission,
    treatment_permission,
)
from programmes.domain.progression import step_violations
from programmes.models import Plan, PlanExercise, PlanInversionStep, PlanStatus
from programmes.permission import (
    TreatmentToday,
    inversion_doses,
    plan_facts,
    screening_facts,
    treatment_today,
)

# A plan that has ended, completed or not: nothing about it changes any more.
ENDED = (PlanStatus.ENDED, PlanStatus.COMPLETED)


def plan_lock(plan: Plan) -> Plan:
    """The plan, locked, with its patient locked first (the one lock order)."""
    return treatment_today(plan.patient_id, plan=plan, lock=True).plan


def plan_steps(plan: Plan) -> list[PlanInversionStep]:
    return list(plan.inversion_steps.order_by("order"))


def plan_day(plan: Plan, today: date) -> int:
    return max((today - plan.start_date).days, 0)


def _if_running(plan: Plan, **changes) -> PlanFacts:
    """The plan's facts as they would be after a change (activation, resume)."""
    return dataclasses.replace(plan_facts(plan), **changes)


def permission_after(
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


def plan_doses(plan: Plan) -> list:
    """The plan's inversion exercises as they stand now (fresh: edits may precede)."""
    return inversion_doses(PlanExercise.objects.filter(plan=plan).select_related("exercise"))


def plan_has_inversion_exercise(plan: Plan) -> bool:
    return any(dose.exercise.category == INVERSION_CATEGORY for dose in plan.exercises.all())


def make_step_current(
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
                permission.limits.prescription_violations(step.as_domain(), plan_doses(plan))
                + violations
            )
        if violations:
            raise ValidationError({"current_step": " ".join(dict.fromkeys(violations))})
    plan.current_step = step
    plan.step_started_on = today if step is not None else None
