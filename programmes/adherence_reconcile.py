"""Reconcile the kept adherence tables with a recomputation from their source rows.

The triggers of migration 0015 keep `programmes_plandays` and `programmes_daycredit` in
step with plans, plan events, patients' zones and check-ins. This recomputes both from
those rows, reports each difference and, unless asked only to look, repairs it, in one
transaction holding an advisory lock so two runs don't race.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import connection, transaction

log = logging.getLogger(__name__)

# Any fixed number: the lock only has to be the same for every run.
RECONCILE_LOCK = 0x1A_D4E5

EXPECTED_DAYS = """
SELECT p.id AS plan_id, p.patient_id, p.clinic_id, programmes_adherence_days(p.id) AS days
  FROM programmes_plan p
"""
EXPECTED_CREDIT = f"""
SELECT c.plan_id, c.day, c.patient_id, c.clinic_id, c.checkins, c.credit,
       CASE WHEN c.day <@ e.days THEN LEAST(1.0, c.credit) ELSE 0 END AS completed
  FROM (SELECT plan_id, local_date AS day, patient_id, clinic_id, count(*) AS checkins,
               sum(programmes_checkin_credit(completion)) AS credit
          FROM programmes_checkin GROUP BY plan_id, local_date, patient_id, clinic_id) c
  LEFT JOIN ({EXPECTED_DAYS}) e ON e.plan_id = c.plan_id
"""  # noqa: S608 - fixed fragments only

DAYS_DIFFERENCES = f"""
SELECT COALESCE(e.plan_id, k.plan_id), e.days::text, k.days::text
  FROM ({EXPECTED_DAYS}) e
  FULL JOIN programmes_plandays k ON k.plan_id = e.plan_id
 WHERE (e.plan_id, e.patient_id, e.clinic_id, e.days)
       IS DISTINCT FROM (k.plan_id, k.patient_id, k.clinic_id, k.days)
 ORDER BY 1
"""  # noqa: S608 - fixed fragments only
CREDIT_DIFFERENCES = f"""
SELECT COALESCE(e.plan_id, k.plan_id), COALESCE(e.day, k.day),
       e.checkins, e.credit, e.completed, k.checkins, k.credit, k.completed
  FROM ({EXPECTED_CREDIT}) e
  FULL JOIN programmes_daycredit k ON k.plan_id = e.plan_id AND k.day = e.day
 WHERE (e.plan_id, e.day, e.patient_id, e.clinic_id, e.checkins, e.credit, e.completed)
       IS DISTINCT FROM
       (k.plan_id, k.day, k.patient_id, k.clinic_id, k.checkins, k.credit, k.completed)
 ORDER BY 1, 2
"""  # noqa: S608 - fixed fragments only

REPAIR_DAYS = """
DELETE FROM programmes_plandays k
 WHERE NOT EXISTS (SELECT 1 FROM programmes_plan p WHERE p.id = k.plan_id);
SELECT programmes_adherence_rebuild(ARRAY(SELECT id FROM programmes_plan));
"""
REPAIR_CREDIT = f"""
DELETE FROM programmes_daycredit k
 WHERE NOT EXISTS (SELECT 1 FROM programmes_checkin c
                    WHERE c.plan_id = k.plan_id AND c.local_date = k.day);
INSERT INTO programmes_daycredit AS k
       (plan_id, day, patient_id, clinic_id, checkins, credit, completed)
SELECT * FROM ({EXPECTED_CREDIT}) e
    ON CONFLICT (plan_id, day) DO UPDATE
   SET patient_id = EXCLUDED.patient_id, clinic_id = EXCLUDED.clinic_id,
       checkins = EXCLUDED.checkins, credit = EXCLUDED.credit, completed = EXCLUDED.completed
 WHERE (k.patient_id, k.clinic_id, k.checkins, k.credit, k.completed)
       IS DISTINCT FROM (EXCLUDED.patient_id, EXCLUDED.clinic_id, EXCLUDED.checkins,
                         EXCLUDED.credit, EXCLUDED.completed);
"""  # noqa: S608 - fixed fragments only


# Credits first: rebuilding the plans' days then settles each day's `completed`.
CLINIC_REBUILD = """
DELETE FROM programmes_daycredit WHERE clinic_id = %(clinic)s;
INSERT INTO programmes_daycredit (plan_id, day, patient_id, clinic_id, checkins, credit)
SELECT plan_id, local_date, patient_id, clinic_id, count(*),
       sum(programmes_checkin_credit(completion))
  FROM programmes_checkin WHERE clinic_id = %(clinic)s
 GROUP BY plan_id, local_date, patient_id, clinic_id;
SELECT programmes_adherence_rebuild(
    ARRAY(SELECT id FROM programmes_plan WHERE clinic_id = %(clinic)s));
"""


def adherence_rebuild_clinic(clinic_id: int) -> None:
    """Recompute one clinic's kept rows from its source rows, in the caller's transaction.

    For a bulk load that wrote check-ins and plan events with triggers off (the bench's
    synthetic clinic); everything else is kept by the triggers.
    """
    with connection.cursor() as cursor:
        cursor.execute(CLINIC_REBUILD, {"clinic": clinic_id})


@dataclass
class Reconciliation:
    """What differed (plan ids; plan id and day) and whether it was repaired."""

    plans: list[tuple] = field(default_factory=list)
    credits: list[tuple] = field(default_factory=list)
    repaired: bool = False

    @property
    def differences(self) -> int:
        return len(self.plans) + len(self.credits)


def adherence_reconcile(*, repair: bool = True) -> Reconciliation:
    """Compare the kept tables with their recomputation; repair them unless `repair=False`."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RECONCILE_LOCK])
        # Writers take these locks too (their triggers write the rows); SHARE ROW
        # EXCLUSIVE lets reads go on while the comparison and repair see one state.
        cursor.execute(
            "LOCK TABLE programmes_plandays, programmes_daycredit IN SHARE ROW EXCLUSIVE MODE"
        )
        cursor.execute(DAYS_DIFFERENCES)
        result = Reconciliation(plans=cursor.fetchall())
        cursor.execute(CREDIT_DIFFERENCES)
        result.credits = cursor.fetchall()
        if result.differences:
            log.warning(
                "adherence reconcile: %d plan(s) and %d day credit(s) differ",
                len(result.plans),
                len(result.credits),
            )
        if repair and result.differences:
            if result.plans:
                cursor.execute(REPAIR_DAYS)
            if result.credits:
                cursor.execute(REPAIR_CREDIT)
            result.repaired = True
    return result
