"""Inversion caps and the progression engine (CLINICAL.md sections 3 and 4). No database."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from programmes.domain.progression import (
    Caps,
    CheckInRecord,
    InversionStep,
    PlanState,
    advance_pace_refusal,
    checkins_in_window,
    propose_progression,
    step_violations,
    template_violations,
    tolerated_at_current_step,
)

START = date(2025, 3, 3)
TODAY = START + timedelta(days=30)  # past the first two weeks unless a row says otherwise

LADDER = (
    InversionStep(20, 60, 1),
    InversionStep(30, 120, 1),
    InversionStep(40, 180, 1),
    InversionStep(50, 240, 1),
    InversionStep(60, 300, 1),
)


def step(angle: int, hold: int, sessions: int = 1, **kwargs) -> InversionStep:
    return InversionStep(angle, hold, sessions, **kwargs)


def ok(days_ago: int, at: int, *, today: date = TODAY) -> CheckInRecord:
    return CheckInRecord(today - timedelta(days=days_ago), at, True, 3, 3, frozenset())


def skipped(days_ago: int, at: int) -> CheckInRecord:
    return CheckInRecord(TODAY - timedelta(days=days_ago), at, False, 3, 3, frozenset())


def pain(days_ago: int, at: int, before: int, after: int) -> CheckInRecord:
    return CheckInRecord(TODAY - timedelta(days=days_ago), at, True, before, after, frozenset())


def symptom(days_ago: int, at: int, *codes: str) -> CheckInRecord:
    return CheckInRecord(TODAY - timedelta(days=days_ago), at, True, 3, 3, frozenset(codes))


def plan(current: int, steps=LADDER, **kwargs) -> PlanState:
    fields = {"ceiling_deg": 60, "full_inversion_allowed": False, "start_date": START}
    fields.update(kwargs)
    return PlanState(steps=tuple(steps), current_index=current, **fields)


def case(sentence, plan_state, checkins, action, target, *, alert=False, words="", today=TODAY):
    return pytest.param(plan_state, checkins, today, action, target, alert, words, id=sentence)


DAY_5 = START + timedelta(days=5)
DAYS_AGO = {n: TODAY - timedelta(days=n) for n in range(8)}
DAY_14 = START + timedelta(days=14)
THREE_OK_AT_0 = [ok(2, 0), ok(1, 0), ok(0, 0)]

# One row per rule, boundaries included. Laid out by hand: the formatter would give each
# argument a line of its own and the table would stop reading as one.
# fmt: off
PROPOSALS = [
    case("three tolerated sessions at the current step advance one step",
         plan(1), [ok(2, 1), ok(1, 1), ok(0, 1)], "advance", 2, words="3 distinct days"),
    case("two tolerated sessions hold and say one more is needed",
         plan(1), [ok(1, 1), ok(0, 1)], "hold", 1, words="1 more needed"),
    case("no check-ins hold",
         plan(1), [], "hold", 1, words="3 more needed"),
    case("sessions at an older step do not count",
         plan(1), [ok(3, 0), ok(2, 0), ok(1, 0)], "hold", 1, words="3 more needed"),
    case("a session seven days before today is outside the last seven days",
         plan(1), [ok(7, 1), ok(1, 1), ok(0, 1)], "hold", 1, words="1 more needed"),
    case("a session six days before today is inside the last seven days",
         plan(1), [ok(6, 1), ok(1, 1), ok(0, 1)], "advance", 2),
    case("a check-in without a session is not a tolerated session",
         plan(1), [ok(2, 1), skipped(1, 1), ok(0, 1)], "hold", 1, words="1 more needed"),
    case("pain rising by two after the latest session holds",
         plan(1), [ok(2, 1), ok(1, 1), pain(0, 1, 3, 5)], "hold", 1, words="rose by 2"),
    case("pain rising by one is still tolerated",
         plan(1), [ok(2, 1), ok(1, 1), pain(0, 1, 3, 4)], "advance", 2),
    case("an earlier pain rise does not stop three later tolerated sessions",
         plan(1), [pain(3, 1, 2, 4), ok(2, 1), ok(1, 1), ok(0, 1)], "advance", 2),
    case("a mild symptom in the latest check-in goes back one step",
         plan(2), [ok(2, 2), ok(1, 2), symptom(0, 2, "dizziness")], "go_back", 1,
         words="Dizziness"),
    case("a mild symptom at the first step holds and alerts the clinician",
         plan(0), [symptom(0, 0, "nausea")], "hold", 0, alert=True, words="no lower step"),
    case("two mild symptoms in seven days hold and alert the clinician",
         plan(2), [symptom(5, 2, "nausea"), ok(3, 2), symptom(0, 2, "dizziness")], "hold", 2,
         alert=True, words="2 check-ins with mild symptoms"),
    case("a mild symptom seven days before today does not count toward two",
         plan(2), [symptom(7, 2, "nausea"), symptom(0, 2, "dizziness")], "go_back", 1),
    case("after going back the old sessions at that step do not advance it again",
         plan(1), [ok(4, 1), ok(3, 1), ok(2, 1), symptom(1, 2, "dizziness")], "hold", 1,
         words="3 more needed"),
    case("a stop symptom in the last seven days pauses and alerts the clinician",
         plan(1), [symptom(3, 1, "chest_pain"), ok(1, 1), ok(0, 1)], "pause", 1, alert=True,
         words="Chest pain"),
    case("a red flag pauses and names the urgent referral",
         plan(1), [symptom(0, 1, "saddle_numbness")], "pause", 1, alert=True,
         words="urgent referral"),
    case("a stop symptom seven days before today no longer pauses",
         plan(1), [symptom(7, 1, "palpitations"), ok(2, 1), ok(1, 1), ok(0, 1)], "advance", 2),
    case("a paused plan never advances",
         plan(1, paused=True), [ok(2, 1), ok(1, 1), ok(0, 1)], "hold", 1, words="paused"),
    case("a paused plan does not go back either",
         plan(1, paused=True), [symptom(0, 1, "dizziness")], "hold", 1, words="paused"),
    case("the last step holds at the top of the programme",
         plan(4), [ok(2, 4), ok(1, 4), ok(0, 4)], "hold", 4, words="top of the programme"),
    case("pain of seven in the latest check-in alerts the clinician",
         plan(1), [ok(2, 1), ok(1, 1), pain(0, 1, 7, 7)], "advance", 2, alert=True,
         words="7/10"),
    case("70 degrees is refused without full inversion allowed",
         plan(0, [step(60, 60), step(70, 60)], ceiling_deg=70), THREE_OK_AT_0, "hold", 0,
         words="60° default ceiling"),
    case("70 degrees is allowed with full inversion allowed and a 70 degree ceiling",
         plan(0, [step(60, 60), step(70, 60)], ceiling_deg=70, full_inversion_allowed=True),
         THREE_OK_AT_0, "advance", 1),
    case("a plan ceiling below 60 degrees is kept",
         plan(0, [step(50, 60), step(60, 60)], ceiling_deg=55), THREE_OK_AT_0, "hold", 0,
         words="ceiling of 55°"),
    case("nothing goes past 90 degrees whatever the plan says",
         plan(0, [step(90, 60), step(100, 60)], ceiling_deg=120, full_inversion_allowed=True),
         THREE_OK_AT_0, "hold", 0, words="full inversion (90°)"),
    case("a step of more than 10 degrees is refused",
         plan(0, [step(20, 60), step(35, 60)]), THREE_OK_AT_0, "hold", 0, words="+10°"),
    case("a step of more than one minute is refused",
         plan(0, [step(20, 60), step(30, 180)]), THREE_OK_AT_0, "hold", 0, words="+1 minute"),
    case("a hold over 10 minutes is refused",
         plan(0, [step(30, 600), step(30, 660)]), THREE_OK_AT_0, "hold", 0,
         words="the most is 10 minutes"),
    case("three sessions a day are refused",
         plan(0, [step(30, 60, 2), step(30, 60, 3)]), THREE_OK_AT_0, "hold", 0,
         words="3 sessions a day"),
    case("two sessions of three minutes on plan day 5 break the first two weeks limit",
         plan(1, [step(20, 60), step(30, 120), step(30, 180, 2)]),
         [ok(2, 1, today=DAY_5), ok(1, 1, today=DAY_5), ok(0, 1, today=DAY_5)], "hold", 1,
         words="first 14 days", today=DAY_5),
    case("two sessions of three minutes are allowed from plan day 14",
         plan(1, [step(20, 60), step(30, 120), step(30, 180, 2)]),
         [ok(2, 1, today=DAY_14), ok(1, 1, today=DAY_14), ok(0, 1, today=DAY_14)], "advance", 2,
         today=DAY_14),
    case("a current step beyond the caps holds and alerts the clinician",
         plan(1, [step(20, 60), step(30, 660)]), [symptom(0, 1, "dizziness")], "hold", 1,
         alert=True, words="Step 2 (the current step) breaks a cap"),
    # What counts toward advancing (issue 11): distinct days, since the step began.
    case("three tolerated check-ins on the same day are one day and hold",
         plan(1), [ok(0, 1), ok(0, 1), ok(0, 1)], "hold", 1, words="2 more needed"),
    case("six tolerated check-ins on two days hold",
         plan(1), [ok(1, 1)] * 3 + [ok(0, 1)] * 3, "hold", 1, words="1 more needed"),
    case("three same-day check-ins on a twice-a-day step count two sessions and one day",
         plan(1, [step(20, 60), step(30, 60, 2), step(40, 60, 2)]), [ok(0, 1)] * 3, "hold", 1,
         words="1 distinct day in the last 7 days (2 sessions counted"),
    case("sessions on three distinct days among many same-day check-ins advance",
         plan(1), [ok(2, 1)] * 4 + [ok(1, 1)] * 2 + [ok(0, 1)], "advance", 2,
         words="3 distinct days"),
    case("check-ins dated before the plan started do not count",
         plan(0, start_date=DAYS_AGO[1]), [ok(3, 0), ok(2, 0), ok(1, 0), ok(0, 0)], "hold", 0,
         words="1 more needed"),
    case("a session on the plan's first day counts",
         plan(0, start_date=DAYS_AGO[2]), [ok(2, 0), ok(1, 0), ok(0, 0)], "advance", 1),
    case("check-ins dated before the current step began do not count",
         plan(1, step_started_on=DAYS_AGO[1]), [ok(3, 1), ok(2, 1), ok(1, 1), ok(0, 1)], "hold",
         1, words="since " + DAYS_AGO[1].isoformat()),
    case("a session on the day the current step began counts",
         plan(1, step_started_on=DAYS_AGO[2]), [ok(2, 1), ok(1, 1), ok(0, 1)], "advance", 2),
    case("a step that began before the plan's start counts from the plan's start",
         plan(0, start_date=DAYS_AGO[1], step_started_on=DAYS_AGO[5]),
         [ok(3, 0), ok(2, 0), ok(1, 0), ok(0, 0)], "hold", 0, words="1 more needed"),
    case("check-ins dated after today do not count",
         plan(1), [ok(0, 1), ok(-1, 1), ok(-2, 1)], "hold", 1, words="2 more needed"),
    case("a session at a higher step does not count at the current step",
         plan(1), [ok(2, 2), ok(1, 1), ok(0, 1)], "hold", 1, words="1 more needed"),
    case("a session at no step does not count",
         plan(1), [ok(2, -1), ok(1, 1), ok(0, 1)], "hold", 1, words="1 more needed"),
    case("with the step started seven days ago a session six days ago still counts",
         plan(1, step_started_on=DAYS_AGO[7]), [ok(6, 1), ok(3, 1), ok(0, 1)], "advance", 2),
    case("with the step started seven days ago a session seven days ago does not count",
         plan(1, step_started_on=DAYS_AGO[7]), [ok(7, 1), ok(3, 1), ok(0, 1)], "hold", 1,
         words="1 more needed"),
    case("an earlier session whose pain rose by exactly two is not tolerated",
         plan(1), [pain(2, 1, 3, 5), ok(1, 1), ok(0, 1)], "hold", 1, words="1 more needed"),
    case("an earlier session whose pain rose by one is tolerated",
         plan(1), [pain(2, 1, 3, 4), ok(1, 1), ok(0, 1)], "advance", 2),
    case("a day with a tolerated session counts even if another session that day was not",
         plan(1), [pain(2, 1, 3, 5), ok(2, 1), ok(1, 1), ok(0, 1)], "advance", 2),
    case("an earlier session with a symptom that passed is not tolerated",
         plan(1), [symptom(5, 1, "nausea"), ok(2, 1), ok(1, 1)], "hold", 1,
         words="1 more needed"),
]
# fmt: on


@pytest.mark.parametrize(
    ("plan_state", "checkins", "today", "action", "target", "alert", "words"), PROPOSALS
)
def test_propose_progression(plan_state, checkins, today, action, target, alert, words):
    proposal = propose_progression(plan_state, checkins, today)

    assert (proposal.action, proposal.target_index, proposal.alert_clinician) == (
        action,
        target,
        alert,
    ), proposal.reason
    assert words in proposal.reason


def test_propose_progression_never_advances_a_paused_plan_whatever_its_checkins():
    """A week of tolerated sessions at the current step still holds a paused plan."""
    checkins = [ok(days_ago, 1) for days_ago in range(7)]

    proposal = propose_progression(plan(1, paused=True), checkins, TODAY)

    assert proposal.action == "hold"


def test_same_day_check_ins_never_climb_a_plan_however_many():
    """Twenty tolerated check-ins on one day, each followed by the engine's move, leave the
    plan where it started the day."""
    state = plan(0, step_started_on=TODAY)
    checkins = []
    for _ in range(20):
        checkins.append(ok(0, state.current_index))
        proposal = propose_progression(state, checkins, TODAY)
        assert proposal.action == "hold", proposal.reason
    assert state.current_index == 0


def test_daily_check_ins_applied_by_auto_advance_keep_three_days_a_step():
    """A month of two tolerated check-ins a day, every advance applied at once: each step is
    held for at least 3 days, and the plan never moves twice on one day."""
    state = plan(0, step_started_on=START)
    checkins: list[CheckInRecord] = []
    moves = []
    for offset in range(30):
        day = START + timedelta(days=offset)
        for _ in range(2):
            checkins.append(CheckInRecord(day, state.current_index, True, 3, 3))
            proposal = propose_progression(state, checkins, day)
            if proposal.action == "advance":
                moves.append((day, state.step_started_on))
                state = replace(state, current_index=proposal.target_index, step_started_on=day)
    assert moves, "the plan should advance at some point"
    assert all((day - started).days >= 2 for day, started in moves)
    assert len({day for day, _ in moves}) == len(moves)


COUNTS = [
    pytest.param([ok(0, 1)] * 3, 1, (TODAY,), 1, id="once-a-day step: same-day sessions count one"),
    pytest.param(
        [ok(0, 1)] * 3, 2, (TODAY,), 2, id="twice-a-day step: same-day sessions count two"
    ),
    pytest.param(
        [ok(1, 1), ok(0, 1), ok(0, 1)],
        2,
        (DAYS_AGO[1], TODAY),
        3,
        id="twice-a-day step: two days, three sessions",
    ),
    pytest.param([skipped(0, 1)], 1, (), 0, id="a skipped session counts nothing"),
]


@pytest.mark.parametrize(("checkins", "sessions_per_day", "days", "sessions"), COUNTS)
def test_tolerated_sessions_count_at_most_the_prescribed_sessions_a_day(
    checkins, sessions_per_day, days, sessions
):
    steps = [step(20, 60), step(30, 60, sessions_per_day), step(40, 60, sessions_per_day)]

    tally = tolerated_at_current_step(plan(1, steps), checkins, TODAY)

    assert (tally.days, tally.sessions) == (days, sessions)


@pytest.mark.parametrize(
    ("start", "step_started", "since"),
    [
        pytest.param(START, None, DAYS_AGO[6], id="an old step counts from the window's edge"),
        pytest.param(START, DAYS_AGO[2], DAYS_AGO[2], id="a new step counts from its first day"),
        pytest.param(
            DAYS_AGO[1], DAYS_AGO[4], DAYS_AGO[1], id="never from before the plan's start"
        ),
    ],
)
def test_tolerated_sessions_count_from_the_latest_of_window_step_and_plan_start(
    start, step_started, since
):
    state = plan(1, start_date=start, step_started_on=step_started)

    assert tolerated_at_current_step(state, [], TODAY).since == since


PACE = [
    pytest.param([ok(2, 1), ok(1, 1), ok(0, 1)], "", id="three distinct days allow an advance"),
    pytest.param([], "3 more needed", id="no check-in refuses an advance"),
    pytest.param([ok(0, 1)] * 3, "2 more needed", id="three same-day check-ins refuse it"),
    pytest.param(
        [symptom(3, 1, "nausea"), ok(2, 1), symptom(1, 1, "dizziness"), ok(0, 1)],
        "mild symptoms",
        id="two mild symptoms in seven days refuse it",
    ),
    pytest.param(
        [ok(2, 1), ok(1, 1), pain(0, 1, 3, 5)], "Pain rose by 2", id="a pain rise refuses it"
    ),
]


@pytest.mark.parametrize(("checkins", "words"), PACE)
def test_manual_advance_keeps_the_engines_pace(checkins, words):
    refusal = advance_pace_refusal(plan(1), checkins, TODAY)

    if words:
        assert words in refusal
    else:
        assert refusal == ""


def test_last_seven_days_means_today_and_the_six_days_before():
    checkins = [ok(7, 1), ok(6, 1), ok(0, 1), ok(-1, 1)]

    assert [c.day for c in checkins_in_window(checkins, TODAY)] == [
        TODAY - timedelta(days=6),
        TODAY,
    ]


def allowed(sentence, candidate, previous=None, *, ceiling=60, full=False, day=20):
    return pytest.param(candidate, previous, ceiling, full, day, (), id=sentence)


def refused(sentence, candidate, previous=None, *words, ceiling=60, full=False, day=20):
    """`words`: one phrase per expected violation, in order."""
    return pytest.param(candidate, previous, ceiling, full, day, words, id=sentence)


def cycles(count: int, seconds: int) -> InversionStep:
    return step(20, 0, cycles=count, cycle_seconds=seconds)


STEPS = [
    # A plan's first step.
    allowed("a 20 degree 1 minute first step is allowed", step(20, 60)),
    allowed("a first step at 15 degrees holding 2 minutes is allowed", step(15, 120)),
    allowed("a first step at 30 degrees is allowed", step(30, 60)),
    refused("a first step at 14 degrees is refused", step(14, 60), None, "between 15° and 30°"),
    refused("a first step at 31 degrees is refused", step(31, 60), None, "between 15° and 30°"),
    refused("a first step holding 59 seconds is refused", step(20, 59), None, "holds between"),
    refused("a first step holding 121 seconds is refused", step(20, 121), None, "holds between"),
    refused("a first step twice a day is refused", step(20, 60, 2), None, "1 session a day"),
    allowed("an intermittent first step of 4 cycles of 30 seconds is allowed", cycles(4, 30)),
    refused(
        "an intermittent first step of 6 cycles of 30 seconds (3 minutes) is refused",
        cycles(6, 30),
        None,
        "holds between",
    ),
    refused("an intermittent cycle of 19 seconds is refused", cycles(6, 19), None, "20 to 30"),
    refused("an intermittent cycle of 31 seconds is refused", cycles(3, 31), None, "20 to 30"),
    # One step up.
    allowed("plus 10 degrees and 1 minute is allowed", step(40, 180), step(30, 120)),
    refused("plus 11 degrees is refused", step(41, 120), step(30, 120), "+10°"),
    refused("plus 61 seconds is refused", step(30, 181), step(30, 120), "+1 minute"),
    refused("breaking both increases names both", step(45, 240), step(30, 120), "+10°", "+1 m"),
    allowed("intermittent time rising by 1 minute is allowed", cycles(7, 30), cycles(5, 30)),
    refused(
        "intermittent time rising by 90 seconds is refused",
        cycles(8, 30),
        cycles(5, 30),
        "+1 minute",
    ),
    # Ceilings.
    allowed("60 degrees is allowed by default", step(60, 300), step(50, 300)),
    refused(
        "65 degrees under a 70 degree ceiling needs full inversion allowed",
        step(65, 300),
        step(55, 300),
        "60° default ceiling",
        ceiling=70,
    ),
    allowed(
        "65 degrees under a 70 degree ceiling with full inversion allowed",
        step(65, 300),
        step(55, 300),
        ceiling=70,
        full=True,
    ),
    refused(
        "75 degrees is above a 70 degree ceiling even with full inversion allowed",
        step(75, 300),
        step(65, 300),
        "ceiling of 70°",
        ceiling=70,
        full=True,
    ),
    allowed(
        "90 degrees is allowed with full inversion allowed",
        step(90, 300),
        step(80, 300),
        ceiling=90,
        full=True,
    ),
    refused(
        "95 degrees is refused whatever the ceiling",
        step(95, 300),
        step(90, 300),
        "full inversion (90°)",
        ceiling=120,
        full=True,
    ),
    # Session length and count.
    allowed("a 10 minute hold is allowed", step(30, 600), step(30, 540)),
    refused("a hold of 601 seconds is refused", step(30, 601), step(30, 600), "the most is 10"),
    allowed("two sessions a day are allowed", step(30, 120, 2), step(30, 120)),
    refused(
        "three sessions a day are refused", step(30, 120, 3), step(30, 120, 2), "3 sessions a day"
    ),
    # First two weeks: plan days 0-13.
    allowed(
        "exactly 5 minutes a day in the first two weeks is allowed",
        step(30, 150, 2),
        step(30, 120),
        day=0,
    ),
    refused(
        "two sessions of 3 minutes on plan day 5 are refused",
        step(30, 180, 2),
        step(30, 120),
        "first 14 days",
        day=5,
    ),
    refused(
        "two sessions of 3 minutes on plan day 13 are refused",
        step(30, 180, 2),
        step(30, 120),
        "first 14 days",
        day=13,
    ),
    allowed(
        "two sessions of 3 minutes on plan day 14 are allowed",
        step(30, 180, 2),
        step(30, 120),
        day=14,
    ),
]


@pytest.mark.parametrize(("candidate", "previous", "ceiling", "full", "plan_day", "words"), STEPS)
def test_step_violations(candidate, previous, ceiling, full, plan_day, words):
    found = step_violations(
        candidate,
        previous=previous,
        ceiling_deg=ceiling,
        full_inversion_allowed=full,
        plan_day=plan_day,
    )

    assert len(found) == len(words), found
    for expected, violation in zip(words, found, strict=True):
        assert expected in violation


# (steps, ceiling, full inversion allowed, words in each violation)
TEMPLATES = [
    pytest.param(LADDER, 60, False, (), id="the default ladder is allowed"),
    pytest.param((), 60, False, (), id="no inversion steps break nothing"),
    pytest.param(
        (step(40, 60), step(50, 60)),
        60,
        False,
        ("Step 1: A first step starts",),
        id="a ladder starting at 40 degrees is refused at step 1",
    ),
    pytest.param(
        (step(20, 60), step(30, 120), step(45, 120)),
        60,
        False,
        ("Step 3: Angle rises",),
        id="a jump of 15 degrees is refused at the step that jumps",
    ),
    pytest.param(
        (step(20, 0, cycles=12, cycle_seconds=30),),
        60,
        False,
        ("Step 1: 6 minutes", "Step 1: A first step holds between"),
        id="a first step over 5 minutes a day is refused, and outside the start range",
    ),
    pytest.param(
        (step(20, 60), step(30, 120), step(30, 180, 2)),
        60,
        False,
        (),
        id="a later step over 5 minutes a day is left to the engine",
    ),
    pytest.param(
        (*LADDER, step(70, 300)),
        70,
        False,
        ("Step 6: Angle 70°",),
        id="a 70 degree step without full inversion allowed is refused",
    ),
    pytest.param(
        (*LADDER, step(70, 300)),
        70,
        True,
        (),
        id="a 70 degree step with full inversion allowed is allowed",
    ),
]


@pytest.mark.parametrize(("steps", "ceiling", "full", "words"), TEMPLATES)
def test_template_violations(steps, ceiling, full, words):
    found = template_violations(steps, ceiling_deg=ceiling, full_inversion_allowed=full)

    assert len(found) == len(words), found
    for expected, violation in zip(words, found, strict=True):
        assert violation.startswith(expected)


@pytest.mark.parametrize(
    ("inversion", "per_session", "per_day"),
    [
        pytest.param(step(20, 90, 2), 90, 180, id="continuous time is the hold"),
        pytest.param(
            step(20, 0, 2, cycles=5, cycle_seconds=25),
            125,
            250,
            id="intermittent time is cycles times cycle seconds",
        ),
    ],
)
def test_inverted_seconds(inversion, per_session, per_day):
    assert inversion.inverted_seconds_per_session == per_session
    assert inversion.inverted_seconds_per_day == per_day


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"cycles": 5}, id="cycles without cycle seconds"),
        pytest.param({"cycle_seconds": 25}, id="cycle seconds without cycles"),
        pytest.param({"sessions_per_day": 0}, id="no sessions a day"),
        pytest.param({"days_per_week": 8}, id="eight days a week"),
        pytest.param({"hold_seconds": 0}, id="a continuous hold of nothing"),
    ],
)
def test_inversion_step_refuses_impossible_shapes(fields):
    values = {"angle_deg": 20, "hold_seconds": 60, "sessions_per_day": 1, **fields}

    with pytest.raises(ValueError):
        InversionStep(**values)


def test_shipped_caps_match_the_clinical_defaults():
    caps = Caps()

    assert (caps.max_angle_step_deg, caps.max_hold_step_seconds) == (10, 60)
    assert (caps.default_ceiling_deg, caps.absolute_max_angle_deg) == (60, 90)
    assert (caps.max_hold_seconds, caps.max_sessions_per_day) == (600, 2)
    assert (caps.early_weeks_days, caps.early_daily_limit_seconds) == (14, 300)
    assert (caps.start_min_angle_deg, caps.start_max_angle_deg) == (15, 30)
    assert (caps.start_min_hold_seconds, caps.start_max_hold_seconds) == (60, 120)
    assert (caps.min_cycle_seconds, caps.max_cycle_seconds) == (20, 30)
