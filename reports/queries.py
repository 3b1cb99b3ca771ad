"""Staff reports: adherence and outcomes across a clinic, aggregated in PostgreSQL.

Every report runs a fixed number of queries whatever the clinic's size. The
day grid of `programmes.adherence` is the single definition of adherence
(CLINICAL.md section 6); these queries only group it, and the bands use the
thresholds of `programmes.domain.adherence`. Long lists page by keyset
(`after`), never OFFSET or COUNT(*) over the whole table; exports read one
query through a server-side cursor, so no export holds all its rows in memory.

Entry points a benchmark should time: `overview`, `patient_rows`, `at_risk`,
`grouped`, `patient_report`, and `export_rows` for the streamed CSV.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from clinic.audit import audit_record
from clinic.models import AuditEvent
from programmes.adherence import Adherence, WeekAdherence, _grid, weekly_adherence
from programmes.alerts import SAFETY_KINDS
from programmes.domain.adherence import (
    ADHERENT_THRESHOLD,
    DATA_DAYS_THRESHOLD,
    DATA_DAYS_WINDOW_DAYS,
    LOW_ADHERENCE_ALERT,
    LOW_ADHERENCE_WINDOW_DAYS,
    NO_CHECKIN_ALERT_HOURS,
    PARTIAL_THRESHOLD,
    AdherenceBand,
)
from programmes.domain.symptoms import STOP_SYMPTOMS
from programmes.models import (
    CheckIn,
    ClinicianAlert,
    PlanEvent,
    ReportExport,
    ReportExportChunk,
)

logger = logging.getLogger(__name__)

# A screening "expiring" within this many days (the admin's filter uses the same).
SCREENING_DUE_DAYS = 14
# As the low-adherence alert rule: fewer prescribed sessions say too little.
LOW_ADHERENCE_MIN_PRESCRIBED = 3
STOP_SYMPTOM_DAYS = 7
EXPORT_CHUNK_ROWS = 2000

# Plans in scope: the clinic, and optionally one clinician and one template. Used
# wherever `p` is a programmes_plan row, including inside the day grid.
SCOPE = """p.clinic_id = %(clinic)s
   AND (%(clinician)s::bigint IS NULL OR p.clinician_id = %(clinician)s::bigint)
   AND (%(template)s::bigint IS NULL OR p.template_id = %(template)s::bigint)"""

CLINICIAN_NAME = "COALESCE(NULLIF(trim(u.first_name || ' ' || u.last_name), ''), u.username)"

# Per patient over the grid, their data days, and their band. Thresholds are
# compared as exact numerics (completed >= 0.8 x prescribed), as `band_for` does.
BANDED = f"""
, per_patient_week AS (
    -- The grid is read once (so PostgreSQL inlines it): per patient and week, which the
    -- weekly trend needs too, then per patient.
    SELECT g.patient_id, date_trunc('week', g.day)::date AS week,
           count(*) AS prescribed, sum(g.completed) AS completed
      FROM grid g GROUP BY g.patient_id, 2
),
per_patient AS (
    SELECT w.patient_id, sum(w.prescribed) AS prescribed, sum(w.completed) AS completed
      FROM per_patient_week w GROUP BY w.patient_id
),
data_days AS (
    SELECT x.patient_id, count(*) AS days
      FROM (SELECT DISTINCT c.patient_id, c.local_date
              FROM programmes_checkin c JOIN programmes_plan p ON p.id = c.plan_id
             WHERE c.clinic_id = %(clinic)s AND c.local_date BETWEEN %(dd_start)s AND %(end)s
               AND {SCOPE}) x
     GROUP BY x.patient_id
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
def _report_cursor(*, server_side: bool = False) -> Iterator[Any]:
    """A cursor for one clinic-wide report query; server-side for streamed exports.

    (PostgreSQL's JIT, which the day grid would trigger for seconds, is off for every
    connection in settings.)
    """
    with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
        yield cursor


def _banded_sql(tail: str) -> str:
    # Only this module's fixed fragments are formatted in; values go as parameters.
    return _grid(SCOPE) + BANDED + tail


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


def _f(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


# Overview.


@dataclass(frozen=True)
class Overview:
    active_plans: int
    patients: int  # patients with at least one session prescribed in the period
    bands: dict[str, int]
    data_days_met: int
    prescribed: int
    completed: float
    distribution: list[int]  # patients per 10% bucket of adherence; 90–100% is the last
    weeks: list[WeekAdherence]
    open_alerts: dict[str, int]
    bucket_labels: list[str] = field(
        default_factory=lambda: [f"{n}–{n + 9}%" for n in range(0, 90, 10)] + ["90–100%"]
    )

    @property
    def adherence(self) -> float | None:
        return Adherence(self.prescribed, self.completed).ratio

    @property
    def open_alerts_total(self) -> int:
        return sum(self.open_alerts.values())


OVERVIEW_SQL = f"""
, weeks AS (
    SELECT w.week, sum(w.prescribed) AS prescribed, sum(w.completed) AS completed
      FROM per_patient_week w JOIN banded b ON b.patient_id = w.patient_id GROUP BY w.week
),
buckets AS (
    SELECT LEAST(floor(b.ratio * 10)::int, 9) AS bucket, count(*) AS n
      FROM banded b WHERE b.ratio IS NOT NULL GROUP BY 1
),
open_alerts AS (
    SELECT a.kind, count(*) AS n
      FROM programmes_clinicianalert a
      JOIN patients_patient apt ON apt.id = a.patient_id
      LEFT JOIN programmes_plan p ON p.id = a.plan_id
     WHERE a.clinic_id = %(clinic)s AND a.acknowledged_at IS NULL
       AND (%(clinician)s::bigint IS NULL
            OR COALESCE(p.clinician_id, apt.clinician_id) = %(clinician)s::bigint)
       AND (%(template)s::bigint IS NULL OR p.template_id = %(template)s::bigint)
     GROUP BY a.kind
)
SELECT
    (SELECT count(*) FROM programmes_plan p WHERE p.status = 'active' AND {SCOPE}),
    count(*),
    count(*) FILTER (WHERE b.band = 'adherent'),
    count(*) FILTER (WHERE b.band = 'partial'),
    count(*) FILTER (WHERE b.band = 'low'),
    count(*) FILTER (WHERE b.data_days >= %(data_days)s),
    COALESCE(sum(b.prescribed), 0),
    COALESCE(sum(b.completed), 0),
    (SELECT json_agg(json_build_array(w.week, w.prescribed, w.completed) ORDER BY w.week)
       FROM weeks w),
    (SELECT json_object_agg(k.bucket, k.n) FROM buckets k),
    (SELECT json_object_agg(o.kind, o.n) FROM open_alerts o)
  FROM banded b
"""  # noqa: S608 - only this module's fixed fragments are formatted in


def overview(filters: Filters) -> Overview:
    """The clinic at a glance, in one query whatever the number of patients."""
    with _report_cursor() as cursor:
        cursor.execute(_banded_sql(OVERVIEW_SQL), filters.params(data_days=DATA_DAYS_THRESHOLD))
        (
            active,
            patients,
            adherent,
            partial,
            low,
            data_days,
            prescribed,
            completed,
            weeks,
            buckets,
            alerts,
        ) = cursor.fetchone()
    buckets = buckets or {}
    return Overview(
        active_plans=active,
        patients=patients,
        bands={AdherenceBand.ADHERENT: adherent, AdherenceBand.PARTIAL: partial, "low": low},
        data_days_met=data_days,
        prescribed=int(prescribed),
        completed=float(completed),
        distribution=[int(buckets.get(str(n), 0)) for n in range(10)],
        weeks=[
            WeekAdherence(date.fromisoformat(week), Adherence(int(p), float(c)))
            for week, p, c in (weeks or [])
        ],
        open_alerts=dict(sorted((alerts or {}).items())),
    )


# Patients: adherence per patient, one keyset page at a time.


@dataclass(frozen=True)
class PatientRow:
    patient_id: int
    name: str
    clinician: str
    prescribed: int
    completed: float
    band: str
    data_days: int
    cursor: str

    @property
    def adherence(self) -> float | None:
        return Adherence(self.prescribed, self.completed).ratio


PATIENT_ROWS_SQL = f"""
, listed AS (
    SELECT b.*, pt.last_name || ', ' || pt.first_name AS name,
           lower(pt.last_name || ' ' || pt.first_name) AS sort_name,
           {CLINICIAN_NAME} AS clinician
      FROM banded b
      JOIN patients_patient pt ON pt.id = b.patient_id
      JOIN auth_user u ON u.id = pt.clinician_id
)
SELECT l.patient_id, l.name, l.clinician, l.prescribed, l.completed, l.band, l.data_days,
       l.sort_name
  FROM listed l
 WHERE %(after_name)s::text IS NULL
    OR (l.sort_name, l.patient_id) > (%(after_name)s::text, %(after_id)s::bigint)
 ORDER BY l.sort_name, l.patient_id
 LIMIT %(limit)s
"""  # noqa: S608 - only this module's fixed fragments are formatted in

PATIENT_COLUMNS = (
    "patient_id",
    "name",
    "clinician",
    "sessions_prescribed",
    "sessions_completed",
    "adherence_percent",
    "band",
    "data_days_30",
)


def _patient_row(row, *, cursor: bool = True) -> PatientRow:
    pid, name, clinician, prescribed, completed, band, data_days, sort_name = row
    return PatientRow(
        pid,
        name,
        clinician,
        int(prescribed),
        float(completed),
        band,
        int(data_days),
        encode_cursor(sort_name, pid) if cursor else "",
    )


def patient_rows(
    filters: Filters, *, after: str | None = None, limit: int = 50
) -> list[PatientRow]:
    """Per-patient adherence in name order: one page after the cursor `after`."""
    after_name, after_id = decode_cursor(after) if after else (None, None)
    with _report_cursor() as cursor:
        cursor.execute(
            _banded_sql(PATIENT_ROWS_SQL),
            filters.params(after_name=after_name, after_id=after_id, limit=limit),
        )
        return [_patient_row(row) for row in cursor.fetchall()]


# Cursors for keyset pages: signed so a hand-edited URL is refused, not trusted.

_CURSOR_SALT = "programmes.reports.cursor"


class BadCursor(ValueError):
    pass


def encode_cursor(value: Any, row_id: int) -> str:
    return signing.dumps([None if value is None else str(value), row_id], salt=_CURSOR_SALT)


def decode_cursor(token: str) -> tuple[str | None, int]:
    try:
        value, row_id = signing.loads(token, salt=_CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise BadCursor("That page link is not valid; start from the first page.") from error
    if not isinstance(row_id, int):
        raise BadCursor("That page link is not valid; start from the first page.")
    return value, row_id


# At risk: who needs a call today.

# sort name -> (SQL expression over `flagged r`, its type for the keyset comparison)
AT_RISK_SORTS: dict[str, tuple[str, str]] = {
    "adherence": ("COALESCE(r.ratio7, 2)", "numeric"),
    "last_checkin": ("r.last_seen", "timestamptz"),
    "screening": ("COALESCE(r.valid_until, '-infinity'::date)", "date"),
    "name": ("r.sort_name", "text"),
}
AT_RISK_REASONS = {
    "stop_symptom": f"Stop symptom in the last {STOP_SYMPTOM_DAYS} days",
    "low_adherence": f"7-day adherence below {round(LOW_ADHERENCE_ALERT * 100)}%",
    "silent": f"No check-in for {NO_CHECKIN_ALERT_HOURS} h",
    "screening_due": "Screening expired or expiring",
}

# "Today" is each patient's own date at `now` (check-ins' local_date is theirs too):
# a patient in New York has their own 7-day window and stop-symptom days, not the clinic's.
PATIENT_TODAY = "(%(now)s::timestamptz AT TIME ZONE pt.time_zone)::date"

AT_RISK_SQL = f"""
, seven AS (
    -- The grid spans every zone's possible today; each patient keeps their own seven days.
    SELECT g.patient_id, count(*) AS prescribed, sum(g.completed) AS completed
      FROM grid g JOIN patients_patient pt ON pt.id = g.patient_id
     WHERE g.day BETWEEN {PATIENT_TODAY} - %(back_days)s AND {PATIENT_TODAY}
     GROUP BY g.patient_id
),
risk AS (
    SELECT pt.id AS patient_id, pt.last_name || ', ' || pt.first_name AS name,
           lower(pt.last_name || ' ' || pt.first_name) AS sort_name,
           {CLINICIAN_NAME} AS clinician, p.status AS plan_status,
           s.prescribed AS prescribed7, s.completed AS completed7,
           s.completed / NULLIF(s.prescribed, 0) AS ratio7,
           lc.last_at,
           -- Never checked in: silent since the start of the plan's first day, where they live.
           COALESCE(lc.last_at, p.start_date::timestamp AT TIME ZONE pt.time_zone) AS last_seen,
           {PATIENT_TODAY} AS local_today,
           EXISTS (SELECT 1 FROM programmes_checkin c
                    WHERE c.patient_id = pt.id
                      AND c.local_date > {PATIENT_TODAY} - %(stop_days)s
                      AND c.symptoms <> '{{{{}}}}' -- matches checkin_symptom_day_idx
                      AND c.symptoms && %(stop_codes)s::varchar[]) AS stop_symptom,
           sc.valid_until
      FROM programmes_plan p
      JOIN patients_patient pt ON pt.id = p.patient_id
      JOIN auth_user u ON u.id = p.clinician_id
      LEFT JOIN seven s ON s.patient_id = pt.id
      LEFT JOIN patients_screening sc ON sc.id = pt.current_screening_id
      LEFT JOIN LATERAL (SELECT max(c.submitted_at) AS last_at FROM programmes_checkin c
                          WHERE c.patient_id = pt.id) lc ON true
     WHERE p.status IN ('active', 'paused') AND {SCOPE}
),
flagged AS (
    SELECT r.*,
           (COALESCE(r.prescribed7, 0) >= %(min_prescribed)s
                AND r.completed7 < %(low)s * r.prescribed7) AS low_adherence,
           (r.plan_status = 'active' AND r.last_seen <= %(now)s - %(silence)s::interval) AS silent,
           (r.valid_until IS NULL OR r.valid_until <= r.local_today + %(due_days)s)
               AS screening_due
      FROM risk r
)
SELECT r.patient_id, r.name, r.clinician, r.prescribed7, r.completed7, r.last_at,
       r.stop_symptom, r.valid_until, r.low_adherence, r.silent, r.screening_due,
       ({{sort_key}})::text AS sort_value
  FROM flagged r
 WHERE (r.low_adherence OR r.silent OR r.stop_symptom OR r.screening_due)
   AND (%(reason)s::text IS NULL
        OR (%(reason)s = 'low_adherence' AND r.low_adherence)
        OR (%(reason)s = 'silent' AND r.silent)
        OR (%(reason)s = 'stop_symptom' AND r.stop_symptom)
        OR (%(reason)s = 'screening_due' AND r.screening_due))
   AND (%(after_id)s::bigint IS NULL
        OR ({{sort_key}}, r.patient_id)
           {{cmp}} (%(after_value)s::{{sort_type}}, %(after_id)s::bigint))
 ORDER BY {{sort_key}} {{direction}}, r.patient_id {{direction}}
 LIMIT %(limit)s
"""  # noqa: S608 - only this module's fixed fragments are formatted in

AT_RISK_COLUMNS = (
    "patient_id",
    "name",
    "clinician",
    "adherence_7_days_percent",
    "last_checkin_utc",
    "stop_symptom",
    "screening_valid_until",
    "low_adherence",
    "no_checkin_49h",
    "screening_due",
)


@dataclass(frozen=True)
class AtRiskRow:
    patient_id: int
    name: str
    clinician: str
    prescribed_7: int | None
    completed_7: float | None
    last_checkin: datetime | None
    stop_symptom: bool
    screening_valid_until: date | None
    low_adherence: bool
    silent: bool
    screening_due: bool
    cursor: str

    @property
    def adherence_7(self) -> float | None:
        if not self.prescribed_7:
            return None
        return Adherence(self.prescribed_7, self.completed_7 or 0).ratio

    @property
    def reasons(self) -> list[str]:
        return [label for key, label in AT_RISK_REASONS.items() if getattr(self, key)]


def _at_risk_sql(sort: str) -> tuple[str, str]:
    descending = sort.startswith("-")
    sort_key, sort_type = AT_RISK_SORTS[sort.lstrip("-")]
    sql = _grid(SCOPE) + AT_RISK_SQL.format(
        sort_key=sort_key,
        sort_type=sort_type,
        cmp="<" if descending else ">",
        direction="DESC" if descending else "ASC",
    )
    return sql, sort


def _at_risk_params(
    filters: Filters, *, now: datetime, reason: str | None, after: str | None, limit: int | None
) -> dict[str, Any]:
    after_value, after_id = decode_cursor(after) if after else (None, None)
    params = filters.params(
        now=now,
        back_days=LOW_ADHERENCE_WINDOW_DAYS - 1,
        silence=timedelta(hours=NO_CHECKIN_ALERT_HOURS),
        stop_codes=sorted(STOP_SYMPTOMS),
        stop_days=STOP_SYMPTOM_DAYS,
        min_prescribed=LOW_ADHERENCE_MIN_PRESCRIBED,
        low=Decimal(str(LOW_ADHERENCE_ALERT)),
        due_days=SCREENING_DUE_DAYS,
        reason=reason,
        after_value=after_value,
        after_id=after_id,
        limit=limit,
    )
    # Seven-day adherence, as the alert rule counts it: today and the six days before, in
    # each patient's own zone. The grid covers every zone's today (UTC-12 to UTC+14 lie
    # within a day of UTC's date); the query narrows it per patient.
    utc_day = now.astimezone(UTC).date()
    params["start"] = utc_day - timedelta(days=1 + LOW_ADHERENCE_WINDOW_DAYS - 1)
    params["end"] = utc_day + timedelta(days=1)
    return params


def _at_risk_row(row, *, cursor: bool = True) -> AtRiskRow:
    *values, sort_value = row
    values[4] = None if values[4] is None else float(values[4])
    return AtRiskRow(*values, cursor=encode_cursor(sort_value, row[0]) if cursor else "")


def at_risk(
    filters: Filters,
    *,
    now: datetime,
    sort: str = "adherence",
    reason: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[AtRiskRow]:
    """Patients with a running plan who need a call, one keyset page in the chosen order.

    As of `now`, whatever the period: 7-day adherence low (the alert rule), no
    check-in for 49 h while the plan is active, a stop symptom in the last 7 days,
    or a screening expired or expiring within 14 days.
    """
    sql, _ = _at_risk_sql(sort)
    with _report_cursor() as cursor:
        cursor.execute(
            sql, _at_risk_params(filters, now=now, reason=reason, after=after, limit=limit)
        )
        return [_at_risk_row(row) for row in cursor.fetchall()]


# Needs a clinician now: every patient with an open safety alert, above the at-risk rows.

SAFETY_LABELS = {
    ClinicianAlert.Kind.URGENT_REFERRAL: "Urgent referral: red flag at intake",
    ClinicianAlert.Kind.RED_FLAG: "Urgent referral: red-flag symptom at a check-in",
    ClinicianAlert.Kind.STOP_SYMPTOM: "Stop symptom reported",
    ClinicianAlert.Kind.SCREENING_PAUSE: "Screening change paused inversion",
    ClinicianAlert.Kind.CONTRAINDICATED: "Newly contraindicated",
    ClinicianAlert.Kind.REVIEW_REQUIRED: "Review required before any inversion",
    ClinicianAlert.Kind.CONFIRM_SCREENING: "Patient's answers await confirmation",
}

# Gravest first (the order of SAFETY_KINDS); within a kind, the longest waiting first.
# A check-in red flag (`Patient.red_flag_reported_at`) stands as an urgent referral until a
# clinician acknowledges an urgent alert after it, even if its own alert went missing.
SAFETY_SQL = f"""
WITH reasons AS (
    SELECT a.patient_id, a.kind, min(a.created_at) AS since
      FROM programmes_clinicianalert a -- alert_open_by_clinic_idx
     WHERE a.clinic_id = %(clinic)s AND a.acknowledged_at IS NULL
       AND a.kind = ANY(%(kinds)s::varchar[])
     GROUP BY a.patient_id, a.kind
    UNION ALL
    SELECT pt.id, 'red_flag', pt.red_flag_reported_at
      FROM patients_patient pt
     WHERE pt.clinic_id = %(clinic)s AND pt.red_flag_reported_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM programmes_clinicianalert a
                        WHERE a.patient_id = pt.id AND a.kind IN ('red_flag', 'urgent_referral')
                          AND a.acknowledged_at >= pt.red_flag_reported_at)
),
per_kind AS (
    SELECT r.patient_id, r.kind, min(r.since) AS since,
           array_position(%(kinds)s::varchar[], r.kind::varchar) AS rank
      FROM reasons r GROUP BY r.patient_id, r.kind
),
per_patient AS (
    SELECT k.patient_id, min(k.rank) AS gravest, min(k.since) AS since,
           json_agg(json_build_array(k.kind, k.since) ORDER BY k.rank) AS reasons
      FROM per_kind k GROUP BY k.patient_id
)
SELECT pt.id, pt.last_name || ', ' || pt.first_name, {CLINICIAN_NAME}, pt.phone,
       pp.since, pp.reasons
  FROM per_patient pp
  JOIN patients_patient pt ON pt.id = pp.patient_id
  JOIN auth_user u ON u.id = pt.clinician_id
 WHERE pt.clinic_id = %(clinic)s
   AND (%(clinician)s::bigint IS NULL OR pt.clinician_id = %(clinician)s::bigint
        OR EXISTS (SELECT 1 FROM programmes_plan p
                    WHERE p.patient_id = pt.id AND p.status IN ('active', 'paused')
                      AND p.clinician_id = %(clinician)s::bigint))
   AND (%(template)s::bigint IS NULL
        OR EXISTS (SELECT 1 FROM programmes_plan p
                    WHERE p.patient_id = pt.id AND p.status IN ('active', 'paused')
                      AND p.template_id = %(template)s::bigint))
 ORDER BY pp.gravest, pp.since, pt.id
"""  # noqa: S608 - only this module's fixed fragments are formatted in

SAFETY_COLUMNS = ("needs_clinician_now", "needs_clinician_since")


@dataclass(frozen=True)
class SafetyReason:
    kind: str
    since: datetime

    @property
    def label(self) -> str:
        return SAFETY_LABELS[self.kind]


@dataclass(frozen=True)
class SafetyRow:
    """A patient a clinician must act on now, with every reason and since when."""

    patient_id: int
    name: str
    clinician: str
    phone: str
    since: datetime
    reasons: tuple[SafetyReason, ...]

    @property
    def kinds(self) -> list[str]:
        return [reason.kind for reason in self.reasons]


def _safety_row(row) -> SafetyRow:
    pid, name, clinician, phone, since, reasons = row
    return SafetyRow(
        pid,
        name,
        clinician,
        phone,
        since,
        tuple(SafetyReason(kind, datetime.fromisoformat(at)) for kind, at in reasons),
    )


def _safety_params(filters: Filters) -> dict[str, Any]:
    return filters.params(kinds=[str(kind) for kind in SAFETY_KINDS])


def safety_rows(filters: Filters) -> list[SafetyRow]:
    """Every patient with an open safety alert (or an unanswered check-in red flag), gravest
    first: one query over the clinic's open alerts, whatever their number.

    A row stays until a clinician acknowledges the alerts behind it; the period and the
    at-risk reason filter do not apply, clinician and template do.
    """
    with _report_cursor() as cursor:
        cursor.execute(SAFETY_SQL, _safety_params(filters))
        return [_safety_row(row) for row in cursor.fetchall()]


# Per clinician and per template: adherence and outcome change side by side.

GROUPED_SQL = f"""
, pain AS (
    -- Pain before sessions: each patient's first week in the period against their last,
    -- when the two are at least a week apart.
    SELECT x.patient_id,
           avg(x.pain_before) FILTER (WHERE x.local_date < x.first_day + 7) AS first_week,
           avg(x.pain_before) FILTER (WHERE x.local_date > x.last_day - 7) AS last_week
      FROM (SELECT c.patient_id, c.local_date, c.pain_before,
                   min(c.local_date) OVER w AS first_day, max(c.local_date) OVER w AS last_day
              FROM programmes_checkin c JOIN programmes_plan p ON p.id = c.plan_id
             WHERE c.clinic_id = %(clinic)s AND c.local_date BETWEEN %(start)s AND %(end)s
               AND c.pain_before IS NOT NULL AND {SCOPE}
            WINDOW w AS (PARTITION BY c.patient_id)) x
     WHERE x.last_day - x.first_day >= 7
     GROUP BY x.patient_id
)
SELECT {{group_key}} AS key, {{group_label}} AS label,
       count(*) AS patients,
       count(*) FILTER (WHERE b.band = 'adherent') AS adherent,
       sum(b.prescribed) AS prescribed, sum(b.completed) AS completed,
       avg(pain.first_week), avg(pain.last_week),
       count(pain.patient_id), avg(pain.last_week - pain.first_week),
       avg(odi.baseline) FILTER (WHERE odi.latest IS NOT NULL),
       avg(odi.latest), count(odi.latest), avg(odi.latest - odi.baseline)
  FROM banded b
  -- The patient's latest plan in scope decides their clinician and template.
  JOIN LATERAL (
      SELECT p.clinician_id, p.template_id FROM programmes_plan p
       WHERE p.patient_id = b.patient_id AND p.status <> 'draft' AND {SCOPE}
       ORDER BY p.start_date DESC, p.id DESC LIMIT 1) lp ON true
  {{group_join}}
  LEFT JOIN pain ON pain.patient_id = b.patient_id
  LEFT JOIN LATERAL (
      SELECT (SELECT i.odi_percent FROM patients_intake i WHERE i.patient_id = b.patient_id
               ORDER BY i.number LIMIT 1) AS baseline,
             (SELECT q.odi_percent FROM programmes_questionnaireresponse q
               WHERE q.patient_id = b.patient_id AND q.taken_on <= %(end)s
               ORDER BY q.taken_on DESC LIMIT 1) AS latest) odi ON true
 GROUP BY 1, 2
 ORDER BY 2, 1
"""  # noqa: S608 - only this module's fixed fragments are formatted in

GROUPINGS = {
    "clinician": (
        "u.id",
        CLINICIAN_NAME,
        "JOIN auth_user u ON u.id = lp.clinician_id",
    ),
    "template": (
        "COALESCE(t.id, 0)",
        "COALESCE(t.name, 'No template')",
        "LEFT JOIN programmes_programmetemplate t ON t.id = lp.template_id",
    ),
}

GROUP_COLUMNS = (
    "group",
    "patients",
    "adherent_patients",
    "sessions_prescribed",
    "sessions_completed",
    "adherence_percent",
    "pain_first_week",
    "pain_last_week",
    "pain_change",
    "pain_patients",
    "odi_baseline",
    "odi_latest",
    "odi_change",
    "odi_patients",
)


@dataclass(frozen=True)
class GroupRow:
    key: int
    label: str
    patients: int
    adherent: int
    prescribed: int
    completed: float
    pain_first_week: float | None
    pain_last_week: float | None
    pain_patients: int
    pain_change: float | None
    odi_baseline: float | None
    odi_latest: float | None
    odi_patients: int
    odi_change: float | None

    @property
    def adherence(self) -> float | None:
        return Adherence(self.prescribed, self.completed).ratio


def grouped(filters: Filters, by: str) -> list[GroupRow]:
    """Adherence, pain and ODI change per clinician or per template: one query."""
    key, label, join = GROUPINGS[by]
    sql = _banded_sql(GROUPED_SQL.format(group_key=key, group_label=label, group_join=join))
    with _report_cursor() as cursor:
        cursor.execute(sql, filters.params())
        return [
            GroupRow(
                k,
                lbl,
                n,
                adherent,
                int(prescribed),
                float(completed),
                _f(p1, 1),
                _f(p2, 1),
                pn,
                _f(pc, 1),
                _f(o1, 1),
                _f(o2, 1),
                on,
                _f(oc, 1),
            )
            for (
                k,
                lbl,
                n,
                adherent,
                prescribed,
                completed,
                p1,
                p2,
                pn,
                pc,
                o1,
                o2,
                on,
                oc,
            ) in cursor.fetchall()
        ]


# One patient.


@dataclass(frozen=True)
class DayPoint:
    day: date
    pain_before: float | None
    pain_after: float | None
    angle: int | None
    hold_seconds: int | None


@dataclass(frozen=True)
class OutcomePoint:
    day: date
    source: str  # "Intake 1", "Follow-up", "Discharge"
    pain: int | None
    odi: float | None


@dataclass(frozen=True)
class PatientReport:
    weeks: list[WeekAdherence]
    days: list[DayPoint]
    checkins: list[Any]  # rows of CHECKIN_FIELDS, newest first
    outcomes: list[OutcomePoint]
    alerts: list[Any]
    events: list[Any]

    @property
    def prescribed(self) -> int:
        return sum(w.adherence.prescribed for w in self.weeks)

    @property
    def completed(self) -> float:
        return sum(w.adherence.completed for w in self.weeks)

    @property
    def adherence(self) -> Adherence:
        return Adherence(self.prescribed, self.completed)

    @property
    def odi_baseline(self) -> OutcomePoint | None:
        return next((o for o in self.outcomes if o.odi is not None), None)

    @property
    def odi_latest(self) -> OutcomePoint | None:
        return next((o for o in reversed(self.outcomes) if o.odi is not None), None)

    @property
    def odi_change(self) -> float | None:
        first, last = self.odi_baseline, self.odi_latest
        if first is None or last is None or first is last:
            return None
        return round(last.odi - first.odi, 1)


PATIENT_DAYS_SQL = """
SELECT c.local_date, avg(c.pain_before), avg(c.pain_after),
       max(c.inversion_angle_deg), max(c.inversion_seconds)
  FROM programmes_checkin c
 WHERE c.patient_id = %(patient)s AND c.local_date BETWEEN %(start)s AND %(end)s
 GROUP BY c.local_date
 ORDER BY c.local_date
"""

PATIENT_OUTCOMES_SQL = """
SELECT i.taken_on, 'Intake ' || i.number, i.baseline_pain, i.odi_percent, 0, i.number
  FROM patients_intake i WHERE i.patient_id = %(patient)s
UNION ALL
SELECT q.taken_on, CASE q.kind WHEN 'discharge' THEN 'Discharge' ELSE 'Follow-up' END,
       q.pain, q.odi_percent, 1, q.id
  FROM programmes_questionnaireresponse q WHERE q.patient_id = %(patient)s
 ORDER BY 1, 5, 6
"""


CHECKIN_FIELDS = (
    "local_date",
    "completion",
    "inversion_angle_deg",
    "inversion_seconds",
    "pain_before",
    "pain_after",
    "symptoms",
    "note",
    "plan_name",
)


def patient_report(patient, *, start: date, end: date) -> PatientReport:
    """Everything the per-patient page shows: six queries whatever the history's length."""
    params = {"patient": patient.pk, "start": start, "end": end}
    with connection.cursor() as cursor:
        cursor.execute(PATIENT_DAYS_SQL, params)
        days = [DayPoint(d, _f(b, 1), _f(a, 1), angle, hold) for d, b, a, angle, hold in cursor]
        cursor.execute(PATIENT_OUTCOMES_SQL, params)
        outcomes = [
            OutcomePoint(d, source, pain, _f(odi, 1)) for d, source, pain, odi, _, _ in cursor
        ]
    # Rows, not models: the table and the CSV read these fields only, and a long
    # history costs no model instances (half this query's time in Python).
    checkins = list(
        CheckIn.objects.filter(patient=patient, local_date__range=(start, end))
        .order_by("-local_date", "-submitted_at")
        .annotate(plan_name=F("plan__name"))
        .values_list(*CHECKIN_FIELDS, named=True)
    )
    alerts = list(
        ClinicianAlert.objects.filter(patient=patient)
        .filter(created_at__date__range=(start, end))
        .select_related("acknowledged_by")
        .order_by("-created_at")
    )
    events = list(
        PlanEvent.objects.filter(plan__patient=patient, at__date__range=(start, end))
        .select_related("plan", "by")
        .order_by("-at", "-pk")
    )
    return PatientReport(
        weeks=weekly_adherence(patient.pk, start=start, end=end),
        days=days,
        checkins=checkins,
        outcomes=outcomes,
        alerts=alerts,
        events=events,
    )


CHECKIN_COLUMNS = (
    "date",
    "plan",
    "completion",
    "angle_deg",
    "hold_seconds",
    "pain_before",
    "pain_after",
    "symptoms",
    "note",
)


# Exports: rows for CSV, read through a server-side cursor.

EXPORT_KINDS: dict[str, str] = dict(ReportExport.Kind.choices)


def _percent(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio * 100:.1f}"


def _stream_query(sql: str, params: dict[str, Any]) -> Iterator[tuple]:
    """Rows of one query, EXPORT_CHUNK_ROWS at a time, through a server-side cursor."""
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        raise RuntimeError("Exports need server-side cursors (DISABLE_SERVER_SIDE_CURSORS).")
    with _report_cursor(server_side=True) as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(EXPORT_CHUNK_ROWS):
            yield from rows


def export_rows(
    kind: str, filters: Filters, *, now: datetime, reason: str | None = None
) -> Iterator[tuple]:
    """The header, then every row of one report table; memory stays one chunk.

    The query and its parameters are fixed here, at call time (in the caller's time
    zone), though the rows are read only as the iterator is consumed.
    """
    if kind == "patients":
        sql = _banded_sql(PATIENT_ROWS_SQL)
        params = filters.params(after_name=None, after_id=None, limit=None)
        return _patient_export(sql, params)
    if kind == "at_risk":
        sql, _ = _at_risk_sql("name")
        params = _at_risk_params(filters, now=now, reason=reason, after=None, limit=None)
        return _at_risk_export(sql, params, _safety_params(filters))
    if kind in ("clinicians", "templates"):
        return _grouped_export(filters, kind.removesuffix("s"))
    raise ValueError(f"Unknown export {kind!r}")


def _patient_export(sql: str, params: dict[str, Any]) -> Iterator[tuple]:
    yield PATIENT_COLUMNS
    for row in _stream_query(sql, params):
        r = _patient_row(row, cursor=False)
        yield (
            r.patient_id,
            r.name,
            r.clinician,
            r.prescribed,
            r.completed,
            _percent(r.adherence),
            r.band,
            r.data_days,
        )


def _at_risk_export(
    sql: str, params: dict[str, Any], safety_params: dict[str, Any]
) -> Iterator[tuple]:
    """As the page: who needs a clinician now first (their reasons in the last two
    columns), then the at-risk rows."""
    yield AT_RISK_COLUMNS + SAFETY_COLUMNS
    blank = ("",) * (len(AT_RISK_COLUMNS) - 3)
    for row in _stream_query(SAFETY_SQL, safety_params):
        s = _safety_row(row)
        yield (
            s.patient_id,
            s.name,
            s.clinician,
            *blank,
            "; ".join(f"{r.label} since {r.since.isoformat()}" for r in s.reasons),
            s.since.isoformat(),
        )
    for row in _stream_query(sql, params):
        r = _at_risk_row(row, cursor=False)
        yield (
            r.patient_id,
            r.name,
            r.clinician,
            _percent(r.adherence_7),
            r.last_checkin.isoformat() if r.last_checkin else "",
            r.stop_symptom,
            r.screening_valid_until or "",
            r.low_adherence,
            r.silent,
            r.screening_due,
            "",
            "",
        )


def _grouped_export(filters: Filters, by: str) -> Iterator[tuple]:
    yield GROUP_COLUMNS
    for g in grouped(filters, by):
        yield (
            g.label,
            g.patients,
            g.adherent,
            g.prescribed,
            g.completed,
            _percent(g.adherence),
            *("" if v is None else v for v in (g.pain_first_week, g.pain_last_week)),
            "" if g.pain_change is None else g.pain_change,
            g.pain_patients,
            *("" if v is None else v for v in (g.odi_baseline, g.odi_latest, g.odi_change)),
            g.odi_patients,
        )


def patient_checkin_rows(report: PatientReport) -> Iterator[tuple]:
    yield CHECKIN_COLUMNS
    for c in report.checkins:
        yield (
            c.local_date,
            c.plan_name,
            c.completion,
            c.inversion_angle_deg or "",
            c.inversion_seconds or "",
            "" if c.pain_before is None else c.pain_before,
            "" if c.pain_after is None else c.pain_after,
            " ".join(c.symptoms),
            c.note,
        )


def rows_noting_patients(rows: Iterable[tuple], shown: list[int]) -> Iterator[tuple]:
    """The rows unchanged; the patient id leading each patient's row is added to `shown`
    (the header and grouped rows lead with text), for the export's audit row."""
    for row in rows:
        if row and isinstance(row[0], int) and not isinstance(row[0], bool):
            shown.append(row[0])
        yield row


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    """One CSV line per row. Cells that a spreadsheet would run as a formula are quoted off."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_safe_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# Background exports: a row per job, its CSV kept as ordered chunks in PostgreSQL
# (web and worker need share no disk), progress counted as chunks land.


def filters_to_json(filters: Filters) -> dict[str, Any]:
    return {
        "clinic_id": filters.clinic_id,
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "clinician_id": filters.clinician_id,
        "template_id": filters.template_id,
        "band": filters.band,
    }


def filters_from_json(data: dict[str, Any]) -> Filters:
    return Filters(
        clinic_id=data["clinic_id"],
        start=date.fromisoformat(data["start"]),
        end=date.fromisoformat(data["end"]),
        clinician_id=data.get("clinician_id"),
        template_id=data.get("template_id"),
        band=data.get("band"),
    )


def report_export_request(*, user, clinic, kind: str, filters: Filters, reason: str | None = None):
    """Record an export job and enqueue it once the row is committed."""
    from reports.tasks import report_export_run

    if kind not in EXPORT_KINDS:
        raise ValueError(f"Unknown export {kind!r}")
    if filters.clinic_id != clinic.pk:
        raise ValueError("An export covers the requesting user's own clinic only.")
    with transaction.atomic():
        export = ReportExport.objects.create(
            clinic=clinic,
            requested_by=user,
            kind=kind,
            filters={**filters_to_json(filters), "reason": reason},
        )
        audit_record(
            actor=user,
            action="export",
            channel="export",
            obj=export,
            clinic=clinic,
            summary=f"Requested export: {EXPORT_KINDS[kind]}",
            changes={"filters": export.filters},
        )
        transaction.on_commit(lambda: report_export_run.delay(export.pk))
    return export


def report_export_run(*, export_id: int) -> str:
    """Write one export's CSV. A re-run of a finished export does nothing; a re-run of an
    interrupted one starts it again from the first row."""
    with transaction.atomic():
        export = ReportExport.objects.select_for_update().filter(pk=export_id).first()
        if export is None:
            return "missing"  # deleted before a worker got to it: nothing to do
        if export.status == ReportExport.Status.DONE:
            return export.status
        export.chunks.all().delete()
        export.status = ReportExport.Status.RUNNING
        export.attempts += 1
        export.rows_written = 0
        export.started_at = timezone.now()
        export.error = ""
        export.save(update_fields=["status", "attempts", "rows_written", "started_at", "error"])
        attempt = export.attempts
    filters = filters_from_json(export.filters)
    rows = export_rows(
        export.kind, filters, now=export.created_at, reason=export.filters.get("reason")
    )
    seq, written, lines = 0, -1, []  # the header is not a data row
    shown: list[int] = []
    try:
        for line in csv_lines(rows_noting_patients(rows, shown)):
            lines.append(line)
            written += 1
            if len(lines) >= EXPORT_CHUNK_ROWS:
                if not _export_chunk_save(export, attempt, seq, lines, written):
                    return "superseded"
                seq, lines = seq + 1, []
        if lines and not _export_chunk_save(export, attempt, seq, lines, written):
            return "superseded"
    except Exception as error:
        logger.exception("Report export %s failed", export_id)
        ReportExport.objects.filter(pk=export_id, attempts=attempt).update(
            status=ReportExport.Status.FAILED, error=str(error)[:500], finished_at=timezone.now()
        )
        raise
    with transaction.atomic():
        done = ReportExport.objects.filter(pk=export_id, attempts=attempt).update(
            status=ReportExport.Status.DONE,
            rows_written=max(written, 0),
            finished_at=timezone.now(),
        )
        if done:  # which patients the file holds, for its downloads' audit rows
            audit_record(
                actor=export.requested_by,
                action="export",
                obj=export,
                clinic=export.clinic,
                patient_ids=shown,
                summary=f"Export written: {EXPORT_KINDS.get(export.kind, export.kind)} "
                f"({len(shown)} patient rows)",
                changes={"stage": EXPORT_WRITTEN, "patient_rows": len(shown)},
            )
    return ReportExport.Status.DONE


EXPORT_WRITTEN = "written"


def report_export_patient_ids(export: ReportExport) -> list[int] | None:
    """The patients whose rows the export's file holds (None: written before this was kept)."""
    return (
        AuditEvent.objects.filter(
            object_type=ReportExport._meta.label_lower,
            object_id=str(export.pk),
            action=AuditEvent.Action.EXPORT,
            changes__stage=EXPORT_WRITTEN,
        )
        .order_by("-pk")
        .values_list("patient_ids", flat=True)
        .first()
    )


def _export_chunk_save(export, attempt: int, seq: int, lines: list[str], written: int) -> bool:
    """Store one chunk and the progress, unless a newer attempt has taken the export over."""
    try:
        with transaction.atomic():
            claimed = ReportExport.objects.filter(pk=export.pk, attempts=attempt).update(
                rows_written=max(written, 0)
            )
            if not claimed:
                return False
            ReportExportChunk.objects.create(export=export, seq=seq, text="".join(lines))
    except IntegrityError:
        return False
    return True
