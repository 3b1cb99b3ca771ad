"""/healthz: the state of the database, Redis and the Celery workers."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic.celery import app as celery_app


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _celery_workers() -> str:
    replies = celery_app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no worker answered")
    return f"ok ({len(replies)} worker{'s' if len(replies) != 1 else ''})"


CHECKS = {"database": _database, "redis": _redis, "celery": _celery_workers}


@never_cache
@require_GET
def healthz(request):
    components: dict[str, str] = {}
    failing: list[str] = []
    for name, check in CHECKS.items():
        if name == "celery" and "redis" in failing:
            # Asking workers through a dead broker would only hang; the cause is known.
            components[name] = "down: broker unreachable"
            failing.append(name)
            continue
        try:
            components[name] = check()
        except Exception as error:  # any failure is a "down" state to report
            components[name] = f"down: {error.__class__.__name__}: {error}"[:200]
            failing.append(name)
    status = "ok" if not failing else "down"
    return JsonResponse(
        {"status": status, "failing": failing, "components": components},
        status=200 if not failing else 503,
    )


@never_cache
@require_GET
def livez(request):
    """Liveness: the process answers. No dependency is asked (that is /healthz)."""
    return JsonResponse({"status": "ok"})
