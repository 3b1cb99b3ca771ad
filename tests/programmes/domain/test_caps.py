"""The plan ceiling rule (CLINICAL.md section 3): one home for it. No database."""

import pytest

from programmes.domain.caps import (
    Caps,
    above_ceiling,
    ceiling_allowed,
    ceiling_refusal,
    effective_ceiling_deg,
)
from programmes.domain.progression import InversionStep, template_problems

REFUSAL = "Above 60° only when full inversion is allowed on this plan."


@pytest.mark.parametrize(
    ("ceiling", "full", "allowed"),
    [
        pytest.param(15, False, True, id="a low ceiling needs nothing"),
        pytest.param(60, False, True, id="the default ceiling of 60 degrees needs nothing"),
        pytest.param(61, False, False, id="61 degrees needs full inversion allowed"),
        pytest.param(90, False, False, id="90 degrees needs full inversion allowed"),
        pytest.param(61, True, True, id="61 degrees with full inversion allowed"),
        pytest.param(90, True, True, id="90 degrees with full inversion allowed"),
        pytest.param(45, True, True, id="full inversion allowed keeps a low ceiling"),
    ],
)
def test_a_ceiling_above_60_needs_full_inversion(ceiling, full, allowed):
    assert ceiling_allowed(ceiling, full_inversion_allowed=full) is allowed
    assert ceiling_refusal(ceiling, full_inversion_allowed=full) == ("" if allowed else REFUSAL)


@pytest.mark.parametrize(
    ("ceiling", "full", "effective"),
    [
        pytest.param(45, False, 45, id="a lower plan ceiling is kept"),
        pytest.param(60, False, 60, id="the default ceiling is 60 degrees"),
        pytest.param(80, False, 60, id="never above 60 degrees without full inversion"),
        pytest.param(80, True, 80, id="full inversion allowed keeps the plan ceiling"),
        pytest.param(90, True, 90, id="full inversion reaches 90 degrees"),
        pytest.param(120, True, 90, id="nothing is above 90 degrees"),
    ],
)
def test_no_step_goes_above_the_effective_ceiling(ceiling, full, effective):
    assert effective_ceiling_deg(ceiling, full_inversion_allowed=full) == effective
    assert not above_ceiling(effective, ceiling_deg=ceiling, full_inversion_allowed=full)
    assert above_ceiling(effective + 1, ceiling_deg=ceiling, full_inversion_allowed=full)


@pytest.mark.parametrize(
    ("angle", "ceiling", "full", "above"),
    [
        pytest.param(60, 60, False, False, id="a step at the ceiling is within it"),
        pytest.param(61, 60, False, True, id="a step one degree over the ceiling is above"),
        pytest.param(65, 70, False, True, id="65 under a 70 ceiling without full inversion"),
        pytest.param(65, 70, True, False, id="65 under a 70 ceiling with full inversion"),
        pytest.param(50, 45, True, True, id="full inversion doesn't lift a low ceiling"),
    ],
)
def test_a_step_above_the_ceiling(angle, ceiling, full, above):
    assert above_ceiling(angle, ceiling_deg=ceiling, full_inversion_allowed=full) is above


def test_the_rule_follows_a_clinics_caps():
    caps = Caps(default_ceiling_deg=45, absolute_max_angle_deg=80)

    assert not ceiling_allowed(50, full_inversion_allowed=False, caps=caps)
    assert ceiling_refusal(50, full_inversion_allowed=False, caps=caps).startswith("Above 45°")
    assert effective_ceiling_deg(90, full_inversion_allowed=True, caps=caps) == 80


FIRST = InversionStep(20, 60, 1)


@pytest.mark.parametrize(
    ("steps", "exercise_only", "words"),
    [
        pytest.param((), False, [], id="an inversion template with no steps yet"),
        pytest.param((), True, [], id="an exercise-only template with no steps"),
        pytest.param((FIRST,), False, [], id="a first step in the start ranges"),
        pytest.param(
            (FIRST,),
            True,
            ["An exercise-only template can't have inversion steps."],
            id="an exercise-only template with a step",
        ),
        pytest.param(
            (
                FIRST,
                InversionStep(30, 120, 1),
                InversionStep(40, 180, 1),
                InversionStep(50, 240, 1),
                InversionStep(60, 300, 1),
                InversionStep(70, 300, 1),
            ),
            False,
            ["Step 6: Angle 70° is above this plan's ceiling of 60°."],
            id="a template keeps the default ceiling of 60 degrees",
        ),
    ],
)
def test_template_problems(steps, exercise_only, words):
    assert list(template_problems(steps, exercise_only=exercise_only)) == words
