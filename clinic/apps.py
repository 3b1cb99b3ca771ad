from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from clinic import otp  # noqa: F401 - connects its user_logged_in receiver
        from clinic import signin  # noqa: F401 - starts each session's clock at sign-in
        from clinic import tokens  # noqa: F401 - revokes tokens when an account changes
        from clinic.roles import sync_role_groups

        # Every app sends post_migrate; syncing is idempotent and needs all apps' permissions.
        post_migrate.connect(sync_role_groups, dispatch_uid="clinic.sync_role_groups")
