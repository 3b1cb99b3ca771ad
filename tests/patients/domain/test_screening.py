"""Intake screening rules as tables (CLINICAL.md sections 1 and 2). No database, no Django."""

import re
from dataclasses import fields
from datetime import date

import pytest

from patients.domain.answers import Condition as C
from patients.domain.answers import IntakeAnswers
from patients.domain.answers import Medication as M
from patients.domain.screening import (
    DEFAULT_RULE_SET,
    FLAG_LABELS,
    INTAKE_VALID_DAYS,
    AboveLimit,
    AnyOf,
    AtLeast,
    Flag,
    HasCondition,
    HasMedication,
    Outcome,
    Rule,
    RuleSet,
    TableLimits,
    WithinDays,
    WithinMonths,
    calendar_months_before,
    intake_expires_on,
    intake_is_current,
    intake_valid_until,
    outcome_allows_inversion,
    outcome_allows_programme,
    outcome_is_worse,
    screen_intake,
)

TODAY = date(2026, 3, 15)
URGENT = Outcome.URGENT_REFERRAL
UNSAFE = Outcome.CONTRAINDICATED
REVIEW = Outcome.REVIEW_REQUIRED
CLEARED = Outcome.CLEARED


def intake(**answers: object) -> IntakeAnswers:
    """A healthy 40-year-old with normal measurements, changed by `answers`."""
    healthy = {"age_years": 40, "systolic_bp": 120, "diastolic_bp": 80}
    healthy |= {"weight_kg": 75.0, "height_cm": 175.0}
    return IntakeAnswers(**(healthy | answers))


def screen(today: date = TODAY, **kwargs: object):
    answers = {k: v for k, v in kwargs.items() if k not in {"rules", "limits"}}
    options = {k: v for k, v in kwargs.items() if k in {"rules", "limits"}}
    return screen_intake(intake(**answers), today=today, **options)


def codes(screening) -> list[str]:
    return [finding.code for finding in screening.findings]


def case(sentence: str, *values: object):
    return pytest.param(*values, id=sentence)


# --- Every rule fires on its own ---------------------------------------------------------

RULE_FIRES = [
    # Red flags.
    case(
        "bladder or bowel change 5 days ago is an urgent referral",
        {"bladder_bowel_change": True, "bladder_bowel_change_date": date(2026, 3, 10)},
        "red_flag_cauda_equina_bladder_bowel",
        URGENT,
    ),
    case(
        "saddle numbness is an urgent referral",
        {"saddle_numbness": True},
        "red_flag_cauda_equina_saddle_numbness",
        URGENT,
    ),
    case(
        "symptoms in both legs are an urgent referral",
        {"both_legs_symptoms": True},
        "red_flag_both_legs_or_sexual_dysfunction",
        URGENT,
    ),
    case(
        "new sexual dysfunction is an urgent referral",
        {"new_sexual_dysfunction": True},
        "red_flag_both_legs_or_sexual_dysfunction",
        URGENT,
    ),
    case(
        "worsening leg weakness is an urgent referral",
        {"progressive_leg_weakness": True},
        "red_flag_progressive_neuro_deficit",
        URGENT,
    ),
    case(
        "foot drop is an urgent referral",
        {"foot_drop": True},
        "red_flag_progressive_neuro_deficit",
        URGENT,
    ),
    case(
        "cancer history with night pain is an urgent referral",
        {"conditions": frozenset({C.CANCER_HISTORY}), "night_pain": True},
        "red_flag_malignancy_cancer_history",
        URGENT,
    ),
    case(
        "cancer history with unexplained weight loss is an urgent referral",
        {"conditions": frozenset({C.CANCER_HISTORY}), "unexplained_weight_loss": True},
        "red_flag_malignancy_cancer_history",
        URGENT,
    ),
    case(
        "age 51 with no improvement after a month of care is an urgent referral",
        {"age_years": 51, "no_improvement_after_month_of_care": True},
        "red_flag_malignancy_age_no_improvement",
        URGENT,
    ),
    case("fever is an urgent referral", {"fever": True}, "red_flag_infection", URGENT),
    case(
        "intravenous drug use is an urgent referral",
        {"intravenous_drug_use": True},
        "red_flag_infection",
        URGENT,
    ),
    case(
        "immunosuppression is an urgent referral",
        {"conditions": frozenset({C.IMMUNOSUPPRESSION})},
        "red_flag_infection",
        URGENT,
    ),
    case(
        "an immunosuppressant medicine is an urgent referral",
        {"medications": frozenset({M.IMMUNOSUPPRESSANT})},
        "red_flag_infection",
        URGENT,
    ),
    case(
        "significant trauma is an urgent referral",
        {"significant_trauma": True},
        "red_flag_fracture",
        URGENT,
    ),
    case(
        "long-term steroids with new back pain are an urgent referral",
        {"medications": frozenset({M.LONG_TERM_STEROID}), "new_back_pain": True},
        "red_flag_fracture",
        URGENT,
    ),
    # Contraindications.
    *[
        case(
            f"{code.replace('_', ' ')} is contraindicated",
            {"conditions": frozenset({code})},
            "ci_glaucoma_eye_disease",
            UNSAFE,
        )
        for code in (
            C.GLAUCOMA,
            C.OCULAR_HYPERTENSION,
            C.RETINAL_DETACHMENT,
            C.RETINAL_VASCULAR_DISEASE,
            C.MACULAR_DEGENERATION,
        )
    ],
    case(
        "eye surgery 2 months ago is contraindicated",
        {"eye_surgery": True, "eye_surgery_date": date(2026, 1, 15)},
        "ci_eye_surgery",
        UNSAFE,
    ),
    *[
        case(
            f"{code.replace('_', ' ')} is contraindicated",
            {"conditions": frozenset({code})},
            "ci_heart_disease",
            UNSAFE,
        )
        for code in (C.HEART_FAILURE, C.UNCONTROLLED_ARRHYTHMIA, C.HEART_DISEASE_UNDER_TREATMENT)
    ],
    case(
        "a heart attack 6 months ago is contraindicated",
        {"heart_attack": True, "heart_attack_date": date(2025, 9, 15)},
        "ci_heart_attack",
        UNSAFE,
    ),
    case(
        "a stroke or TIA ever is contraindicated",
        {"conditions": frozenset({C.STROKE_OR_TIA})},
        "ci_stroke_aneurysm",
        UNSAFE,
    ),
    case(
        "a known cerebral aneurysm is contraindicated",
        {"conditions": frozenset({C.CEREBRAL_ANEURYSM})},
        "ci_stroke_aneurysm",
        UNSAFE,
    ),
    case("pregnancy is contraindicated", {"pregnant": True}, "ci_pregnancy", UNSAFE),
    case(
        "blood pressure 170/105 is contraindicated",
        {"systolic_bp": 170, "diastolic_bp": 105},
        "ci_blood_pressure",
        UNSAFE,
    ),
    *[
        case(
            f"{code.replace('_', ' ')} is contraindicated",
            {"conditions": frozenset({code})},
            "ci_spinal_pathology",
            UNSAFE,
        )
        for code in (C.SPINAL_FRACTURE, C.SPINAL_INSTABILITY, C.SPINAL_TUMOUR, C.SPINAL_INFECTION)
    ],
    case(
        "weight above the table limit is contraindicated",
        {"weight_kg": 140.0, "height_cm": 180.0},
        "ci_table_limits",
        UNSAFE,
    ),
    case(
        "height above the table limit is contraindicated",
        {"weight_kg": 80.0, "height_cm": 200.0},
        "ci_table_limits",
        UNSAFE,
    ),
    # Relative contraindications.
    case(
        "blood pressure 150/85 needs review",
        {"systolic_bp": 150, "diastolic_bp": 85},
        "rc_blood_pressure",
        REVIEW,
    ),
    case(
        "hypertension controlled by medication needs review",
        {"conditions": frozenset({C.HYPERTENSION_ON_MEDICATION})},
        "rc_hypertension_on_medication",
        REVIEW,
    ),
    case(
        "a blood pressure medicine needs review",
        {"medications": frozenset({M.ANTIHYPERTENSIVE})},
        "rc_hypertension_on_medication",
        REVIEW,
    ),
    case(
        "osteoporosis needs review",
        {"conditions": frozenset({C.OSTEOPOROSIS})},
        "rc_osteoporosis_osteopenia",
        REVIEW,
    ),
    case(
        "osteopenia needs review",
        {"conditions": frozenset({C.OSTEOPENIA})},
        "rc_osteoporosis_osteopenia",
        REVIEW,
    ),
    case(
        "a fracture 3 months ago needs review",
        {"fracture": True, "fracture_date": date(2025, 12, 15)},
        "rc_recent_fracture",
        REVIEW,
    ),
    case(
        "an anticoagulant needs review",
        {"medications": frozenset({M.ANTICOAGULANT})},
        "rc_anticoagulant_aspirin",
        REVIEW,
    ),
    case(
        "daily aspirin needs review",
        {"medications": frozenset({M.DAILY_ASPIRIN})},
        "rc_anticoagulant_aspirin",
        REVIEW,
    ),
    case(
        "a hiatal hernia needs review",
        {"conditions": frozenset({C.HIATAL_HERNIA})},
        "rc_hernia",
        REVIEW,
    ),
    case(
        "a ventral hernia needs review",
        {"conditions": frozenset({C.VENTRAL_HERNIA})},
        "rc_hernia",
        REVIEW,
    ),
    case(
        "a middle-ear infection needs review",
        {"conditions": frozenset({C.MIDDLE_EAR_INFECTION})},
        "rc_ear_eye_infection",
        REVIEW,
    ),
    case(
        "conjunctivitis needs review",
        {"conditions": frozenset({C.CONJUNCTIVITIS})},
        "rc_ear_eye_infection",
        REVIEW,
    ),
    case(
        "a skeletal implant needs review",
        {"conditions": frozenset({C.SKELETAL_IMPLANT})},
        "rc_skeletal_implant",
        REVIEW,
    ),
    case(
        "surgery 2 months ago needs review",
        {"surgery": True, "surgery_date": date(2026, 1, 15)},
        "rc_recent_surgery",
        REVIEW,
    ),
    case(
        "an ankle, knee or hip problem needs review",
        {"conditions": frozenset({C.WEIGHT_BEARING_JOINT_PROBLEM})},
        "rc_weight_bearing_joint",
        REVIEW,
    ),
    case(
        "diabetes needs review",
        {"conditions": frozenset({C.DIABETES})},
        "rc_diabetes",
        REVIEW,
    ),
    case(
        "a history of dizziness, vertigo or fainting needs review",
        {"conditions": frozenset({C.DIZZINESS_VERTIGO_FAINTING})},
        "rc_dizziness_vertigo_fainting",
        REVIEW,
    ),
    case(
        "BMI 37 within the table limits needs review",
        {"weight_kg": 120.0, "height_cm": 180.0},
        "rc_bmi",
        REVIEW,
    ),
]


@pytest.mark.parametrize(("answers", "code", "tier"), RULE_FIRES)
def test_rule_fires_alone_and_sets_its_tier(answers, code, tier):
    screening = screen(**answers)

    assert codes(screening) == [code]
    assert screening.outcome == tier
    assert screening.findings[0].tier == tier


def test_every_default_rule_has_a_firing_case():
    """A rule added to the defaults without a row above fails here."""
    covered = {param.values[1] for param in RULE_FIRES}

    assert covered == set(DEFAULT_RULE_SET.codes())


# --- Near misses: nothing fires -------------------------------------------------------------

RULE_DOES_NOT_FIRE = [
    case("a healthy intake is cleared", {}),
    case(
        "bladder or bowel change 20 days ago is not a red flag",
        {"bladder_bowel_change": True, "bladder_bowel_change_date": date(2026, 2, 23)},
    ),
    case(
        "a bladder or bowel date answered no is ignored",
        {"bladder_bowel_change": False, "bladder_bowel_change_date": date(2026, 3, 10)},
    ),
    case(
        "cancer history without night pain or weight loss is cleared",
        {"conditions": frozenset({C.CANCER_HISTORY})},
    ),
    case("night pain without cancer history is cleared", {"night_pain": True}),
    case("weight loss without cancer history is cleared", {"unexplained_weight_loss": True}),
    case(
        "age exactly 50 with no improvement is not over 50",
        {"age_years": 50, "no_improvement_after_month_of_care": True},
    ),
    case("age 65 and improving is cleared", {"age_years": 65}),
    case(
        "long-term steroids without new pain are cleared",
        {"medications": frozenset({M.LONG_TERM_STEROID})},
    ),
    case("new back pain without steroids is cleared", {"new_back_pain": True}),
    case(
        "eye surgery 7 months ago is cleared",
        {"eye_surgery": True, "eye_surgery_date": date(2025, 8, 15)},
    ),
    case(
        "a heart attack 13 months ago is cleared",
        {"heart_attack": True, "heart_attack_date": date(2025, 2, 15)},
    ),
    case(
        "a heart attack date answered no is ignored",
        {"heart_attack": False, "heart_attack_date": date(2026, 3, 1)},
    ),
    case(
        "a fracture 13 months ago is cleared",
        {"fracture": True, "fracture_date": date(2025, 2, 15)},
    ),
    case(
        "surgery 7 months ago is cleared",
        {"surgery": True, "surgery_date": date(2025, 8, 15)},
    ),
    case("blood pressure 139/89 is cleared", {"systolic_bp": 139, "diastolic_bp": 89}),
    case(
        "weight and height exactly at the limits are cleared",
        {"weight_kg": 136.0, "height_cm": 198.0},
    ),
    case("BMI 34.9 is cleared", {"weight_kg": 113.08, "height_cm": 180.0}),
]


@pytest.mark.parametrize("answers", RULE_DOES_NOT_FIRE)
def test_near_miss_is_cleared_with_no_findings(answers):
    screening = screen(**answers)

    assert screening.outcome == CLEARED
    assert screening.findings == ()


# --- Date windows -------------------------------------------------------------------------


def dated(question: str, when: date | None) -> dict[str, object]:
    return {question: True, f"{question}_date": when}


DATE_WINDOWS = [
    # 14 days.
    case(
        "bladder change exactly 14 days ago is inside",
        TODAY,
        dated("bladder_bowel_change", date(2026, 3, 1)),
        "red_flag_cauda_equina_bladder_bowel",
        True,
    ),
    case(
        "bladder change 15 days ago is outside",
        TODAY,
        dated("bladder_bowel_change", date(2026, 2, 28)),
        "red_flag_cauda_equina_bladder_bowel",
        False,
    ),
    case(
        "bladder change today is inside",
        TODAY,
        dated("bladder_bowel_change", TODAY),
        "red_flag_cauda_equina_bladder_bowel",
        True,
    ),
    # 6 months.
    case(
        "eye surgery exactly 6 months ago is inside",
        TODAY,
        dated("eye_surgery", date(2025, 9, 15)),
        "ci_eye_surgery",
        True,
    ),
    case(
        "eye surgery 6 months and a day ago is outside",
        TODAY,
        dated("eye_surgery", date(2025, 9, 14)),
        "ci_eye_surgery",
        False,
    ),
    case(
        "on 31 August, eye surgery on 28 February is inside (month end clamped)",
        date(2026, 8, 31),
        dated("eye_surgery", date(2026, 2, 28)),
        "ci_eye_surgery",
        True,
    ),
    case(
        "on 31 August, eye surgery on 27 February is outside",
        date(2026, 8, 31),
        dated("eye_surgery", date(2026, 2, 27)),
        "ci_eye_surgery",
        False,
    ),
    case(
        "in a leap year, surgery on 29 February is inside on 31 August",
        date(2024, 8, 31),
        dated("surgery", date(2024, 2, 29)),
        "rc_recent_surgery",
        True,
    ),
    case(
        "in a leap year, surgery on 28 February is outside on 31 August",
        date(2024, 8, 31),
        dated("surgery", date(2024, 2, 28)),
        "rc_recent_surgery",
        False,
    ),
    case(
        "surgery exactly 6 months ago is inside",
        TODAY,
        dated("surgery", date(2025, 9, 15)),
        "rc_recent_surgery",
        True,
    ),
    case(
        "surgery 6 months and a day ago is outside",
        TODAY,
        dated("surgery", date(2025, 9, 14)),
        "rc_recent_surgery",
        False,
    ),
    # 12 months.
    case(
        "a heart attack exactly 12 months ago is inside",
        TODAY,
        dated("heart_attack", date(2025, 3, 15)),
        "ci_heart_attack",
        True,
    ),
    case(
        "a heart attack 12 months and a day ago is outside",
        TODAY,
        dated("heart_attack", date(2025, 3, 14)),
        "ci_heart_attack",
        False,
    ),
    case(
        "a fracture exactly 12 months ago is inside",
        TODAY,
        dated("fracture", date(2025, 3, 15)),
        "rc_recent_fracture",
        True,
    ),
    case(
        "a fracture 12 months and a day ago is outside",
        TODAY,
        dated("fracture", date(2025, 3, 14)),
        "rc_recent_fracture",
        False,
    ),
    case(
        "on 29 February, a fracture on 28 February last year is inside",
        date(2024, 2, 29),
        dated("fracture", date(2023, 2, 28)),
        "rc_recent_fracture",
        True,
    ),
    case(
        "on 29 February, a fracture on 27 February last year is outside",
        date(2024, 2, 29),
        dated("fracture", date(2023, 2, 27)),
        "rc_recent_fracture",
        False,
    ),
    # Missing or odd dates take the safe side.
    case(
        "eye surgery answered yes without a date counts as recent",
        TODAY,
        dated("eye_surgery", None),
        "ci_eye_surgery",
        True,
    ),
    case(
        "a bladder change answered yes without a date counts as recent",
        TODAY,
        dated("bladder_bowel_change", None),
        "red_flag_cauda_equina_bladder_bowel",
        True,
    ),
    case(
        "eye surgery dated after the intake day counts as recent",
        TODAY,
        dated("eye_surgery", date(2026, 4, 1)),
        "ci_eye_surgery",
        True,
    ),
]


@pytest.mark.parametrize(("today", "answers", "code", "fires"), DATE_WINDOWS)
def test_dated_answer_fires_only_inside_its_window(today, answers, code, fires):
    screening = screen(today, **answers)

    assert (code in codes(screening)) is fires


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        case("31 August minus 6 months is 28 February", date(2026, 8, 31), 6, date(2026, 2, 28)),
        case("in a leap year it is 29 February", date(2024, 8, 31), 6, date(2024, 2, 29)),
        case("15 March minus 12 months is 15 March", date(2026, 3, 15), 12, date(2025, 3, 15)),
        case("31 January minus 1 month is 31 December", date(2026, 1, 31), 1, date(2025, 12, 31)),
        case("31 May minus 1 month is 30 April", date(2026, 5, 31), 1, date(2026, 4, 30)),
    ],
)
def test_calendar_months_before_clamps_to_month_end(day, months, expected):
    assert calendar_months_before(day, months) == expected


# --- Blood pressure ---------------------------------------------------------------------------

BLOOD_PRESSURE = [
    case("139/89 is cleared", 139, 89, CLEARED),
    case("140/90 needs review", 140, 90, REVIEW),
    case("159/99 needs review", 159, 99, REVIEW),
    case("160/100 is contraindicated", 160, 100, UNSAFE),
    case("systolic 140 alone needs review", 140, 70, REVIEW),
    case("systolic 145 alone needs review", 145, 70, REVIEW),
    case("systolic 159 alone needs review", 159, 70, REVIEW),
    case("systolic 160 alone is contraindicated", 160, 70, UNSAFE),
    case("diastolic 90 alone needs review", 120, 90, REVIEW),
    case("diastolic 92 alone needs review", 120, 92, REVIEW),
    case("diastolic 99 alone needs review", 120, 99, REVIEW),
    case("diastolic 100 alone is contraindicated", 120, 100, UNSAFE),
    case("systolic 139 alone is cleared", 139, 70, CLEARED),
    case("diastolic 89 alone is cleared", 120, 89, CLEARED),
]


@pytest.mark.parametrize(("systolic", "diastolic", "outcome"), BLOOD_PRESSURE)
def test_blood_pressure_tiers_are_inclusive_at_the_higher_tier(systolic, diastolic, outcome):
    screening = screen(systolic_bp=systolic, diastolic_bp=diastolic)

    assert screening.outcome == outcome


def test_blood_pressure_evidence_shows_both_numbers_once():
    review = screen(systolic_bp=152, diastolic_bp=88)
    unsafe = screen(systolic_bp=165, diastolic_bp=105)

    assert review.findings[0].evidence == "Blood pressure 152/88 mmHg"
    assert [f.evidence for f in unsafe.findings] == ["Blood pressure 165/105 mmHg"]


def test_high_systolic_with_diastolic_in_review_band_reports_both_tiers():
    """170/95 meets both bullets as written; the outcome is still the higher tier."""
    screening = screen(systolic_bp=170, diastolic_bp=95)

    assert codes(screening) == ["ci_blood_pressure", "rc_blood_pressure"]
    assert screening.outcome == UNSAFE


# --- Table limits and BMI -----------------------------------------------------------------------

TABLE_LIMITS = [
    case("136 kg and 198 cm are allowed", 136.0, 198.0, TableLimits(), CLEARED),
    case("136.1 kg is above the table limit", 136.1, 198.0, TableLimits(), UNSAFE),
    case("198.5 cm is above the table limit", 80.0, 198.5, TableLimits(), UNSAFE),
    case(
        "a 120 kg table allows 120 kg",
        120.0,
        190.0,
        TableLimits(max_weight_kg=120.0, max_height_cm=190.0),
        CLEARED,
    ),
    case(
        "a 120 kg table refuses 121 kg",
        121.0,
        190.0,
        TableLimits(max_weight_kg=120.0, max_height_cm=190.0),
        UNSAFE,
    ),
    case(
        "a 190 cm table refuses 190.5 cm",
        80.0,
        190.5,
        TableLimits(max_weight_kg=120.0, max_height_cm=190.0),
        UNSAFE,
    ),
    case(
        "a 159 kg table allows 150 kg, with BMI review",
        150.0,
        198.0,
        TableLimits(max_weight_kg=159.0),
        REVIEW,
    ),
]


@pytest.mark.parametrize(("weight", "height", "limits", "outcome"), TABLE_LIMITS)
def test_weight_and_height_above_the_clinic_table_limits_are_contraindicated(
    weight, height, limits, outcome
):
    screening = screen(weight_kg=weight, height_cm=height, limits=limits)

    assert screening.outcome == outcome


BMI = [
    case("BMI 34.9 is cleared", 113.08, 180.0, []),
    case("BMI 35.0 needs review", 113.4, 180.0, ["rc_bmi"]),
    case("BMI 34.96 is shown and judged as 35.0", 113.27, 180.0, ["rc_bmi"]),
    case(
        "BMI 43 above the weight limit is only the table-limit finding",
        140.0,
        180.0,
        ["ci_table_limits"],
    ),
]


@pytest.mark.parametrize(("weight", "height", "expected"), BMI)
def test_bmi_of_35_or_more_within_the_table_limits_needs_review(weight, height, expected):
    assert codes(screen(weight_kg=weight, height_cm=height)) == expected


# --- Evidence ----------------------------------------------------------------------------------

EVIDENCE = [
    case(
        "a dated answer shows its date",
        dated("eye_surgery", date(2025, 9, 15)),
        "Eye surgery on 15 Sep 2025",
    ),
    case(
        "a yes without a date says so",
        dated("surgery", None),
        "Surgery, date not given",
    ),
    case(
        "a weight shows the limit it passed",
        {"weight_kg": 136.1, "height_cm": 198.0},
        "Weight 136.1 kg, above the table limit of 136 kg",
    ),
    case(
        "a BMI shows weight and height",
        {"weight_kg": 120.0, "height_cm": 180.0},
        "BMI 37.0 (120 kg, 180 cm)",
    ),
    case(
        "conditions show their labels",
        {"conditions": frozenset({C.GLAUCOMA, C.MACULAR_DEGENERATION})},
        "Glaucoma; Macular degeneration",
    ),
    case(
        "a combined red flag shows each part",
        {
            "conditions": frozenset({C.CANCER_HISTORY}),
            "night_pain": True,
            "unexplained_weight_loss": True,
        },
        "Cancer, now or in the past; Night pain; Unexplained weight loss",
    ),
    case(
        "the age rule shows the age",
        {"age_years": 62, "no_improvement_after_month_of_care": True},
        "Age 62; No improvement after a month of care",
    ),
]


@pytest.mark.parametrize(("answers", "evidence"), EVIDENCE)
def test_finding_evidence_reads_as_the_answer(answers, evidence):
    (finding,) = screen(**answers).findings

    assert finding.evidence == evidence


# --- Combining findings --------------------------------------------------------------------------

COMBINATIONS = [
    case(
        "review and contraindicated is contraindicated",
        {"conditions": frozenset({C.DIABETES}), "pregnant": True},
        UNSAFE,
        ["ci_pregnancy", "rc_diabetes"],
    ),
    case(
        "contraindicated and a red flag is an urgent referral",
        {"pregnant": True, "saddle_numbness": True},
        URGENT,
        ["red_flag_cauda_equina_saddle_numbness", "ci_pregnancy"],
    ),
    case(
        "all three tiers list most severe first",
        {"conditions": frozenset({C.DIABETES}), "pregnant": True, "saddle_numbness": True},
        URGENT,
        ["red_flag_cauda_equina_saddle_numbness", "ci_pregnancy", "rc_diabetes"],
    ),
    case(
        "findings of one tier keep the rule set's order",
        {"conditions": frozenset({C.DIABETES, C.HIATAL_HERNIA})},
        REVIEW,
        ["rc_hernia", "rc_diabetes"],
    ),
]


@pytest.mark.parametrize(("answers", "outcome", "expected"), COMBINATIONS)
def test_most_severe_tier_wins_and_findings_are_most_severe_first(answers, outcome, expected):
    screening = screen(**answers)

    assert screening.outcome == outcome
    assert codes(screening) == expected
    severities = [finding.tier.severity for finding in screening.findings]
    assert severities == sorted(severities, reverse=True)


def test_finding_carries_the_rule_messages():
    rule = next(r for r in DEFAULT_RULE_SET.rules if r.code == "ci_pregnancy")
    (finding,) = screen(pregnant=True).findings

    assert finding.clinician_message == rule.clinician_message
    assert finding.patient_message == rule.patient_message


JARGON = ("contraindicat", "mmHg", "cauda", "intraocular", "TIA", "anticoagul", "override", "BMI")


@pytest.mark.parametrize("rule", DEFAULT_RULE_SET.rules, ids=lambda rule: rule.code)
def test_every_rule_speaks_to_clinician_and_patient_without_jargon(rule):
    assert rule.clinician_message
    assert rule.patient_message
    assert not [word for word in JARGON if re.search(rf"\b{word}", rule.patient_message, re.I)]


# --- Rule sets are versioned data -----------------------------------------------------------------


def test_screening_records_the_default_rule_set_version():
    assert screen().rule_set_version == DEFAULT_RULE_SET.version == "2026.1"


def test_a_clinic_tuned_rule_set_is_used_and_its_version_recorded():
    stricter = RuleSet(
        version="clinic-7",
        rules=(
            Rule(
                "rc_blood_pressure_130",
                "review_required",
                AnyOf(AtLeast("systolic_bp", 130), AtLeast("diastolic_bp", 85)),
                "Blood pressure 130/85 or more.",
                "Your clinician will check your blood pressure first.",
            ),
        ),
    )

    screening = screen(systolic_bp=132, diastolic_bp=80, rules=stricter)

    assert screening.outcome == REVIEW
    assert codes(screening) == ["rc_blood_pressure_130"]
    assert screening.rule_set_version == "clinic-7"


def test_rule_set_lists_its_codes_in_order():
    listed = DEFAULT_RULE_SET.codes()

    assert listed[0] == "red_flag_cauda_equina_bladder_bowel"
    assert listed[-1] == "rc_bmi"
    assert len(set(listed)) == len(listed)


def _rule(code: str, tier: str = "review_required") -> Rule:
    return Rule(code, tier, Flag("fever"), "c", "p")


INVALID_RULE_DATA = [
    case("a repeated rule code", lambda: RuleSet("x", (_rule("a"), _rule("a")))),
    case("a rule that clears", lambda: _rule("a", "cleared")),
    case("an unknown tier", lambda: _rule("a", "maybe")),
    case("an unknown yes/no question", lambda: Flag("feverish")),
    case("an unknown condition code", lambda: HasCondition("gout")),
    case("an unknown medication code", lambda: HasMedication("paracetamol")),
    case("a date field of another question", lambda: WithinDays("surgery", "fracture_date", 14)),
    case("an undated question", lambda: WithinMonths("fever", "fever_date", months=6)),
    case("an unknown measurement", lambda: AtLeast("pulse", 100)),
    case("an unknown table limit", lambda: AboveLimit("weight_kg", "max_width_cm")),
    case("a limit on a measurement without one", lambda: AboveLimit("bmi", "max_weight_kg")),
]


@pytest.mark.parametrize("build", INVALID_RULE_DATA)
def test_invalid_rule_data_fails_when_loaded(build):
    with pytest.raises(ValueError):
        build()


def test_every_yes_no_question_has_an_evidence_label():
    questions = {f.name for f in fields(IntakeAnswers) if f.type in ("bool", bool)}

    assert questions == set(FLAG_LABELS)


# --- What an outcome allows ----------------------------------------------------------------------


def test_outcomes_are_ordered_by_severity():
    ordered = sorted(Outcome, key=lambda outcome: outcome.severity)

    assert ordered == [CLEARED, REVIEW, UNSAFE, URGENT]


@pytest.mark.parametrize(
    ("new", "old", "worse"),
    [
        case("review after cleared is worse", REVIEW, CLEARED, True),
        case("urgent referral after contraindicated is worse", URGENT, UNSAFE, True),
        case("the same outcome is not worse", UNSAFE, UNSAFE, False),
        case("cleared after review is not worse", CLEARED, REVIEW, False),
        case("stored strings compare too", "contraindicated", "review_required", True),
    ],
)
def test_outcome_is_worse(new, old, worse):
    assert outcome_is_worse(new, old) is worse


@pytest.mark.parametrize(
    ("outcome", "has_override", "allowed"),
    [
        case("cleared allows inversion", CLEARED, False, True),
        case("cleared with an override allows inversion", CLEARED, True, True),
        case("review without an override does not allow inversion", REVIEW, False, False),
        case("review with an override allows inversion", REVIEW, True, True),
        case("contraindicated never allows inversion", UNSAFE, False, False),
        case("contraindicated ignores an override", UNSAFE, True, False),
        case("urgent referral never allows inversion", URGENT, False, False),
        case("urgent referral ignores an override", URGENT, True, False),
    ],
)
def test_outcome_allows_inversion(outcome, has_override, allowed):
    assert outcome_allows_inversion(outcome, has_override=has_override) is allowed


@pytest.mark.parametrize(
    ("outcome", "allowed"),
    [
        case("cleared allows a programme", CLEARED, True),
        case("review required allows a programme", REVIEW, True),
        case("contraindicated allows an exercise programme", UNSAFE, True),
        case("urgent referral allows no programme", URGENT, False),
    ],
)
def test_outcome_allows_programme(outcome, allowed):
    assert outcome_allows_programme(outcome) is allowed


# --- Intake validity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intake_date", "expires_on"),
    [
        case("an intake on 1 January expires on 1 April", date(2026, 1, 1), date(2026, 4, 1)),
        case("an intake on 15 December expires on 15 March", date(2025, 12, 15), date(2026, 3, 15)),
    ],
)
def test_intake_expires_after_90_days(intake_date, expires_on):
    assert INTAKE_VALID_DAYS == 90
    assert intake_expires_on(intake_date) == expires_on


def test_intake_is_valid_until_the_day_before_it_expires():
    assert intake_valid_until(date(2026, 1, 1)) == date(2026, 3, 31)


@pytest.mark.parametrize(
    ("today", "current"),
    [
        case("on the intake day it is current", date(2026, 1, 1), True),
        case("on day 89 after it is current", date(2026, 3, 31), True),
        case("on day 90 after it has expired", date(2026, 4, 1), False),
    ],
)
def test_intake_is_current_until_it_expires(today, current):
    assert intake_is_current(date(2026, 1, 1), today=today) is current
