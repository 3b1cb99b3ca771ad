"""Outcome measures: pain NRS, Oswestry (ODI 2.1a) and Roland-Morris (CLINICAL.md section 5).

Scoring and structure only; the ODI's licensed item text is loaded by the clinic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ODI_SECTIONS = 10
ODI_SECTION_MAX = 5
RMDQ_ITEMS = 24

ODI_MEANINGFUL_CHANGE = 10.0  # percentage points (Ostelo 2008)
RMDQ_MEANINGFUL_CHANGE = 5
PAIN_MEANINGFUL_POINTS = 2
PAIN_MEANINGFUL_PERCENT = 30

# Upper bound of each band, inclusive. With 10 sections no score falls between one band's
# top and the next band's bottom (20 and 21, say), so "at most the top" is exact.
ODI_BANDS: tuple[tuple[float, str], ...] = (
    (20, "minimal"),
    (40, "moderate"),
    (60, "severe"),
    (80, "crippling"),
    (100, "bed_bound"),
)


@dataclass(frozen=True)
class OdiScore:
    total: int  # sum of the answered sections
    answered: int  # sections answered, 1-10
    percent: float  # 0-100, one decimal
    band: str


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def score_odi(sections: Sequence[int | None]) -> OdiScore:
    """Score % = sum / (5 x sections answered) x 100; an unanswered section is None."""
    if len(sections) != ODI_SECTIONS:
        raise ValueError(f"ODI has {ODI_SECTIONS} sections, got {len(sections)}")
    answered = [score for score in sections if score is not None]
    for score in answered:
        if not _is_int(score) or not 0 <= score <= ODI_SECTION_MAX:
            raise ValueError(f"ODI section score must be 0-{ODI_SECTION_MAX}, got {score!r}")
    if not answered:
        raise ValueError("ODI cannot be scored with no section answered")
    total = sum(answered)
    percent = round(100 * total / (ODI_SECTION_MAX * len(answered)), 1)
    band = next(name for upper, name in ODI_BANDS if percent <= upper)
    return OdiScore(total=total, answered=len(answered), percent=percent, band=band)


def score_rmdq(items: Sequence[bool]) -> int:
    """Roland-Morris score: the number of the 24 statements answered yes."""
    if len(items) != RMDQ_ITEMS:
        raise ValueError(f"RMDQ has {RMDQ_ITEMS} items, got {len(items)}")
    if not all(isinstance(item, bool) for item in items):
        raise ValueError("RMDQ items are yes/no (True/False)")
    return sum(items)


def _check_pain(score: int) -> None:
    if not _is_int(score) or not 0 <= score <= 10:
        raise ValueError(f"Pain is rated 0-10, got {score!r}")


def pain_change_is_meaningful(before: int, after: int) -> bool:
    """A change (either way) of 2 points, or of 30% of the earlier rating."""
    _check_pain(before)
    _check_pain(after)
    change = abs(after - before)
    # Integer arithmetic, so 3 of 10 is exactly 30%. From 0 only the points rule can apply.
    return change >= PAIN_MEANINGFUL_POINTS or (
        before > 0 and change * 100 >= before * PAIN_MEANINGFUL_PERCENT
    )


def odi_change_is_meaningful(before_pct: float, after_pct: float) -> bool:
    """A change (either way) of 10 percentage points or more."""
    # Scores carry one decimal: round the difference so 45.6 - 35.6 counts as exactly 10.
    return round(abs(after_pct - before_pct), 1) >= ODI_MEANINGFUL_CHANGE


def rmdq_change_is_meaningful(before: int, after: int) -> bool:
    """A change (either way) of 5 points or more."""
    return abs(after - before) >= RMDQ_MEANINGFUL_CHANGE
