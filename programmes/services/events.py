"""A plan's timeline and the audit trail: every plan service records its change here,
one plan event and one audit row, so both always say the same thing."""

from __future__ import annotations

from datetime import date

from clinic.audit import audit_change
from programmes.models import Plan, PlanEvent


def plan_event_record(
    plan: Plan,
    kind: str,
    *,
    by=None,
    reason: str = "",
    from_step=None,
    to_step=None,
    data: dict | None = None,
) -> PlanEvent:
    """The plan's event, and its audit row in the request's, task's or command's own
    channel (the `clinic.audit` context)."""
    event = PlanEvent.objects.create(
        plan=plan,
        kind=kind,
        by=by if getattr(by, "is_authenticated", False) else None,
        reason=reason,
        from_step=from_step,
        to_step=to_step,
        data=data or {},
    )
    audit_change(
        plan,
        "update" if kind != PlanEvent.Kind.CREATED else "create",
        f"Plan {event.get_kind_display().lower()}" + (f": {reason}" if reason else ""),
        by=by,
    )
    return event


def plan_edit_record(plan: Plan, *, by, channel: str, request, summary: str, changes: dict) -> None:
    """An edit in the plan's timeline and the audit trail, each with the fields that changed."""
    PlanEvent.objects.create(
        plan=plan,
        kind=PlanEvent.Kind.EDITED,
        by=by if getattr(by, "is_authenticated", False) else None,
        reason=summary,
        data={"changes": changes},
    )
    audit_change(
        plan,
        "update",
        f"Plan edited: {summary}",
        by=by,
        changes=changes,
        channel=channel,
        request=request,
    )


def as_json(value):
    """A field's value as the event's and audit row's JSON keeps it."""
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value
