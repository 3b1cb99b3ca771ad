"""The reports' Celery task: one staff export's CSV, written by a worker."""

from celery import shared_task


# The task keeps its first name so exports queued before a deploy still run.
@shared_task(name="programmes.report_export_run", acks_late=True)
def report_export_run(export_id: int) -> str:
    """Write one staff report export's CSV; a redelivery of a finished export does nothing."""
    from reports.exports import report_export_run as run

    return run(export_id=export_id)
