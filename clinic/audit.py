"""Writing the audit trail. Rows are only ever inserted (PostgreSQL refuses the rest)."""

from __future__ import annotations

from typing import Any

from django.db import models

from clinic.models import AuditEvent


def _client_ip(request) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor,
    action: str,
    channel: str,
    obj: models.Model,
    clinic=None,
    patient_id: int | None = None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
    request=None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        clinic=clinic,
        patient_id=patient_id,
        action=action,
        channel=channel,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk or ""),
        summary=summary[:300],
        changes=changes or {},
        ip_address=_client_ip(request),
    )
