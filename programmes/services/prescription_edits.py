"""A plan's prescription: its inversion steps (a draft's only) and its exercises, added,
changed or deleted as a form set or the API sends them (`RowEdits`).

`plan_prescription_update` re-asks today's permission under the plan's lock, so nothing
is added that the patient may not be given today, even when the screening changed or a
stop symptom arrived since the page was read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import transaction

from programmes.domain.permission import TreatmentPermission
from programmes.domain.progression import template_violations
from programmes.models import Exercise, Plan, PlanExercise, PlanInversionStep, PlanStatus
from programmes.permission import TreatmentToday, inversion_doses, treatment_today
from programmes.services.events import as_json, plan_edit_record
from programmes.services.gate import ENDED, exercises_refused, permission_after

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


def prescribing_permission(now: TreatmentToday) -> TreatmentPermission:
    """What may be prescribed on this plan today, as if it ran from today: a draft, a
    plan starting later or one the clinician paused is judged like a running one (with
    any pause of its inversion), so nothing is added that today's permission refuses."""
    plan = now.plan
    return permission_after(
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
    if now.plan.status in ENDED:
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
        f"{kind}_added": [{k: as_json(v) for k, v in row.items()} for row in edits.added],
        f"{kind}_changed": {
            str(pk): {k: as_json(v) for k, v in values.items()}
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
    plan_edit_record(
        locked, by=by, channel=channel, request=request, summary=", ".join(parts), changes=changes
    )
    return locked
