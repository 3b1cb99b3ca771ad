from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Staff reports: adherence, at-risk patients, clinicians, templates, CSV exports."""

    name = "reports"
    verbose_name = "Reports"
