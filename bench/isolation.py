"""Other clinics in the same database, for as long as one measurement takes.

`report_isolation` asks whether a clinic's pages slow down as other clinics join. Inside
one transaction, rolled back at the end, `other_clinics` copies the measured clinic's
patients, plans, check-ins, alerts and kept adherence into `count` new clinics (ids
offset past every existing row), analyses the tables, and yields; the test Client in the
same thread and connection sees them. Nothing is left behind, so each run measures the
clinic before and after the others join.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from bench.synthetic.bulk import can_bulk_load, set_triggers
from clinic.models import Clinic

# table -> column -> the copy's expression ({k} is the copy's number from 1, {c} its
# clinic's id, {patients} etc. one more than the table's largest id). Every other column
# is copied as it is.
COPIES: dict[str, dict[str, str]] = {
    "patients_patient": {
        "id": "id + {k} * {patients}",
        "clinic_id": "{c}",
        "user_id": "NULL",
        "current_screening_id": "NULL",
    },
    "programmes_plan": {
        "id": "id + {k} * {plans}",
        "clinic_id": "{c}",
        "patient_id": "patient_id + {k} * {patients}",
        "current_step_id": "NULL",
    },
    "programmes_plandays": {
        "plan_id": "plan_id + {k} * {plans}",
        "clinic_id": "{c}",
        "patient_id": "patient_id + {k} * {patients}",
    },
    "programmes_checkin": {
        "id": "id + {k} * {checkins}",
        "clinic_id": "{c}",
        "plan_id": "plan_id + {k} * {plans}",
        "patient_id": "patient_id + {k} * {patients}",
    },
    "programmes_daycredit": {
        "id": "id + {k} * {credits}",
        "clinic_id": "{c}",
        "plan_id": "plan_id + {k} * {plans}",
        "patient_id": "patient_id + {k} * {patients}",
    },
    "programmes_clinicianalert": {
        "id": "id + {k} * {alerts}",
        "clinic_id": "{c}",
        "plan_id": "plan_id + {k} * {plans}",
        "patient_id": "patient_id + {k} * {patients}",
        "checkin_id": "checkin_id + {k} * {checkins}",
        "dedupe_key": "dedupe_key || ':copy{k}'",
    },
}
SPANS = {
    "patients": "patients_patient",
    "plans": "programmes_plan",
    "checkins": "programmes_checkin",
    "credits": "programmes_daycredit",
    "alerts": "programmes_clinicianalert",
}


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_name = %s ORDER BY ordinal_position",
        [table],
    )
    return [name for (name,) in cursor.fetchall()]


@contextmanager
def other_clinics(clinic: Clinic, *, count: int) -> Iterator[int]:
    """`count` copies of `clinic`'s rows under new clinics, until the block ends.

    Yields how many patients the copies hold. Needs a superuser (triggers are off for
    the copy, as for the synthetic build: the copies are the clinic's own rows, already
    proved, under other ids).
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if not can_bulk_load(cursor):
                raise RuntimeError("report_isolation needs a superuser to copy clinics")
            set_triggers(cursor, on=False)
            spans = {}
            for name, table in SPANS.items():
                cursor.execute(f"SELECT COALESCE(max(id), 0) + 1 FROM {table}")  # noqa: S608
                spans[name] = cursor.fetchone()[0]
            copies = []
            for k in range(1, count + 1):
                copy = Clinic.objects.create(slug=f"{clinic.slug}-copy-{k}", name=f"Copy {k}")
                copies.append(copy)
                for table, overrides in COPIES.items():
                    columns = _columns(cursor, table)
                    values = ", ".join(
                        overrides.get(column, column).format(k=k, c=copy.pk, **spans)
                        for column in columns
                    )
                    cursor.execute(
                        f"INSERT INTO {table} ({', '.join(columns)})"  # noqa: S608 - fixed names
                        f" SELECT {values} FROM {table} WHERE clinic_id = %s",
                        [clinic.pk],
                    )
            for table in COPIES:
                cursor.execute(f"ANALYZE {table}")
            cursor.execute(
                "SELECT count(*) FROM patients_patient WHERE clinic_id = ANY(%s)",
                [[copy.pk for copy in copies]],
            )
            patients = cursor.fetchone()[0]
            set_triggers(cursor, on=True)
            try:
                yield patients
            finally:
                transaction.set_rollback(True)
    finally:
        # The rolled-back copies leave millions of dead rows that later scans would read, and
        # ANALYZE's row counts outlive a rollback: vacuum and count the tables again.
        with connection.cursor() as cursor:
            for table in COPIES:
                # (Inside a test's transaction VACUUM can't run; the rollback cleans up there.)
                vacuum = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
                cursor.execute(f"{vacuum} {table}")
