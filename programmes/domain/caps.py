"""The caps on inversion (CLINICAL.md section 3) and the plan ceiling rule.

Pure: plain values in, answers out. The ceiling rule has one home, here: a plan's
ceiling above the default 60° needs full inversion allowed on the plan, and no step of it
goes above `effective_ceiling_deg` (its ceiling, and never past 60° without full
inversion nor past 90°). Forms, serializers, services and the engine all ask these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caps:
    """Section 3 limits. A clinic's rule set may tune them; these are the shipped defaults."""

    max_angle_step_deg: int = 10
    max_hold_step_seconds: int = 60
    absolute_max_angle_deg: int = 90
    default_ceiling_deg: int = 60
    max_hold_seconds: int = 600
    max_sessions_per_day: int = 2
    early_weeks_days: int = 14
    early_daily_limit_seconds: int = 300
    start_min_angle_deg: int = 15
    start_max_angle_deg: int = 30
    start_min_hold_seconds: int = 60
    start_max_hold_seconds: int = 120
    # Section 3 starts "once a day"; a first step at twice a day is refused.
    start_sessions_per_day: int = 1
    min_cycle_seconds: int = 20
    max_cycle_seconds: int = 30


DEFAULT_CAPS = Caps()


def ceiling_allowed(
    ceiling_deg: int, *, full_inversion_allowed: bool, caps: Caps = DEFAULT_CAPS
) -> bool:
    """May a plan have this ceiling? Above the default ceiling only with full inversion."""
    return full_inversion_allowed or ceiling_deg <= caps.default_ceiling_deg


def ceiling_refusal(
    ceiling_deg: int, *, full_inversion_allowed: bool, caps: Caps = DEFAULT_CAPS
) -> str:
    """Why a plan can't have this ceiling, as the forms and the API say it ("" when it can)."""
    if ceiling_allowed(ceiling_deg, full_inversion_allowed=full_inversion_allowed, caps=caps):
        return ""
    return f"Above {caps.default_ceiling_deg}° only when full inversion is allowed on this plan."


def effective_ceiling_deg(
    ceiling_deg: int, *, full_inversion_allowed: bool, caps: Caps = DEFAULT_CAPS
) -> int:
    """The highest angle a plan may reach: above the default ceiling only if allowed."""
    if full_inversion_allowed:
        return min(ceiling_deg, caps.absolute_max_angle_deg)
    return min(ceiling_deg, caps.default_ceiling_deg)


def above_ceiling(
    angle_deg: int, *, ceiling_deg: int, full_inversion_allowed: bool, caps: Caps = DEFAULT_CAPS
) -> bool:
    """Is a step at this angle above what the plan's ceiling lets any step reach?"""
    return angle_deg > effective_ceiling_deg(
        ceiling_deg, full_inversion_allowed=full_inversion_allowed, caps=caps
    )
