"""What a staff report covers, and the SQL every clinic-wide report builds on.

`Filters` names the clinic, period, clinician, template and band; `SCOPE` picks the
plans in scope and `BANDED` groups the kept adherence of `programmes.adherence` (per
plan and ISO week of the period) per patient into their band (the thresholds of
`programmes.domain.adherence`). Every kept row read is the clinic's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection

from programmes.adherence import IN_PERIOD, WEEK_OF_DAY, WEEKS, adherence_sql
from programmes.domain.adherence import (
    ADHERENT_THRESHOLD,
    DATA_DAYS_WINDOW_DAYS,
    PARTIAL_THRESHOLD,
    AdherenceBand,
)

# Plans in scope: the clinic, and optionally one clinician and one template. Used
# wherever `p` is a programmes_plan row, including inside the adherence CTEs.
SCOPE = """p.clinic_id = %(clinic)s
   AND (%(clinician)s::bigint IS NULL OR p.clinician_id = %(clinician)s::bigint)
   AND (%(template)s::bigint IS NULL OR p.template_id = %(template)s::bigint)"""

CLINICIAN_NAME = "COALESCE(NULLIF(trim(u.first_name || ' ' || u.last_name), ''), u.username)"

# Per patient and week, per patient, their data days, and their band. Thresholds are
# compared as exact numerics (completed >= 0.8 x prescribed), as `band_for` does.
BANDED = f"""
, per_patient_week AS (
    -- Per patient and week, which the weekly trend needs too, then per patient.
    SELECT a.patient_id, a.key AS week,
           sum(a.prescribed)::bigint AS prescribed, sum(a.completed) AS completed
      FROM adherence a GROUP BY a.patient_id, a.key
),
per_patient AS (
    SELECT w.patient_id, sum(w.prescribed) AS prescribed, sum(w.completed) AS completed
      FROM per_patient_week w GROUP BY w.patient_id
),
data_days AS (
    -- A day credit is a plan's day with a check-in: a data day, once per patient.
    SELECT c.patient_id, count(DISTINCT c.day) AS days
      FROM programmes_daycredit c JOIN programmes_plan p ON p.id = c.plan_id
     WHERE c.clinic_id = %(clinic)s AND c.day BETWEEN %(dd_start)s AND %(end)s AND {SCOPE}
     GROUP BY c.patient_id
),
all_banded AS (
    SELECT pp.patient_id, pp.prescribed, pp.completed, COALESCE(dd.days, 0) AS data_days,
           pp.completed / NULLIF(pp.prescribed, 0) AS ratio,
           CASE WHEN pp.prescribed = 0 THEN 'no_data'
                WHEN pp.completed >= %(adherent)s * pp.prescribed THEN 'adherent'
                WHEN pp.completed >= %(partial)s * pp.prescribed THEN 'partial'
                ELSE 'low' END AS band
      FROM per_patient pp LEFT JOIN data_days dd ON dd.patient_id = pp.patient_id
),
-- The band filter narrows every figure built on it to that band's patients.
banded AS (
    SELECT * FROM all_banded WHERE %(band)s::text IS NULL OR band = %(band)s::text
)
"""  # noqa: S608 - only this module's fixed fragments are formatted in


@contextmanager
def report_cursor(*, server_side: bool = False) -> Iterator[Any]:
    """A cursor for one clinic-wide report query; server-side for streamed exports.

    (PostgreSQL's JIT, which a large clinic's plans would trigger for seconds, is off
    for every connection in settings.)
    """
    with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
        yield cursor


def banded_sql(tail: str) -> str:
    # Only this module's fixed fragments are formatted in; values go as parameters.
    kept = adherence_sql(
        WEEKS, plans=SCOPE, one_clinic=True, days_between=IN_PERIOD, window_of_day=WEEK_OF_DAY
    )
    return kept + BANDED + tail


BANDS = (AdherenceBand.ADHERENT, AdherenceBand.PARTIAL, AdherenceBand.LOW)


@dataclass(frozen=True)
class Filters:
    """What a report covers. `clinic_id` always comes from the signed-in user."""

    clinic_id: int
    start: date
    end: date
    clinician_id: int | None = None
    template_id: int | None = None
    band: str | None = None

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "clinic": self.clinic_id,
            "start": self.start,
            "end": self.end,
            "dd_start": self.end - timedelta(days=DATA_DAYS_WINDOW_DAYS - 1),
            "clinician": self.clinician_id,
            "template": self.template_id,
            "adherent": Decimal(str(ADHERENT_THRESHOLD)),
            "partial": Decimal(str(PARTIAL_THRESHOLD)),
            "band": self.band,
            **extra,
        }
