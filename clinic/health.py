"""/healthz: the state of the database, Redis and the Celery workers.

Anyone gets the overall status (a load balancer needs no more); the parts, the
errors and the worker count only signed-in staff with their second factor, or a
caller from HEALTHZ_DETAIL_NETWORKS (the monitoring network).
"""

from __future__ import annotations

import ipaddress

import redis
from celery import current_app as celery_app
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from clinic.otp import second_factor_missing


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
    body = {"status": status}
    if _may_see_details(request):
        body.update(failing=failing, components=components)
    return JsonResponse(body, status=200 if not failing else 503)


def _may_see_details(request) -> bool:
    user = request.user
    if user.is_authenticated and user.is_staff and not second_factor_missing(request):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return False
    return any(address in network for network in settings.HEALTHZ_DETAIL_NETWORKS)


@never_cache
@require_GET
def livez(request):
    """Liveness: the process answers. No dependency is asked (that is /healthz)."""
    return JsonResponse({"status": "ok"})
