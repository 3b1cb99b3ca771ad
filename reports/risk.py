"""The at-risk report: who needs a call today, and above them who needs a clinician now.

Both read as of `now`, whatever the period; the at-risk rows page by keyset in the
chosen order, the safety rows come whole (one query over the clinic's open alerts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from programmes.adherence import AROUND_NOW, Adherence, adherence_sql
from programmes.alerts import SAFETY_KINDS
from programmes.domain.adherence import (
    LOW_ADHERENCE_ALERT,
    LOW_ADHERENCE_WINDOW_DAYS,
    NO_CHECKIN_ALERT_HOURS,
)
from programmes.domain.symptoms import STOP_SYMPTOMS
from programmes.models import ClinicianAlert
from reports.cursors import decode_cursor, encode_cursor
from reports.scope import CLINICIAN_NAME, SCOPE, Filters, report_cursor

# A screening "expiring" within this many days (the admin's filter uses the same).
SCREENING_DUE_DAYS = 14
# As the low-adherence alert rule: fewer prescribed sessions say too little.
LOW_ADHERENCE_MIN_PRESCRIBED = 3
STOP_SYMPTOM_DAYS = 7

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

# Each patient's own seven days: today and the six days before, where they live.
SEVEN_DAY_WINDOWS = f"""
SELECT pt.id AS key, pt.id AS patient_id,
       daterange({PATIENT_TODAY} - %(back_days)s, {PATIENT_TODAY}, '[]') AS r
  FROM patients_patient pt WHERE pt.clinic_id = %(clinic)s
"""  # noqa: S608 - only this module's fixed fragments are formatted in

AT_RISK_SQL = f"""
, seven AS (
    SELECT a.patient_id, sum(a.prescribed)::bigint AS prescribed, sum(a.completed) AS completed
      FROM adherence a GROUP BY a.patient_id
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


def at_risk_sql(sort: str) -> tuple[str, str]:
    descending = sort.startswith("-")
    sort_key, sort_type = AT_RISK_SORTS[sort.lstrip("-")]
    kept = adherence_sql(
        SEVEN_DAY_WINDOWS,
        plans=SCOPE,
        per_patient_windows=True,
        one_clinic=True,
        days_between=AROUND_NOW,
    )
    sql = kept + AT_RISK_SQL.format(
        sort_key=sort_key,
        sort_type=sort_type,
        cmp="<" if descending else ">",
        direction="DESC" if descending else "ASC",
    )
    return sql, sort


def at_risk_params(
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
    return params


def at_risk_row(row, *, cursor: bool = True) -> AtRiskRow:
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
    sql, _ = at_risk_sql(sort)
    with report_cursor() as cursor:
        cursor.execute(
            sql, at_risk_params(filters, now=now, reason=reason, after=after, limit=limit)
        )
        return [at_risk_row(row) for row in cursor.fetchall()]


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


def safety_row(row) -> SafetyRow:
    pid, name, clinician, phone, since, reasons = row
    return SafetyRow(
        pid,
        name,
        clinician,
        phone,
        since,
        tuple(SafetyReason(kind, datetime.fromisoformat(at)) for kind, at in reasons),
    )


def safety_params(filters: Filters) -> dict[str, Any]:
    return filters.params(kinds=[str(kind) for kind in SAFETY_KINDS])


def safety_rows(filters: Filters) -> list[SafetyRow]:
    """Every patient with an open safety alert (or an unanswered check-in red flag), gravest
    first: one query over the clinic's open alerts, whatever their number.

    A row stays until a clinician acknowledges the alerts behind it; the period and the
    at-risk reason filter do not apply, clinician and template do.
    """
    with report_cursor() as cursor:
        cursor.execute(SAFETY_SQL, safety_params(filters))
        return [safety_row(row) for row in cursor.fetchall()]
