"""Progression: a plan's state as the engine reads it, the steps up and down, and the
engine's proposal (applied, within the caps, when the plan advances automatically).

The pace and the caps are the domain's (`programmes.domain.progression`); a step becomes
current only in `gate.make_step_current`.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from programmes.domain.permission import PauseCause
from programmes.domain.progression import (
    CheckInRecord,
    PlanState,
    Proposal,
    advance_pace_refusal,
    propose_progression,
)
from programmes.models import CheckIn, Plan, PlanEvent, PlanInversionStep
from programmes.permission import treatment_today
from programmes.services.events import plan_event_record
from programmes.services.gate import make_step_current, plan_lock, plan_steps
from programmes.services.lifecycle import plan_pause_inversion
from programmes.services.receivers import pause_when_screening_forbids

RECENT_CHECKIN_DAYS = 7


def plan_state(plan: Plan) -> PlanState | None:
    steps = plan_steps(plan)
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
    index_of = {s.pk: i for i, s in enumerate(plan_steps(plan))}
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
    plan = plan_lock(plan)
    state = plan_state(plan)
    if state is None:
        return None
    proposal = propose_progression(state, recent_checkin_records(plan, today), today)
    steps = plan_steps(plan)
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
        plan_event_record(
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
            plan_event_record(plan, PlanEvent.Kind.REFUSED, reason=" ".join(refusal.messages))
    return proposal


def _neighbour(
    plan: Plan, offset: int
) -> tuple[PlanInversionStep | None, PlanInversionStep | None]:
    steps = plan_steps(plan)
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
    are checked in `make_step_current` either way. `reason` is the event's note.
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
    make_step_current(plan, target, permission=now.permission, today=today)
    plan.proposal_action = ""
    plan.save(update_fields=["current_step", "step_started_on", "proposal_action", "updated_at"])
    note = reason or override or target.describe()
    data = {}
    if pace:
        data = {"pace_overridden": True, "pace_override_reason": override, "pace": pace}
        note = f"Pace overridden: {override}. {reason or target.describe()}"
    plan_event_record(
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
    if plan.current_step_id is None or not plan.is_running:
        raise ValidationError({"status": "This plan has no inversion step to go back from."})
    current, target = _neighbour(plan, -1)
    if target is None:
        raise ValidationError({"current_step": "This is already the first step."})
    # Lower, and when inversion isn't running not gated by today's permission; the
    # caps hold either way.
    make_step_current(
        plan, target, permission=now.permission, today=today, gated=plan.inversion_active
    )
    plan.proposal_action = ""
    plan.save(update_fields=["current_step", "step_started_on", "proposal_action", "updated_at"])
    plan_event_record(
        plan,
        PlanEvent.Kind.WENT_BACK,
        by=by,
        reason=reason or target.describe(),
        from_step=current.order,
        to_step=target.order,
    )
    return plan
