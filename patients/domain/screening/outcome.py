"""The screening outcome: four tiers, least to most severe, and what each allows.

The one enumeration of them: `patients.models.Outcome` (the model's choices) is built
from this one. Pure: no Django, no I/O.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class Outcome(StrEnum):
    """Screening tiers, declared from least to most severe."""

    CLEARED = "cleared"
    REVIEW_REQUIRED = "review_required"
    CONTRAINDICATED = "contraindicated"
    URGENT_REFERRAL = "urgent_referral"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def label(self) -> str:
        """The outcome as clinicians read it."""
        return _LABELS[self]


_SEVERITY = {outcome: rank for rank, outcome in enumerate(Outcome)}
_LABELS = {
    Outcome.CLEARED: "Cleared",
    Outcome.REVIEW_REQUIRED: "Review required",
    Outcome.CONTRAINDICATED: "Contraindicated",
    Outcome.URGENT_REFERRAL: "Urgent referral",
}


def outcome_is_worse(new: Outcome | str, old: Outcome | str) -> bool:
    return Outcome(new).severity > Outcome(old).severity


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
