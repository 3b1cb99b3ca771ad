"""Today's treatment permission: one table for every state of CLINICAL.md sections 1, 3 and 4."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from programmes.domain.permission import (
    INVERSION_CATEGORY,
    InversionLimits,
    Level,
    PauseCause,
    PlanFacts,
    ReferralState,
    ScreeningFacts,
    daily_limit_seconds,
    treatment_permission,
)
from programmes.domain.progression import InversionStep
from programmes.domain.symptoms import MILD_SYMPTOMS, RED_FLAG_SYMPTOMS, STOP_SYMPTOMS

TODAY = date(2026, 6, 15)
VALID = TODAY + timedelta(days=30)
STEP = InversionStep(angle_deg=20, hold_seconds=60, sessions_per_day=1)

CLEARED = ScreeningFacts(outcome="cleared", valid_until=VALID)
ACTIVE = PlanFacts(status="active", start_date=TODAY - timedelta(days=3), current_step=STEP)

E = Level.EXERCISE_ONLY
I = Level.INVERSION  # noqa: E741
N = Level.NONE

SCREENINGS = [
    # (id, screening, expected level with an active inversion plan)
    ("unscreened: nothing", ScreeningFacts(outcome=None), N),
    ("cleared, valid: inversion", CLEARED, I),
    ("cleared, last valid day: inversion", ScreeningFacts("cleared", valid_until=TODAY), I),
    (
        "cleared, lapsed yesterday: exercise only",
        ScreeningFacts("cleared", valid_until=TODAY - timedelta(days=1)),
        E,
    ),
    (
        "review required with override, both lapsed: exercise only",
        ScreeningFacts("review_required", TODAY - timedelta(days=1), TODAY - timedelta(days=1)),
        E,
    ),
    (
        "urgent referral excluded, lapsed: nothing",
        ScreeningFacts(
            "urgent_referral",
            TODAY - timedelta(days=1),
            screening_referral=ReferralState.EXCLUDED,
        ),
        N,
    ),
    ("review required, no override: exercise only", ScreeningFacts("review_required", VALID), E),
    (
        "review required, live override: inversion",
        ScreeningFacts("review_required", VALID, override_until=VALID),
        I,
    ),
    (
        "review required, override ends today: inversion",
        ScreeningFacts("review_required", VALID, override_until=TODAY),
        I,
    ),
    (
        "review required, override expired: exercise only",
        ScreeningFacts("review_required", VALID, override_until=TODAY - timedelta(days=1)),
        E,
    ),
    ("contraindicated: exercise only", ScreeningFacts("contraindicated", VALID), E),
    (
        "contraindicated, even with an override date: exercise only",
        ScreeningFacts("contraindicated", VALID, override_until=VALID),
        E,
    ),
    ("urgent referral, no referral: nothing", ScreeningFacts("urgent_referral", VALID), N),
    (
        "urgent referral, referral pending: nothing",
        ScreeningFacts("urgent_referral", VALID, screening_referral=ReferralState.PENDING),
        N,
    ),
    (
        "urgent referral, under specialist care: nothing",
        ScreeningFacts("urgent_referral", VALID, screening_referral=ReferralState.SPECIALIST),
        N,
    ),
    (
        "urgent referral, pathology excluded: exercise only",
        ScreeningFacts("urgent_referral", VALID, screening_referral=ReferralState.EXCLUDED),
        E,
    ),
    (
        "cleared, red flag at a check-in awaiting referral: nothing",
        ScreeningFacts("cleared", VALID, checkin_red_flag=ReferralState.PENDING),
        N,
    ),
    (
        "cleared, red flag at a check-in, specialist care: nothing",
        ScreeningFacts("cleared", VALID, checkin_red_flag=ReferralState.SPECIALIST),
        N,
    ),
    (
        "lapsed and red flag: nothing",
        ScreeningFacts(
            "cleared", TODAY - timedelta(days=1), checkin_red_flag=ReferralState.PENDING
        ),
        N,
    ),
]


@pytest.mark.parametrize(
    ("screening", "level"), [row[1:] for row in SCREENINGS], ids=[row[0] for row in SCREENINGS]
)
def test_screening_decides_the_level_on_an_active_inversion_plan(screening, level):
    permission = treatment_permission(screening=screening, plan=ACTIVE, today=TODAY)
    assert permission.level == level
    assert permission.inversion == (level == I)
    assert permission.programme == (level != N)
    assert permission.allows_step(STEP) == (level == I)
    assert permission.reason
    if level != I:
        assert permission.limits is None


URGENT_ROWS = [row for row in SCREENINGS if "red flag" in row[0] or "urgent referral, " in row[0]]


@pytest.mark.parametrize(
    "screening",
    [row[1] for row in URGENT_ROWS if row[2] == N],
    ids=[row[0] for row in URGENT_ROWS if row[2] == N],
)
def test_an_open_red_flag_is_an_urgent_referral(screening):
    assert treatment_permission(screening=screening, plan=ACTIVE, today=TODAY).urgent_referral


PLANS = [
    ("active with a step: inversion", ACTIVE, I),
    ("draft: may be activated with inversion", PlanFacts("draft", TODAY, current_step=STEP), I),
    ("paused by the clinician: nothing", PlanFacts("paused", ACTIVE.start_date, None, STEP), N),
    ("completed: nothing", PlanFacts("completed", ACTIVE.start_date, TODAY, STEP), N),
    ("ended: nothing", PlanFacts("ended", ACTIVE.start_date, TODAY, STEP), N),
    (
        "active, starts tomorrow: nothing yet",
        PlanFacts("active", TODAY + timedelta(days=1), current_step=STEP),
        N,
    ),
    ("active, starts today: inversion", PlanFacts("active", TODAY, current_step=STEP), I),
    *[
        (
            f"inversion paused ({cause.value}): exercise only",
            PlanFacts(
                "active",
                ACTIVE.start_date,
                current_step=STEP,
                inversion_paused=True,
                pause_cause=cause,
            ),
            E,
        )
        for cause in PauseCause
        if cause.value
    ],
    ("no plan (assigning a template): inversion", None, I),
]


@pytest.mark.parametrize(("plan", "level"), [r[1:] for r in PLANS], ids=[r[0] for r in PLANS])
def test_plan_state_decides_the_level_for_a_cleared_patient(plan, level):
    assert treatment_permission(screening=CLEARED, plan=plan, today=TODAY).level == level


@pytest.mark.parametrize("code", sorted(STOP_SYMPTOMS - RED_FLAG_SYMPTOMS))
def test_a_stop_symptom_today_stops_inversion_but_not_exercise(code):
    permission = treatment_permission(
        screening=CLEARED, plan=ACTIVE, symptoms_today={code}, today=TODAY
    )
    assert permission.level == E
    assert not permission.urgent_referral


@pytest.mark.parametrize("code", sorted(RED_FLAG_SYMPTOMS))
def test_a_red_flag_symptom_today_stops_the_whole_programme(code):
    permission = treatment_permission(
        screening=CLEARED, plan=ACTIVE, symptoms_today={code}, today=TODAY
    )
    assert permission.level == N
    assert permission.urgent_referral


@pytest.mark.parametrize("code", sorted(MILD_SYMPTOMS))
def test_a_mild_symptom_leaves_inversion_to_the_progression_engine(code):
    permission = treatment_permission(
        screening=CLEARED, plan=ACTIVE, symptoms_today={code}, today=TODAY
    )
    assert permission.level == I


def test_a_stop_symptom_stops_inversion_even_if_the_plan_was_never_paused():
    """The symptom is read from today's check-ins, not only from the plan's pause flag."""
    permission = treatment_permission(
        screening=CLEARED, plan=ACTIVE, symptoms_today={"chest_pain"}, today=TODAY
    )
    assert not permission.allows_step(STEP)


LIMITS = [
    # (id, plan day, ceiling, full inversion, max angle, max a day)
    ("day 0: 60°, 5 min a day", 0, 60, False, 60, 300),
    ("day 13, last of the first two weeks: 5 min a day", 13, 60, False, 60, 300),
    ("day 14: 2 × 10 min a day", 14, 60, False, 60, 1200),
    ("ceiling 45°: 45°", 20, 45, False, 45, 1200),
    ("ceiling 90° without full inversion: 60°", 20, 90, False, 60, 1200),
    ("ceiling 90° with full inversion: 90°", 20, 90, True, 90, 1200),
    ("ceiling 75° with full inversion: 75°", 20, 75, True, 75, 1200),
]


@pytest.mark.parametrize(
    ("plan_day", "ceiling", "full", "max_angle", "max_daily"),
    [r[1:] for r in LIMITS],
    ids=[r[0] for r in LIMITS],
)
def test_inversion_limits_follow_section_3(plan_day, ceiling, full, max_angle, max_daily):
    plan = PlanFacts(
        "active",
        TODAY - timedelta(days=plan_day),
        current_step=STEP,
        ceiling_deg=ceiling,
        full_inversion_allowed=full,
    )
    limits = treatment_permission(screening=CLEARED, plan=plan, today=TODAY).limits
    assert limits == InversionLimits(
        max_angle_deg=max_angle,
        max_session_seconds=600,
        max_sessions_per_day=2,
        max_daily_seconds=max_daily,
    )
    assert daily_limit_seconds(plan_day) == max_daily


STEPS = [
    # (id, step, plan day, allowed)
    ("20°, 1 min, once: allowed", STEP, 0, True),
    ("60°, the ceiling: allowed", InversionStep(60, 60, 1), 20, True),
    ("61°, above the ceiling: refused", InversionStep(61, 60, 1), 20, False),
    ("5 min once on day 0: allowed", InversionStep(20, 300, 1), 0, True),
    ("5 min 1 s once on day 0: refused", InversionStep(20, 301, 1), 0, False),
    ("3 min twice on day 0: refused (6 min a day)", InversionStep(20, 180, 2), 0, False),
    ("3 min twice on day 14: allowed", InversionStep(20, 180, 2), 14, True),
    ("10 min on day 30: allowed", InversionStep(40, 600, 1), 30, True),
    ("10 min 1 s on day 30: refused", InversionStep(40, 601, 1), 30, False),
    ("3 sessions a day: refused", InversionStep(20, 60, 3), 30, False),
    ("intermittent 10 × 30 s on day 0: allowed", InversionStep(20, 60, 1, 7, 10, 30), 0, True),
    ("intermittent 11 × 30 s on day 0: refused", InversionStep(20, 60, 1, 7, 11, 30), 0, False),
]


@pytest.mark.parametrize(
    ("step", "plan_day", "allowed"), [r[1:] for r in STEPS], ids=[r[0] for r in STEPS]
)
def test_a_step_is_allowed_only_within_todays_limits(step, plan_day, allowed):
    plan = PlanFacts("active", TODAY - timedelta(days=plan_day), current_step=step)
    permission = treatment_permission(screening=CLEARED, plan=plan, today=TODAY)
    assert permission.allows_step(step) == allowed


EXERCISES = [
    # (id, screening, category, tags, allowed)
    ("cleared, inversion exercise: allowed", CLEARED, INVERSION_CATEGORY, (), True),
    ("cleared, stretch: allowed", CLEARED, "stretch", (), True),
    (
        "contraindicated, inversion exercise with blank tags: refused",
        ScreeningFacts("contraindicated", VALID),
        INVERSION_CATEGORY,
        (),
        False,
    ),
    (
        "contraindicated, stretch: allowed",
        ScreeningFacts("contraindicated", VALID),
        "stretch",
        (),
        True,
    ),
    (
        "contraindicated, stretch tagged contraindicated: refused",
        ScreeningFacts("contraindicated", VALID),
        "stretch",
        ("contraindicated",),
        False,
    ),
    (
        "review required, no override, inversion exercise: refused",
        ScreeningFacts("review_required", VALID),
        INVERSION_CATEGORY,
        (),
        False,
    ),
    (
        "review required with override, exercise tagged review_required: allowed",
        ScreeningFacts("review_required", VALID, override_until=VALID),
        "core",
        ("review_required",),
        True,
    ),
    (
        "review required, no override, exercise tagged review_required: refused",
        ScreeningFacts("review_required", VALID),
        "core",
        ("review_required",),
        False,
    ),
    ("unscreened, stretch: refused", ScreeningFacts(None), "stretch", (), False),
    (
        "urgent referral excluded, core: allowed",
        ScreeningFacts("urgent_referral", VALID, screening_referral=ReferralState.EXCLUDED),
        "core",
        (),
        True,
    ),
    (
        "urgent referral excluded, inversion exercise: refused",
        ScreeningFacts("urgent_referral", VALID, screening_referral=ReferralState.EXCLUDED),
        INVERSION_CATEGORY,
        (),
        False,
    ),
]


@pytest.mark.parametrize(
    ("screening", "category", "tags", "allowed"),
    [r[1:] for r in EXERCISES],
    ids=[r[0] for r in EXERCISES],
)
def test_inversion_is_inversion_as_an_exercise_too(screening, category, tags, allowed):
    permission = treatment_permission(screening=screening, plan=ACTIVE, today=TODAY)
    assert permission.allows_exercise(category=category, contraindication_tags=tags) == allowed


def test_a_stop_symptom_today_refuses_the_inversion_exercise():
    permission = treatment_permission(
        screening=CLEARED, plan=ACTIVE, symptoms_today={"fainting"}, today=TODAY
    )
    assert not permission.allows_exercise(category=INVERSION_CATEGORY)
    assert permission.allows_exercise(category="stretch")
