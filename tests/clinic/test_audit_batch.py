"""Audit rows written in a batch: one INSERT at the end of the block, none on an error."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinic.audit import audit_batch, audit_event
from clinic.models import AuditEvent
from tests.factories import ClinicFactory

pytestmark = pytest.mark.django_db


def _row(clinic, summary: str) -> AuditEvent:
    return audit_event(
        actor=None,
        action="update",
        object_type="clinic.clinic",
        object_id=str(clinic.pk),
        clinic_id=clinic.pk,
        summary=summary,
    )


def _audit_inserts(queries) -> int:
    return sum('INSERT INTO "clinic_auditevent"' in q["sql"] for q in queries)


def test_rows_written_in_a_batch_go_in_together_in_order_at_its_end():
    clinic = ClinicFactory()
    with CaptureQueriesContext(connection) as queries, audit_batch():
        for summary in ("first", "second", "third"):
            _row(clinic, summary)
        assert not AuditEvent.objects.filter(clinic_id=clinic.pk).exists()
    assert _audit_inserts(queries.captured_queries) == 1
    rows = AuditEvent.objects.filter(clinic_id=clinic.pk).order_by("pk")
    assert list(rows.values_list("summary", flat=True)) == ["first", "second", "third"]


def test_a_batch_that_fails_writes_none_of_its_rows():
    clinic = ClinicFactory()
    with pytest.raises(RuntimeError), audit_batch():
        _row(clinic, "lost with the change")
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.filter(clinic_id=clinic.pk).exists()
    _row(clinic, "after the batch")  # written at once again
    assert AuditEvent.objects.filter(clinic_id=clinic.pk).count() == 1


def test_a_nested_batch_leaves_its_rows_to_the_outer_one():
    clinic = ClinicFactory()
    with CaptureQueriesContext(connection) as queries, audit_batch():
        _row(clinic, "outer")
        with audit_batch():
            _row(clinic, "inner")
        assert not AuditEvent.objects.filter(clinic_id=clinic.pk).exists()
    assert _audit_inserts(queries.captured_queries) == 1
    assert AuditEvent.objects.filter(clinic_id=clinic.pk).count() == 2
