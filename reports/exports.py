"""The staff reports as CSV: streamed to the browser, or written by a worker.

A streamed export reads one query through a server-side cursor, so no export holds
all its rows in memory. A background export is a `ReportExport` row whose CSV is
kept as ordered chunks in PostgreSQL (web and worker need share no disk), progress
counted as chunks land; its audit rows name every patient the file holds.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinic.audit import audit_change
from clinic.models import AuditEvent
from programmes.models import ReportExport, ReportExportChunk
from reports.queries import (
    GROUP_COLUMNS,
    PATIENT_COLUMNS,
    PATIENT_ROWS_SQL,
    PatientReport,
    grouped,
    patient_row,
)
from reports.risk import (
    AT_RISK_COLUMNS,
    SAFETY_COLUMNS,
    SAFETY_SQL,
    at_risk_params,
    at_risk_row,
    at_risk_sql,
    safety_params,
    safety_row,
)
from reports.scope import Filters, banded_sql, report_cursor

logger = logging.getLogger(__name__)

# Exports: rows for CSV, read through a server-side cursor.

EXPORT_KINDS: dict[str, str] = dict(ReportExport.Kind.choices)
EXPORT_CHUNK_ROWS = 2000

CHECKIN_COLUMNS = (
    "date",
    "plan",
    "completion",
    "angle_deg",
    "hold_seconds",
    "pain_before",
    "pain_after",
    "symptoms",
    "note",
)


def _percent(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio * 100:.1f}"


def _stream_query(sql: str, params: dict[str, Any]) -> Iterator[tuple]:
    """Rows of one query, EXPORT_CHUNK_ROWS at a time, through a server-side cursor."""
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        raise RuntimeError("Exports need server-side cursors (DISABLE_SERVER_SIDE_CURSORS).")
    with report_cursor(server_side=True) as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(EXPORT_CHUNK_ROWS):
            yield from rows


def export_rows(
    kind: str, filters: Filters, *, now: datetime, reason: str | None = None
) -> Iterator[tuple]:
    """The header, then every row of one report table; memory stays one chunk.

    The query and its parameters are fixed here, at call time (in the caller's time
    zone), though the rows are read only as the iterator is consumed.
    """
    if kind == "patients":
        sql = banded_sql(PATIENT_ROWS_SQL)
        params = filters.params(after_name=None, after_id=None, limit=None)
        return _patient_export(sql, params)
    if kind == "at_risk":
        sql, _ = at_risk_sql("name")
        params = at_risk_params(filters, now=now, reason=reason, after=None, limit=None)
        return _at_risk_export(sql, params, safety_params(filters))
    if kind in ("clinicians", "templates"):
        return _grouped_export(filters, kind.removesuffix("s"))
    raise ValueError(f"Unknown export {kind!r}")


def _patient_export(sql: str, params: dict[str, Any]) -> Iterator[tuple]:
    yield PATIENT_COLUMNS
    for row in _stream_query(sql, params):
        r = patient_row(row, cursor=False)
        yield (
            r.patient_id,
            r.name,
            r.clinician,
            r.prescribed,
            r.completed,
            _percent(r.adherence),
            r.band,
            r.data_days,
        )


def _at_risk_export(
    sql: str, params: dict[str, Any], safety_params: dict[str, Any]
) -> Iterator[tuple]:
    """As the page: who needs a clinician now first (their reasons in the last two
    columns), then the at-risk rows."""
    yield AT_RISK_COLUMNS + SAFETY_COLUMNS
    blank = ("",) * (len(AT_RISK_COLUMNS) - 3)
    for row in _stream_query(SAFETY_SQL, safety_params):
        s = safety_row(row)
        yield (
            s.patient_id,
            s.name,
            s.clinician,
            *blank,
            "; ".join(f"{r.label} since {r.since.isoformat()}" for r in s.reasons),
            s.since.isoformat(),
        )
    for row in _stream_query(sql, params):
        r = at_risk_row(row, cursor=False)
        yield (
            r.patient_id,
            r.name,
            r.clinician,
            _percent(r.adherence_7),
            r.last_checkin.isoformat() if r.last_checkin else "",
            r.stop_symptom,
            r.screening_valid_until or "",
            r.low_adherence,
            r.silent,
            r.screening_due,
            "",
            "",
        )


def _grouped_export(filters: Filters, by: str) -> Iterator[tuple]:
    yield GROUP_COLUMNS
    for g in grouped(filters, by):
        yield (
            g.label,
            g.patients,
            g.adherent,
            g.prescribed,
            g.completed,
            _percent(g.adherence),
            *("" if v is None else v for v in (g.pain_first_week, g.pain_last_week)),
            "" if g.pain_change is None else g.pain_change,
            g.pain_patients,
            *("" if v is None else v for v in (g.odi_baseline, g.odi_latest, g.odi_change)),
            g.odi_patients,
        )


def patient_checkin_rows(report: PatientReport) -> Iterator[tuple]:
    yield CHECKIN_COLUMNS
    for c in report.checkins:
        yield (
            c.local_date,
            c.plan_name,
            c.completion,
            c.inversion_angle_deg or "",
            c.inversion_seconds or "",
            "" if c.pain_before is None else c.pain_before,
            "" if c.pain_after is None else c.pain_after,
            " ".join(c.symptoms),
            c.note,
        )


def rows_noting_patients(rows: Iterable[tuple], shown: list[int]) -> Iterator[tuple]:
    """The rows unchanged; the patient id leading each patient's row is added to `shown`
    (the header and grouped rows lead with text), for the export's audit row."""
    for row in rows:
        if row and isinstance(row[0], int) and not isinstance(row[0], bool):
            shown.append(row[0])
        yield row


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    """One CSV line per row. Cells that a spreadsheet would run as a formula are quoted off."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_safe_cell(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# Background exports: a row per job, its CSV kept as ordered chunks in PostgreSQL
# (web and worker need share no disk), progress counted as chunks land.


def filters_to_json(filters: Filters) -> dict[str, Any]:
    return {
        "clinic_id": filters.clinic_id,
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "clinician_id": filters.clinician_id,
        "template_id": filters.template_id,
        "band": filters.band,
    }


def filters_from_json(data: dict[str, Any]) -> Filters:
    return Filters(
        clinic_id=data["clinic_id"],
        start=date.fromisoformat(data["start"]),
        end=date.fromisoformat(data["end"]),
        clinician_id=data.get("clinician_id"),
        template_id=data.get("template_id"),
        band=data.get("band"),
    )


def report_export_request(*, user, clinic, kind: str, filters: Filters, reason: str | None = None):
    """Record an export job and enqueue it once the row is committed."""
    from reports.tasks import report_export_run

    if kind not in EXPORT_KINDS:
        raise ValueError(f"Unknown export {kind!r}")
    if filters.clinic_id != clinic.pk:
        raise ValueError("An export covers the requesting user's own clinic only.")
    with transaction.atomic():
        export = ReportExport.objects.create(
            clinic=clinic,
            requested_by=user,
            kind=kind,
            filters={**filters_to_json(filters), "reason": reason},
        )
        audit_change(
            export,
            "export",
            f"Requested export: {EXPORT_KINDS[kind]}",
            by=user,
            channel="export",
            changes={"filters": export.filters},
        )
        transaction.on_commit(lambda: report_export_run.delay(export.pk))
    return export


def report_export_run(*, export_id: int) -> str:
    """Write one export's CSV. A re-run of a finished export does nothing; a re-run of an
    interrupted one starts it again from the first row."""
    with transaction.atomic():
        export = ReportExport.objects.select_for_update().filter(pk=export_id).first()
        if export is None:
            return "missing"  # deleted before a worker got to it: nothing to do
        if export.status == ReportExport.Status.DONE:
            return export.status
        export.chunks.all().delete()
        export.status = ReportExport.Status.RUNNING
        export.attempts += 1
        export.rows_written = 0
        export.started_at = timezone.now()
        export.error = ""
        export.save(update_fields=["status", "attempts", "rows_written", "started_at", "error"])
        attempt = export.attempts
    filters = filters_from_json(export.filters)
    rows = export_rows(
        export.kind, filters, now=export.created_at, reason=export.filters.get("reason")
    )
    seq, written, lines = 0, -1, []  # the header is not a data row
    shown: list[int] = []
    try:
        for line in csv_lines(rows_noting_patients(rows, shown)):
            lines.append(line)
            written += 1
            if len(lines) >= EXPORT_CHUNK_ROWS:
                if not _export_chunk_save(export, attempt, seq, lines, written):
                    return "superseded"
                seq, lines = seq + 1, []
        if lines and not _export_chunk_save(export, attempt, seq, lines, written):
            return "superseded"
    except Exception as error:
        logger.exception("Report export %s failed", export_id)
        ReportExport.objects.filter(pk=export_id, attempts=attempt).update(
            status=ReportExport.Status.FAILED, error=str(error)[:500], finished_at=timezone.now()
        )
        raise
    with transaction.atomic():
        done = ReportExport.objects.filter(pk=export_id, attempts=attempt).update(
            status=ReportExport.Status.DONE,
            rows_written=max(written, 0),
            finished_at=timezone.now(),
        )
        if done:  # which patients the file holds, for its downloads' audit rows
            audit_change(
                export,
                "export",
                f"Export written: {EXPORT_KINDS.get(export.kind, export.kind)} "
                f"({len(shown)} patient rows)",
                by=export.requested_by,
                patient_ids=shown,
                changes={"stage": EXPORT_WRITTEN, "patient_rows": len(shown)},
            )
    return ReportExport.Status.DONE


EXPORT_WRITTEN = "written"


def report_export_patient_ids(export: ReportExport) -> list[int] | None:
    """The patients whose rows the export's file holds (None: written before this was kept)."""
    return (
        AuditEvent.objects.filter(
            object_type=ReportExport._meta.label_lower,
            object_id=str(export.pk),
            action=AuditEvent.Action.EXPORT,
            changes__stage=EXPORT_WRITTEN,
        )
        .order_by("-pk")
        .values_list("patient_ids", flat=True)
        .first()
    )


def _export_chunk_save(export, attempt: int, seq: int, lines: list[str], written: int) -> bool:
    """Store one chunk and the progress, unless a newer attempt has taken the export over."""
    try:
        with transaction.atomic():
            claimed = ReportExport.objects.filter(pk=export.pk, attempts=attempt).update(
                rows_written=max(written, 0)
            )
            if not claimed:
                return False
            ReportExportChunk.objects.create(export=export, seq=seq, text="".join(lines))
    except IntegrityError:
        return False
    return True
