"""Intake screening: answers and a versioned rule set give one outcome and its findings.

CLINICAL.md sections 1 and 2. Pure: no Django, no I/O, `today` is always passed in.
Rules are data built from a small condition vocabulary, so a clinic can tune a copy of
`DEFAULT_RULE_SET` under a new version without touching the engine.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from patients.domain.answers import (
    DATED_QUESTIONS,
    Condition,
    IntakeAnswers,
    Medication,
    reports_red_flag,
)
from patients.domain.emergency import DEFAULT_EMERGENCY_NUMBER, emergency_department

INTAKE_VALID_DAYS = 90


class Outcome(StrEnum):
    """Screening tiers, declared from least to most severe."""

    CLEARED = "cleared"
    REVIEW_REQUIRED = "review_required"
    CONTRAINDICATED = "contraindicated"
    URGENT_REFERRAL = "urgent_referral"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {outcome: rank for rank, outcome in enumerate(Outcome)}


@dataclass(frozen=True)
class TableLimits:
    """The clinic's inversion-table rating; at the limit is allowed, above it is not."""

    max_weight_kg: float = 136.0
    max_height_cm: float = 198.0
    version: int | None = None  # the clinic's table-limits version, named in the evidence


DEFAULT_TABLE_LIMITS = TableLimits()


# --- How answers read as evidence -------------------------------------------------------

FLAG_LABELS: dict[str, str] = {
    "bladder_bowel_change": "New or worsening bladder or bowel disturbance",
    "saddle_numbness": "Saddle (perineal) numbness",
    "both_legs_symptoms": "Symptoms in both legs",
    "new_sexual_dysfunction": "New sexual dysfunction",
    "progressive_leg_weakness": "Worsening leg weakness",
    "foot_drop": "Foot drop",
    "night_pain": "Night pain",
    "unexplained_weight_loss": "Unexplained weight loss",
    "no_improvement_after_month_of_care": "No improvement after a month of care",
    "fever": "Fever",
    "intravenous_drug_use": "Intravenous drug use",
    "significant_trauma": "Significant trauma",
    "new_back_pain": "New back pain",
    "pregnant": "Pregnant",
    "eye_surgery": "Eye surgery",
    "heart_attack": "Heart attack",
    "fracture": "Fracture",
    "surgery": "Surgery",
}

_MEASURES: dict[str, Callable[[IntakeAnswers], float]] = {
    "systolic_bp": lambda a: a.systolic_bp,
    "diastolic_bp": lambda a: a.diastolic_bp,
    "weight_kg": lambda a: a.weight_kg,
    "height_cm": lambda a: a.height_cm,
    # Decide on the BMI the clinician sees (1 decimal), so evidence and outcome agree.
    "bmi": lambda a: round(a.bmi, 1),
    "age_years": lambda a: a.age_years,
}

_DESCRIBE: dict[str, Callable[[IntakeAnswers], str]] = {
    "systolic_bp": lambda a: f"Blood pressure {a.systolic_bp}/{a.diastolic_bp} mmHg",
    "diastolic_bp": lambda a: f"Blood pressure {a.systolic_bp}/{a.diastolic_bp} mmHg",
    "weight_kg": lambda a: f"Weight {a.weight_kg:g} kg",
    "height_cm": lambda a: f"Height {a.height_cm:g} cm",
    "bmi": lambda a: f"BMI {round(a.bmi, 1):.1f} ({a.weight_kg:g} kg, {a.height_cm:g} cm)",
    "age_years": lambda a: f"Age {a.age_years}",
}

_LIMIT_UNITS = {"weight_kg": "kg", "height_cm": "cm"}
_LIMIT_NAMES = {f.name for f in fields(TableLimits)}


def _day(when: date) -> str:
    return f"{when.day} {when:%b %Y}"


def _join(evidence: Iterable[str]) -> str:
    # Two parts of one rule can name the same measurement (both BP numbers): say it once.
    return "; ".join(dict.fromkeys(part for part in evidence if part))


def calendar_months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier, clamped to the month's end."""
    index = day.year * 12 + day.month - 1 - months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- Condition vocabulary ----------------------------------------------------------------


class RuleCondition(Protocol):
    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        """Evidence when the condition holds ('' if there is nothing to show), else None."""


def _check(ok: bool, message: str) -> None:
    # Rule sets are tuned by clinic administrators: a typo must fail at load, not screen wrong.
    if not ok:
        raise ValueError(message)


@dataclass(frozen=True)
class Flag:
    """A yes/no question answered yes."""

    question: str

    def __post_init__(self) -> None:
        _check(self.question in FLAG_LABELS, f"Unknown yes/no question {self.question!r}")

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        return FLAG_LABELS[self.question] if getattr(answers, self.question) else None


@dataclass(frozen=True, init=False)
class HasCondition:
    """Any of these conditions is listed."""

    codes: tuple[str, ...]

    def __init__(self, *codes: str) -> None:
        unknown = set(codes) - Condition.LABELS.keys()
        _check(bool(codes) and not unknown, f"Unknown condition codes {sorted(unknown)}")
        object.__setattr__(self, "codes", codes)

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        found = [Condition.LABELS[code] for code in self.codes if code in answers.conditions]
        return _join(found) if found else None


@dataclass(frozen=True, init=False)
class HasMedication:
    """Any of these medications is listed."""

    codes: tuple[str, ...]

    def __init__(self, *codes: str) -> None:
        unknown = set(codes) - Medication.LABELS.keys()
        _check(bool(codes) and not unknown, f"Unknown medication codes {sorted(unknown)}")
        object.__setattr__(self, "codes", codes)

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        found = [Medication.LABELS[code] for code in self.codes if code in answers.medications]
        return _join(found) if found else None


def _dated(answers: IntakeAnswers, question: str, date_field: str, earliest: date) -> str | None:
    if not getattr(answers, question):
        return None
    when: date | None = getattr(answers, date_field)
    if when is None:
        # A yes without a date may be recent: take the safe side and let the clinician see it.
        return f"{FLAG_LABELS[question]}, date not given"
    if when < earliest:
        return None
    return f"{FLAG_LABELS[question]} on {_day(when)}"


def _check_dated(question: str, date_field: str) -> None:
    pair = (question, date_field)
    _check(pair in DATED_QUESTIONS, f"{question!r} has no date field {date_field!r}")


@dataclass(frozen=True)
class WithinDays:
    """A dated yes on or after `days` days before today."""

    question: str
    date_field: str
    days: int

    def __post_init__(self) -> None:
        _check_dated(self.question, self.date_field)

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        earliest = today - timedelta(days=self.days)
        return _dated(answers, self.question, self.date_field, earliest)


@dataclass(frozen=True)
class WithinMonths:
    """A dated yes on or after the same day `months` calendar months ago."""

    question: str
    date_field: str
    months: int

    def __post_init__(self) -> None:
        _check_dated(self.question, self.date_field)

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        earliest = calendar_months_before(today, self.months)
        return _dated(answers, self.question, self.date_field, earliest)


@dataclass(frozen=True)
class AtLeast:
    """A measurement at or above a threshold."""

    measure: str
    threshold: float

    def __post_init__(self) -> None:
        _check(self.measure in _MEASURES, f"Unknown measurement {self.measure!r}")

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        if _MEASURES[self.measure](answers) >= self.threshold:
            return _DESCRIBE[self.measure](answers)
        return None


@dataclass(frozen=True)
class Between:
    """A measurement from `low` to `high`, both included (whole-number measurements)."""

    measure: str
    low: float
    high: float

    def __post_init__(self) -> None:
        _check(self.measure in _MEASURES, f"Unknown measurement {self.measure!r}")

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        if self.low <= _MEASURES[self.measure](answers) <= self.high:
            return _DESCRIBE[self.measure](answers)
        return None


@dataclass(frozen=True)
class AboveLimit:
    """A measurement strictly above one of the clinic's table limits."""

    measure: str
    limit: str

    def __post_init__(self) -> None:
        _check(self.measure in _LIMIT_UNITS, f"No table limit applies to {self.measure!r}")
        _check(self.limit in _LIMIT_NAMES, f"Unknown table limit {self.limit!r}")

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        cap = getattr(limits, self.limit)
        if _MEASURES[self.measure](answers) > cap:
            unit = _LIMIT_UNITS[self.measure]
            version = f" (table limits v{limits.version})" if limits.version else ""
            return (
                f"{_DESCRIBE[self.measure](answers)}, above the table limit of {cap:g} {unit}"
                f"{version}"
            )
        return None


@dataclass(frozen=True)
class AgeOver:
    """Age strictly over `years`."""

    years: int

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        return _DESCRIBE["age_years"](answers) if answers.age_years > self.years else None


@dataclass(frozen=True)
class Not:
    """Holds when the inner condition does not; shows no evidence of its own."""

    condition: RuleCondition

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        return "" if self.condition.evaluate(answers, limits, today) is None else None


@dataclass(frozen=True, init=False)
class AllOf:
    """Every condition holds; the evidence is all of theirs."""

    conditions: tuple[RuleCondition, ...]

    def __init__(self, *conditions: RuleCondition) -> None:
        _check(bool(conditions), "AllOf needs at least one condition")
        object.__setattr__(self, "conditions", conditions)

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        found = []
        for condition in self.conditions:
            evidence = condition.evaluate(answers, limits, today)
            if evidence is None:
                return None
            found.append(evidence)
        return _join(found)


@dataclass(frozen=True, init=False)
class AnyOf:
    """At least one condition holds; the evidence is every one that does."""

    conditions: tuple[RuleCondition, ...]

    def __init__(self, *conditions: RuleCondition) -> None:
        _check(bool(conditions), "AnyOf needs at least one condition")
        object.__setattr__(self, "conditions", conditions)

    def evaluate(self, answers: IntakeAnswers, limits: TableLimits, today: date) -> str | None:
        found = [
            evidence
            for condition in self.conditions
            if (evidence := condition.evaluate(answers, limits, today)) is not None
        ]
        return _join(found) if found else None


# --- Rules, rule sets and results ----------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    code: str
    tier: Outcome
    condition: RuleCondition
    clinician_message: str
    patient_message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "tier", Outcome(self.tier))
        _check(self.tier is not Outcome.CLEARED, f"Rule {self.code!r} cannot have tier cleared")


@dataclass(frozen=True)
class RuleSet:
    version: str
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        codes = self.codes()
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        _check(not repeated, f"Rule set {self.version!r} repeats rule codes {repeated}")

    def codes(self) -> tuple[str, ...]:
        return tuple(rule.code for rule in self.rules)


@dataclass(frozen=True)
class Finding:
    code: str
    tier: Outcome
    evidence: str
    clinician_message: str
    patient_message: str


@dataclass(frozen=True)
class Screening:
    outcome: Outcome
    findings: tuple[Finding, ...]  # most severe first; rule-set order within a tier
    rule_set_version: str


# --- The shipped defaults (CLINICAL.md section 2, exactly as written) ----------------------

_URGENT = Outcome.URGENT_REFERRAL
_UNSAFE = Outcome.CONTRAINDICATED
_REVIEW = Outcome.REVIEW_REQUIRED

# Patient messages may name the patient's emergency services: these placeholders are
# filled in at screening with the patient's number (`screen_intake(emergency_number=...)`).
EMERGENCY_NUMBER = "{emergency_number}"
EMERGENCY_DEPARTMENT = "{emergency_department}"

_SEE_DOCTOR_TODAY = "Please contact your doctor or an urgent care service today."
_GO_TO_EMERGENCY = (
    "With back pain this needs to be checked by a doctor straight away. "
    f"Please go to {EMERGENCY_DEPARTMENT} today, or call emergency services on "
    f"{EMERGENCY_NUMBER} if you can't get there."
)
_NOT_THE_TABLE = (
    "You will not use the inversion table, but your clinician can still plan exercises with you."
)
_CLINICIAN_CHECKS = (
    "Your clinician will check it is safe for you before you use the inversion table."
)

DEFAULT_RULE_SET = RuleSet(
    version="2026.1",
    rules=(
        # Red flags: urgent referral, no programme at all.
        Rule(
            "red_flag_cauda_equina_bladder_bowel",
            _URGENT,
            WithinDays("bladder_bowel_change", "bladder_bowel_change_date", days=14),
            "New or worsening bladder or bowel disturbance in the last 14 days: "
            "possible cauda equina syndrome. Refer the same day.",
            f"You told us about a change in your bladder or bowel control. {_GO_TO_EMERGENCY}",
        ),
        Rule(
            "red_flag_cauda_equina_saddle_numbness",
            _URGENT,
            Flag("saddle_numbness"),
            "Saddle (perineal) numbness: possible cauda equina syndrome. Refer the same day.",
            "You told us about numbness between your legs or around your bottom. "
            f"{_GO_TO_EMERGENCY}",
        ),
        Rule(
            "red_flag_both_legs_or_sexual_dysfunction",
            _URGENT,
            AnyOf(Flag("both_legs_symptoms"), Flag("new_sexual_dysfunction")),
            "Symptoms in both legs or new sexual dysfunction with back pain: "
            "possible cauda equina syndrome. Refer urgently.",
            "Together with back pain, the symptoms you told us about need to be checked by a "
            f"doctor soon. {_SEE_DOCTOR_TODAY}",
        ),
        Rule(
            "red_flag_progressive_neuro_deficit",
            _URGENT,
            AnyOf(Flag("progressive_leg_weakness"), Flag("foot_drop")),
            "Progressive neurological deficit (worsening leg weakness or foot drop). "
            "Refer urgently.",
            "Weakness in your leg or foot that is getting worse needs to be checked by a doctor "
            f"soon. {_SEE_DOCTOR_TODAY}",
        ),
        Rule(
            "red_flag_malignancy_cancer_history",
            _URGENT,
            AllOf(
                HasCondition(Condition.CANCER_HISTORY),
                AnyOf(Flag("night_pain"), Flag("unexplained_weight_loss")),
            ),
            "History of cancer with night pain or unexplained weight loss: "
            "suspected spinal malignancy. Refer urgently for investigation.",
            "Because of your medical history and the symptoms you told us about, a doctor needs "
            "to check your back before we go further. Please contact your doctor as soon as you "
            "can; your clinician will help.",
        ),
        Rule(
            "red_flag_malignancy_age_no_improvement",
            _URGENT,
            AllOf(AgeOver(50), Flag("no_improvement_after_month_of_care")),
            "Over 50 with no improvement after a month of care: suspected serious pathology. "
            "Refer for investigation.",
            "As your back has not improved after a month of care, a doctor needs to check it "
            "before we go further. Please contact your doctor as soon as you can; your clinician "
            "will help.",
        ),
        Rule(
            "red_flag_infection",
            _URGENT,
            # Every intake is for back pain, so fever alone meets "fever with back pain".
            AnyOf(
                Flag("fever"),
                Flag("intravenous_drug_use"),
                HasCondition(Condition.IMMUNOSUPPRESSION),
                HasMedication(Medication.IMMUNOSUPPRESSANT),
            ),
            "Suspected spinal infection (fever, intravenous drug use or immunosuppression, "
            "with back pain). Refer urgently.",
            "With back pain, some of your answers mean a doctor needs to rule out an infection. "
            f"{_SEE_DOCTOR_TODAY}",
        ),
        Rule(
            "red_flag_fracture",
            _URGENT,
            AnyOf(
                Flag("significant_trauma"),
                AllOf(HasMedication(Medication.LONG_TERM_STEROID), Flag("new_back_pain")),
            ),
            "Suspected vertebral fracture (significant trauma, or long-term steroids with new "
            "pain). Refer for assessment and imaging.",
            "A doctor needs to check your back for an injury to the bones before we go further. "
            f"{_SEE_DOCTOR_TODAY}",
        ),
        # Contraindications: exercise-only, no inversion by any path.
        Rule(
            "ci_glaucoma_eye_disease",
            _UNSAFE,
            HasCondition(
                Condition.GLAUCOMA,
                Condition.OCULAR_HYPERTENSION,
                Condition.RETINAL_DETACHMENT,
                Condition.RETINAL_VASCULAR_DISEASE,
                Condition.MACULAR_DEGENERATION,
            ),
            "Glaucoma, ocular hypertension or retinal/macular disease: intraocular pressure "
            "roughly doubles when inverted (Friberg & Weinreb 1985). No inversion.",
            "Hanging upside down raises the pressure inside your eyes, which is not safe with "
            f"the eye condition you told us about. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_eye_surgery",
            _UNSAFE,
            WithinMonths("eye_surgery", "eye_surgery_date", months=6),
            "Eye surgery in the last 6 months: inversion raises intraocular pressure. "
            "No inversion.",
            "Your eyes are still healing from surgery, and hanging upside down raises the "
            f"pressure inside them. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_heart_disease",
            _UNSAFE,
            HasCondition(
                Condition.HEART_FAILURE,
                Condition.UNCONTROLLED_ARRHYTHMIA,
                Condition.HEART_DISEASE_UNDER_TREATMENT,
            ),
            "Heart failure, uncontrolled arrhythmia, or heart or circulatory disease under "
            "treatment. No inversion.",
            "Hanging upside down puts extra strain on your heart and circulation, so it is not "
            f"safe for you. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_heart_attack",
            _UNSAFE,
            WithinMonths("heart_attack", "heart_attack_date", months=12),
            "Heart attack in the last 12 months. No inversion.",
            "After a recent heart attack, hanging upside down puts too much strain on your "
            f"heart. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_stroke_aneurysm",
            _UNSAFE,
            HasCondition(Condition.STROKE_OR_TIA, Condition.CEREBRAL_ANEURYSM),
            "Stroke or TIA ever, or known cerebral aneurysm. No inversion.",
            "Hanging upside down raises the pressure in the blood vessels of your head, which is "
            f"not safe with your history. {_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_pregnancy",
            _UNSAFE,
            Flag("pregnant"),
            "Pregnancy. No inversion.",
            "The inversion table is not safe during pregnancy. Your clinician can still plan "
            "exercises that suit you.",
        ),
        Rule(
            "ci_blood_pressure",
            _UNSAFE,
            AnyOf(AtLeast("systolic_bp", 160), AtLeast("diastolic_bp", 100)),
            "Blood pressure at intake at or above 160 systolic or 100 diastolic. No inversion.",
            "Your blood pressure was high when it was measured, and hanging upside down raises "
            "it further. Please talk to your doctor about your blood pressure. "
            f"{_NOT_THE_TABLE}",
        ),
        Rule(
            "ci_spinal_pathology",
            _UNSAFE,
            HasCondition(
                Condition.SPINAL_FRACTURE,
                Condition.SPINAL_INSTABILITY,
                Condition.SPINAL_TUMOUR,
                Condition.SPINAL_INFECTION,
            ),
            "Spinal fracture, instability, tumour or infection. No inversion.",
            "With the spine condition you told us about, stretching your spine on the inversion "
            "table is not safe. Your clinician will talk with you about what is safe for you.",
        ),
        Rule(
            "ci_table_limits",
            _UNSAFE,
            AnyOf(
                AboveLimit("weight_kg", "max_weight_kg"),
                AboveLimit("height_cm", "max_height_cm"),
            ),
            "Weight or height above the clinic's table limits. No inversion.",
            "The inversion table is only rated to hold people up to a certain weight and height, "
            f"so it would not be safe for you. {_NOT_THE_TABLE}",
        ),
        # Relative contraindications: inversion only with a clinician's recorded override.
        Rule(
            "rc_blood_pressure",
            _REVIEW,
            AnyOf(Between("systolic_bp", 140, 159), Between("diastolic_bp", 90, 99)),
            "Blood pressure at intake 140-159 systolic or 90-99 diastolic.",
            f"Your blood pressure was a little high when it was measured. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_hypertension_on_medication",
            _REVIEW,
            AnyOf(
                HasCondition(Condition.HYPERTENSION_ON_MEDICATION),
                HasMedication(Medication.ANTIHYPERTENSIVE),
            ),
            "Hypertension controlled by medication.",
            f"You take medicine for your blood pressure. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_osteoporosis_osteopenia",
            _REVIEW,
            HasCondition(Condition.OSTEOPOROSIS, Condition.OSTEOPENIA),
            "Osteoporosis or osteopenia.",
            f"Your bones may be thinner than usual. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_recent_fracture",
            _REVIEW,
            WithinMonths("fracture", "fracture_date", months=12),
            "Fracture in the last 12 months.",
            f"You broke a bone in the last year. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_anticoagulant_aspirin",
            _REVIEW,
            HasMedication(Medication.ANTICOAGULANT, Medication.DAILY_ASPIRIN),
            "Anticoagulant or daily aspirin.",
            f"You take medicine that thins your blood. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_hernia",
            _REVIEW,
            HasCondition(Condition.HIATAL_HERNIA, Condition.VENTRAL_HERNIA),
            "Hiatal or ventral hernia.",
            f"You have a hernia. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_ear_eye_infection",
            _REVIEW,
            HasCondition(Condition.MIDDLE_EAR_INFECTION, Condition.CONJUNCTIVITIS),
            "Middle-ear infection or conjunctivitis: temporary, re-screen when resolved.",
            f"You have an ear or eye infection. {_CLINICIAN_CHECKS} "
            "Please let us know when it has cleared, so we can update your answers.",
        ),
        Rule(
            "rc_skeletal_implant",
            _REVIEW,
            HasCondition(Condition.SKELETAL_IMPLANT),
            "Skeletal implant (spine, hip, knee or ankle).",
            f"You have an implant in your spine or a joint. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_recent_surgery",
            _REVIEW,
            WithinMonths("surgery", "surgery_date", months=6),
            "Surgery of any kind in the last 6 months.",
            f"You had an operation in the last 6 months. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_weight_bearing_joint",
            _REVIEW,
            HasCondition(Condition.WEIGHT_BEARING_JOINT_PROBLEM),
            "Ankle, knee or hip problem: these joints bear the body's weight in the ankle holds.",
            "The inversion table holds you by your ankles, so your clinician will check your "
            "ankles, knees and hips before you use it.",
        ),
        Rule(
            "rc_diabetes",
            _REVIEW,
            HasCondition(Condition.DIABETES),
            "Diabetes: retinal risk with raised intraocular pressure when inverted.",
            f"Diabetes can affect the eyes. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_dizziness_vertigo_fainting",
            _REVIEW,
            HasCondition(Condition.DIZZINESS_VERTIGO_FAINTING),
            "History of dizziness, vertigo or fainting.",
            f"You have had dizziness or fainting. {_CLINICIAN_CHECKS}",
        ),
        Rule(
            "rc_bmi",
            _REVIEW,
            # Above the table's limits is already contraindicated; don't report it twice.
            AllOf(
                AtLeast("bmi", 35.0),
                Not(AboveLimit("weight_kg", "max_weight_kg")),
                Not(AboveLimit("height_cm", "max_height_cm")),
            ),
            "Body-mass index 35 or more, within the table's limits.",
            "Your clinician will check that the inversion table is comfortable and safe for you "
            "before you use it.",
        ),
    ),
)


# --- Screening and what an outcome allows --------------------------------------------------


def for_patient(message: str, emergency_number: str = DEFAULT_EMERGENCY_NUMBER) -> str:
    """A patient message with the patient's emergency services named in it."""
    return message.replace(EMERGENCY_DEPARTMENT, emergency_department(emergency_number)).replace(
        EMERGENCY_NUMBER, emergency_number
    )


def screen_intake(
    answers: IntakeAnswers,
    *,
    rules: RuleSet = DEFAULT_RULE_SET,
    limits: TableLimits = DEFAULT_TABLE_LIMITS,
    today: date,
    emergency_number: str = DEFAULT_EMERGENCY_NUMBER,
) -> Screening:
    """Run every rule; the outcome is the most severe tier found, `cleared` if none.

    Patient messages name `emergency_number`, the patient's own emergency services.
    """
    findings = [
        Finding(
            rule.code,
            rule.tier,
            evidence,
            rule.clinician_message,
            for_patient(rule.patient_message, emergency_number),
        )
        for rule in rules.rules
        if (evidence := rule.condition.evaluate(answers, limits, today)) is not None
    ]
    findings.sort(key=lambda finding: finding.tier.severity, reverse=True)  # stable
    outcome = findings[0].tier if findings else Outcome.CLEARED
    return Screening(outcome, tuple(findings), rules.version)


def outcome_is_worse(new: Outcome | str, old: Outcome | str) -> bool:
    return Outcome(new).severity > Outcome(old).severity


def questionnaire_required(answers: IntakeAnswers, *, today: date) -> bool:
    """Must the intake carry an answered Oswestry section? Not with a red flag.

    A patient who reports a warning sign, or whose answers screen urgent referral, is
    screened at once whatever the questionnaire says: it is an outcome measure, not a
    safety question, and must never hold a red flag back.
    """
    if reports_red_flag(answers):
        return False
    return screen_intake(answers, today=today).outcome is not Outcome.URGENT_REFERRAL


class Decision(StrEnum):
    """What becomes of a new screening next to the patient's current one."""

    CURRENT = "current"  # it becomes the current screening at once
    AWAITS_CONFIRMATION = "awaits_confirmation"  # stored; a clinician must confirm it


def patient_screening_decision(
    *,
    new: Outcome | str,
    current: Outcome | str | None,
    current_valid_until: date | None,
    today: date,
    dropped_findings: frozenset[str] = frozenset(),
) -> Decision:
    """Patients escalate, clinicians clear: where a patient's own answers may take effect.

    A patient's answers (portal, or the API as the patient) may make things stricter at
    once, never looser. Unscreened: nothing to lower, the screening is current. A more
    severe outcome is current at once. A less severe one waits for a clinician. So does
    one no more severe than an expired current screening: renewing a lapsed screening is a
    clinician's decision (CLINICAL.md s.1: an expired outcome pauses until they review it).
    An equal outcome is current at once (a stricter record: findings added, and a
    review_required override does not carry over), valid no longer than the current one,
    unless it drops a finding the current screening holds (`dropped_findings`, their
    codes): that lowers the record, and waits.
    """
    if current is None:
        return Decision.CURRENT
    if outcome_is_worse(new, current):
        return Decision.CURRENT
    if outcome_is_worse(current, new):
        return Decision.AWAITS_CONFIRMATION
    if current_valid_until is None or today > current_valid_until:
        return Decision.AWAITS_CONFIRMATION
    if dropped_findings:
        return Decision.AWAITS_CONFIRMATION
    return Decision.CURRENT


def outcome_allows_inversion(outcome: Outcome | str, *, has_override: bool) -> bool:
    """Cleared: yes. Review required: only with a clinician's override. Otherwise never."""
    outcome = Outcome(outcome)
    if outcome is Outcome.REVIEW_REQUIRED:
        return has_override
    return outcome is Outcome.CLEARED


def outcome_allows_programme(outcome: Outcome | str) -> bool:
    """Anything but an urgent referral allows at least an exercise programme."""
    return Outcome(outcome) is not Outcome.URGENT_REFERRAL


def intake_expires_on(intake_date: date) -> date:
    """The first day the intake is no longer valid: 90 days, the intake day being day 1."""
    return intake_date + timedelta(days=INTAKE_VALID_DAYS)


def intake_valid_until(intake_date: date) -> date:
    """The last day the intake is valid, for checks written as `today <= valid_until`."""
    return intake_expires_on(intake_date) - timedelta(days=1)


def intake_is_current(intake_date: date, *, today: date) -> bool:
    return today < intake_expires_on(intake_date)
