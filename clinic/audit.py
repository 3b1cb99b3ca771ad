"""Writing the audit trail. Rows are only ever inserted (PostgreSQL refuses the rest).

Every row says where the event came from (the channel) and, for a request, the
caller's address: given explicitly, or else the current `clinic.audit_context`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import models

from clinic.audit_context import channel_of_path, client_ip, current_audit_context
from clinic.models import AuditEvent

Channel = AuditEvent.Channel

_batched: ContextVar[list[AuditEvent] | None] = ContextVar("audit_batched", default=None)


@contextmanager
def audit_batch() -> Iterator[None]:
    """The rows written inside go in at the end of the block, in one INSERT.

    Only around work that commits or fails whole: the block must end inside the
    transaction whose changes the rows record, and no savepoint within it may be rolled
    back while the work goes on (its rows would stay). Nothing is written on an error.
    """
    if _batched.get() is not None:  # nested: the outer block writes them
        yield
        return
    rows: list[AuditEvent] = []
    token = _batched.set(rows)
    try:
        yield
    finally:
        _batched.reset(token)
    if rows:
        AuditEvent.objects.bulk_create(rows)


def _unique_ids(ids: Iterable[int | None]) -> list[int]:
    return list(dict.fromkeys(int(pk) for pk in ids if pk is not None))


def audit_event(
    *,
    actor,
    action: str,
    object_type: str,
    object_id: str = "",
    channel: str | None = None,
    clinic=None,
    clinic_id: int | None = None,
    patient_id: int | None = None,
    patient_ids: Iterable[int | None] | None = None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
    request=None,
) -> AuditEvent:
    """One row. `channel` and `request` default to the current audit context's.

    `patient_ids` are every patient the event showed or changed; `patient_id` is kept for
    the events about exactly one patient (and set from `patient_ids` when it names one).
    """
    context = current_audit_context()
    ids = _unique_ids([patient_id, *(patient_ids or ())])
    if patient_id is None and len(ids) == 1:
        patient_id = ids[0]
    ip = client_ip(request)
    if ip is None and context is not None:
        ip = context.ip_address
    row = AuditEvent(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        clinic_id=clinic.pk if clinic is not None else clinic_id,
        patient_id=patient_id,
        patient_ids=ids,
        action=action,
        channel=channel or (context.channel if context else Channel.SYSTEM),
        object_type=object_type[:60],
        object_id=str(object_id)[:40],
        summary=summary[:300],
        changes=changes or {},
        ip_address=ip,
    )
    batch = _batched.get()
    if batch is not None:
        batch.append(row)
    else:
        row.save(force_insert=True)
    return row


def _clinic_id_of(obj: models.Model) -> int | None:
    if obj._meta.label_lower == "clinic.clinic":
        return obj.pk
    return getattr(obj, "clinic_id", None)


def _patient_id_of(obj: models.Model) -> int | None:
    # Labels, not classes: `clinic` sits below `patients` and may not import it.
    if obj._meta.label_lower == "patients.patient":
        return obj.pk
    return getattr(obj, "patient_id", None)


def audit_change(
    obj: models.Model,
    action: str,
    summary: str,
    *,
    by,
    changes: dict[str, Any] | None = None,
    channel: str | None = None,
    request=None,
    clinic=None,
    patient_ids: Iterable[int | None] | None = None,
) -> AuditEvent:
    """The row for a change to `obj`, its clinic and patient read off the object.

    `clinic` is only for objects that don't carry one (a user, a device);
    channel and address default to the current audit context's.
    """
    return audit_event(
        actor=by,
        action=action,
        channel=channel,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk or ""),
        clinic=clinic,
        clinic_id=None if clinic is not None else _clinic_id_of(obj),
        patient_id=_patient_id_of(obj),
        patient_ids=patient_ids,
        summary=summary,
        changes=changes,
        request=request,
    )


def audit_read(
    request,
    *,
    object_type: str,
    patient_ids: Iterable[int | None],
    channel: str | None = None,
    object_id: str = "",
    clinic_id: int | None = None,
    summary: str = "",
    action: str = AuditEvent.Action.READ,
) -> AuditEvent:
    """One `read` row for one request, naming every patient it showed (one INSERT)."""
    user = getattr(request, "user", None)
    if clinic_id is None:
        membership = getattr(user, "membership", None) if user is not None else None
        clinic_id = getattr(membership, "clinic_id", None)
    return audit_event(
        actor=user,
        action=action,
        channel=channel or channel_of_path(request.path_info),
        object_type=object_type,
        object_id=object_id,
        clinic_id=clinic_id,
        patient_ids=patient_ids,
        summary=summary or f"{request.method} {request.get_full_path()}"[:300],
        request=request,
    )
