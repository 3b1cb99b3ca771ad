from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        # Receivers: second-factor lockout resets, session clocks, token revocation.
        from clinic import otp, signin, tokens  # noqa: F401
        from clinic.roles import sync_role_groups

        # Every app sends post_migrate; syncing is idempotent and needs all apps' permissions.
        post_migrate.connect(sync_role_groups, dispatch_uid="clinic.sync_role_groups")
