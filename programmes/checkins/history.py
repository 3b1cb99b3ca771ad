"""Reads for History and Progress, aggregated in PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import Avg

from patients.models import Patient
from programmes.models import CheckIn


@dataclass(frozen=True)
class CalendarDay:
    day: date
    status: str  # done, partial, missed, none (nothing prescribed or not yet)


def checkin_calendar(patient: Patient, *, start: date, end: date, today: date) -> list[CalendarDay]:
    """One row per day of the window: done, partial, missed (a prescribed day gone by) or none."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH days AS (
                SELECT d::date AS day FROM generate_series(%(start)s::date, %(end)s::date,
                                                           interval '1 day') AS d
            ),
            done AS (
                SELECT local_date,
                       bool_or(completion = 'done') AS any_done,
                       bool_or(completion = 'partial') AS any_partial
                  FROM programmes_checkin
                 WHERE patient_id = %(patient)s AND local_date BETWEEN %(start)s AND %(end)s
                 GROUP BY local_date
            )
            SELECT days.day,
                   CASE
                       WHEN done.any_done THEN 'done'
                       WHEN done.any_partial THEN 'partial'
                       -- Missed only where a plan prescribed the day (CLINICAL.md
                       -- section 6: not before, after, or while a clinician paused it).
                       WHEN days.day < %(today)s AND EXISTS (
                           SELECT 1 FROM programmes_plandays pd
                            WHERE pd.patient_id = %(patient)s AND days.day <@ pd.days
                       ) THEN 'missed'
                       ELSE 'none'
                   END
              FROM days LEFT JOIN done ON done.local_date = days.day
             ORDER BY days.day
            """,
            {"start": start, "end": end, "today": today, "patient": patient.pk},
        )
        return [CalendarDay(day, status) for day, status in cursor.fetchall()]


@dataclass(frozen=True)
class PainPoint:
    day: date
    before: float | None
    after: float | None


def pain_series(patient: Patient, *, since: date) -> list[PainPoint]:
    """Average pain before and after per day, oldest first."""
    rows = (
        CheckIn.objects.filter(patient=patient, local_date__gte=since)
        .values("local_date")
        .order_by("local_date")
        .annotate(
            before=Avg("pain_before"),
            after=Avg("pain_after"),
        )
    )
    return [
        PainPoint(row["local_date"], _round(row["before"]), _round(row["after"])) for row in rows
    ]


def _round(value) -> float | None:
    return None if value is None else round(float(value), 1)
