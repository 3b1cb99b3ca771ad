"""Check-in symptoms and what each one triggers (CLINICAL.md section 4). No database."""

import pytest

from programmes.domain.symptoms import (
    EXIT_ADVICE,
    KNOWN_SYMPTOMS,
    MILD_SYMPTOMS,
    PAIN_ALERT_THRESHOLD,
    RED_FLAG_SYMPTOMS,
    STOP_ADVICE,
    STOP_SYMPTOMS,
    URGENT_REFERRAL_ADVICE,
    Symptom,
    classify_symptoms,
    pain_needs_alert,
)

# (codes, stop, red flag, mild)
CLASSIFICATIONS = [
    pytest.param(set(), False, False, False, id="no symptoms trigger nothing"),
    pytest.param({"chest_pain"}, True, False, False, id="chest pain stops inversion"),
    pytest.param({"palpitations"}, True, False, False, id="palpitations stop inversion"),
    pytest.param({"severe_headache"}, True, False, False, id="a severe headache stops"),
    pytest.param({"eye_pain_or_vision_change"}, True, False, False, id="eye pain stops"),
    pytest.param({"fainting"}, True, False, False, id="fainting stops inversion"),
    pytest.param({"leg_numbness_or_weakness"}, True, False, False, id="leg weakness stops"),
    pytest.param(
        {"bladder_bowel_change"},
        True,
        True,
        False,
        id="a bladder or bowel change stops and is a red flag",
    ),
    pytest.param(
        {"saddle_numbness"}, True, True, False, id="saddle numbness stops and is a red flag"
    ),
    pytest.param({"dizziness"}, False, False, True, id="dizziness that passed is mild"),
    pytest.param({"nausea"}, False, False, True, id="nausea that passed is mild"),
    pytest.param({"light_headedness"}, False, False, True, id="light-headedness is mild"),
    pytest.param(
        {"dizziness", "palpitations"},
        True,
        False,
        True,
        id="a stop symptom with a mild one is still a stop",
    ),
]


@pytest.mark.parametrize(("codes", "stop", "red_flag", "mild"), CLASSIFICATIONS)
def test_classify_symptoms(codes, stop, red_flag, mild):
    assessment = classify_symptoms(codes)

    assert (assessment.stop, assessment.red_flag, assessment.mild) == (stop, red_flag, mild)
    assert assessment.stop_codes == frozenset(codes) & STOP_SYMPTOMS
    assert assessment.mild_codes == frozenset(codes) & MILD_SYMPTOMS
    assert assessment.stop_advice == (STOP_ADVICE if stop else None)
    assert assessment.urgent_referral_advice == (URGENT_REFERRAL_ADVICE if red_flag else None)


def test_an_unknown_symptom_is_refused_rather_than_ignored():
    with pytest.raises(ValueError, match="not_a_symptom"):
        classify_symptoms({"dizziness", "not_a_symptom"})


def test_red_flags_are_stop_symptoms_and_no_stop_symptom_is_mild():
    assert RED_FLAG_SYMPTOMS < STOP_SYMPTOMS
    assert not STOP_SYMPTOMS & MILD_SYMPTOMS
    assert set(Symptom.LABELS) == KNOWN_SYMPTOMS


@pytest.mark.parametrize(
    ("advice", "words"),
    [
        pytest.param(
            STOP_ADVICE,
            ("Stop inverting", "upright slowly", "Contact the clinic"),
            id="stop advice says stop, come up slowly and contact the clinic",
        ),
        pytest.param(
            URGENT_REFERRAL_ADVICE,
            ("urgent medical care today", "A&E", "emergency services"),
            id="urgent referral advice sends the patient for care today",
        ),
        pytest.param(
            EXIT_ADVICE,
            ("upright slowly", "30 seconds"),
            id="exit advice says return upright over about 30 seconds",
        ),
    ],
)
def test_patient_advice_says_what_to_do(advice, words):
    for word in words:
        assert word in advice


@pytest.mark.parametrize(
    ("scores", "alert"),
    [
        pytest.param((6,), False, id="pain of 6 does not alert"),
        pytest.param((7,), True, id="pain of 7 alerts the clinician"),
        pytest.param((10,), True, id="pain of 10 alerts the clinician"),
        pytest.param((None,), False, id="no pain score does not alert"),
        pytest.param((3, 8), True, id="pain of 8 after a session alerts"),
        pytest.param((8, None), True, id="pain of 8 before a session alerts"),
    ],
)
def test_pain_needs_alert(scores, alert):
    assert PAIN_ALERT_THRESHOLD == 7
    assert pain_needs_alert(*scores) is alert
