"""PostgreSQL roles: the owner that migrations run as, and the application's role.

The application connects as a role that owns nothing. It may read and write the
application's tables, and only insert into and read the audit trail: without
ownership it can't ALTER a table, disable its triggers or truncate it, and without
superuser it can't set `session_replication_role` (which would skip the triggers).

Used by `ensure_database` (as a superuser, when the database is set up) and by
`migrate` (as the owner, after every run, so tables a migration creates get their
grants and the audit trail never gains UPDATE or DELETE).
"""

from __future__ import annotations

from typing import Any

AUDIT_TABLE = "clinic_auditevent"
# What the application may do to every table but the audit trail.
APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
AUDIT_TABLE_PRIVILEGES = "SELECT, INSERT"


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, quoted (role and database names come from URLs)."""
    return '"' + name.replace('"', '""') + '"'


def grant_app_privileges(cursor: Any, *, app_role: str, owner_role: str, database: str) -> None:
    """Give `app_role` DML on every table of schema public, and on the audit trail only
    INSERT and SELECT; tables the owner creates later get the same by default.

    Idempotent; run in one transaction, as the owner or a superuser, connected to
    `database`.
    """
    app, owner, db = quote_ident(app_role), quote_ident(owner_role), quote_ident(database)
    statements = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app}",
        f"REVOKE CREATE ON DATABASE {db} FROM {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {app}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {app}",
        f"GRANT {APP_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
        f" GRANT {APP_TABLE_PRIVILEGES} ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public"
        f" GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]
    for statement in statements:
        cursor.execute(statement)
    restrict_audit_table(cursor)


def restrict_audit_table(cursor: Any) -> None:
    """Take every privilege but INSERT and SELECT on the audit trail from every role
    that isn't its owner, whoever granted it (a default privilege, a hand-made grant)."""
    cursor.execute(
        """
        DO $$
        DECLARE grantee_name text;
        BEGIN
            IF to_regclass('public.clinic_auditevent') IS NULL THEN
                RETURN;
            END IF;
            FOR grantee_name IN
                SELECT DISTINCT CASE WHEN acl.grantee = 0 THEN 'PUBLIC'
                                     ELSE quote_ident(pg_get_userbyid(acl.grantee)) END
                FROM pg_class AS c, aclexplode(c.relacl) AS acl
                WHERE c.oid = 'public.clinic_auditevent'::regclass
                  AND acl.grantee <> c.relowner
                  AND acl.privilege_type NOT IN ('SELECT', 'INSERT')
            LOOP
                EXECUTE format(
                    'REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'
                    ' ON public.clinic_auditevent FROM %s', grantee_name);
            END LOOP;
        END
        $$
        """
    )


def adopt_objects(cursor: Any, *, owner_role: str) -> list[str]:
    """Make `owner_role` the owner of every table, view, sequence and function in schema
    public that someone else owns (a database first migrated as a superuser). Returns
    what changed hands. Run as a superuser, connected to the database."""
    owner = quote_ident(owner_role)
    cursor.execute(
        """
        SELECT c.oid::regclass::text, c.relkind
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public'
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)
          -- identity and serial sequences follow their table; extensions keep theirs
          AND NOT EXISTS (
              SELECT 1 FROM pg_depend AS d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                AND d.deptype IN ('a', 'i', 'e'))
        ORDER BY c.relkind, 1
        """,
        [owner_role],
    )
    keyword = {
        "r": "TABLE",
        "p": "TABLE",
        "v": "VIEW",
        "m": "MATERIALIZED VIEW",
        "S": "SEQUENCE",
        "f": "FOREIGN TABLE",
    }
    changed = []
    for name, kind in cursor.fetchall():
        cursor.execute(f"ALTER {keyword[kind]} {name} OWNER TO {owner}")
        changed.append(name)
    cursor.execute(
        """
        SELECT p.oid::regprocedure::text
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prokind IN ('f', 'p')
          AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = %s)
          AND NOT EXISTS (
              SELECT 1 FROM pg_depend AS d
              WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
        ORDER BY 1
        """,
        [owner_role],
    )
    for (signature,) in cursor.fetchall():
        cursor.execute(f"ALTER ROUTINE {signature} OWNER TO {owner}")
        changed.append(signature)
    return changed
