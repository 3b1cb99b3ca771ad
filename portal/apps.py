from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The patient portal: today, check-in, history, progress, health update, intake."""

    name = "portal"
    verbose_name = "Patient portal"
