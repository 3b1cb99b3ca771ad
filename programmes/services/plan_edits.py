"""A plan's settings: name, clinician, dates, ceiling, automatic advance.

They change only here: the admin's change form and the API's update call `plan_update`,
which locks the patient and then the plan (the one lock order), compares with the fresh
row, and writes only what changed, so an edit that overlaps a check-in's pause, a
screening's pause or another edit never writes back what it read before them.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.permissions import CLINICAL_ROLES
from programmes.domain.caps import DEFAULT_CAPS, ceiling_refusal, effective_ceiling_deg
from programmes.models import Plan, PlanStatus
from programmes.permission import treatment_today
from programmes.services.events import as_json, plan_edit_record
from programmes.services.gate import ENDED

RUNNING = (PlanStatus.ACTIVE, PlanStatus.PAUSED)

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
    if status in RUNNING and new_start != start:
        return START_DATE_FIXED
    return ""


def _differs(plan: Plan, name: str, value) -> bool:
    if name == "clinician":
        return plan.clinician_id != getattr(value, "pk", value)
    return getattr(plan, name) != value


def _plan_update_problems(plan: Plan, changed: dict, *, today: date) -> dict[str, str]:
    problems: dict[str, str] = {}
    if plan.status in ENDED:
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
    highest = DEFAULT_CAPS.absolute_max_angle_deg
    if ceiling is None or not 15 <= ceiling <= highest:
        problems["ceiling_deg"] = f"The ceiling is between 15° and {highest}°."
    elif refusal := ceiling_refusal(ceiling, full_inversion_allowed=full):
        problems["ceiling_deg"] = refusal
    else:
        # Every step keeps the ceiling (PostgreSQL holds it), not only the current one.
        limit = effective_ceiling_deg(ceiling, full_inversion_allowed=full)
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
    before = {name: as_json(getattr(plan, name)) for name in changed}
    for name, value in changed.items():
        setattr(plan, name, value)
    plan.save(update_fields=[*changed, "updated_at"])
    plan_edit_record(
        plan,
        by=by,
        channel=channel,
        request=request,
        summary=f"changed {', '.join(changed)}",
        changes={
            name: {"from": before[name], "to": as_json(value)} for name, value in changed.items()
        },
    )
    return plan
