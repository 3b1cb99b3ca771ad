"""Staff reports: adherence and outcomes across a clinic, aggregated in PostgreSQL.

Every report runs a fixed number of queries whatever the clinic's size. The
day grid of `programmes.adherence` is the single definition of adherence
(CLINICAL.md section 6); these queries only group it (`reports.scope`), and the
bands use the thresholds of `programmes.domain.adherence`. Long lists page by
keyset (`after`, signed in `reports.cursors`), never OFFSET or COUNT(*) over the
whole table. The at-risk page reads `reports.risk`; the CSV exports, streamed or
written by a worker, are `reports.exports`.

Entry points a benchmark should time: `overview`, `patient_rows`, `at_risk`,
`grouped`, `patient_report`, and `reports.exports.export_rows` for the streamed CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import F

from programmes.adherence import Adherence, WeekAdherence, weekly_adherence
from programmes.domain.adherence import DATA_DAYS_THRESHOLD, AdherenceBand
from programmes.models import CheckIn, ClinicianAlert, PlanEvent
from reports.cursors import decode_cursor, encode_cursor

# The at-risk report lives in `reports.risk`; callers still read these names from here.
from reports.risk import SAFETY_COLUMNS as SAFETY_COLUMNS
from reports.risk import SAFETY_LABELS as SAFETY_LABELS
from reports.risk import at_risk as at_risk
from reports.risk import safety_rows as safety_rows
from reports.scope import CLINICIAN_NAME, SCOPE, Filters, banded_sql, report_cursor


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
    with report_cursor() as cursor:
        cursor.execute(banded_sql(OVERVIEW_SQL), filters.params(data_days=DATA_DAYS_THRESHOLD))
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


def patient_row(row, *, cursor: bool = True) -> PatientRow:
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
    with report_cursor() as cursor:
        cursor.execute(
            banded_sql(PATIENT_ROWS_SQL),
            filters.params(after_name=after_name, after_id=after_id, limit=limit),
        )
        return [patient_row(row) for row in cursor.fetchall()]


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
    sql = banded_sql(GROUPED_SQL.format(group_key=key, group_label=label, group_join=join))
    with report_cursor() as cursor:
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
