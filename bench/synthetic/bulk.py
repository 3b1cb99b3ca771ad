"""Writing a clinic fast: COPY, ids reserved in one step, foreign keys proved by set."""

from __future__ import annotations

from collections.abc import Iterable

# Bulk load: foreign keys checked by set, not row by row. PostgreSQL checks a
# deferred foreign key with one trigger event per row at commit, which for the
# clinic's ~2.5 million rows is most of the build. As a superuser, the build
# writes those tables with `session_replication_role = replica` (no triggers
# fire; check constraints and unique indexes still do) and then proves every
# foreign key of the tables it wrote with one anti-join each. Plans are always
# written with triggers on: the inversion guard must see every one of them.
BULK_TABLES = (
    "auth_user",
    "clinic_membership",
    "auth_user_groups",
    "patients_patient",
    "patients_intake",
    "patients_screening",
    "patients_screeningoverride",
    "programmes_planinversionstep",
    "programmes_planexercise",
    "programmes_planevent",
    "programmes_checkin",
    "programmes_checkin_exercises_done",
    "programmes_questionnaireresponse",
    "programmes_clinicianalert",
)


def can_bulk_load(cursor) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    return bool(cursor.fetchone()[0])


def set_triggers(cursor, *, on: bool) -> None:
    cursor.execute(f"SET LOCAL session_replication_role = {'DEFAULT' if on else 'replica'}")


FOREIGN_KEYS_SQL = """
SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(n, i)
               JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
  FROM pg_constraint c
 WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
 ORDER BY 1
"""


def verify_foreign_keys(cursor, tables: Iterable[str]) -> None:
    """Every foreign key of `tables` holds, checked with one anti-join per constraint."""
    cursor.execute(FOREIGN_KEYS_SQL, [list(tables)])
    for name, table, target, columns, target_columns in cursor.fetchall():
        present = " AND ".join(f'x."{column}" IS NOT NULL' for column in columns)
        pairs = zip(columns, target_columns, strict=True)
        match = " AND ".join(f'y."{other}" = x."{column}"' for column, other in pairs)
        cursor.execute(
            f"SELECT count(*) FROM {table} x WHERE {present}"  # noqa: S608 - catalog names
            f" AND NOT EXISTS (SELECT 1 FROM {target} y WHERE {match})"
        )
        dangling = cursor.fetchone()[0]
        if dangling:
            raise RuntimeError(f"{dangling} rows of {table} break foreign key {name}")


def reserve(cursor, table: str, count: int) -> int:
    """Take `count` ids from the table's sequence at once; returns the first."""
    if count == 0:
        return 0
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
        " nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
        [table, table, count],
    )
    return cursor.fetchone()[0] - count + 1


def columns(names: str) -> list[str]:
    return names.split()


def copy_rows(cursor, table: str, columns: Iterable[str], rows: Iterable[tuple], tick=None) -> int:
    cols = ", ".join(f'"{column}"' for column in columns)
    written = 0
    with cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
            if tick is not None and written % 5000 == 0:
                tick(5000)
    if tick is not None:
        tick(written % 5000)
    return written
