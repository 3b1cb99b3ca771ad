from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from celery.signals import task_postrun, task_prerun

        # Receivers: second-factor lockout resets, session clocks, token revocation,
        # and the sign-in audit rows.
        from clinic import otp, signin, signin_audit, tokens  # noqa: F401
        from clinic.audit_context import task_context_close, task_context_open
        from clinic.roles import sync_role_groups

        # Every app sends post_migrate; syncing is idempotent and needs all apps' permissions.
        post_migrate.connect(sync_role_groups, dispatch_uid="clinic.sync_role_groups")
        # Audit rows written by a task's services carry the channel "task".
        task_prerun.connect(task_context_open, weak=False, dispatch_uid="clinic.audit_task_open")
        task_postrun.connect(task_context_close, weak=False, dispatch_uid="clinic.audit_task_close")
