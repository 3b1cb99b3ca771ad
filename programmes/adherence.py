"""Adherence computed in PostgreSQL: a day grid of what each plan prescribed, joined to check-ins.

CLINICAL.md section 6: sessions completed ÷ sessions prescribed; a partial
session counts one half; days before a plan started, after it ended, or while
a clinician had it paused prescribe nothing. A plan prescribes one session a
day (the day's programme); a day's credit is capped at one, so extra check-ins
can't lift adherence above what was prescribed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection

from programmes.domain.adherence import adherence_ratio, band_for

# The grid every adherence figure is built on. Parameters: start, end, and a
# patient filter (`patient_filter` is a trusted SQL fragment chosen below).
DAY_GRID_SQL = """
WITH plan_days AS (
    SELECT p.id AS plan_id, p.patient_id, pt.time_zone, d::date AS day
      FROM programmes_plan p
      JOIN patients_patient pt ON pt.id = p.patient_id
     CROSS JOIN LATERAL generate_series(
             GREATEST(p.start_date, %(start)s::date),
             LEAST(COALESCE(p.end_date, %(end)s::date), %(end)s::date),
             interval '1 day') AS d
     WHERE p.status <> 'draft' AND {patient_filter}
),
pause_spans AS (
    SELECT e.plan_id,
           e.kind,
           (e.at AT TIME ZONE pt.time_zone)::date AS from_day,
           (lead(e.at) OVER (PARTITION BY e.plan_id ORDER BY e.at, e.id)
                AT TIME ZONE pt.time_zone)::date AS until_day
      FROM programmes_planevent e
      JOIN programmes_plan p ON p.id = e.plan_id
      JOIN patients_patient pt ON pt.id = p.patient_id
     WHERE e.kind IN ('paused', 'resumed', 'ended', 'completed') AND {patient_filter}
),
prescribed AS (
    SELECT pd.* FROM plan_days pd
     WHERE NOT EXISTS (
         SELECT 1 FROM pause_spans ps
          WHERE ps.plan_id = pd.plan_id AND ps.kind = 'paused'
            AND pd.day >= ps.from_day AND (ps.until_day IS NULL OR pd.day < ps.until_day)
     )
),
credit AS (
    SELECT c.plan_id, c.local_date AS day,
           LEAST(1.0, SUM(CASE c.completion WHEN 'done' THEN 1.0
                                            WHEN 'partial' THEN 0.5 ELSE 0 END)) AS completed
      FROM programmes_checkin c
      JOIN programmes_plan p ON p.id = c.plan_id
     WHERE c.local_date BETWEEN %(start)s AND %(end)s AND {patient_filter}
     GROUP BY c.plan_id, c.local_date
),
grid AS (
    SELECT pr.patient_id, pr.plan_id, pr.day, COALESCE(cr.completed, 0) AS completed
      FROM prescribed pr
      LEFT JOIN credit cr ON cr.plan_id = pr.plan_id AND cr.day = pr.day
)
"""


def _grid(patient_filter: str) -> str:
    # Only fixed fragments from this module are formatted in; values go as parameters.
    return DAY_GRID_SQL.format(patient_filter=patient_filter)


@dataclass(frozen=True)
class Adherence:
    prescribed: int
    completed: float

    @property
    def ratio(self) -> float | None:
        return adherence_ratio(self.completed, self.prescribed)

    @property
    def band(self) -> str:
        return band_for(self.ratio)


def patient_adherence(patient_id: int, *, start: date, end: date) -> Adherence:
    with connection.cursor() as cursor:
        cursor.execute(
            _grid("p.patient_id = %(patient)s")  # noqa: S608 - fixed fragments only
            + "SELECT count(*), COALESCE(sum(completed), 0) FROM grid",
            {"start": start, "end": end, "patient": patient_id},
        )
        prescribed, completed = cursor.fetchone()
    return Adherence(int(prescribed), float(completed))


@dataclass(frozen=True)
class WeekAdherence:
    week_start: date
    adherence: Adherence


def weekly_adherence(patient_id: int, *, start: date, end: date) -> list[WeekAdherence]:
    with connection.cursor() as cursor:
        cursor.execute(
            _grid("p.patient_id = %(patient)s")  # noqa: S608 - fixed fragments only
            + """
            SELECT date_trunc('week', day)::date AS week, count(*), sum(completed)
              FROM grid GROUP BY week ORDER BY week
            """,
            {"start": start, "end": end, "patient": patient_id},
        )
        return [
            WeekAdherence(week, Adherence(int(prescribed), float(completed)))
            for week, prescribed, completed in cursor.fetchall()
        ]


@dataclass(frozen=True)
class RecentAdherence:
    through: date  # the last day counted: today once checked in, else yesterday
    last_7_days: Adherence
    last_30_days: Adherence


RECENT_SQL = """
, bounds AS (
    SELECT CASE WHEN EXISTS (SELECT 1 FROM programmes_checkin c
                              WHERE c.patient_id = %(patient)s AND c.local_date = %(today)s)
                THEN %(today)s::date ELSE %(today)s::date - 1 END AS through
)
SELECT b.through,
       count(g.day) FILTER (WHERE g.day BETWEEN b.through - 6 AND b.through),
       COALESCE(sum(g.completed) FILTER (WHERE g.day BETWEEN b.through - 6 AND b.through), 0),
       count(g.day) FILTER (WHERE g.day BETWEEN b.through - 29 AND b.through),
       COALESCE(sum(g.completed) FILTER (WHERE g.day BETWEEN b.through - 29 AND b.through), 0)
  FROM bounds b LEFT JOIN grid g ON true
 GROUP BY b.through
"""


def recent_adherence(patient_id: int, *, today: date) -> RecentAdherence:
    """The last 7 and 30 days, in one query: the figure the portal and the API both show.

    An unfinished day is not a missed one: today counts once the patient has checked
    in, and until then both windows end yesterday (still 7 and 30 days long).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _grid("p.patient_id = %(patient)s") + RECENT_SQL,
            {
                "start": today - timedelta(days=30),
                "end": today,
                "today": today,
                "patient": patient_id,
            },
        )
        through, week_prescribed, week_done, month_prescribed, month_done = cursor.fetchone()
    return RecentAdherence(
        through=through,
        last_7_days=Adherence(int(week_prescribed), float(week_done)),
        last_30_days=Adherence(int(month_prescribed), float(month_done)),
    )
