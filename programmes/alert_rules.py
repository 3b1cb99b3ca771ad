"""Adherence alerts for clinicians (CLINICAL.md section 6), found in SQL, each raised once.

The dedupe key names the episode: "no check-in since check-in N" is one
alert however many sweeps see it; a new check-in starts a new episode.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from programmes.adherence import AROUND_NOW, adherence_sql
from programmes.alerts import alerts_unsent
from programmes.domain.adherence import (
    DROPPED_DAYS,
    LOW_ADHERENCE_ALERT,
    NO_CHECKIN_ALERT_HOURS,
    STALLED_DAYS,
)

SILENCE_SQL = """
WITH last AS (
    -- A plan never checked in is silent from midnight of its first day where the patient lives.
    SELECT pl.id AS plan_id, pl.patient_id, pl.clinic_id,
           COALESCE(max(c.submitted_at),
                    pl.start_date::timestamp AT TIME ZONE pt.time_zone) AS last_at,
           COALESCE(max(c.id)::text, 'start') AS last_ref
      FROM programmes_plan pl
      JOIN patients_patient pt ON pt.id = pl.patient_id
      LEFT JOIN programmes_checkin c ON c.plan_id = pl.id
     WHERE pl.status = 'active'
     GROUP BY pl.id, pt.id
),
rules(kind, threshold, label) AS (VALUES
    ('no_checkin', %(no_checkin)s::interval, 'No check-in for 49 hours'),
    ('stalled', %(stalled)s::interval, 'Stalled: no check-in for 14 days'),
    ('dropped', %(dropped)s::interval, 'Dropped: no check-in for 21 days'))
INSERT INTO programmes_clinicianalert
    (clinic_id, patient_id, plan_id, kind, message, dedupe_key, created_at)
SELECT l.clinic_id, l.patient_id, l.plan_id, r.kind,
       r.label || ' (last: ' || to_char(l.last_at, 'YYYY-MM-DD HH24:MI') || ' UTC).',
       r.kind || ':' || l.plan_id || ':' || l.last_ref, %(now)s
  FROM last l JOIN rules r ON %(now)s - l.last_at >= r.threshold
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""

# Each running plan's patient's own seven days, as the portal counts them: through today
# once they have checked in today, else through yesterday (an unfinished day is not missed).
LOW_ADHERENCE_WINDOWS = """
SELECT local.today AS key, p.patient_id, daterange(local.through - 6, local.through, '[]') AS r
  FROM programmes_plan p
  JOIN patients_patient pt ON pt.id = p.patient_id
 CROSS JOIN LATERAL (
     SELECT t.today, t.today - CASE WHEN EXISTS (
                SELECT 1 FROM programmes_checkin c
                 WHERE c.patient_id = pt.id AND c.local_date = t.today) THEN 0 ELSE 1 END
                AS through
       FROM (SELECT (%(now)s AT TIME ZONE pt.time_zone)::date AS today) t) local
 WHERE p.status = 'active'
"""

LOW_ADHERENCE_SQL = (
    adherence_sql(
        LOW_ADHERENCE_WINDOWS,
        plans="p.status = 'active'",
        per_patient_windows=True,
        days_between=AROUND_NOW,
    )
    + """
INSERT INTO programmes_clinicianalert
    (clinic_id, patient_id, plan_id, kind, message, dedupe_key, created_at)
SELECT pt.clinic_id, a.patient_id, a.plan_id, 'low_adherence',
       '7-day adherence ' || round(100 * a.completed / a.prescribed) || '%% ('
           || a.completed || ' of ' || a.prescribed || ' sessions).',
       'low_adherence:' || a.plan_id || ':' || to_char(a.key, 'IYYY-IW'), %(now)s
  FROM adherence a JOIN patients_patient pt ON pt.id = a.patient_id
 WHERE a.prescribed >= 3 AND a.completed / a.prescribed < %(threshold)s
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""
)


def alert_sweep(*, now: datetime | None = None) -> int:
    """Raise every due adherence alert once; e-mail the new ones after commit."""
    from programmes.tasks import alert_email

    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            SILENCE_SQL,
            {
                "now": now,
                "no_checkin": timedelta(hours=NO_CHECKIN_ALERT_HOURS),
                "stalled": timedelta(days=STALLED_DAYS),
                "dropped": timedelta(days=DROPPED_DAYS),
            },
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(LOW_ADHERENCE_SQL, {"now": now, "threshold": LOW_ADHERENCE_ALERT})
        ids += [row[0] for row in cursor.fetchall()]
        # Alerts raised earlier whose e-mail hasn't gone yet are tried again.
        unsent = alerts_unsent(now=now)
        for alert_id in ids + unsent:
            transaction.on_commit(lambda alert_id=alert_id: alert_email.delay(alert_id))
    return len(ids)
