"""Create the configured PostgreSQL database if it is missing (used by `make run`), and,
when MIGRATION_DATABASE_URL names an owner, the owner and application roles.

With an owner: both roles are created if missing (LOGIN, no superuser, no CREATEDB or
CREATEROLE; the URLs' passwords), the database is created owned by the owner (or an
existing one is handed to it, with every table and function a superuser's migrations
left behind), and the application's role gets its privileges (clinic/db_roles.py).
This needs a superuser: DATABASE_ADMIN_URL, or else the owner's or the application's
own credentials are tried.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from clinic.db_roles import adopt_objects, grant_app_privileges, quote_ident


def _params(config: dict[str, Any], dbname: str) -> dict[str, Any]:
    return {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "dbname": dbname,
        "connect_timeout": 5,
    }


class Command(BaseCommand):
    help = (
        "Create the database named in DATABASE_URL if it does not exist yet; with"
        " MIGRATION_DATABASE_URL, also the owner and application roles and the grants."
    )

    def handle(self, *args, **options) -> None:
        self.ensure(
            app=settings.DATABASES["default"],
            owner=settings.MIGRATION_DATABASE,
            admin=settings.DATABASE_ADMIN,
        )

    def ensure(
        self,
        *,
        app: dict[str, Any],
        owner: dict[str, Any] | None,
        admin: dict[str, Any] | None,
    ) -> None:
        """Set up `app`'s database (and, with `owner`, the roles), connected as `admin`."""
        if owner and owner["USER"] == app["USER"]:
            owner = None
        admin_db = admin["NAME"] if admin else "postgres"
        admin = admin or owner or app
        name = app["NAME"]
        try:
            with psycopg.connect(**_params(admin, admin_db), autocommit=True) as connection:
                if owner:
                    self._ensure_role(connection, owner, kind="owner")
                    self._ensure_role(connection, app, kind="application")
                self._ensure_database(connection, name, owner_role=owner and owner["USER"])
            if owner:
                with (
                    psycopg.connect(**_params(admin, name)) as connection,
                    connection.transaction(),
                ):
                    adopted = adopt_objects(connection.cursor(), owner_role=owner["USER"])
                    grant_app_privileges(
                        connection.cursor(),
                        app_role=app["USER"],
                        owner_role=owner["USER"],
                        database=name,
                    )
                if adopted:
                    self.stdout.write(f"Handed {len(adopted)} objects to {owner['USER']}.")
                self.stdout.write(
                    f"{app['USER']} may read and write {name}'s tables; the audit trail"
                    " only insert and read."
                )
            elif self._is_superuser(app):
                self.stdout.write(
                    self.style.WARNING(
                        f"DATABASE_URL's role {app['USER']} is a superuser: it could empty the"
                        " audit trail. Set MIGRATION_DATABASE_URL to run as a role that owns"
                        " nothing (README, Settings)."
                    )
                )
        except psycopg.OperationalError as error:
            raise CommandError(f"PostgreSQL is not reachable for DATABASE_URL: {error}") from None
        except psycopg.errors.InsufficientPrivilege as error:
            raise CommandError(
                f"{admin['USER']} may not set up the database ({error}); set"
                " DATABASE_ADMIN_URL to a superuser's URL"
            ) from None

    def _ensure_role(self, connection, config: dict[str, Any], *, kind: str) -> None:
        role = config["USER"]
        row = connection.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role]
        ).fetchone()
        if row is None:
            password = config.get("PASSWORD")
            connection.execute(
                f"CREATE ROLE {quote_ident(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
                " NOREPLICATION NOBYPASSRLS"
                + (" PASSWORD " + psycopg.sql.quote(password) if password else "")
            )
            self.stdout.write(self.style.SUCCESS(f"Created the {kind} role {role}."))
        elif kind == "application" and row[0]:
            raise CommandError(
                f"DATABASE_URL's role {role} is a superuser: the application must run as a"
                " role that owns nothing (README, Settings)"
            )

    def _ensure_database(self, connection, name: str, *, owner_role: str | None) -> None:
        row = connection.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if row is None:
            connection.execute(
                f"CREATE DATABASE {quote_ident(name)}"
                + (f" OWNER {quote_ident(owner_role)}" if owner_role else "")
            )
            self.stdout.write(self.style.SUCCESS(f"Created database {name}."))
            return
        if owner_role and row[0] != owner_role:
            connection.execute(
                f"ALTER DATABASE {quote_ident(name)} OWNER TO {quote_ident(owner_role)}"
            )
            self.stdout.write(f"Database {name} exists; its owner is now {owner_role}.")
            return
        self.stdout.write(f"Database {name} exists.")

    def _is_superuser(self, config: dict[str, Any]) -> bool:
        try:
            with psycopg.connect(**_params(config, config["NAME"])) as connection:
                row = connection.execute(
                    "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                ).fetchone()
        except psycopg.Error:
            return False
        return bool(row and row[0])
