"""Small server-rendered SVG charts and display filters for the patient portal.

Charts are plain SVG (no script), labelled for screen readers, and each page
repeats their numbers in a table. Lines differ by dash and marker shape as well
as colour, so nothing depends on colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from programmes.adherence import WeekAdherence
from programmes.checkins import PainPoint
from programmes.domain.symptoms import Symptom

register = template.Library()

WIDTH, HEIGHT = 320, 200
LEFT, RIGHT, TOP, BOTTOM = 30, 10, 12, 30


@register.filter
def duration(seconds: int | None) -> str:
    """1 min 30 s."""
    if seconds is None:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


@register.filter
def duration_words(seconds: int | None) -> str:
    """1 minute 30 seconds."""
    if seconds is None:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    parts = []
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if rest or not minutes:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


@register.filter
def clock(seconds: int | None) -> str:
    """1:05."""
    minutes, rest = divmod(int(seconds or 0), 60)
    return f"{minutes}:{rest:02d}"


@register.filter
def symptom_label(code: str) -> str:
    return Symptom.LABELS.get(code, code)


@register.filter
def percent(ratio: float | None) -> str:
    return "–" if ratio is None else f"{round(ratio * 100)}%"


def _day(day: date) -> str:
    return f"{day.day} {day:%b}"


def _x_positions(days: Sequence[date]) -> list[float]:
    inner = WIDTH - LEFT - RIGHT
    if len(days) == 1:
        return [LEFT + inner / 2]
    span = (days[-1] - days[0]).days or 1
    return [LEFT + inner * (day - days[0]).days / span for day in days]


def _n(coordinate: float) -> str:
    """One decimal is enough for SVG; formatted before format_html, which escapes to str."""
    return f"{coordinate:.1f}"


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _y_grid(values: Sequence[int], top: float, suffix: str = "") -> SafeString:
    return format_html_join(
        "",
        '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="axis" x="{}" y="{}" text-anchor="end">{}{}</text>',
        (
            (
                LEFT,
                WIDTH - RIGHT,
                f"{_y(v, top):.1f}",
                f"{_y(v, top):.1f}",
                LEFT - 5,
                f"{_y(v, top) + 4:.1f}",
                v,
                suffix,
            )
            for v in values
        ),
    )


def _segments(xs: Sequence[float], values: Sequence[float | None]) -> list[str]:
    """Path data for runs of known values: a missing score breaks the line."""
    paths, current = [], []
    for x, value in zip(xs, values, strict=True):
        if value is None:
            if current:
                paths.append(current)
            current = []
            continue
        current.append(f"{'L' if current else 'M'}{x:.1f},{_y(value, 10):.1f}")
    if current:
        paths.append(current)
    return [" ".join(path) for path in paths]


def _series(name: str, xs, values, marker: str) -> SafeString:
    lines = format_html_join(
        "", '<path class="line line-{}" d="{}"/>', ((name, d) for d in _segments(xs, values))
    )
    points = []
    for x, value in zip(xs, values, strict=True):
        if value is None:
            continue
        y = _y(value, 10)
        if marker == "circle":
            points.append(
                format_html(
                    '<circle class="dot dot-{}" cx="{}" cy="{}" r="3.5"/>', name, _n(x), _n(y)
                )
            )
        else:
            points.append(
                format_html(
                    '<rect class="dot dot-{}" x="{}" y="{}" width="7" height="7"/>',
                    name,
                    _n(x - 3.5),
                    _n(y - 3.5),
                )
            )
    return mark_safe(lines + "".join(points))  # noqa: S308 - built from format_html parts


@register.simple_tag
def pain_chart(points: Sequence[PainPoint], chart_id: str = "pain-chart") -> SafeString:
    """Pain before (solid line, circles) and after (dashed line, squares), 0-10."""
    if not points:
        return mark_safe("")
    days = [p.day for p in points]
    xs = _x_positions(days)
    first, last = points[0], points[-1]
    description = (
        f"{len(points)} days from {_day(first.day)} to {_day(last.day)}. "
        f"Pain before: {_fmt(first.before)} at first, {_fmt(last.before)} most recently. "
        f"Pain after: {_fmt(first.after)} at first, {_fmt(last.after)} most recently."
    )
    x_labels = [(xs[0], _day(days[0]), "start")]
    if len(days) > 1:
        x_labels.append((xs[-1], _day(days[-1]), "end"))
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc"'
        ' focusable="false">'
        '<title id="{id}-title">Pain before and after sessions, 0 to 10</title>'
        '<desc id="{id}-desc">{desc}</desc>'
        "{grid}{xlabels}{before}{after}</svg>",
        w=WIDTH,
        h=HEIGHT,
        id=chart_id,
        desc=description,
        grid=_y_grid((0, 2, 4, 6, 8, 10), 10),
        xlabels=format_html_join(
            "",
            '<text class="axis" x="{}" y="{}" text-anchor="{}">{}</text>',
            ((_n(x), HEIGHT - 10, anchor, label) for x, label, anchor in x_labels),
        ),
        before=_series("before", xs, [p.before for p in points], "circle"),
        after=_series("after", xs, [p.after for p in points], "square"),
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return "not given"
    return f"{value:g}"


@register.simple_tag
def adherence_chart(
    weeks: Sequence[WeekAdherence], chart_id: str = "adherence-chart"
) -> SafeString:
    """One bar a week: sessions done as a share of sessions prescribed, 80% goal marked."""
    if not weeks:
        return mark_safe("")
    inner = WIDTH - LEFT - RIGHT
    slot = inner / len(weeks)
    bar = min(slot * 0.6, 32)
    bars = []
    for index, week in enumerate(weeks):
        ratio = week.adherence.ratio
        shown = min(ratio or 0, 1)
        x = LEFT + slot * index + (slot - bar) / 2
        y = _y(shown * 100, 100)
        bars.append(
            format_html(
                '<rect class="bar" x="{}" y="{}" width="{}" height="{}"/>'
                '<text class="bar-label" x="{}" y="{}" text-anchor="middle">{}</text>'
                '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                _n(x),
                _n(y),
                _n(bar),
                _n(_y(0, 100) - y),
                _n(x + bar / 2),
                _n(y - 4),
                percent(ratio),
                _n(x + bar / 2),
                HEIGHT - 10,
                _day(week.week_start),
            )
        )
    goal_y = _y(80, 100)
    last = weeks[-1]
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc"'
        ' focusable="false">'
        '<title id="{id}-title">Sessions done each week, as a share of sessions prescribed'
        "</title>"
        '<desc id="{id}-desc">{n} weeks. The most recent week, from {last_day}: {last_pct}.</desc>'
        "{grid}"
        '<line class="goal" x1="{left}" x2="{right}" y1="{gy}" y2="{gy}"/>'
        '<text class="goal-label" x="{right}" y="{gly}" text-anchor="end">80% goal</text>'
        "{bars}</svg>",
        w=WIDTH,
        h=HEIGHT,
        id=chart_id,
        n=len(weeks),
        last_day=_day(last.week_start),
        last_pct=percent(last.adherence.ratio),
        grid=_y_grid((0, 50, 100), 100, "%"),
        left=LEFT,
        right=WIDTH - RIGHT,
        gy=_n(goal_y),
        gly=_n(goal_y - 4),
        bars=mark_safe("".join(bars)),  # noqa: S308 - built from format_html parts
    )
