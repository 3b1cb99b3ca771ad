"""The rule vocabulary: the clinic's table limits, conditions on the answers (each
giving the evidence it found), rules and rule sets, and the findings of a screening.

Rules are data built from this small vocabulary, so a clinic can tune a copy of
`DEFAULT_RULE_SET` under a new version without touching the engine. Pure.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Protocol

from patients.domain.answers import DATED_QUESTIONS, Condition, IntakeAnswers, Medication
from patients.domain.screening.outcome import Outcome

# Patient messages may name the patient's emergency services: these placeholders are
# filled in at screening with the patient's number (`screen_intake(emergency_number=...)`).
EMERGENCY_NUMBER = "{emergency_number}"
EMERGENCY_DEPARTMENT = "{emergency_department}"


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
