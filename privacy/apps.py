from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Data protection: a patient's export and erasure. Above patients and programmes,
    whose rows it reads and clears."""

    name = "privacy"
    verbose_name = "Data protection"
