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


@shared_task(name="programmes.reminder_sweep")
def reminder_sweep() -> int:
    """Every few minutes: find due reminders in SQL and enqueue their sends in batches."""
    from programmes.reminders import reminder_sweep as sweep

    return sweep()


@shared_task(name="programmes.reminder_send_batch", bind=True, max_retries=None)
def reminder_send_batch(self, delivery_ids: list[int]) -> int:
    """Send a batch of ledger rows; retry only the rows whose channel failed, with backoff."""
    from programmes.reminders import reminder_send_batch as send

    failed = send(delivery_ids)
    if failed:
        raise self.retry(args=[failed], countdown=min(30 * 2**self.request.retries, 1800))
    return len(delivery_ids)


@shared_task(name="programmes.alert_sweep")
def alert_sweep() -> int:
    """Raise the adherence alerts (49 h, low 7-day adherence, stalled, dropped), each once."""
    from programmes.alert_rules import alert_sweep as sweep

    return sweep()


@shared_task(name="programmes.adherence_reconcile")
def adherence_reconcile() -> int:
    """Nightly: recompute the kept adherence, repair and count what differed."""
    from programmes.adherence_reconcile import adherence_reconcile as reconcile

    return reconcile().differences
