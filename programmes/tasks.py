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
