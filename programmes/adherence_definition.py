"""Adherence by its definition, from scratch: a day grid of what each plan prescribed.

The reference the kept figures (`programmes.adherence`) are proved equal to, by the
reconcile command and the property test. Too slow for a request at any size: it builds
one row per plan and day.
"""

from __future__ import annotations

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


def grid_sql(patient_filter: str) -> str:
    # Only fixed fragments from this module are formatted in; values go as parameters.
    return DAY_GRID_SQL.format(patient_filter=patient_filter)
