"""What a patient may be given, from their current screening (CLINICAL.md section 1).

The single answer every path asks before a programme or an inversion step is
made current: admin, API, progression, import.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from patients.domain.screening.outcome import Outcome

# Aliases of the one enumeration, which the gate's callers compare outcomes with.
CLEARED = Outcome.CLEARED
REVIEW_REQUIRED = Outcome.REVIEW_REQUIRED
CONTRAINDICATED = Outcome.CONTRAINDICATED
URGENT_REFERRAL = Outcome.URGENT_REFERRAL


@dataclass(frozen=True)
class ScreeningStatus:
    """The facts about a patient's current screening that decide what is allowed."""

    outcome: str | None  # None: never screened
    valid_until: date | None
    override_until: date | None = None  # a clinician's inversion override, if any
    referral_cleared: bool = False  # urgent referral done, serious pathology excluded


@dataclass(frozen=True)
class Permission:
    programme: bool
    inversion: bool
    reason: str


def treatment_permission(status: ScreeningStatus, *, today: date) -> Permission:
    """Decide whether the patient may have a programme, and inversion within it."""
    if status.outcome is None:
        return Permission(False, False, "The patient has not been screened yet.")
    if status.valid_until is None or today > status.valid_until:
        return Permission(
            False, False, "The screening has expired: a new intake is needed before treatment."
        )
    if status.outcome == URGENT_REFERRAL:
        if status.referral_cleared:
            return Permission(
                True,
                False,
                "Urgent referral recorded and serious pathology excluded: exercise only "
                "until a new intake clears inversion.",
            )
        return Permission(
            False,
            False,
            "Red flag: record the urgent referral and its result before anything else.",
        )
    if status.outcome == CONTRAINDICATED:
        return Permission(True, False, "Inversion is contraindicated: exercise-only programmes.")
    if status.outcome == REVIEW_REQUIRED:
        if status.override_until is not None and today <= status.override_until:
            return Permission(True, True, "Inversion approved by a clinician's override.")
        return Permission(
            True, False, "Inversion needs a clinician's documented override (review required)."
        )
    if status.outcome == CLEARED:
        return Permission(True, True, "Cleared for inversion and exercise.")
    return Permission(False, False, f"Unknown screening outcome {status.outcome!r}.")
