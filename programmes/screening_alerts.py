"""Tell the clinician at once when a screening reaches the clinic (CLINICAL.md s.1).

An intake (portal, API or admin; a health update is one too) that screens urgent referral
or review required raises its alert (saying what it paused: the pause raises none of its
own then); one that makes the patient newly contraindicated
raises one unless the same screening already paused inversion (that alert says so). The
alert heads the at-risk report until a clinician acknowledges it, and the patient is told
"your clinician has been told" only where `screening_told` finds one.

`alert_on_screening` answers `patients.services.screening_changed` inside the intake's
transaction. It is connected in `ProgrammesConfig.ready` after
`pause_when_screening_forbids`, so a pause alert for the same screening already exists.
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q

from patients.domain.screening import outcome_is_worse
from patients.models import Outcome, Patient, Screening
from programmes.alerts import alert_raise
from programmes.models import ClinicianAlert, Plan

INTAKE_ALERTS = {
    Outcome.URGENT_REFERRAL: ClinicianAlert.Kind.URGENT_REFERRAL,
    Outcome.REVIEW_REQUIRED: ClinicianAlert.Kind.REVIEW_REQUIRED,
}
REASONS = {"intake": "an intake", "health_update": "a health update"}


def intake_dedupe_key(screening: Screening) -> str:
    return f"intake:{screening.pk}"


def contraindicated_dedupe_key(screening: Screening) -> str:
    return f"contraindicated:{screening.pk}"


def _pause_alerts(screening: Screening) -> Q:
    # As `pause_when_screening_forbids` keys them: screening-pause:<plan>:<screening>:<event>.
    return Q(
        kind=ClinicianAlert.Kind.SCREENING_PAUSE,
        dedupe_key__regex=rf"^screening-pause:\d+:{screening.pk}:\d+$",
    )


def screening_told(screening: Screening | None) -> bool:
    """Whether this screening raised a clinician alert (now or when it was recorded)."""
    if screening is None:
        return False
    keys = [
        intake_dedupe_key(screening),
        contraindicated_dedupe_key(screening),
        f"confirm-screening:{screening.pk}",
    ]
    return ClinicianAlert.objects.filter(
        Q(dedupe_key__in=keys) | _pause_alerts(screening), patient_id=screening.patient_id
    ).exists()


def _message(screening: Screening, reason: str, tier: str) -> str:
    findings = "; ".join(
        f["clinician_message"] for f in screening.findings if f.get("tier") == tier
    )
    what = REASONS.get(reason, reason.replace("_", " "))
    return f"{screening.get_outcome_display()} after {what}: {findings or 'see the screening'}."


def _newly_contraindicated(screening: Screening) -> bool:
    if screening.outcome != Outcome.CONTRAINDICATED:
        return False
    previous = (
        Screening.objects.filter(patient_id=screening.patient_id, awaiting_confirmation=False)
        .exclude(pk=screening.pk)
        .order_by("-created_at", "-pk")
        .values_list("outcome", flat=True)
        .first()
    )
    return previous is not None and outcome_is_worse(screening.outcome, previous)


def _paused_what(plan: Plan) -> str:
    if plan.status == "paused":
        return "The running plan is paused."
    return "Inversion is paused on the running plan; the exercises go on."


def alert_on_screening(
    sender, *, patient: Patient, screening: Screening | None, reason: str, by, today: date, **_
) -> None:
    """Raise the alert a new screening calls for (once per screening)."""
    if screening is None or reason == "expired":  # a lapse is the pause's business
        return
    if screening.awaiting_confirmation or patient.current_screening_id != screening.pk:
        return  # not the patient's screening (yet): nothing they were told reached us
    plan = Plan.objects.running_for(patient).order_by("-start_date", "-pk")
    if screening.outcome in INTAKE_ALERTS:
        running = plan.first()
        message = _message(screening, reason, screening.outcome)
        if running is not None and (running.status == "paused" or running.inversion_paused):
            # The pause this screening caused raised no alert of its own: this one says it.
            message += f" {_paused_what(running)}"
        alert_raise(
            patient=patient,
            plan=running,
            kind=INTAKE_ALERTS[screening.outcome],
            message=message,
            dedupe_key=intake_dedupe_key(screening),
        )
    elif _newly_contraindicated(screening) and not (
        ClinicianAlert.objects.filter(_pause_alerts(screening), patient_id=patient.pk).exists()
    ):
        alert_raise(
            patient=patient,
            plan=plan.first(),
            kind=ClinicianAlert.Kind.CONTRAINDICATED,
            message=_message(screening, reason, Outcome.CONTRAINDICATED),
            dedupe_key=contraindicated_dedupe_key(screening),
        )


def alert_on_awaiting_confirmation(
    sender, *, patient: Patient, screening: Screening, message: str, dedupe_key: str, **_
) -> None:
    """A patient's answers that would lower their outcome wait for a clinician: ask one."""
    plan = Plan.objects.running_for(patient).first()
    alert_raise(
        patient=patient,
        plan=plan,
        kind=ClinicianAlert.Kind.CONFIRM_SCREENING,
        message=message,
        dedupe_key=dedupe_key,
    )
