"""Inversion progression: the caps on a step, and the engine that proposes the next move.

CLINICAL.md sections 3 and 4 (the caps' values and the ceiling rule are in `caps`). Pure:
no Django, no I/O, `today` is always an argument. The engine proposes; the clinician
decides (or the plan's automatic advance applies it). Whatever the plan says, nothing here
proposes a step beyond `Caps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from programmes.domain.caps import DEFAULT_CAPS, Caps, ceiling_allowed, effective_ceiling_deg
from programmes.domain.symptoms import classify_symptoms, pain_needs_alert, symptom_labels

# Section 3: advance after this many tolerated sessions at the current step in the window,
# each on a local day of its own (issue 11: repeated check-ins on one day are one day).
TOLERATED_SESSIONS_TO_ADVANCE = 3
# The window is today and the 6 days before it: today-6 .. today inclusive.
WINDOW_DAYS = 7
# A rise of 2 NRS points is the minimal clinically important difference (Ostelo 2008).
MEANINGFUL_PAIN_RISE = 2
# Mild-symptom check-ins in the window that stop regressing and call the clinician in.
MILD_CHECKINS_TO_ALERT = 2


@dataclass(frozen=True)
class InversionStep:
    """One rung of an inversion programme.

    Continuous mode holds for `hold_seconds`. Intermittent mode (both `cycles` and
    `cycle_seconds` set) inverts for `cycle_seconds` then comes upright, `cycles` times a
    session; `hold_seconds` is then not used for timing.
    """

    angle_deg: int
    hold_seconds: int
    sessions_per_day: int
    days_per_week: int = 7
    cycles: int | None = None
    cycle_seconds: int | None = None

    def __post_init__(self) -> None:
        # Shape only; the clinical limits are `step_violations`, so they can be explained.
        if (self.cycles is None) != (self.cycle_seconds is None):
            raise ValueError("An intermittent step needs both cycles and cycle_seconds.")
        if self.angle_deg < 0 or self.hold_seconds < 0:
            raise ValueError("Angle and hold cannot be negative.")
        if not self.intermittent and self.hold_seconds < 1:
            raise ValueError("A continuous step needs a hold of at least 1 second.")
        if self.intermittent and (self.cycles < 1 or self.cycle_seconds < 1):
            raise ValueError("An intermittent step needs at least 1 cycle of at least 1 second.")
        if self.sessions_per_day < 1:
            raise ValueError("A step needs at least 1 session a day.")
        if not 1 <= self.days_per_week <= 7:
            raise ValueError("Days per week must be between 1 and 7.")

    @property
    def intermittent(self) -> bool:
        return self.cycles is not None

    @property
    def inverted_seconds_per_session(self) -> int:
        if self.intermittent:
            return self.cycles * self.cycle_seconds
        return self.hold_seconds

    @property
    def inverted_seconds_per_day(self) -> int:
        return self.inverted_seconds_per_session * self.sessions_per_day


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest or not minutes:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


def _cap_violations(
    step: InversionStep,
    *,
    ceiling_deg: int,
    full_inversion_allowed: bool,
    plan_day: int,
    caps: Caps,
) -> list[str]:
    """Limits that hold for any step wherever it sits in the plan."""
    found = []
    ceiling = effective_ceiling_deg(
        ceiling_deg, full_inversion_allowed=full_inversion_allowed, caps=caps
    )
    if step.angle_deg > caps.absolute_max_angle_deg:
        found.append(
            f"Angle {step.angle_deg}° is beyond full inversion ({caps.absolute_max_angle_deg}°)."
        )
    elif step.angle_deg > ceiling:
        if not ceiling_allowed(
            ceiling_deg, full_inversion_allowed=full_inversion_allowed, caps=caps
        ):
            found.append(
                f"Angle {step.angle_deg}° is above the {caps.default_ceiling_deg}° default "
                f"ceiling; the plan's ceiling of {ceiling_deg}° applies only if the clinician "
                "allows full inversion on this plan."
            )
        else:
            found.append(f"Angle {step.angle_deg}° is above this plan's ceiling of {ceiling}°.")
    per_session = step.inverted_seconds_per_session
    if per_session > caps.max_hold_seconds:
        found.append(
            f"A session is {_duration(per_session)} inverted; the most is "
            f"{_duration(caps.max_hold_seconds)}."
        )
    if step.sessions_per_day > caps.max_sessions_per_day:
        found.append(
            f"{step.sessions_per_day} sessions a day; the most is {caps.max_sessions_per_day}."
        )
    if step.intermittent and not (
        caps.min_cycle_seconds <= step.cycle_seconds <= caps.max_cycle_seconds
    ):
        found.append(
            f"Intermittent cycles are {caps.min_cycle_seconds} to {caps.max_cycle_seconds} "
            f"seconds inverted; this one is {step.cycle_seconds} seconds."
        )
    per_day = step.inverted_seconds_per_day
    if plan_day < caps.early_weeks_days and per_day > caps.early_daily_limit_seconds:
        found.append(
            f"{_duration(per_day)} inverted a day is more than the "
            f"{_duration(caps.early_daily_limit_seconds)} a day allowed in the first "
            f"{caps.early_weeks_days} days of a plan (this plan started "
            f"{plan_day} day{'s' if plan_day != 1 else ''} ago)."
        )
    return found


def step_violations(
    step: InversionStep,
    *,
    previous: InversionStep | None,
    ceiling_deg: int,
    full_inversion_allowed: bool,
    plan_day: int,
    caps: Caps = DEFAULT_CAPS,
) -> tuple[str, ...]:
    """Every cap `step` breaks, as sentences for the clinician; empty means allowed.

    `previous` is the step it follows (`None` for a plan's first step, which must lie in the
    start ranges). `plan_day` is the 0-based day of the plan: days 0-13 are the first two
    weeks, when time inverted a day is limited.
    """
    found = _cap_violations(
        step,
        ceiling_deg=ceiling_deg,
        full_inversion_allowed=full_inversion_allowed,
        plan_day=plan_day,
        caps=caps,
    )
    if previous is None:
        if not caps.start_min_angle_deg <= step.angle_deg <= caps.start_max_angle_deg:
            found.append(
                f"A first step starts between {caps.start_min_angle_deg}° and "
                f"{caps.start_max_angle_deg}°; this one is at {step.angle_deg}°."
            )
        # Time inverted a session, so an intermittent first step is held to it too.
        per_session = step.inverted_seconds_per_session
        if not caps.start_min_hold_seconds <= per_session <= caps.start_max_hold_seconds:
            found.append(
                f"A first step holds between {_duration(caps.start_min_hold_seconds)} and "
                f"{_duration(caps.start_max_hold_seconds)}; this one holds "
                f"{_duration(per_session)}."
            )
        if step.sessions_per_day > caps.start_sessions_per_day:
            found.append(
                f"A first step is {caps.start_sessions_per_day} session a day; this one is "
                f"{step.sessions_per_day}."
            )
        return tuple(found)

    angle_rise = step.angle_deg - previous.angle_deg
    if angle_rise > caps.max_angle_step_deg:
        found.append(
            f"Angle rises by {angle_rise}° from the previous step ({previous.angle_deg}°); "
            f"one step is at most +{caps.max_angle_step_deg}°."
        )
    # Compare time inverted, so a switch to or from intermittent mode is measured fairly.
    hold_rise = step.inverted_seconds_per_session - previous.inverted_seconds_per_session
    if hold_rise > caps.max_hold_step_seconds:
        found.append(
            f"Time inverted per session rises by {_duration(hold_rise)} from the previous "
            f"step; one step is at most +{_duration(caps.max_hold_step_seconds)}."
        )
    return tuple(found)


def template_violations(
    steps: Sequence[InversionStep],
    *,
    ceiling_deg: int,
    full_inversion_allowed: bool,
    caps: Caps = DEFAULT_CAPS,
) -> tuple[str, ...]:
    """Every cap a programme's steps break, each prefixed "Step N:" (1-based).

    The first-two-weeks daily limit is checked on step 1 only (as on day 0): when a later step
    is reached depends on the patient, so the engine re-checks it with the real plan day at
    each advance and holds until the step fits.
    """
    found: list[str] = []
    for index, step in enumerate(steps):
        previous = steps[index - 1] if index else None
        plan_day = 0 if index == 0 else caps.early_weeks_days
        found.extend(
            f"Step {index + 1}: {violation}"
            for violation in step_violations(
                step,
                previous=previous,
                ceiling_deg=ceiling_deg,
                full_inversion_allowed=full_inversion_allowed,
                plan_day=plan_day,
                caps=caps,
            )
        )
    return tuple(found)


def template_problems(
    steps: Sequence[InversionStep], *, exercise_only: bool, caps: Caps = DEFAULT_CAPS
) -> tuple[str, ...]:
    """What a programme template's steps break. A template has no plan to allow full
    inversion on, so it keeps the default ceiling; an exercise-only one has no steps."""
    if exercise_only and steps:
        return ("An exercise-only template can't have inversion steps.",)
    return template_violations(
        steps, ceiling_deg=caps.default_ceiling_deg, full_inversion_allowed=False, caps=caps
    )


@dataclass(frozen=True)
class CheckInRecord:
    """One check-in as the engine sees it. `inversion_done`: a session (full or partial) was
    done at `step_index`. Pain is NRS 0-10, `None` if not given."""

    day: date
    step_index: int
    inversion_done: bool
    pain_before: int | None
    pain_after: int | None
    symptoms: frozenset[str] = frozenset()

    @property
    def pain_rise(self) -> int | None:
        if self.pain_before is None or self.pain_after is None:
            return None
        return self.pain_after - self.pain_before

    @property
    def pain_rose(self) -> bool:
        rise = self.pain_rise
        return rise is not None and rise >= MEANINGFUL_PAIN_RISE

    @property
    def tolerated(self) -> bool:
        """A session done with no symptom and no meaningful rise in pain."""
        return self.inversion_done and not self.symptoms and not self.pain_rose


@dataclass(frozen=True)
class PlanState:
    """What the engine needs to know about a plan. `current_index` is 0-based into `steps`.

    `step_started_on` is the local day the current step became current (activation, an
    advance, a go-back); `None` when unknown, and then the plan's start date stands in.
    """

    steps: tuple[InversionStep, ...]
    current_index: int
    ceiling_deg: int
    full_inversion_allowed: bool
    start_date: date
    paused: bool = False
    step_started_on: date | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.current_index < len(self.steps):
            raise ValueError(
                f"current_index {self.current_index} is outside the plan's {len(self.steps)} steps."
            )

    @property
    def counts_from(self) -> date:
        """The first day a session can count toward advancing the current step."""
        return max(self.start_date, self.step_started_on or self.start_date)


ProposalAction = Literal["advance", "hold", "go_back", "pause"]


@dataclass(frozen=True)
class Proposal:
    """`target_index` is the step the plan would be on afterwards (unchanged for hold/pause)."""

    action: ProposalAction
    reason: str
    target_index: int
    alert_clinician: bool


def checkins_in_window(checkins: Sequence[CheckInRecord], today: date) -> list[CheckInRecord]:
    """Check-ins dated today-6 .. today inclusive, oldest first (same-day order kept)."""
    first_day = today - timedelta(days=WINDOW_DAYS - 1)
    return sorted((c for c in checkins if first_day <= c.day <= today), key=lambda c: c.day)


@dataclass(frozen=True)
class ToleratedTally:
    """What counts toward advancing the current step (CLINICAL.md section 3).

    `days`: the distinct local days with a tolerated session at the current step.
    `sessions`: the tolerated sessions counted, at most the step's sessions a day.
    `since`: the first day that could count.
    """

    days: tuple[date, ...]
    sessions: int
    since: date


def tolerated_at_current_step(
    plan: PlanState, recent_checkins: Sequence[CheckInRecord], today: date
) -> ToleratedTally:
    """Count the tolerated sessions at the current step that may advance it today.

    A session counts only if it is in the last 7 days (today-6 .. today), dated no earlier
    than the day the current step began and never before the plan's start, nor after
    `today`, and made at the current step after the last check-in at any other step (so
    sessions from before a go-back never send the plan straight back up). No day counts
    more sessions than the step prescribes, and advancing needs sessions on distinct days:
    three check-ins on one day are one day.
    """
    since = max(plan.counts_from, today - timedelta(days=WINDOW_DAYS - 1))
    counted = [c for c in checkins_in_window(recent_checkins, today) if c.day >= since]
    run: list[CheckInRecord] = []
    for checkin in reversed(counted):
        if checkin.step_index != plan.current_index:
            break
        run.append(checkin)
    per_day: dict[date, int] = {}
    for checkin in run:
        if checkin.tolerated:
            per_day[checkin.day] = per_day.get(checkin.day, 0) + 1
    allowed = plan.steps[plan.current_index].sessions_per_day
    return ToleratedTally(
        days=tuple(sorted(per_day)),
        sessions=sum(min(count, allowed) for count in per_day.values()),
        since=since,
    )


def advance_pace_refusal(
    plan: PlanState,
    recent_checkins: Sequence[CheckInRecord],
    today: date,
    caps: Caps = DEFAULT_CAPS,
) -> str:
    """Why the pace does not allow advancing a step today ("" when it does).

    A clinician's manual advance keeps the engine's pace: it may go ahead today exactly
    when the engine itself would propose advancing. Overriding the pace is the clinician's
    recorded decision; the caps are never overridden (the caller checks them).
    """
    proposal = propose_progression(plan, recent_checkins, today, caps)
    return "" if proposal.action == "advance" else proposal.reason


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def propose_progression(
    plan: PlanState,
    recent_checkins: Sequence[CheckInRecord],
    today: date,
    caps: Caps = DEFAULT_CAPS,
) -> Proposal:
    """Propose the plan's next move from its check-ins (CLINICAL.md sections 3 and 4).

    "The last 7 days" is today-6 .. today inclusive; check-ins outside it (including any
    dated after today) are ignored. Pass the check-ins in the order they were made. The
    first rule that applies wins:

    1. a stop symptom in any check-in in the window: pause, alert the clinician;
    2. the plan is paused: hold (never advance a paused plan);
    3. the current step itself breaks a cap: hold, alert the clinician;
    4. two or more check-ins with a mild symptom in the window: hold, alert the clinician;
    5. a mild symptom in the latest check-in, made at the current step: go back one step
       (at the first step, or if the step below breaks a cap: hold and alert instead);
    6. pain in the latest check-in rose by 2 or more: hold;
    7. tolerated sessions at the current step on 3 or more distinct days: advance, unless
       this is the last step or the next step breaks a cap on today's plan day (hold,
       naming the cap);
    8. otherwise hold, saying how many more days of tolerated sessions are needed.

    What counts toward advancing is `tolerated_at_current_step`: since the current step
    began, never before the plan's start or after today, at most the step's sessions a
    day, on distinct days.

    Pain of 7 or more in the latest check-in also sets `alert_clinician`, whatever the action.

    The caller scopes `recent_checkins`: once a clinician has reviewed and resumed a plan,
    pass only check-ins made since, or a stop symptom from before the review pauses it again.
    """
    window = checkins_in_window(recent_checkins, today)
    proposal = _propose(plan, window, today, caps)
    latest = window[-1] if window else None
    if latest and pain_needs_alert(latest.pain_before, latest.pain_after):
        worst = max(p for p in (latest.pain_before, latest.pain_after) if p is not None)
        proposal = replace(
            proposal,
            reason=f"{proposal.reason} Pain reached {worst}/10 on {latest.day.isoformat()}.",
            alert_clinician=True,
        )
    return proposal


def _propose(plan: PlanState, window: list[CheckInRecord], today: date, caps: Caps) -> Proposal:
    current = plan.current_index
    plan_day = (today - plan.start_date).days

    def hold(reason: str, *, alert: bool = False) -> Proposal:
        return Proposal("hold", reason, current, alert)

    assessed = [(checkin, classify_symptoms(checkin.symptoms)) for checkin in window]

    stops = [(checkin, a) for checkin, a in assessed if a.stop]
    if stops:
        checkin, assessment = stops[-1]
        reason = (
            f"Stop symptom on {checkin.day.isoformat()}: {symptom_labels(assessment.stop_codes)}. "
            "Inversion paused until a clinician reviews it."
        )
        if any(a.red_flag for _, a in stops):
            reason += " Red flag: the patient needs urgent medical care today (urgent referral)."
        return Proposal("pause", reason, current, True)

    if plan.paused:
        return hold("The plan is paused; it does not progress until a clinician resumes it.")

    def cap_breaks(step: InversionStep) -> list[str]:
        return _cap_violations(
            step,
            ceiling_deg=plan.ceiling_deg,
            full_inversion_allowed=plan.full_inversion_allowed,
            plan_day=plan_day,
            caps=caps,
        )

    current_breaks = cap_breaks(plan.steps[current])
    if current_breaks:
        return hold(
            f"Step {current + 1} (the current step) breaks a cap: {' '.join(current_breaks)} "
            "The clinician needs to change the plan.",
            alert=True,
        )

    milds = [(checkin, a) for checkin, a in assessed if a.mild]
    if len(milds) >= MILD_CHECKINS_TO_ALERT:
        days = ", ".join(checkin.day.isoformat() for checkin, _ in milds)
        return hold(
            f"{len(milds)} check-ins with mild symptoms in the last {WINDOW_DAYS} days "
            f"({days}): holding at this step for the clinician to review.",
            alert=True,
        )

    latest, latest_assessment = assessed[-1] if assessed else (None, None)
    # Only a symptom at the current step: after a go-back the same check-in must not
    # send the plan down again.
    if latest and latest_assessment.mild and latest.step_index == current:
        labels = symptom_labels(latest_assessment.mild_codes)
        if current == 0:
            return hold(
                f"Mild symptom on {latest.day.isoformat()} ({labels}) at the first step: "
                "there is no lower step to go back to.",
                alert=True,
            )
        below_breaks = cap_breaks(plan.steps[current - 1])
        if below_breaks:
            return hold(
                f"Mild symptom on {latest.day.isoformat()} ({labels}), but the step below "
                f"breaks a cap: {' '.join(below_breaks)}",
                alert=True,
            )
        return Proposal(
            "go_back",
            f"Mild symptom on {latest.day.isoformat()} ({labels}): go back one step.",
            current - 1,
            False,
        )

    if latest and latest.pain_rose:
        return hold(
            f"Pain rose by {latest.pain_rise} points after the session on "
            f"{latest.day.isoformat()} (from {latest.pain_before} to {latest.pain_after}): "
            "holding at this step."
        )

    tally = tolerated_at_current_step(plan, window, today)
    days = len(tally.days)
    counted = (
        f"Tolerated sessions at this step on {_plural(days, 'distinct day')} in the last "
        f"{WINDOW_DAYS} days ({_plural(tally.sessions, 'session')} counted since "
        f"{tally.since.isoformat()})"
    )
    if days < TOLERATED_SESSIONS_TO_ADVANCE:
        needed = TOLERATED_SESSIONS_TO_ADVANCE - days
        return hold(f"{counted}; {needed} more needed before advancing, each on a day of its own.")
    if current + 1 >= len(plan.steps):
        return hold(f"{counted}, but this is the top of the programme.")
    next_breaks = step_violations(
        plan.steps[current + 1],
        previous=plan.steps[current],
        ceiling_deg=plan.ceiling_deg,
        full_inversion_allowed=plan.full_inversion_allowed,
        plan_day=plan_day,
        caps=caps,
    )
    if next_breaks:
        return hold(f"{counted}, but the next step breaks a cap: {' '.join(next_breaks)}")
    return Proposal("advance", f"{counted}: advance one step.", current + 1, False)
