"""Outcome-measure scoring as tables (CLINICAL.md section 5). No database, no Django."""

import pytest

from patients.domain.outcomes import (
    OdiScore,
    odi_change_is_meaningful,
    pain_change_is_meaningful,
    rmdq_change_is_meaningful,
    score_odi,
    score_rmdq,
)


def case(sentence: str, *values: object):
    return pytest.param(*values, id=sentence)


# --- Oswestry Disability Index ---------------------------------------------------------------

ODI = [
    case("all sections 0 is 0% minimal", [0] * 10, OdiScore(0, 10, 0.0, "minimal")),
    case("10 of 50 is 20% minimal", [1] * 10, OdiScore(10, 10, 20.0, "minimal")),
    case("11 of 50 is 22% moderate", [2] + [1] * 9, OdiScore(11, 10, 22.0, "moderate")),
    case("20 of 50 is 40% moderate", [2] * 10, OdiScore(20, 10, 40.0, "moderate")),
    case("21 of 50 is 42% severe", [3] + [2] * 9, OdiScore(21, 10, 42.0, "severe")),
    case("30 of 50 is 60% severe", [3] * 10, OdiScore(30, 10, 60.0, "severe")),
    case("31 of 50 is 62% crippling", [4] + [3] * 9, OdiScore(31, 10, 62.0, "crippling")),
    case("40 of 50 is 80% crippling", [4] * 10, OdiScore(40, 10, 80.0, "crippling")),
    case("41 of 50 is 82% bed-bound", [5] + [4] * 9, OdiScore(41, 10, 82.0, "bed_bound")),
    case("all sections 5 is 100% bed-bound", [5] * 10, OdiScore(50, 10, 100.0, "bed_bound")),
    case(
        "one unanswered section: 16 of 45 is 35.6%",
        [2, 2, 2, 2, 2, 2, 2, 1, 1, None],
        OdiScore(16, 9, 35.6, "moderate"),
    ),
    case(
        "two unanswered sections: 9 of 40 is 22.5% moderate",
        [1] * 7 + [2, None, None],
        OdiScore(9, 8, 22.5, "moderate"),
    ),
    case(
        "one answered section of 1 is 20%",
        [1] + [None] * 9,
        OdiScore(1, 1, 20.0, "minimal"),
    ),
    case(
        "one unanswered section: 19 of 45 is 42.2% severe",
        [3, 2, 2, 2, 2, 2, 2, 2, 2, None],
        OdiScore(19, 9, 42.2, "severe"),
    ),
]


@pytest.mark.parametrize(("sections", "expected"), ODI)
def test_odi_scores_percent_of_answered_sections_and_bands(sections, expected):
    assert score_odi(sections) == expected


@pytest.mark.parametrize(
    "sections",
    [
        case("nine sections", [1] * 9),
        case("eleven sections", [1] * 11),
        case("a section scored 6", [6] + [1] * 9),
        case("a section scored -1", [-1] + [1] * 9),
        case("a section scored 2.5", [2.5] + [1] * 9),
        case("a section answered True", [True] + [1] * 9),
        case("every section unanswered", [None] * 10),
    ],
)
def test_odi_rejects_malformed_answers(sections):
    with pytest.raises(ValueError):
        score_odi(sections)


@pytest.mark.parametrize(
    ("before", "after", "meaningful"),
    [
        case("a 10-point drop is meaningful", 45.0, 35.0, True),
        case("a 10-point rise is meaningful", 35.0, 45.0, True),
        case("45.6 to 35.6 is exactly 10 points", 45.6, 35.6, True),
        case("a 9.9-point drop is not meaningful", 45.5, 35.6, False),
        case("no change is not meaningful", 30.0, 30.0, False),
    ],
)
def test_odi_change_of_10_points_is_meaningful(before, after, meaningful):
    assert odi_change_is_meaningful(before, after) is meaningful


# --- Roland-Morris Disability Questionnaire ----------------------------------------------------


@pytest.mark.parametrize(
    ("items", "score"),
    [
        case("no yes answers score 0", [False] * 24, 0),
        case("every yes answer scores 24", [True] * 24, 24),
        case("seven yes answers score 7", [True] * 7 + [False] * 17, 7),
    ],
)
def test_rmdq_score_is_the_number_of_yes_answers(items, score):
    assert score_rmdq(items) == score


@pytest.mark.parametrize(
    "items",
    [
        case("23 items", [False] * 23),
        case("25 items", [False] * 25),
        case("an item answered 1 rather than yes", [1] + [False] * 23),
    ],
)
def test_rmdq_rejects_malformed_answers(items):
    with pytest.raises(ValueError):
        score_rmdq(items)


@pytest.mark.parametrize(
    ("before", "after", "meaningful"),
    [
        case("a 5-point drop is meaningful", 14, 9, True),
        case("a 5-point rise is meaningful", 9, 14, True),
        case("a 4-point drop is not meaningful", 14, 10, False),
    ],
)
def test_rmdq_change_of_5_points_is_meaningful(before, after, meaningful):
    assert rmdq_change_is_meaningful(before, after) is meaningful


# --- Pain NRS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "meaningful"),
    [
        case("a 2-point drop is meaningful", 8, 6, True),
        case("a 2-point rise is meaningful", 4, 6, True),
        case("a 1-point drop from 8 is not meaningful (12.5%)", 8, 7, False),
        case("a 1-point drop from 3 is meaningful (33%)", 3, 2, True),
        case("a 1-point drop from 4 is not meaningful (25%)", 4, 3, False),
        case("a 3-point drop from 10 is meaningful (exactly 30%)", 10, 7, True),
        case("a 1-point rise from 0 is not meaningful", 0, 1, False),
        case("no change from 0 is not meaningful", 0, 0, False),
        case("no change is not meaningful", 5, 5, False),
    ],
)
def test_pain_change_of_2_points_or_30_percent_is_meaningful(before, after, meaningful):
    assert pain_change_is_meaningful(before, after) is meaningful


@pytest.mark.parametrize(
    ("before", "after"),
    [
        case("a rating of 11", 11, 5),
        case("a rating of -1", 5, -1),
    ],
)
def test_pain_ratings_outside_0_to_10_are_rejected(before, after):
    with pytest.raises(ValueError):
        pain_change_is_meaningful(before, after)
