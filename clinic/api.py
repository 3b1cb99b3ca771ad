"""API plumbing shared by every app: error shape, paging, audit of reads.

Kept free of imports of DRF's views and drf-spectacular: DRF imports this
module (the pagination class) while it is still loading its generic views.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clinic.audit import audit_read
from clinic.models import AuditEvent


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus Django's ValidationError from services as a 400 with field errors."""
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    return drf_exception_handler(exc, context)


# Detail routes take any id segment, so a malformed id reaches DRF and answers a JSON 404
# rather than the URL resolver's HTML one.
ANY_ID = r"[^/]+"


class CursorPagination(pagination.CursorPagination):
    """Stable, index-friendly pages with no COUNT(*): newest first by id."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    page_size_query_description = "Rows per page, at most 200 (default 50)."
    max_page_size = 200
    cursor_query_description = (
        "Where the page starts: the opaque value from a `next` or `previous` link."
    )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paged = super().get_paginated_response_schema(schema)
        texts = {
            "next": "Link to the following (older) page; null on the last page.",
            "previous": "Link to the preceding (newer) page; null on the first page.",
            "results": "This page's records, newest first.",
        }
        for name, text in texts.items():
            paged["properties"][name] = {**paged["properties"][name], "description": text}
        return paged


# Audit of reads: every request that shows health data leaves one row of who, when, where
# and which patients (a page of 200 records is still one INSERT).


def audit_reads(
    request,
    rows: Iterable[models.Model],
    *,
    subject: Callable[[models.Model], tuple[int | None, int | None]],
    summary: str = "Read through the API",
    channel: str = AuditEvent.Channel.API,
) -> None:
    """One `read` row for the records shown, naming each of their patients once.

    `subject(row)` gives (clinic id, patient id) of the record; `channel` where it was shown.
    A single record is named by its id; an empty page leaves no row.
    """
    rows = list(rows)
    if not rows:
        return
    subjects = [subject(row) for row in rows]
    first = rows[0]
    audit_read(
        request,
        object_type=first._meta.label_lower,
        object_id=str(first.pk) if len(rows) == 1 else "",
        clinic_id=subjects[0][0],
        patient_ids=[patient_id for _, patient_id in subjects],
        channel=channel,
        summary=summary if len(rows) == 1 else f"{summary} ({len(rows)} records)",
    )


def via_patient(row) -> tuple[int, int]:
    """(clinic id, patient id) of a record that belongs to a patient.

    Rows without their own clinic column need their patient selected with them.
    """
    clinic_id = row.clinic_id if hasattr(row, "clinic_id") else row.patient.clinic_id
    return clinic_id, row.patient_id


class AuditedReadMixin:
    """List and retrieve that record one `read` audit row per record shown."""

    audit_subject = staticmethod(via_patient)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        audit_reads(request, rows, subject=self.audit_subject)
        data = self.get_serializer(rows, many=True).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        audit_reads(request, [instance], subject=self.audit_subject)
        return Response(self.get_serializer(instance).data)
