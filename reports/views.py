"""The staff reports: thin views over `reports.queries`, `reports.risk` and
`reports.exports`, scoped to the user's clinic.

Each view checks the GET filters with a form (a bad value is a 400 with a
message), calls one report function, and renders. Every page that shows
patients' health data (the lists too: one row per patient listed, in one
INSERT) and every export are written to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from clinic.audit import audit_change, audit_event, audit_read
from clinic.models import AuditEvent
from clinic.permissions import CLINICAL_ROLES
from patients.models import Patient
from programmes.alerts import alert_acknowledge_safety
from programmes.checkins import PainPoint
from programmes.domain.adherence import (
    DATA_DAYS_THRESHOLD,
    DATA_DAYS_WINDOW_DAYS,
    AdherenceBand,
)
from programmes.models import CheckIn, ClinicianAlert, ReportExport
from programmes.templatetags.programme_charts import duration, symptom_label
from reports import charts, queries, risk
from reports.access import staff_area_required
from reports.exports import (
    EXPORT_KINDS,
    csv_lines,
    export_rows,
    filters_to_json,
    patient_checkin_rows,
    report_export_patient_ids,
    report_export_request,
    rows_noting_patients,
)
from reports.forms import AtRiskForm, PeriodForm, ReportFilterForm
from reports.scope import BANDS

PAGE_SIZE = 50
GROUP_TITLES = {"clinician": "Per clinician", "template": "Per programme template"}
ALERT_LABELS = dict(ClinicianAlert.Kind.choices)


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    context = {"clinic": request.clinic, "section": template.split(".")[0], **context}
    return render(request, f"reports/{template}", context, status=status)


def _invalid(request: HttpRequest, template: str, form, title: str) -> HttpResponse:
    return _render(request, template, {"form": form, "title": title, "invalid": True}, status=400)


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _audit_listed(request: HttpRequest, rows, summary: str) -> None:
    """One `read` row for a list page, naming each patient it shows once (one INSERT)."""
    audit_read(
        request,
        object_type="patients.patient",
        clinic_id=request.clinic.pk,
        patient_ids=[r.patient_id for r in rows],
        channel=AuditEvent.Channel.ADMIN,
        summary=summary,
    )


@staff_area_required
def overview(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET, clinic=request.clinic, today=timezone.localdate())
    if not form.is_valid():
        return _invalid(request, "overview.html", form, "Overview")
    filters = form.filters()
    data = queries.overview(filters)
    return _render(
        request,
        "overview.html",
        {
            "form": form,
            "filters": filters,
            "title": "Overview",
            "data": data,
            "bands": [
                (band, AdherenceBand.LABELS[band], data.bands.get(band, 0)) for band in BANDS
            ],
            "distribution": list(zip(data.bucket_labels, data.distribution, strict=True)),
            "alerts": [(ALERT_LABELS.get(k, k), n) for k, n in data.open_alerts.items()],
            "band_chart": charts.band_chart(data.bands),
            "distribution_chart": charts.distribution_chart(data.distribution, data.bucket_labels),
            "data_days_threshold": DATA_DAYS_THRESHOLD,
            "data_days_window": DATA_DAYS_WINDOW_DAYS,
            "query": _query_without(request, "after", "band"),
        },
    )


@staff_area_required
def patients(request: HttpRequest) -> HttpResponse:
    form = ReportFilterForm(request.GET, clinic=request.clinic, today=timezone.localdate())
    if not form.is_valid():
        return _invalid(request, "patients.html", form, "Patients")
    filters = form.filters()
    rows = queries.patient_rows(filters, after=form.cleaned_data["after"], limit=PAGE_SIZE + 1)
    _audit_listed(
        request,
        rows[:PAGE_SIZE],
        f"Staff report: adherence per patient {filters.start} to {filters.end}",
    )
    return _render(
        request,
        "patients.html",
        {
            "form": form,
            "filters": filters,
            "title": "Adherence per patient",
            "rows": rows[:PAGE_SIZE],
            "next_cursor": rows[PAGE_SIZE - 1].cursor if len(rows) > PAGE_SIZE else None,
            "query": _query_without(request, "after"),
            "export_kind": "patients",
        },
    )


@staff_area_required
def at_risk(request: HttpRequest) -> HttpResponse:
    form = AtRiskForm(request.GET, clinic=request.clinic, today=timezone.localdate())
    if not form.is_valid():
        return _invalid(request, "at_risk.html", form, "At risk")
    filters = form.filters()
    sort = form.cleaned_data["sort"]
    rows = risk.at_risk(
        filters,
        now=timezone.now(),
        sort=sort,
        reason=form.cleaned_data["reason"] or None,
        after=form.cleaned_data["after"],
        limit=PAGE_SIZE + 1,
    )
    # Who needs a clinician now heads the first page, whatever the sort and reason.
    safety = [] if form.cleaned_data["after"] else risk.safety_rows(filters)
    _audit_listed(request, [*safety, *rows[:PAGE_SIZE]], "Staff report: at risk")
    base = _query_without(request, "after", "sort")
    columns = []
    for key, label in (
        ("name", "Patient"),
        ("adherence", "7-day adherence"),
        ("last_checkin", "Last check-in"),
        ("screening", "Screening valid until"),
    ):
        active = sort.lstrip("-") == key
        descending = sort.startswith("-")
        next_sort = f"-{key}" if active and not descending else key
        columns.append(
            {
                "label": label,
                "query": f"{base}&sort={next_sort}" if base else f"sort={next_sort}",
                "aria_sort": ("descending" if descending else "ascending") if active else None,
            }
        )
    return _render(
        request,
        "at_risk.html",
        {
            "form": form,
            "filters": filters,
            "title": "At risk",
            "safety_rows": safety,
            "can_acknowledge": request.user.membership.role in CLINICAL_ROLES,
            "rows": rows[:PAGE_SIZE],
            "next_cursor": rows[PAGE_SIZE - 1].cursor if len(rows) > PAGE_SIZE else None,
            "columns": columns,
            "query": _query_without(request, "after"),
            "export_kind": "at_risk",
        },
    )


@staff_area_required
def at_risk_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: a clinician has acted on this patient: their open safety alerts are closed."""
    if request.user.membership.role not in CLINICAL_ROLES:
        raise PermissionDenied("Only a clinician can acknowledge an alert.")
    person = _patient_or_404(request, pk)  # another clinic's patient: not found
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    count = alert_acknowledge_safety(
        patient=person, by=request.user, channel=AuditEvent.Channel.ADMIN, request=request
    )
    messages.success(request, f"{person.full_name}: {count} alert(s) acknowledged.")
    return redirect("reports:at_risk")


def _grouped(request: HttpRequest, by: str) -> HttpResponse:
    form = ReportFilterForm(request.GET, clinic=request.clinic, today=timezone.localdate())
    if not form.is_valid():
        return _invalid(request, "grouped.html", form, GROUP_TITLES[by])
    filters = form.filters()
    return _render(
        request,
        "grouped.html",
        {
            "form": form,
            "filters": filters,
            "title": GROUP_TITLES[by],
            "by": by,
            "rows": queries.grouped(filters, by),
            "query": _query_without(request, "after"),
            "export_kind": f"{by}s",
        },
    )


@staff_area_required
def clinicians(request: HttpRequest) -> HttpResponse:
    return _grouped(request, "clinician")


@staff_area_required
def templates(request: HttpRequest) -> HttpResponse:
    return _grouped(request, "template")


def _patient_or_404(request: HttpRequest, pk: int) -> Patient:
    # Scoped to the user's clinic: another clinic's patient is "not found".
    return get_object_or_404(
        Patient.objects.for_user(request.user).select_related("clinician", "current_screening"),
        pk=pk,
    )


@dataclass(frozen=True)
class _PatientPeriod:
    person: Patient
    form: PeriodForm
    start: date
    end: date
    report: queries.PatientReport


def _patient_period(
    request: HttpRequest, pk: int, *, action: str, channel: str, summary: str
) -> _PatientPeriod | HttpResponse:
    """One patient's report for the period asked, audited; or the 400 page for a bad period.

    The page and its CSV share this: the clinic-scoped lookup (another clinic's patient is
    a 404), the period form, the 400 page, the report, and the audit row. `summary` is
    formatted with the period's `start` and `end`.
    """
    person = _patient_or_404(request, pk)
    form = PeriodForm(request.GET, today=timezone.localdate())
    if not form.is_valid():
        return _render(
            request,
            "patient.html",
            {"form": form, "person": person, "title": person.full_name, "invalid": True},
            status=400,
        )
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    report = queries.patient_report(person, start=start, end=end)
    audit_change(
        person,
        action,
        summary.format(start=start, end=end),
        by=request.user,
        channel=channel,
        request=request,
    )
    return _PatientPeriod(person, form, start, end, report)


@staff_area_required
def patient(request: HttpRequest, pk: int) -> HttpResponse:
    period = _patient_period(
        request,
        pk,
        action="read",
        channel=AuditEvent.Channel.ADMIN,
        summary="Staff report for {start} to {end}",
    )
    if isinstance(period, HttpResponse):
        return period
    person, report = period.person, period.report
    days = report.days
    return _render(
        request,
        "patient.html",
        {
            "form": period.form,
            "person": person,
            "title": person.full_name,
            "start": period.start,
            "end": period.end,
            "report": report,
            "pain_points": [PainPoint(d.day, d.pain_before, d.pain_after) for d in days],
            "angle_chart": charts.line_chart(
                [(d.day, d.angle) for d in days],
                top=90,
                ticks=(0, 30, 60, 90),
                suffix="°",
                title="Inversion angle reported, by day",
                what="Angle",
                chart_id="angle-chart",
            ),
            "hold_chart": charts.line_chart(
                [(d.day, None if d.hold_seconds is None else d.hold_seconds / 60) for d in days],
                top=max([10] + [(d.hold_seconds or 0) / 60 for d in days]),
                ticks=(0, 5, 10),
                suffix=" min",
                title="Time inverted reported, by day (minutes)",
                what="Time inverted",
                chart_id="hold-chart",
            ),
            "timeline": _timeline(report.checkins),
            "query": request.GET.urlencode(),
        },
    )


def _timeline(checkins) -> SafeString:
    """The check-in table's rows as HTML, built here with every cell escaped.

    One row per check-in: built in the template it cost ~15 template nodes a row
    (the biggest part of the page's rendering for a long history); here a few
    string joins. The markup is exactly what the template wrote.
    """
    completion = dict(CheckIn.Completion.choices)
    rows = []
    for c in checkins:
        day = c.local_date
        symptoms = (
            "".join(
                f'<span class="badge badge-warn">{escape(symptom_label(code))}</span> '
                for code in c.symptoms
            )
            or "–"
        )
        angle = f"{c.inversion_angle_deg}°" if c.inversion_angle_deg else "–"
        rows.append(
            f"<tr><td>{day:%a} {day.day} {day:%b}</td>"
            f'<td><span class="badge completion-{escape(c.completion)}">'
            f"{escape(completion.get(c.completion, c.completion))}</span></td>"
            f'<td class="num">{escape(angle)}</td>'
            f'<td class="num">{escape(duration(c.inversion_seconds) or "–")}</td>'
            f'<td class="num">{_score(c.pain_before)} → {_score(c.pain_after)}</td>'
            f"<td>{symptoms}</td>"
            f'<td class="small wrap">{escape(c.note)}</td></tr>'
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped


def _score(value: int | None) -> str:
    return "–" if value is None else str(value)


def _csv_response(rows, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_area_required
def export_csv(request: HttpRequest, kind: str) -> HttpResponse:
    """Any report table as CSV, streamed row by row from a server-side cursor."""
    if kind not in EXPORT_KINDS:
        raise Http404("No such report.")
    form_class = AtRiskForm if kind == "at_risk" else ReportFilterForm
    form = form_class(request.GET, clinic=request.clinic, today=timezone.localdate())
    if not form.is_valid():
        return _invalid(request, "export_invalid.html", form, "Export")
    filters = form.filters()
    reason = form.cleaned_data.get("reason") or None
    rows = export_rows(kind, filters, now=timezone.now(), reason=reason)
    response = StreamingHttpResponse(
        _audited_csv(
            request,
            rows,
            summary=f"CSV export: {EXPORT_KINDS[kind]}",
            changes={"filters": filters_to_json(filters), "reason": reason},
        ),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{kind}-{filters.start}-{filters.end}.csv"'
    )
    return response


def _audited_csv(request: HttpRequest, rows, *, summary: str, changes: dict):
    """The CSV lines of `rows`; when the stream ends (finished, failed or cut off) one
    `export` row names every patient whose row was sent."""
    shown: list[int] = []
    try:
        yield from csv_lines(rows_noting_patients(rows, shown))
    finally:
        audit_event(
            actor=request.user,
            action="export",
            channel=AuditEvent.Channel.EXPORT,
            object_type="clinic.clinic",
            object_id=str(request.clinic.pk),
            clinic=request.clinic,
            patient_ids=shown,
            summary=f"{summary} ({len(shown)} patient rows)",
            changes={**changes, "patient_rows": len(shown)},
            request=request,
        )


@staff_area_required
def patient_csv(request: HttpRequest, pk: int) -> HttpResponse:
    period = _patient_period(
        request,
        pk,
        action="export",
        channel=AuditEvent.Channel.EXPORT,
        summary="CSV export of check-ins {start} to {end}",
    )
    if isinstance(period, HttpResponse):
        return period
    return _csv_response(
        patient_checkin_rows(period.report),
        f"checkins-{pk}-{period.start}-{period.end}.csv",
    )


# Background exports.

RECENT_EXPORTS = 20


def _my_exports(request: HttpRequest):
    return ReportExport.objects.filter(clinic=request.clinic, requested_by=request.user)


@staff_area_required
def exports(request: HttpRequest) -> HttpResponse:
    """GET: this user's recent exports. POST: start one for the filters given."""
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        if kind not in EXPORT_KINDS:
            raise Http404("No such report.")
        form_class = AtRiskForm if kind == "at_risk" else ReportFilterForm
        form = form_class(request.POST, clinic=request.clinic, today=timezone.localdate())
        if not form.is_valid():
            return _invalid(request, "export_invalid.html", form, "Export")
        report_export_request(
            user=request.user,
            clinic=request.clinic,
            kind=kind,
            filters=form.filters(),
            reason=form.cleaned_data.get("reason") or None,
        )
        return redirect("reports:exports")
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET", "POST"])
    return _render(
        request,
        "exports.html",
        {
            "title": "Exports",
            "exports": _my_exports(request)[:RECENT_EXPORTS],
            "kinds": EXPORT_KINDS,
        },
    )


@staff_area_required
def export_status(request: HttpRequest, pk: int) -> HttpResponse:
    """One export's row; htmx polls it until the file is ready."""
    export = get_object_or_404(_my_exports(request), pk=pk)
    return _render(request, "_export_row.html", {"export": export, "kinds": EXPORT_KINDS})


@staff_area_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    export = get_object_or_404(_my_exports(request), pk=pk, status=ReportExport.Status.DONE)
    shown = report_export_patient_ids(export)
    audit_change(
        export,
        "export",
        f"Downloaded export: {EXPORT_KINDS.get(export.kind, export.kind)}"
        + ("" if shown is not None else " (patients not recorded when written)"),
        by=request.user,
        channel="export",
        patient_ids=shown or [],
        request=request,
    )
    chunks = export.chunks.order_by("seq").values_list("text", flat=True).iterator(chunk_size=1)
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{export.kind}-{export.created_at:%Y%m%d-%H%M}.csv"'
    )
    return response
