"""Plans' background work: thin, idempotent, by id."""

from celery import shared_task

from programmes import services


@shared_task(
    name="programmes.progression_evaluate",
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=5,
)
def progression_evaluate(plan_id: int) -> str | None:
    """Re-run the progression engine for one plan (after a check-in). Safe to repeat."""
    proposal = services.progression_evaluate(plan_id=plan_id)
    return proposal.action if proposal else None


@shared_task(
    name="programmes.alert_email", autoretry_for=(OSError,), retry_backoff=True, max_retries=5
)
def alert_email(alert_id: int) -> bool:
    """E-mail one clinician alert, once (the service marks it sent)."""
    from programmes.alerts import alert_send_email

    return alert_send_email(alert_id=alert_id)
