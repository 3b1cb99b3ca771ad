"""Adherence read from what PostgreSQL keeps as it happens (migration 0015).

CLINICAL.md section 6: sessions completed ÷ sessions prescribed; a partial session
counts one half; days before a plan started, after it ended, or while a clinician had
it paused prescribe nothing. A plan prescribes one session a day; a day's credit is
capped at one, so extra check-ins can't lift adherence above what was prescribed.

`programmes_plandays` holds each plan's prescribed days as date ranges and
`programmes_daycredit` each plan-day's credit and what it adds (`completed`), so a figure
is arithmetic over a few rows per patient: prescribed = the length of the plan's ranges
inside the window, completed = the sum of `completed` inside it. No day grid is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection

from programmes.domain.adherence import adherence_ratio, band_for


def adherence_sql(
    windows: str,
    *,
    plans: str,
    per_patient_windows: bool = False,
    one_clinic: bool = False,
    days_between: tuple[str, str] | None = None,
    window_of_day: str | None = None,
) -> str:
    """CTEs ending in `adherence(key, patient_id, plan_id, prescribed, completed)`.

    `windows` is a fixed SQL fragment yielding rows of (key, r daterange) or, when
    `per_patient_windows`, (key, patient_id, r); `plans` a fixed condition on `p`, the
    programmes_plan row. Only prescribed days count: a window with none has no row.
    `one_clinic` bounds both kept tables by `%(clinic)s` through their clinic indexes,
    so a clinic's figures read only its own rows however many clinics share the tables.
    `days_between` (two fixed SQL expressions) bounds the day credits read through their
    index when every window lies between them; `window_of_day` (an expression of `c.day`)
    names the one window a day falls in, when windows don't overlap, so credits join their
    window by equality.
    """
    own = "AND d.patient_id = w.patient_id" if per_patient_windows else ""
    own_credit = "AND c.patient_id = w.patient_id" if per_patient_windows else ""
    if one_clinic:
        own += " AND d.clinic_id = %(clinic)s"
        own_credit += " AND c.clinic_id = %(clinic)s"
    # A day's window by equality when it has exactly one; else by range.
    credits_in_windows = (
        f"(SELECT {window_of_day} AS key, c.* FROM programmes_daycredit c) c"  # noqa: S608
        if window_of_day
        else "windows w JOIN programmes_daycredit c ON c.day >= lower(w.r) AND c.day < upper(w.r)"
    )
    credit_key = "c.key" if window_of_day else "w.key"
    if window_of_day and per_patient_windows:
        raise ValueError("a day's window by equality is for windows shared by every patient")
    if days_between:
        own_credit += f" AND c.day BETWEEN {days_between[0]} AND {days_between[1]}"
    return f"""
WITH windows AS ({windows}),
prescribed AS (
    -- Each of the plan's ranges of days against each window it overlaps.
    SELECT w.key, d.patient_id, d.plan_id, sum(upper(x * w.r) - lower(x * w.r))::bigint
               AS prescribed
      FROM programmes_plandays d
      JOIN programmes_plan p ON p.id = d.plan_id
     CROSS JOIN LATERAL unnest(d.days) AS x
      JOIN windows w ON x && w.r {own}
     WHERE {plans}
     GROUP BY w.key, d.patient_id, d.plan_id
),
completed AS (
    -- `completed` is already capped and nothing on a day the plan didn't prescribe.
    SELECT {credit_key} AS key, c.plan_id, sum(c.completed) AS completed
      FROM {credits_in_windows}
      JOIN programmes_plan p ON p.id = c.plan_id
     WHERE true {own_credit} AND {plans}
     GROUP BY 1, c.plan_id
),
adherence AS (
    SELECT pr.key, pr.patient_id, pr.plan_id, pr.prescribed,
           COALESCE(co.completed, 0) AS completed
      FROM prescribed pr
      LEFT JOIN completed co ON co.key = pr.key AND co.plan_id = pr.plan_id
)
"""  # noqa: S608 - only fixed fragments are formatted in


# One window, the period itself.
PERIOD = "SELECT 0 AS key, daterange(%(start)s::date, %(end)s::date, '[]') AS r"
# The period's ISO weeks (Monday first), each cut to the period.
WEEKS = """
SELECT wk::date AS key,
       daterange(GREATEST(wk::date, %(start)s::date), LEAST(wk::date + 6, %(end)s::date), '[]')
           AS r
  FROM generate_series(date_trunc('week', %(start)s::date), %(end)s::date, interval '1 week') wk
"""
ONE_PATIENT = "p.patient_id = %(patient)s"
WEEK_OF_DAY = "date_trunc('week', c.day)::date"  # WEEKS' key of a day in the period
# Every window of PERIOD and WEEKS lies in the period.
IN_PERIOD = ("%(start)s::date", "%(end)s::date")
# Every patient's own recent days at `now`: local dates lie within a day of UTC's.
AROUND_NOW = (
    "(%(now)s::timestamptz AT TIME ZONE 'UTC')::date - 8",
    "(%(now)s::timestamptz AT TIME ZONE 'UTC')::date + 1",
)


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
            adherence_sql(PERIOD, plans=ONE_PATIENT, days_between=IN_PERIOD)  # noqa: S608 - fixed fragments only
            + "SELECT COALESCE(sum(prescribed), 0), COALESCE(sum(completed), 0) FROM adherence",
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
            adherence_sql(  # noqa: S608 - fixed fragments only
                WEEKS, plans=ONE_PATIENT, days_between=IN_PERIOD, window_of_day=WEEK_OF_DAY
            )
            + "SELECT key, sum(prescribed), sum(completed) FROM adherence"
            " GROUP BY key ORDER BY key",
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


RECENT_WINDOWS = """
SELECT n AS key, daterange(b.through - (n - 1), b.through, '[]') AS r
  FROM (SELECT CASE WHEN EXISTS (SELECT 1 FROM programmes_checkin c
                                  WHERE c.patient_id = %(patient)s AND c.local_date = %(today)s)
                    THEN %(today)s::date ELSE %(today)s::date - 1 END AS through) b
 CROSS JOIN (VALUES (7), (30)) AS lengths(n)
"""


def recent_adherence(patient_id: int, *, today: date) -> RecentAdherence:
    """The last 7 and 30 days, in one query: the figure the portal and the API both show.

    An unfinished day is not a missed one: today counts once the patient has checked
    in, and until then both windows end yesterday (still 7 and 30 days long).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            adherence_sql(RECENT_WINDOWS, plans=ONE_PATIENT)  # noqa: S608 - fixed fragments only
            + """
            SELECT upper(w.r) - 1, sum(a.prescribed), sum(a.completed)
              FROM windows w LEFT JOIN adherence a ON a.key = w.key
             GROUP BY w.key, w.r ORDER BY w.key
            """,
            {"today": today, "patient": patient_id},
        )
        (through, week_prescribed, week_done), (_, month_prescribed, month_done) = cursor.fetchall()
    return RecentAdherence(
        through=through,
        last_7_days=Adherence(int(week_prescribed or 0), float(week_done or 0)),
        last_30_days=Adherence(int(month_prescribed or 0), float(month_done or 0)),
    )
