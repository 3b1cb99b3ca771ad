"""What programmes does when patients announce a change (connected in
`ProgrammesConfig.ready`): a worse or lapsed screening pauses inversion, a new time
zone restarts the count of sessions at the current step."""

from __future__ import annotations

from datetime import date

from patients.models import Patient
from programmes.alerts import alert_raise
from programmes.domain.permission import PauseCause
from programmes.models import ClinicianAlert, PlanEvent, PlanStatus
from programmes.permission import treatment_today
from programmes.screening_alerts import INTAKE_ALERTS
from programmes.services.events import plan_event_record
from programmes.services.gate import permission_after
from programmes.services.lifecycle import plan_pause, plan_pause_inversion


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
    plan_event_record(
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
    if not permission_after(now, status=PlanStatus.ACTIVE, inversion_paused=False).inversion:
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
