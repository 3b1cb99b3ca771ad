"""The application's PostgreSQL role owns nothing: it reads and writes the application's
tables, and may only insert into and read the audit trail.

Roles are cluster-wide, so every role made here is named after this worker's test
database, and is either made inside the test's transaction (rolled back with it) or
dropped at the end.
"""

from __future__ import annotations

import io

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from clinic.audit import audit_change
from clinic.db_roles import AUDIT_TABLE, grant_app_privileges, quote_ident, restrict_audit_table
from clinic.management.commands.ensure_database import Command as EnsureDatabase
from clinic.models import AuditEvent
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db

INSUFFICIENT_PRIVILEGE = "42501"


def _role_name(suffix: str) -> str:
    return f"{connection.settings_dict['NAME']}_{suffix}"[:63]


@pytest.fixture
def app_role() -> str:
    """The application's role, made in the test's transaction and granted exactly what
    `ensure_database` and `migrate` grant; the tables' owner is the role that migrated."""
    role = _role_name("app")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {quote_ident(role)} NOLOGIN")
        cursor.execute("SELECT current_user")
        (owner,) = cursor.fetchone()
        grant_app_privileges(
            cursor, app_role=role, owner_role=owner, database=connection.settings_dict["NAME"]
        )
    return role


def _as_role(role: str, statement: str) -> None:
    """Run `statement` as `role` in a savepoint; a failure rolls back the role switch too."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {quote_ident(role)}")
        cursor.execute(statement)


FORBIDDEN_ON_AUDIT = {
    "truncate": f"TRUNCATE {AUDIT_TABLE}",
    "delete": f"DELETE FROM {AUDIT_TABLE}",
    "update": f"UPDATE {AUDIT_TABLE} SET summary = 'rewritten'",
    "disable every trigger": f"ALTER TABLE {AUDIT_TABLE} DISABLE TRIGGER ALL",
    "disable the append-only trigger": (
        f"ALTER TABLE {AUDIT_TABLE} DISABLE TRIGGER clinic_auditevent_no_update_delete"
    ),
    "alter a column": f"ALTER TABLE {AUDIT_TABLE} ALTER COLUMN summary DROP NOT NULL",
    "drop the table": f"DROP TABLE {AUDIT_TABLE}",
    "switch to replica (session)": "SET session_replication_role = replica",
    "switch to replica (transaction)": "SET LOCAL session_replication_role = replica",
    "create a table of its own": "CREATE TABLE app_owned_probe (id int)",
}


@pytest.mark.parametrize("statement", FORBIDDEN_ON_AUDIT.values(), ids=FORBIDDEN_ON_AUDIT.keys())
def test_application_role_cannot_change_or_empty_the_audit_trail(app_role, statement):
    clinic = ClinicFactory()
    audit_change(clinic, "read", "", by=None, channel="api")
    before = list(AuditEvent.objects.values_list("id", "summary"))

    with pytest.raises(DatabaseError) as refused:
        _as_role(app_role, statement)

    assert refused.value.__cause__.sqlstate == INSUFFICIENT_PRIVILEGE
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user = session_user, current_setting('session_replication_role')"
        )
        assert cursor.fetchone() == (True, "origin")
    assert list(AuditEvent.objects.values_list("id", "summary")) == before


def test_application_role_inserts_and_reads_audit_rows(app_role):
    clinic = ClinicFactory()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {quote_ident(app_role)}")
        event = audit_change(clinic, "read", "", by=None, channel="api")
        seen = list(AuditEvent.objects.filter(clinic=clinic).values_list("id", flat=True))
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (app_role,)
        cursor.execute("RESET ROLE")
    assert seen == [event.id]


def test_application_role_has_dml_on_every_other_table_and_owns_nothing(app_role):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname,
                   has_table_privilege(%(role)s, c.oid, 'SELECT'),
                   has_table_privilege(%(role)s, c.oid, 'INSERT'),
                   has_table_privilege(%(role)s, c.oid, 'UPDATE'),
                   has_table_privilege(%(role)s, c.oid, 'DELETE'),
                   has_table_privilege(%(role)s, c.oid, 'TRUNCATE, REFERENCES, TRIGGER'),
                   pg_has_role(%(role)s, c.relowner, 'USAGE')
            FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
            """,
            {"role": app_role},
        )
        rows = {name: flags for name, *flags in cursor.fetchall()}
    expected_others = [True, True, True, True, False, False]
    assert rows.pop(AUDIT_TABLE) == [True, True, False, False, False, False]
    # Django's own tables (sessions, auth, beat schedule, lockouts) included.
    assert {"django_session", "auth_user", "django_celery_beat_periodictask"} <= rows.keys()
    assert {name for name, flags in rows.items() if flags != expected_others} == set()


def test_a_grant_beyond_insert_and_read_on_the_audit_trail_is_taken_back(app_role):
    """`migrate` ends with this, so a default privilege or a hand-made grant can't last."""
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT ALL ON {AUDIT_TABLE} TO {quote_ident(app_role)}, PUBLIC")
        restrict_audit_table(cursor)
        cursor.execute(
            "SELECT has_table_privilege(%s, %s, 'UPDATE, DELETE, TRUNCATE'),"
            " has_table_privilege(%s, %s, 'SELECT'), has_table_privilege(%s, %s, 'INSERT')",
            [app_role, AUDIT_TABLE] * 3,
        )
        assert cursor.fetchone() == (False, True, True)


def _admin_params(dbname: str) -> dict:
    db = connection.settings_dict
    return {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
        "dbname": dbname,
    }


def _drop(database: str, roles: list[str]) -> None:
    with psycopg.connect(**_admin_params("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(database)} WITH (FORCE)")
        for role in roles:
            admin.execute(f"DROP ROLE IF EXISTS {quote_ident(role)}")


def test_ensure_database_creates_owner_and_app_roles_and_default_grants():
    """On an empty cluster's worth of names: the roles are made without superuser,
    the database belongs to the owner, and a table the owner creates later (as a
    migration would) is open to the application for DML, and not to TRUNCATE."""
    database, owner, app = _role_name("roles"), _role_name("owner"), _role_name("app")
    db = connection.settings_dict
    config = {"HOST": db["HOST"], "PORT": db["PORT"], "PASSWORD": ""}
    _drop(database, [owner, app])
    try:
        EnsureDatabase(stdout=io.StringIO()).ensure(
            app={**config, "USER": app, "NAME": database},
            owner={**config, "USER": owner, "NAME": database},
            admin={**config, "USER": db["USER"], "PASSWORD": db["PASSWORD"], "NAME": "postgres"},
        )
        with psycopg.connect(**_admin_params(database), autocommit=True) as session:
            roles = session.execute(
                "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls"
                " FROM pg_roles WHERE rolname IN (%s, %s) ORDER BY rolname = %s",
                [owner, app, app],
            ).fetchall()
            assert roles == [(owner, False, False, False, False), (app, False, False, False, False)]
            assert session.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [database]
            ).fetchone() == (owner,)
            session.execute(f"SET ROLE {quote_ident(owner)}")
            session.execute("CREATE TABLE later_table (id bigint GENERATED BY DEFAULT AS IDENTITY)")
            session.execute(f"SET ROLE {quote_ident(app)}")
            session.execute("INSERT INTO later_table DEFAULT VALUES")
            session.execute("UPDATE later_table SET id = id")
            session.execute("DELETE FROM later_table")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                session.execute("TRUNCATE later_table")
    finally:
        _drop(database, [owner, app])
