"""`migrate` as the database's owner, then the application's grants.

With MIGRATION_DATABASE_URL set, the default connection is switched to the owner's
credentials for the run (the application's role, DATABASE_URL, owns nothing and
can't create or alter a table), and afterwards the application's role is given its
privileges on whatever the migrations created. Either way, the audit trail is left
with INSERT and SELECT only for every role but its owner.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from clinic.db_roles import grant_app_privileges, restrict_audit_table

CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


class Command(migrate.Command):
    help = migrate.Command.help + " Runs as MIGRATION_DATABASE_URL's owner role when set."

    def handle(self, *args, **options) -> None:
        alias = options["database"]
        connection = connections[alias]
        owner = settings.MIGRATION_DATABASE if alias == DEFAULT_DB_ALIAS else None
        if not owner or owner["USER"] == connection.settings_dict["USER"]:
            super().handle(*args, **options)
            self._after(alias, app_role=None, owner_role=None)
            return
        app_role = connection.settings_dict["USER"]
        saved = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
        connection.close()
        connection.settings_dict.update({key: owner.get(key) for key in CREDENTIALS})
        try:
            super().handle(*args, **options)
            self._after(alias, app_role=app_role, owner_role=owner["USER"])
        finally:
            connection.close()
            connection.settings_dict.update(saved)

    def _after(self, alias: str, *, app_role: str | None, owner_role: str | None) -> None:
        connection = connections[alias]
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            if app_role and owner_role:
                grant_app_privileges(
                    cursor,
                    app_role=app_role,
                    owner_role=owner_role,
                    database=connection.settings_dict["NAME"],
                )
            else:
                restrict_audit_table(cursor)
        if app_role and self.verbosity >= 1:
            self.stdout.write(f"Granted {app_role} its privileges (audit trail: insert, read).")
