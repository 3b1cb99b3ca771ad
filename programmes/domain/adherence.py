"""Adherence bands and thresholds (CLINICAL.md section 6).

Pure helpers: the counting (sessions per day, data days) is done by PostgreSQL in the
programme querysets; this module says what the numbers mean.
"""

from __future__ import annotations

# A partial session counts one half (our choice).
PARTIAL_SESSION_CREDIT = 0.5
ADHERENT_THRESHOLD = 0.8
PARTIAL_THRESHOLD = 0.5
# Alert when 7-day adherence falls below this.
LOW_ADHERENCE_ALERT = 0.5
LOW_ADHERENCE_WINDOW_DAYS = 7
# "No check-in for 2 days" while a plan is active, measured from the last check-in.
NO_CHECKIN_ALERT_HOURS = 49
STALLED_DAYS = 14
DROPPED_DAYS = 21
# Days with a check-in in a 30-day window; 16 is the RTM billing threshold (CPT 98975/98977).
DATA_DAYS_THRESHOLD = 16
DATA_DAYS_WINDOW_DAYS = 30


class AdherenceBand:
    ADHERENT = "adherent"
    PARTIAL = "partial"
    LOW = "low"
    NO_DATA = "no_data"

    LABELS: dict[str, str] = {
        ADHERENT: "Adherent (80% or more)",
        PARTIAL: "Partial (50-79%)",
        LOW: "Low (below 50%)",
        NO_DATA: "No sessions prescribed",
    }


def adherence_ratio(completed: float, prescribed: float) -> float | None:
    """Sessions completed / sessions prescribed, or `None` when nothing was prescribed.

    Not capped at 1: more sessions than prescribed is worth showing the clinician.
    """
    if completed < 0 or prescribed < 0:
        raise ValueError("Session counts cannot be negative.")
    if prescribed == 0:
        return None
    return completed / prescribed


def band_for(adherence: float | None) -> str:
    """The `AdherenceBand` for a ratio; boundaries belong to the higher band (0.8 adherent)."""
    if adherence is None:
        return AdherenceBand.NO_DATA
    if adherence >= ADHERENT_THRESHOLD:
        return AdherenceBand.ADHERENT
    if adherence >= PARTIAL_THRESHOLD:
        return AdherenceBand.PARTIAL
    return AdherenceBand.LOW
