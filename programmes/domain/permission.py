"""May this patient invert today, and how much? The one answer (CLINICAL.md sections 1, 3, 4).

Pure: no Django, no I/O, `today` is an argument. Every path that gives, shows, sends,
assigns, activates or advances inversion asks `treatment_permission` through one loader
(`programmes.permission`), in the patient's own local date, and PostgreSQL refuses what
it forbids (programmes migration 0011).

The answer is one of three levels: nothing at all (unscreened, lapsed, urgent referral),
exercises only, or inversion within stated limits (angle, hold, sessions and time a day).
Inversion is inversion whether it arrives as a step or as an exercise of the inversion
category.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from patients.domain import gate
from programmes.domain.caps import DEFAULT_CAPS, Caps, effective_ceiling_deg
from programmes.domain.progression import InversionStep
from programmes.domain.symptoms import RED_FLAG_SYMPTOMS, STOP_SYMPTOMS

INVERSION_CATEGORY = "inversion"


class Level(StrEnum):
    NONE = "none"
    EXERCISE_ONLY = "exercise_only"
    INVERSION = "inversion"


class PauseCause(StrEnum):
    """Why a plan's inversion is paused; what a resume must show depends on it."""

    NONE = ""
    STOP_SYMPTOM = "stop_symptom"  # resume asks for confirmation and a reason
    RED_FLAG = "red_flag"  # resume needs a recorded referral outcome
    SCREENING = "screening"  # resume needs a screening that allows inversion
    PROGRESSION = "progression"  # the engine's pause (two mild symptoms, say)
    CLINICIAN = "clinician"


class ReferralState(StrEnum):
    NONE = "none"  # no red flag on record
    PENDING = "pending"  # a red flag, and no referral outcome yet
    EXCLUDED = "excluded"  # referred; serious pathology excluded
    SPECIALIST = "specialist"  # referred; under specialist care


@dataclass(frozen=True)
class ScreeningFacts:
    """The patient's current screening and what a clinician recorded against it."""

    outcome: str | None  # None: never screened
    valid_until: date | None = None
    override_until: date | None = None  # a live (unrevoked) override's last day
    # The referral a red-flag screening demands, or a red flag reported at a check-in.
    screening_referral: ReferralState = ReferralState.NONE
    checkin_red_flag: ReferralState = ReferralState.NONE
    # A stop symptom reported at a check-in that no clinician has reviewed yet.
    stop_symptom_pending: bool = False


@dataclass(frozen=True)
class PlanFacts:
    status: str  # draft, active, paused, completed, ended
    start_date: date
    end_date: date | None = None
    current_step: InversionStep | None = None
    inversion_paused: bool = False
    pause_cause: str = PauseCause.NONE
    ceiling_deg: int = 60
    full_inversion_allowed: bool = False


@dataclass(frozen=True)
class InversionDose:
    """An inversion-category exercise as prescribed on a plan.

    Its time on the table counts with the current step's: sessions a day and time a day
    are the plan's, whichever way they arrive. It never progresses (the steps do), so a
    session stays within a first step's range (CLINICAL.md section 3).
    """

    name: str
    seconds_per_session: int | None  # hold x repetitions x sets; None: no hold given
    sessions_per_day: int

    @property
    def seconds_per_day(self) -> int:
        return (self.seconds_per_session or 0) * self.sessions_per_day


def inversion_dose(
    *,
    name: str,
    sets: int | None,
    hold_seconds: int | None,
    times_per_day: int | None,
    repetitions: int | None = None,
) -> InversionDose:
    """Each repetition of each set is a hold on the table: all of them are time inverted."""
    holds = max(sets or 1, 1) * max(repetitions or 1, 1)
    return InversionDose(
        name=name,
        seconds_per_session=hold_seconds * holds if hold_seconds else None,
        sessions_per_day=max(times_per_day or 1, 1),
    )


def dose_violations(dose: InversionDose, *, caps: Caps = DEFAULT_CAPS) -> tuple[str, ...]:
    """What one inversion exercise breaks on its own."""
    found = []
    if dose.seconds_per_session is None:
        found.append(f"{dose.name}: an inversion exercise needs its hold time.")
    elif dose.seconds_per_session > caps.start_max_hold_seconds:
        found.append(
            f"{dose.name}: {dose.seconds_per_session} s inverted a session; an inversion "
            f"exercise holds at most {caps.start_max_hold_seconds} s (longer holds are "
            "reached through the plan's steps)."
        )
    if dose.sessions_per_day > caps.start_sessions_per_day:
        found.append(
            f"{dose.name}: {dose.sessions_per_day} times a day; an inversion exercise is "
            f"done at most {caps.start_sessions_per_day} time a day."
        )
    return tuple(found)


@dataclass(frozen=True)
class InversionLimits:
    """The most a session and a day may hold, on this plan, today."""

    max_angle_deg: int
    max_session_seconds: int
    max_sessions_per_day: int
    max_daily_seconds: int

    def violations(self, step: InversionStep) -> tuple[str, ...]:
        found = []
        if step.angle_deg > self.max_angle_deg:
            found.append(
                f"Angle {step.angle_deg}° is above today's limit of {self.max_angle_deg}°."
            )
        if step.inverted_seconds_per_session > self.max_session_seconds:
            found.append(
                f"A session of {step.inverted_seconds_per_session} s inverted is above the "
                f"limit of {self.max_session_seconds} s."
            )
        if step.sessions_per_day > self.max_sessions_per_day:
            found.append(
                f"{step.sessions_per_day} sessions a day is above the limit of "
                f"{self.max_sessions_per_day}."
            )
        if step.inverted_seconds_per_day > self.max_daily_seconds:
            found.append(
                f"{step.inverted_seconds_per_day} s inverted a day is above today's limit of "
                f"{self.max_daily_seconds} s."
            )
        return tuple(found)

    def prescription_violations(
        self,
        step: InversionStep | None,
        doses: Iterable[InversionDose] = (),
        *,
        caps: Caps = DEFAULT_CAPS,
    ) -> tuple[str, ...]:
        """What a day's inversion (the step and every inversion exercise) breaks today."""
        doses = tuple(doses)
        found = list(self.violations(step)) if step is not None else []
        for dose in doses:
            found.extend(dose_violations(dose, caps=caps))
        if doses:
            sessions = (step.sessions_per_day if step else 0) + sum(
                d.sessions_per_day for d in doses
            )
            seconds = (step.inverted_seconds_per_day if step else 0) + sum(
                d.seconds_per_day for d in doses
            )
            if sessions > self.max_sessions_per_day:
                found.append(
                    f"{sessions} inversion sessions a day with the inversion exercises; the "
                    f"most is {self.max_sessions_per_day}."
                )
            if seconds > self.max_daily_seconds:
                found.append(
                    f"{seconds} s inverted a day with the inversion exercises is above "
                    f"today's limit of {self.max_daily_seconds} s."
                )
        return tuple(found)


@dataclass(frozen=True)
class TreatmentPermission:
    level: Level
    reason: str  # for the clinician and the audit trail
    patient_reason: str  # what the patient reads
    limits: InversionLimits | None = None  # set only at level INVERSION
    urgent_referral: bool = False  # a red flag waits for its referral outcome
    # The outcome a clinic's exercise tags are matched to (a review_required patient
    # under a live override counts as cleared).
    forbidden_outcome: str | None = None

    @property
    def programme(self) -> bool:
        return self.level != Level.NONE

    @property
    def inversion(self) -> bool:
        return self.level == Level.INVERSION

    def allows_step(self, step: InversionStep | None) -> bool:
        return step is not None and self.inversion and not self.limits.violations(step)

    def allows_exercise(self, *, category: str, contraindication_tags: Iterable[str] = ()) -> bool:
        """An exercise may be given today: inversion-category ones only where inversion may."""
        if not self.programme:
            return False
        if category == INVERSION_CATEGORY and not self.inversion:
            return False
        return self.forbidden_outcome not in set(contraindication_tags)


def _none(reason: str, patient_reason: str, *, urgent: bool = False) -> TreatmentPermission:
    return TreatmentPermission(Level.NONE, reason, patient_reason, urgent_referral=urgent)


def daily_limit_seconds(plan_day: int, *, caps: Caps = DEFAULT_CAPS) -> int:
    """Time inverted a day allowed on a plan's 0-based day (the first two weeks are capped)."""
    if plan_day < caps.early_weeks_days:
        return caps.early_daily_limit_seconds
    return caps.max_hold_seconds * caps.max_sessions_per_day


def inversion_limits(plan: PlanFacts, *, today: date, caps: Caps = DEFAULT_CAPS) -> InversionLimits:
    plan_day = max((today - plan.start_date).days, 0)
    return InversionLimits(
        max_angle_deg=effective_ceiling_deg(
            plan.ceiling_deg, full_inversion_allowed=plan.full_inversion_allowed, caps=caps
        ),
        max_session_seconds=caps.max_hold_seconds,
        max_sessions_per_day=caps.max_sessions_per_day,
        max_daily_seconds=daily_limit_seconds(plan_day, caps=caps),
    )


NOT_NOW = "Inversion is not allowed at the moment: your clinician will review it."
RED_FLAG_PATIENT = (
    "Your clinician has been told about your symptoms and will arrange an urgent review. "
    "Your programme waits until then."
)


def treatment_permission(
    *,
    screening: ScreeningFacts,
    plan: PlanFacts | None,
    symptoms_today: Iterable[str] = (),
    today: date,
    caps: Caps = DEFAULT_CAPS,
) -> TreatmentPermission:
    """What may be prescribed to this patient today, and why.

    `plan` is the plan being asked about (the running one, or a draft to activate);
    `None` asks about the patient alone (assigning a template). `symptoms_today` are the
    symptoms of the patient's check-ins of `today`, the one being submitted included.
    """
    symptoms = frozenset(symptoms_today)
    red_flag_today = bool(symptoms & RED_FLAG_SYMPTOMS)
    if red_flag_today or screening.checkin_red_flag in (
        ReferralState.PENDING,
        ReferralState.SPECIALIST,
    ):
        return _none(
            "Red-flag symptom reported at a check-in: record the urgent referral and its "
            "outcome before anything else.",
            RED_FLAG_PATIENT,
            urgent=True,
        )
    lapsed = (
        screening.outcome is not None
        and screening.outcome != gate.URGENT_REFERRAL
        and (screening.valid_until is None or today > screening.valid_until)
    )
    screened = gate.treatment_permission(
        gate.ScreeningStatus(
            outcome=screening.outcome,
            valid_until=screening.valid_until,
            override_until=screening.override_until,
            referral_cleared=screening.screening_referral == ReferralState.EXCLUDED,
        ),
        today=today,
    )
    if lapsed:
        # CLINICAL.md s.1: an expired screening pauses inversion until a clinician reviews
        # a new intake; the exercises go on.
        screened = gate.Permission(True, False, screened.reason)
    if not screened.programme:
        urgent = screening.outcome == gate.URGENT_REFERRAL
        return _none(
            screened.reason,
            RED_FLAG_PATIENT
            if urgent
            else "Your clinician needs to review your health answers before your programme "
            "can go on.",
            urgent=urgent,
        )
    # A review_required patient under a live override may do what a cleared one may.
    tag_outcome = (
        gate.CLEARED
        if screening.outcome == gate.REVIEW_REQUIRED and screened.inversion
        else screening.outcome
    )
    exercise_only = TreatmentPermission(
        Level.EXERCISE_ONLY, screened.reason, NOT_NOW, forbidden_outcome=tag_outcome
    )
    if plan is not None and plan.status not in ("draft", "active"):
        return _none(
            f"The plan is {plan.status}.",
            "Your programme is paused by your clinician."
            if plan.status == "paused"
            else "Your programme has ended.",
        )
    if plan is not None and plan.status == "active" and plan.start_date > today:
        return _none(
            f"The plan starts on {plan.start_date.isoformat()}.",
            f"Your programme starts on {plan.start_date:%A %d %B}.",
        )
    if not screened.inversion:
        return exercise_only
    if symptoms & STOP_SYMPTOMS or screening.stop_symptom_pending:
        return TreatmentPermission(
            Level.EXERCISE_ONLY,
            "A stop symptom was reported: inversion stops until a clinician reviews it.",
            "Inversion is paused until your clinician reviews it.",
            forbidden_outcome=tag_outcome,
        )
    if plan is None:
        return TreatmentPermission(
            Level.INVERSION,
            screened.reason,
            "",
            limits=InversionLimits(
                max_angle_deg=caps.default_ceiling_deg,
                max_session_seconds=caps.max_hold_seconds,
                max_sessions_per_day=caps.max_sessions_per_day,
                max_daily_seconds=caps.early_daily_limit_seconds,
            ),
            forbidden_outcome=tag_outcome,
        )
    if plan.inversion_paused:
        return TreatmentPermission(
            Level.EXERCISE_ONLY,
            f"Inversion is paused on this plan ({plan.pause_cause or 'paused'}).",
            "Inversion is paused until your clinician reviews it.",
            forbidden_outcome=tag_outcome,
        )
    return TreatmentPermission(
        Level.INVERSION,
        screened.reason,
        "",
        limits=inversion_limits(plan, today=today, caps=caps),
        forbidden_outcome=tag_outcome,
    )
