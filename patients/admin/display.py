"""How the admin shows a screening: outcome badges and the findings table."""

from __future__ import annotations

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from patients.models import Outcome, Screening

BADGE_COLOURS = {
    Outcome.CLEARED: ("#1b5e20", "#e8f5e9"),
    Outcome.REVIEW_REQUIRED: ("#7a4f01", "#fff4d6"),
    Outcome.CONTRAINDICATED: ("#8b1a1a", "#fde8e8"),
    Outcome.URGENT_REFERRAL: ("#ffffff", "#b3261e"),
}


def outcome_badge(screening: Screening | None, *, today=None) -> str:
    today = today or timezone.localdate()
    if screening is None:
        return format_html(
            '<span class="inv-badge" style="{}">Not screened</span>', _style("#444", "#eee")
        )
    label = screening.get_outcome_display()
    if screening.is_expired(today):
        return format_html(
            '<span class="inv-badge" style="{}">{} — expired</span>', _style("#444", "#eee"), label
        )
    fg, bg = BADGE_COLOURS[screening.outcome]
    override = getattr(screening, "override", None)
    suffix = (
        ""
        if override is None
        else " (override revoked)"
        if override.revoked_at is not None
        else " (override)"
    )
    return format_html(
        '<span class="inv-badge" style="{}">{}{}</span>', _style(fg, bg), label, suffix
    )


def _style(fg: str, bg: str) -> str:
    return (
        f"color:{fg};background:{bg};padding:2px 8px;border-radius:10px;font-weight:600;"
        "white-space:nowrap;display:inline-block"
    )


def staff_name(user) -> str:
    return user.get_full_name() or user.username if user is not None else "—"


def findings_table(findings: list[dict]) -> str:
    if not findings:
        return mark_safe("<p>No findings.</p>")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
        (
            (outcome_badge_for_tier(f["tier"]), f["code"], f["evidence"], f["clinician_message"])
            for f in findings
        ),
    )
    return format_html(
        '<table class="inv-findings"><thead><tr><th>Tier</th><th>Rule</th>'
        "<th>Evidence</th><th>For the clinician</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


def outcome_badge_for_tier(tier: str) -> str:
    if tier == Outcome.CLEARED:  # a note that does not change the outcome
        return format_html('<span style="{}">Note</span>', _style("#444", "#eee"))
    fg, bg = BADGE_COLOURS.get(tier, ("#444", "#eee"))
    return format_html('<span style="{}">{}</span>', _style(fg, bg), Outcome(tier).label)
