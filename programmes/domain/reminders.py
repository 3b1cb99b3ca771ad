"""When a patient's reminder and nudge are due (CLINICAL.md section 7). Pure: no Django.

Times are the patient's local wall-clock times. The sweep's SQL applies the
same rules (`programmes.reminders`); a test holds the two to each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

REMINDER = "reminder"
NUDGE = "nudge"
KINDS = (REMINDER, NUDGE)


@dataclass(frozen=True)
class QuietHours:
    """No message between `start` and `end` local time (default 21:00–08:00)."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, moment: time) -> bool:
        if self.start > self.end:  # spans midnight
            return moment >= self.start or moment < self.end
        return self.start <= moment < self.end


DEFAULT_QUIET_HOURS = QuietHours()
NUDGE_AFTER = timedelta(hours=3)
# A reminder chosen inside quiet hours moves to the last moment before them, or the first after.
LATEST_REMINDER = time(20, 30)


def effective_reminder_time(chosen: time, quiet: QuietHours = DEFAULT_QUIET_HOURS) -> time:
    """The chosen time, moved out of quiet hours: before 08:00 → 08:00, after 20:30 → 20:30."""
    if chosen < quiet.end:
        return quiet.end
    if chosen > LATEST_REMINDER:
        return LATEST_REMINDER
    return chosen


def nudge_time(chosen: time, quiet: QuietHours = DEFAULT_QUIET_HOURS) -> time | None:
    """Three hours after the reminder, if that is still before quiet hours; else no nudge."""
    reminder = datetime.combine(date(2000, 1, 1), effective_reminder_time(chosen, quiet))
    nudge = (reminder + NUDGE_AFTER).time()
    if nudge < reminder.time() or quiet.contains(nudge):
        return None
    return nudge


def due_kind(
    local_now: datetime,
    chosen: time,
    *,
    reminded_at: datetime | None,
    nudged: bool = False,
    quiet: QuietHours = DEFAULT_QUIET_HOURS,
) -> str | None:
    """Which message, if any, is due now for a patient who has not checked in today.

    `reminded_at` is when today's reminder went out (None: not yet). A late reminder
    (the system was down at the chosen time) still goes out once; its nudge follows
    three hours after it, never straight after.
    """
    moment = local_now.time()
    if quiet.contains(moment):
        return None
    if reminded_at is None:
        return REMINDER if moment >= effective_reminder_time(chosen, quiet) else None
    nudge = nudge_time(chosen, quiet)
    if (
        not nudged
        and nudge is not None
        and moment >= nudge
        and local_now - reminded_at >= NUDGE_AFTER
    ):
        return NUDGE
    return None


def local_date(moment_utc: datetime, zone: str) -> date:
    return moment_utc.astimezone(ZoneInfo(zone)).date()
