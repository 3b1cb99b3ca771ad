"""Server-rendered SVG charts for the staff reports, in the portal's house style.

Plain SVG with a title and a description for screen readers; every page puts
the same numbers in a table beside the chart. Weekly adherence and pain reuse
the portal's charts (`programmes.templatetags.programme_charts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from programmes.templatetags.programme_charts import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    _day,
    _n,
    _x_positions,
    _y,
    _y_grid,
)

BAND_LABELS = {"adherent": "Adherent (80%+)", "partial": "Partial (50–79%)", "low": "Low (<50%)"}


def _svg(
    chart_id: str, title: str, desc: str, body: SafeString, height: int = HEIGHT
) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img"'
        ' aria-labelledby="{id}-title {id}-desc" focusable="false">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        w=WIDTH,
        h=height,
        id=chart_id,
        title=title,
        desc=desc,
        body=body,
    )


def band_chart(bands: dict[str, int], chart_id: str = "band-chart") -> SafeString:
    """One horizontal bar per adherence band, the count at its end; bands differ by pattern."""
    total = sum(bands.values())
    if not total:
        return mark_safe("")
    row_height, label_width = 34, 118
    inner = WIDTH - label_width - 40
    rows = []
    for index, band in enumerate(("adherent", "partial", "low")):
        count = bands.get(band, 0)
        y = 10 + index * row_height
        width = inner * count / total
        rows.append(
            format_html(
                '<text class="axis band-name" x="{lx}" y="{ty}" text-anchor="end">{label}</text>'
                '<rect class="band band-{band}" x="{x}" y="{y}" width="{w}" height="20"/>'
                '<text class="bar-label" x="{vx}" y="{ty}">{count} ({pct}%)</text>',
                lx=label_width - 6,
                ty=_n(y + 14),
                label=BAND_LABELS[band],
                band=band,
                x=label_width,
                y=y,
                w=_n(max(width, 1)),
                vx=_n(label_width + width + 4),
                count=count,
                pct=round(100 * count / total),
            )
        )
    desc = ", ".join(f"{BAND_LABELS[b]}: {bands.get(b, 0)}" for b in ("adherent", "partial", "low"))
    return _svg(
        chart_id,
        "Patients by adherence band",
        f"{total} patients. {desc}.",
        mark_safe("".join(rows)),  # noqa: S308 - built from format_html parts
        height=3 * row_height + 14,
    )


def distribution_chart(
    counts: Sequence[int], labels: Sequence[str], chart_id: str = "distribution-chart"
) -> SafeString:
    """Patients per 10% of adherence: a histogram, the 50% and 80% thresholds marked."""
    total = sum(counts)
    if not total:
        return mark_safe("")
    top = max(max(counts), 1)
    inner = WIDTH - LEFT - RIGHT
    slot = inner / len(counts)
    bar = slot * 0.8
    parts = []
    for index, count in enumerate(counts):
        x = LEFT + slot * index + (slot - bar) / 2
        y = _y(count, top)
        parts.append(
            format_html(
                '<rect class="bar bar-{band}" x="{x}" y="{y}" width="{w}" height="{h}"/>'
                '<text class="bar-label" x="{cx}" y="{ly}" text-anchor="middle">{n}</text>',
                band="low" if index < 5 else "partial" if index < 8 else "adherent",
                x=_n(x),
                y=_n(y),
                w=_n(bar),
                h=_n(_y(0, top) - y),
                cx=_n(x + bar / 2),
                ly=_n(y - 3),
                n=count or "",
            )
        )
    for index in (0, 5, 8, 10):
        x = LEFT + slot * index
        parts.append(
            format_html(
                '<text class="axis" x="{}" y="{}" text-anchor="middle">{}%</text>',
                _n(x),
                HEIGHT - 10,
                index * 10,
            )
        )
    for index in (5, 8):  # the partial and adherent thresholds, labelled on the axis
        x = LEFT + slot * index
        parts.append(
            format_html(
                '<line class="goal" x1="{x}" x2="{x}" y1="{t}" y2="{b}"/>',
                x=_n(x),
                t=TOP,
                b=HEIGHT - BOTTOM,
            )
        )
    busiest = max(range(len(counts)), key=lambda i: counts[i])
    return _svg(
        chart_id,
        "How many patients reached each level of adherence",
        f"{total} patients in 10% steps. Most patients ({counts[busiest]}) are at "
        f"{labels[busiest]}. Below 50%: {sum(counts[:5])}; 80% or more: {sum(counts[8:])}.",
        mark_safe("".join(parts)),  # noqa: S308 - built from format_html parts
    )


def line_chart(
    points: Sequence[tuple[date, float | None]],
    *,
    top: float,
    ticks: Sequence[int],
    suffix: str,
    title: str,
    what: str,
    chart_id: str,
) -> SafeString:
    """One series over time (a missing day breaks the line), circles on the points."""
    known = [(day, value) for day, value in points if value is not None]
    if not known:
        return mark_safe("")
    days = [day for day, _ in known]
    xs = _x_positions(days)
    path = " ".join(
        f"{'L' if i else 'M'}{x:.1f},{_y(value, top):.1f}"
        for i, (x, (_, value)) in enumerate(zip(xs, known, strict=True))
    )
    dots = format_html_join(
        "",
        '<circle class="dot dot-before" cx="{}" cy="{}" r="3"/>',
        ((_n(x), _n(_y(value, top))) for x, (_, value) in zip(xs, known, strict=True)),
    )
    labels = [(xs[0], _day(days[0]), "start")]
    if len(days) > 1:
        labels.append((xs[-1], _day(days[-1]), "end"))
    body = format_html(
        '{grid}<path class="line line-before" d="{d}"/>{dots}{xl}',
        grid=_y_grid(ticks, top, suffix),
        d=path,
        dots=dots,
        xl=format_html_join(
            "",
            '<text class="axis" x="{}" y="{}" text-anchor="{}">{}</text>',
            ((_n(x), HEIGHT - 10, anchor, label) for x, label, anchor in labels),
        ),
    )
    first, last = known[0], known[-1]
    return _svg(
        chart_id,
        title,
        f"{len(known)} days from {_day(first[0])} to {_day(last[0])}. {what}: "
        f"{first[1]:g}{suffix} at first, {last[1]:g}{suffix} most recently.",
        body,
    )
