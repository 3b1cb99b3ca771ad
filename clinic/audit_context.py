"""Where an audit row comes from: the channel and the caller's address, per request, task
or management command.

Interfaces pass both to services explicitly where they can; a service called without them
takes them from the context opened here (by the request middleware, the Celery task
signals and `manage.py`), so no path records a web request as "admin" with no address.
Imports no models: `manage.py` opens the command's context before Django is set up.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# The values of AuditEvent.Channel (clinic.models), which a test holds in step.
API, ADMIN, PORTAL, SYSTEM, TASK, COMMAND = "api", "admin", "portal", "system", "task", "command"


@dataclass(frozen=True)
class AuditContext:
    channel: str
    ip_address: str | None = None


_context: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar(
    "audit_context", default=None
)


def client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def channel_of_path(path: str) -> str:
    """Which interface a URL belongs to: /api/ the API; /admin/ and /reports/ the staff
    side (recorded as "admin", as the reports always were); the rest the portal."""
    if path.startswith("/api/"):
        return API
    if path.startswith(("/admin/", "/reports/")):
        return ADMIN
    return PORTAL


@contextmanager
def audit_context(channel: str, *, request=None) -> Iterator[AuditContext]:
    """Rows written inside without a channel or request take these."""
    context = AuditContext(channel=channel, ip_address=client_ip(request))
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


def current_audit_context() -> AuditContext | None:
    return _context.get()


class AuditContextMiddleware:
    """Opens the audit context of each request: its channel (from the path) and address."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(channel_of_path(request.path_info), request=request):
            return self.get_response(request)


# Celery tasks: rows a task's services write without a channel are the task's.
_task_tokens: dict[str, contextvars.Token] = {}


def task_context_open(task_id: str | None = None, **_) -> None:
    if task_id:
        _task_tokens[task_id] = _context.set(AuditContext(channel=TASK))


def task_context_close(task_id: str | None = None, **_) -> None:
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # set in another context (a pool's thread): leave that one be
            _context.set(None)
