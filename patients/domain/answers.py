"""The intake answers the screening engine reads (CLINICAL.md section 2).

Pure data: no Django. The intake model, the API serializer and the portal form
all build an `IntakeAnswers` and hand it to `screen_intake`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta


class Condition:
    """Codes for the `conditions` list. Unknown codes are rejected at the edge."""

    GLAUCOMA = "glaucoma"
    OCULAR_HYPERTENSION = "ocular_hypertension"
    RETINAL_DETACHMENT = "retinal_detachment"
    RETINAL_VASCULAR_DISEASE = "retinal_vascular_disease"
    MACULAR_DEGENERATION = "macular_degeneration"
    HEART_FAILURE = "heart_failure"
    UNCONTROLLED_ARRHYTHMIA = "uncontrolled_arrhythmia"
    HEART_DISEASE_UNDER_TREATMENT = "heart_disease_under_treatment"
    STROKE_OR_TIA = "stroke_or_tia"
    CEREBRAL_ANEURYSM = "cerebral_aneurysm"
    SPINAL_FRACTURE = "spinal_fracture"
    SPINAL_INSTABILITY = "spinal_instability"
    SPINAL_TUMOUR = "spinal_tumour"
    SPINAL_INFECTION = "spinal_infection"
    HYPERTENSION_ON_MEDICATION = "hypertension_on_medication"
    OSTEOPOROSIS = "osteoporosis"
    OSTEOPENIA = "osteopenia"
    HIATAL_HERNIA = "hiatal_hernia"
    VENTRAL_HERNIA = "ventral_hernia"
    MIDDLE_EAR_INFECTION = "middle_ear_infection"
    CONJUNCTIVITIS = "conjunctivitis"
    SKELETAL_IMPLANT = "skeletal_implant"
    WEIGHT_BEARING_JOINT_PROBLEM = "weight_bearing_joint_problem"
    DIABETES = "diabetes"
    DIZZINESS_VERTIGO_FAINTING = "dizziness_vertigo_fainting"
    CANCER_HISTORY = "cancer_history"
    IMMUNOSUPPRESSION = "immunosuppression"

    LABELS: dict[str, str] = {
        GLAUCOMA: "Glaucoma",
        OCULAR_HYPERTENSION: "Ocular hypertension (raised eye pressure)",
        RETINAL_DETACHMENT: "Retinal detachment",
        RETINAL_VASCULAR_DISEASE: "Retinal vascular disease",
        MACULAR_DEGENERATION: "Macular degeneration",
        HEART_FAILURE: "Heart failure",
        UNCONTROLLED_ARRHYTHMIA: "Uncontrolled irregular heartbeat (arrhythmia)",
        HEART_DISEASE_UNDER_TREATMENT: "Other heart or circulatory disease under treatment",
        STROKE_OR_TIA: "Stroke or TIA (mini-stroke), ever",
        CEREBRAL_ANEURYSM: "Known brain (cerebral) aneurysm",
        SPINAL_FRACTURE: "Spinal fracture",
        SPINAL_INSTABILITY: "Spinal instability",
        SPINAL_TUMOUR: "Spinal tumour",
        SPINAL_INFECTION: "Spinal infection",
        HYPERTENSION_ON_MEDICATION: "High blood pressure controlled by medication",
        OSTEOPOROSIS: "Osteoporosis",
        OSTEOPENIA: "Osteopenia",
        HIATAL_HERNIA: "Hiatal hernia",
        VENTRAL_HERNIA: "Ventral (abdominal wall) hernia",
        MIDDLE_EAR_INFECTION: "Middle-ear infection (current)",
        CONJUNCTIVITIS: "Conjunctivitis (current)",
        SKELETAL_IMPLANT: "Skeletal implant (spine, hip, knee or ankle)",
        WEIGHT_BEARING_JOINT_PROBLEM: "Ankle, knee or hip problem",
        DIABETES: "Diabetes",
        DIZZINESS_VERTIGO_FAINTING: "History of dizziness, vertigo or fainting",
        CANCER_HISTORY: "Cancer, now or in the past",
        IMMUNOSUPPRESSION: "Weakened immune system (immunosuppression)",
    }


class Medication:
    """Codes for the `medications` list."""

    ANTICOAGULANT = "anticoagulant"
    DAILY_ASPIRIN = "daily_aspirin"
    LONG_TERM_STEROID = "long_term_steroid"
    IMMUNOSUPPRESSANT = "immunosuppressant"
    ANTIHYPERTENSIVE = "antihypertensive"

    LABELS: dict[str, str] = {
        ANTICOAGULANT: "Blood thinner (anticoagulant, e.g. warfarin, apixaban)",
        DAILY_ASPIRIN: "Daily aspirin",
        LONG_TERM_STEROID: "Long-term steroid tablets (3 months or more)",
        IMMUNOSUPPRESSANT: "Immunosuppressant medicine",
        ANTIHYPERTENSIVE: "Blood pressure medicine",
    }


@dataclass(frozen=True)
class IntakeAnswers:
    """Structured answers to the intake questionnaire.

    Time-dependent questions are a yes/no with the date it happened: the rule
    decides whether the date falls inside its window. `age_years` is computed
    from the patient's date of birth on the intake date by the caller.
    """

    age_years: int
    # Measured at intake.
    systolic_bp: int
    diastolic_bp: int
    weight_kg: float
    height_cm: float
    # Red flags.
    bladder_bowel_change: bool = False
    bladder_bowel_change_date: date | None = None
    saddle_numbness: bool = False
    both_legs_symptoms: bool = False
    new_sexual_dysfunction: bool = False
    progressive_leg_weakness: bool = False
    foot_drop: bool = False
    night_pain: bool = False
    unexplained_weight_loss: bool = False
    no_improvement_after_month_of_care: bool = False
    fever: bool = False
    intravenous_drug_use: bool = False
    significant_trauma: bool = False
    new_back_pain: bool = False
    # Contraindications and relative contraindications.
    pregnant: bool = False
    eye_surgery: bool = False
    eye_surgery_date: date | None = None
    heart_attack: bool = False
    heart_attack_date: date | None = None
    fracture: bool = False
    fracture_date: date | None = None
    surgery: bool = False
    surgery_date: date | None = None
    conditions: frozenset[str] = field(default_factory=frozenset)
    medications: frozenset[str] = field(default_factory=frozenset)

    @property
    def bmi(self) -> float:
        metres = self.height_cm / 100
        return self.weight_kg / (metres * metres)


# Every yes/no question whose answer has a date, as (flag, date field).
DATED_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("bladder_bowel_change", "bladder_bowel_change_date"),
    ("eye_surgery", "eye_surgery_date"),
    ("heart_attack", "heart_attack_date"),
    ("fracture", "fracture_date"),
    ("surgery", "surgery_date"),
)


# The yes/no questions of the intake's warning signs (CLINICAL.md s.2 red flags). A patient
# who answers yes to any of them is never held back by an unanswered questionnaire.
RED_FLAG_QUESTIONS: tuple[str, ...] = (
    "bladder_bowel_change",
    "saddle_numbness",
    "both_legs_symptoms",
    "new_sexual_dysfunction",
    "progressive_leg_weakness",
    "foot_drop",
    "night_pain",
    "unexplained_weight_loss",
    "fever",
    "intravenous_drug_use",
    "significant_trauma",
)


def reports_red_flag(answers: IntakeAnswers) -> bool:
    """True if any warning-sign question is answered yes."""
    return any(getattr(answers, question) for question in RED_FLAG_QUESTIONS)


# An intake's blood pressure must have been measured within this many days before the
# intake date (our choice): screening decides on it, so an old reading can't clear anyone.
BP_MAX_AGE_DAYS = 30


def bp_measured_recently(measured_on: date, *, today: date) -> bool:
    """Measured on the intake day or at most `BP_MAX_AGE_DAYS` days before it."""
    return measured_on >= today - timedelta(days=BP_MAX_AGE_DAYS)


def bp_too_old_message(measured_on: date) -> str:
    return (
        f"The blood pressure was measured on {measured_on.day} {measured_on:%b %Y}, more than "
        f"{BP_MAX_AGE_DAYS} days ago: measure it again and enter the new reading."
    )


# Plausible measured ranges: anything outside is a typing error, not a patient.
SYSTOLIC_RANGE = (60, 260)
DIASTOLIC_RANGE = (30, 160)
WEIGHT_RANGE_KG = (25.0, 350.0)
HEIGHT_RANGE_CM = (100.0, 250.0)


def answer_errors(answers: IntakeAnswers, *, today: date) -> dict[str, str]:
    """Cross-field checks shared by the API serializer and the forms.

    Returns field name -> message; empty when the answers make sense together.
    """
    errors: dict[str, str] = {}
    low, high = SYSTOLIC_RANGE
    if not low <= answers.systolic_bp <= high:
        errors["systolic_bp"] = f"Systolic pressure must be between {low} and {high} mmHg."
    low, high = DIASTOLIC_RANGE
    if not low <= answers.diastolic_bp <= high:
        errors["diastolic_bp"] = f"Diastolic pressure must be between {low} and {high} mmHg."
    if "diastolic_bp" not in errors and answers.diastolic_bp >= answers.systolic_bp:
        errors["diastolic_bp"] = "Diastolic pressure must be lower than systolic pressure."
    low, high = WEIGHT_RANGE_KG
    if not low <= answers.weight_kg <= high:
        errors["weight_kg"] = f"Weight must be between {low:g} and {high:g} kg."
    low, high = HEIGHT_RANGE_CM
    if not low <= answers.height_cm <= high:
        errors["height_cm"] = f"Height must be between {low:g} and {high:g} cm."
    for flag, date_field in DATED_QUESTIONS:
        when = getattr(answers, date_field)
        if getattr(answers, flag) and when is None:
            errors[date_field] = "Give the date (an estimate is fine) when the answer is yes."
        elif when is not None and when > today:
            errors[date_field] = "This date is in the future."
    unknown_conditions = sorted(set(answers.conditions) - set(Condition.LABELS))
    if unknown_conditions:
        errors["conditions"] = f"Unknown condition code(s): {', '.join(unknown_conditions)}."
    unknown_medications = sorted(set(answers.medications) - set(Medication.LABELS))
    if unknown_medications:
        errors["medications"] = f"Unknown medication code(s): {', '.join(unknown_medications)}."
    return errors
