"""When reminders and nudges are due, in the patient's local time."""

from datetime import datetime, time

import pytest

from programmes.domain.reminders import (
    NUDGE,
    REMINDER,
    due_kind,
    effective_reminder_time,
    nudge_time,
)


@pytest.mark.parametrize(
    ("chosen", "effective"),
    [
        (time(18, 0), time(18, 0)),
        (time(6, 30), time(8, 0)),
        (time(22, 15), time(20, 30)),
        (time(8, 0), time(8, 0)),
        (time(20, 30), time(20, 30)),
    ],
    ids=[
        "evening stays",
        "early morning moves to 08:00",
        "late night moves to 20:30",
        "08:00 exactly stays",
        "20:30 exactly stays",
    ],
)
def test_reminder_time_moves_out_of_quiet_hours(chosen, effective):
    assert effective_reminder_time(chosen) == effective


@pytest.mark.parametrize(
    ("chosen", "nudge"),
    [
        (time(9, 30), time(12, 30)),
        (time(17, 59), time(20, 59)),
        (time(18, 0), None),
        (time(20, 30), None),
    ],
    ids=[
        "morning reminder nudges at lunchtime",
        "last nudge before quiet hours",
        "nudge would fall at 21:00",
        "late reminder gets no nudge",
    ],
)
def test_nudge_is_three_hours_later_unless_that_is_quiet(chosen, nudge):
    assert nudge_time(chosen) == nudge


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, 1, hour, minute)


@pytest.mark.parametrize(
    ("now", "reminded_at", "expected"),
    [
        (at(17, 55), None, None),
        (at(18, 0), None, REMINDER),
        (at(19, 0), at(18, 0), None),
        (at(21, 5), None, None),
        (at(7, 59), None, None),
    ],
    ids=[
        "before the chosen time",
        "at the chosen time",
        "already reminded, no nudge at 18:00",
        "quiet hours",
        "before quiet hours end",
    ],
)
def test_evening_reminder(now, reminded_at, expected):
    assert due_kind(now, time(18, 0), reminded_at=reminded_at) == expected


@pytest.mark.parametrize(
    ("now", "reminded_at", "nudged", "expected"),
    [
        (at(12, 29), at(9, 30), False, None),
        (at(12, 30), at(9, 30), False, NUDGE),
        (at(13, 0), at(9, 30), True, None),
        (at(14, 0), at(13, 50), False, None),
        (at(16, 50), at(13, 50), False, NUDGE),
    ],
    ids=[
        "before the nudge",
        "nudge three hours later",
        "one nudge a day",
        "a late reminder is not followed by an immediate nudge",
        "a late reminder's nudge comes three hours after it",
    ],
)
def test_morning_reminder_and_its_nudge(now, reminded_at, nudged, expected):
    assert due_kind(now, time(9, 30), reminded_at=reminded_at, nudged=nudged) == expected
