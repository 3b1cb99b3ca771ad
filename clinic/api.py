"""API plumbing shared by every app: error shape, paging, audit of reads.

Kept free of imports of DRF's views and drf-spectacular: DRF imports this
module (the pagination class) while it is still loading its generic views.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import exceptions, pagination, parsers
from rest_framework.response import Response

from clinic.audit import audit_read
from clinic.models import AuditEvent


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus Django's ValidationError from services as a 400 with field errors."""
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = exceptions.ValidationError(detail=detail)
    # Imported here: DRF's views read this module's parser and pagination as they load.
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(exc, context)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with nesting bounded: Python's decoder gives up around a
    thousand levels with a RecursionError (a 500), and nothing in this API nests past
    a few. Deeper bodies answer 400."""

    max_depth = 64

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deep") from None
        problem = _json_problem(data, self.max_depth)
        if problem:
            raise exceptions.ParseError(f"JSON parse error - {problem}")
        return data


def _json_problem(data: Any, limit: int) -> str | None:
    """Nesting deeper than `limit`, or a NUL in a string (PostgreSQL's text and jsonb
    refuse it); found without recursion."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return "a string holds a NUL character"
            continue
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return f"nested deeper than {limit} levels"
        pending.extend((child, depth + 1) for child in children)
    return None


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
    invalid_cursor_message = "Invalid cursor: use a `next` or `previous` link as given."

    def get_page_size(self, request):
        """DRF's, but a page size that isn't a whole number from 1 answers 400 instead of
        falling back silently; above the maximum it is capped."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: ["A whole number from 1 to 200."]}
            )
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        """DRF's, with the page size's lower bound stated as `get_page_size` enforces it."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
        return parameters

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF's decoding, plus the position checked against the ordering field: a cursor
        that isn't one of ours answers 400, never a database error."""
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            cursor = None
            valid = False
        else:
            valid = cursor is None or _position_valid(self._model, self.ordering, cursor.position)
        if not valid:
            raise exceptions.ValidationError(
                {self.cursor_query_param: [self.invalid_cursor_message]}
            )
        return cursor

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


BIGINT_RANGE = range(-(2**63), 2**63)


def _position_valid(model: type[models.Model], ordering: tuple[str, ...], position) -> bool:
    if position is None:
        return True
    if "\x00" in position:
        return False
    try:
        field = model._meta.get_field(ordering[0].lstrip("-"))
    except FieldDoesNotExist:
        return True  # an annotation: nothing to check it against
    try:
        value = field.to_python(position)
    except DjangoValidationError:
        return False
    return not isinstance(value, int) or value in BIGINT_RANGE


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
