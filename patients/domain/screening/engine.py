"""Screening an intake: every rule of a rule set against the answers gives one outcome
and its findings; and how long an intake's screening holds. Pure: `today` is passed in.
"""

from __future__ import annotations

from datetime import date, timedelta

from patients.domain.answers import IntakeAnswers, reports_red_flag
from patients.domain.emergency import DEFAULT_EMERGENCY_NUMBER, emergency_department
from patients.domain.screening.default_rules import DEFAULT_RULE_SET
from patients.domain.screening.outcome import Outcome
from patients.domain.screening.rules import (
    DEFAULT_TABLE_LIMITS,
    EMERGENCY_DEPARTMENT,
    EMERGENCY_NUMBER,
    Finding,
    RuleSet,
    Screening,
    TableLimits,
)

INTAKE_VALID_DAYS = 90


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


def questionnaire_required(answers: IntakeAnswers, *, today: date) -> bool:
    """Must the intake carry an answered Oswestry section? Not with a red flag.

    A patient who reports a warning sign, or whose answers screen urgent referral, is
    screened at once whatever the questionnaire says: it is an outcome measure, not a
    safety question, and must never hold a red flag back.
    """
    if reports_red_flag(answers):
        return False
    return screen_intake(answers, today=today).outcome is not Outcome.URGENT_REFERRAL


def intake_expires_on(intake_date: date) -> date:
    """The first day the intake is no longer valid: 90 days, the intake day being day 1."""
    return intake_date + timedelta(days=INTAKE_VALID_DAYS)


def intake_valid_until(intake_date: date) -> date:
    """The last day the intake is valid, for checks written as `today <= valid_until`."""
    return intake_expires_on(intake_date) - timedelta(days=1)


def intake_is_current(intake_date: date, *, today: date) -> bool:
    return today < intake_expires_on(intake_date)
