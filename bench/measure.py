"""The benchmark's output: one JSON object per line, each figure beside its target."""

from __future__ import annotations

import json
import statistics
import sys

# Every line carries these; `baseline_kind` names what the value is measured against.
RATIO_FIELDS = ("name", "value", "unit", "baseline_kind", "baseline", "ratio", "target", "meets")
FANOUT_FIELDS = (*RATIO_FIELDS, "sends", "duplicates", "redis_peak_mb")


def ratio_line(
    name: str,
    *,
    value: float | None,
    baseline: float | None,
    baseline_kind: str,
    unit: str,
    target: str,
    at_most: float | None = None,
    at_least: float | None = None,
    **extra,
) -> dict:
    """A figure against the baseline taken in the same run, and whether the target is met."""
    ratio = value / baseline if value is not None and baseline else None
    meets = ratio is not None and (
        (at_most is None or ratio <= at_most) and (at_least is None or ratio >= at_least)
    )
    return {
        "name": name,
        "value": _round(value),
        "unit": unit,
        "baseline_kind": baseline_kind,
        "baseline": _round(baseline),
        "ratio": _round(ratio, 3),
        "target": target,
        "meets": meets,
        **extra,
    }


def failed_line(
    name: str,
    *,
    unit: str,
    target: str,
    error: str,
    baseline_kind: str,
    shape=RATIO_FIELDS,
) -> dict:
    """A measurement that could not be taken: every field there, `meets` false, and why."""
    line = {field: None for field in shape}
    line.update(
        name=name,
        unit=unit,
        target=target,
        baseline_kind=baseline_kind,
        meets=False,
        error=error,
    )
    return line


def emit(line: dict, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(line, default=str) + "\n")
    stream.flush()


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
