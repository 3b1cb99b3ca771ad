"""Patients' periodic work. Thin: the service makes a re-run harmless."""

from celery import shared_task

from patients import services


@shared_task(name="patients.screening_expiry_sweep")
def screening_expiry_sweep() -> int:
    """Pause inversion for every patient whose intake passed its 90 days."""
    return services.screening_expiry_sweep()
