"""Finding a built clinic again, and moving its dates forward to today.

The clinic is found again by its slug (which names its size). Its creation
time is the day its data ends on: built on an earlier day, its dates are moved
forward to today in place instead of building it again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.db import connection, transaction
from django.utils import timezone

from bench.synthetic.build import build
from bench.synthetic.spec import Spec, SyntheticClinic
from clinic.models import Clinic


def _counts(clinic: Clinic) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM patients_patient WHERE clinic_id = %s),"
            " (SELECT count(*) FROM programmes_checkin WHERE clinic_id = %s)",
            [clinic.pk, clinic.pk],
        )
        return cursor.fetchone()


def find(spec: Spec) -> Clinic | None:
    return Clinic.objects.filter(slug=spec.slug).first()


def ensure(
    spec: Spec,
    *,
    today: date | None = None,
    progress: Callable[[int, str], None] | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> SyntheticClinic:
    """The clinic of this spec: reused if it is there and complete, else built."""
    today = today or timezone.localdate()
    clinic = find(spec)
    if clinic is not None:
        patients, checkins = _counts(clinic)
        if patients != spec.patients:
            raise RuntimeError(
                f"clinic {spec.slug} holds {patients} patients, not {spec.patients}:"
                " drop the bench database and run again"
            )
        anchor = timezone.localdate(clinic.created_at)
        if anchor != today:
            say(f"moving {spec.slug} forward {(today - anchor).days} day(s) to {today}")
            shift(clinic, today - anchor)
        return SyntheticClinic(
            clinic,
            today,
            patients,
            checkins,
            True,
            f"{spec.slug}-staff",
            [f"{spec.slug}-clinician-{n}" for n in range(spec.clinicians)],
        )
    return build(spec, today=today, progress=progress)


# Moving a reused clinic to today.

SHIFT_SQL = [
    # The guard judges the whole moved clinic at the end of `shift`, in any order.
    """UPDATE patients_intake i SET taken_on = taken_on + %(days)s,
              bp_measured_at = bp_measured_at + %(interval)s
         FROM patients_patient p WHERE p.id = i.patient_id AND p.clinic_id = %(clinic)s""",
    """UPDATE patients_screening s SET screened_on = screened_on + %(days)s,
              valid_until = valid_until + %(days)s
         FROM patients_patient p WHERE p.id = s.patient_id AND p.clinic_id = %(clinic)s""",
    """UPDATE patients_screeningoverride o SET expires_on = expires_on + %(days)s
         FROM patients_screening s JOIN patients_patient p ON p.id = s.patient_id
        WHERE s.id = o.screening_id AND p.clinic_id = %(clinic)s""",
    """UPDATE programmes_plan SET start_date = start_date + %(days)s,
              end_date = end_date + %(days)s, step_started_on = step_started_on + %(days)s
        WHERE clinic_id = %(clinic)s""",
    """UPDATE programmes_planevent e SET at = at + %(interval)s
         FROM programmes_plan p WHERE p.id = e.plan_id AND p.clinic_id = %(clinic)s""",
    """UPDATE programmes_checkin SET local_date = local_date + %(days)s,
              submitted_at = submitted_at + %(interval)s WHERE clinic_id = %(clinic)s""",
    """UPDATE programmes_questionnaireresponse SET taken_on = taken_on + %(days)s
        WHERE clinic_id = %(clinic)s""",
    """UPDATE programmes_clinicianalert SET created_at = created_at + %(interval)s
        WHERE clinic_id = %(clinic)s""",
    "UPDATE clinic_clinic SET created_at = created_at + %(interval)s WHERE id = %(clinic)s",
]


# Screenings are never edited and a running plan's start date stays (programmes 0010):
# moving a whole clinic's dates by one delta keeps every relation between them, so these
# two refusals are lifted for this one transaction, and the deferred guard (screening,
# override, plan, caps in each patient's own date) judges the moved clinic before commit.
FIXED_DATE_TRIGGERS = (
    ("patients_screening", "inverto_screening_never_edited"),
    ("programmes_plan", "inverto_running_plan_start_fixed"),
)


@transaction.atomic
def shift(clinic: Clinic, delta: timedelta) -> None:
    """Move every date of the clinic by `delta`, so its history ends yesterday again."""
    with connection.cursor() as cursor:
        # ALTER TABLE waits for no pending trigger event: settle earlier writes first.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, trigger in FIXED_DATE_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        for statement in SHIFT_SQL:
            cursor.execute(statement, {"days": delta.days, "interval": delta, "clinic": clinic.pk})
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the guard judges the moved clinic
        for table, trigger in FIXED_DATE_TRIGGERS:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    clinic.refresh_from_db()
