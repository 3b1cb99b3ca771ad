"""Audit completeness, for a HIPAA 164.312(b) review: every URL of the authorization matrix
that shows health data leaves exactly one row per request, through the API, the portal,
the staff reports, the exports and the admin, naming who (actor), how (action, channel),
from where (address) and which patients (`patient_ids`).

A table of URLs crossed with the roles: each request runs in a savepoint that is rolled
back, and the rows it wrote are read before the rollback.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.audit_context import TASK, audit_context
from clinic.models import AuditEvent
from patients.models import Patient
from programmes.models import ClinicianAlert, ReportExport
from tests.api.conftest import ROLES, World
from tests.api.test_authorization_matrix import API, PAGES, _shows_data, page_client

pytestmark = pytest.mark.django_db

ADDRESS = "127.0.0.1"  # the test client's REMOTE_ADDR


def _in_savepoint(send: Callable[[], object]) -> tuple[object, list[AuditEvent]]:
    """The response, and the audit rows the request wrote, then roll back."""
    with transaction.atomic():
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = send()
        if getattr(response, "streaming", False):
            # The export's row is written as the stream ends; keep what was sent.
            response._audited_content = b"".join(response.streaming_content)
        rows = list(AuditEvent.objects.filter(id__gt=before).order_by("id"))
        transaction.set_rollback(True)
    return response, rows


def _reads(rows: list[AuditEvent], action: str = "read") -> list[AuditEvent]:
    return [row for row in rows if row.action == action]


def _scope_ids(user) -> set[int]:
    return set(Patient.objects.for_user(user).values_list("pk", flat=True))


# 1. The API: every GET of health data in the matrix.


def test_every_api_health_read_leaves_one_row_naming_the_patients_shown(world: World):
    missing, wrong = [], []
    for (method, path), row in sorted(API.items()):
        if method != "GET" or not row.health_data:
            continue
        for role in ROLES:
            if row.statuses[role] != 200:
                continue
            user = world.users[role]
            client = world.client(role)
            url = path.format(**row.target(world))
            response, written = _in_savepoint(lambda client=client, url=url: client.get(url))
            assert response.status_code == 200, (role, url)
            reads = _reads(written)
            if not _shows_data(response):
                continue
            if len(reads) != 1:
                missing.append((role, path, len(reads)))
                continue
            event = reads[0]
            ids = set(event.patient_ids)
            if not (
                event.actor_id == user.pk
                and event.channel == "api"
                and event.ip_address == ADDRESS
                and ids
                and ids <= _scope_ids(user)
                and ("{id}" not in path or world.patient_a.pk in ids)
            ):
                wrong.append((role, path, event.channel, event.patient_ids))
    assert missing == []
    assert wrong == []


def test_an_api_list_names_every_patient_it_shows_in_one_row(world: World):
    client = world.client("clinic_admin")
    response, written = _in_savepoint(lambda: client.get("/api/v1/plans/"))
    shown = {plan["patient"] for plan in response.json()["results"]}
    assert len(shown) == 2
    (event,) = written
    assert set(event.patient_ids) == shown
    assert event.patient_id is None  # a list names its patients in patient_ids only


# 2. The portal and the staff reports: every page of the matrix that answers 200.

PORTAL_READERS = ("patient_a", "patient_b")
REPORT_READERS = ("clinician_a", "staff", "clinic_admin")
# Staff pages of aggregates only (counts per clinician or template, the exports' list):
# no patient's data, no read row.
AGGREGATE_PAGES = {
    "reports:overview",
    "reports:clinicians",
    "reports:templates",
    "reports:exports",
    "reports:export_status",
}


def test_every_portal_page_leaves_one_row_naming_the_patient(world: World):
    wrong = []
    for name, row in sorted(PAGES.items()):
        if not name.startswith("portal:"):
            continue
        for role in PORTAL_READERS:
            if row.statuses[role] != 200:
                continue
            patient = world.patient_a if role == "patient_a" else world.patient_b
            client = page_client(world.users[role])
            url = reverse(name, kwargs=row.target(world))
            response, written = _in_savepoint(lambda client=client, url=url: client.get(url))
            reads = _reads(written)
            facts = [(r.actor_id, r.channel, r.ip_address, r.patient_ids) for r in reads]
            if facts != [(patient.user_id, "portal", ADDRESS, [patient.pk])]:
                wrong.append((name, role, response.status_code, facts))
    assert wrong == []


def test_every_staff_report_of_patients_leaves_one_row_naming_them(world: World):
    wrong = []
    for name, row in sorted(PAGES.items()):
        if not name.startswith("reports:") or name in AGGREGATE_PAGES:
            continue
        for role in REPORT_READERS:
            if row.statuses[role] != 200:
                continue
            user = world.users[role]
            kwargs = row.target(world)
            if row.setup is not None:
                kwargs = {**kwargs, **(row.setup(world) or {})}
            client = page_client(user)
            url = reverse(name, kwargs=kwargs)
            response, written = _in_savepoint(lambda client=client, url=url: client.get(url))
            action = "export" if name.endswith("csv") else "read"
            events = _reads(written, action)
            listed = {r.patient_id for r in (response.context or {}).get("rows", [])}
            expected = {world.patient_a.pk} if "pk" in kwargs else listed
            if name == "reports:export_csv":
                expected = {int(line[0]) for line in _csv(response)[1:]}
            if not expected:  # nothing listed (no one at risk): nothing to name
                continue
            facts = [(e.actor_id, e.ip_address, set(e.patient_ids)) for e in events]
            if facts != [(user.pk, ADDRESS, expected)]:
                wrong.append((name, role, facts, expected))
    assert wrong == []


def _csv(response) -> list[list[str]]:
    content = getattr(response, "_audited_content", None)
    if content is None:
        content = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(content.decode())))


def test_a_clinic_wide_csv_export_names_every_patient_whose_row_it_sent(world: World):
    client = page_client(world.users["staff"])
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.get(reverse("reports:export_csv", kwargs={"kind": "patients"}))
    assert not AuditEvent.objects.filter(id__gt=before, action="export").exists()  # not yet
    sent = {int(line[0]) for line in _csv(response)[1:]}
    assert sent == {world.patient_a.pk, world.patient_b.pk}
    event = AuditEvent.objects.get(id__gt=before, action="export")
    assert (event.channel, event.actor, event.ip_address) == (
        "export",
        world.users["staff"],
        ADDRESS,
    )
    assert set(event.patient_ids) == sent


def test_a_background_export_and_its_download_name_the_patients_in_the_file(world: World):
    from reports import exports

    staff = world.users["staff"]
    client = page_client(staff)
    assert client.post(reverse("reports:exports"), {"kind": "patients"}).status_code == 302
    export = ReportExport.objects.get(requested_by=staff)
    with audit_context(TASK):  # as the worker runs it (the task signals open this)
        assert exports.report_export_run(export_id=export.pk) == "done"
    written = AuditEvent.objects.get(object_id=str(export.pk), changes__stage="written")
    assert (written.channel, written.actor) == ("task", staff)
    assert set(written.patient_ids) == {world.patient_a.pk, world.patient_b.pk}
    response = client.get(reverse("reports:export_download", kwargs={"pk": export.pk}))
    assert response.status_code == 200
    download = AuditEvent.objects.filter(object_id=str(export.pk)).order_by("-id").first()
    assert (download.action, download.channel, download.ip_address) == (
        "export",
        "export",
        ADDRESS,
    )
    assert set(download.patient_ids) == set(written.patient_ids)


# 3. The admin: list, change, history and the model admins' own pages.


@dataclass(frozen=True)
class AdminPage:
    url: Callable[[World], str]
    # The patients the page shows, for the world's clinic.
    patients: Callable[[World], set[int]]


def _both(w: World) -> set[int]:
    return {w.patient_a.pk, w.patient_b.pk}


def _a(w: World) -> set[int]:
    return {w.patient_a.pk}


def _admin(name: str, *args: Callable[[World], object]) -> Callable[[World], str]:
    return lambda w: reverse(f"admin:{name}", args=[arg(w) for arg in args])


def _pa(w):
    return w.patient_a.pk


ADMIN_PAGES: dict[str, AdminPage] = {
    "patient list": AdminPage(_admin("patients_patient_changelist"), _both),
    "patient with findings": AdminPage(_admin("patients_patient_change", _pa), _a),
    "patient history": AdminPage(_admin("patients_patient_history", _pa), _a),
    "patient intake page": AdminPage(_admin("patients_patient_intake", _pa), _a),
    "patient referral page": AdminPage(_admin("patients_patient_referral", _pa), _a),
    "intake list": AdminPage(_admin("patients_intake_changelist"), _both),
    "intake answers": AdminPage(_admin("patients_intake_change", lambda w: w.intake_a.pk), _a),
    "plan list": AdminPage(_admin("programmes_plan_changelist"), _both),
    "plan": AdminPage(_admin("programmes_plan_change", lambda w: w.plan_a.pk), _a),
    "plan history": AdminPage(_admin("programmes_plan_history", lambda w: w.plan_a.pk), _a),
    "plan pause page": AdminPage(
        lambda w: reverse("admin:programmes_plan_action", args=[w.plan_a.pk, "pause"]), _a
    ),
    "alert list": AdminPage(_admin("programmes_clinicianalert_changelist"), _a),
    "alert": AdminPage(_admin("programmes_clinicianalert_change", lambda w: w.alert_a.pk), _a),
    "audit trail": AdminPage(
        _admin("clinic_auditevent_changelist"),
        lambda w: set(
            AuditEvent.objects.filter(clinic=w.patient_a.clinic)
            .exclude(patient_id=None)
            .values_list("patient_id", flat=True)[:100]
        ),
    ),
}
ADMIN_ROLES = ("clinician_a", "staff", "clinic_admin", "clinician_other_clinic")


def test_every_admin_page_of_health_data_leaves_one_row_naming_the_patients(world: World):
    answered, wrong = set(), []
    for label, page in ADMIN_PAGES.items():
        for role in ADMIN_ROLES:
            user = world.users[role]
            client = page_client(user)
            url = page.url(world)
            response, written = _in_savepoint(lambda client=client, url=url: client.get(url))
            reads = _reads(written)
            if response.status_code != 200:
                if reads:
                    wrong.append((label, role, response.status_code, "read row without a page"))
                continue
            expected = page.patients(world) if role != "clinician_other_clinic" else set()
            if not expected:
                continue
            answered.add(label)
            facts = [(r.actor_id, r.channel, r.ip_address, set(r.patient_ids)) for r in reads]
            if facts != [(user.pk, "admin", ADDRESS, expected)]:
                wrong.append((label, role, facts, expected))
    assert wrong == []
    assert answered == set(ADMIN_PAGES)  # each page was read by some role


def test_another_clinics_clinician_sees_no_rows_and_their_empty_list_names_nobody(
    world: World,
):
    client = page_client(world.users["clinician_other_clinic"])
    response, written = _in_savepoint(
        lambda: client.get(reverse("admin:patients_patient_changelist"))
    )
    assert response.status_code == 200
    assert all(world.patient_a.pk not in e.patient_ids for e in written)


def _inserts(queries) -> int:
    return sum('INSERT INTO "clinic_auditevent"' in q["sql"] for q in queries)


@pytest.mark.parametrize(
    "name",
    [
        "admin:patients_patient_changelist",
        "admin:patients_intake_changelist",
        "admin:programmes_plan_changelist",
        "admin:programmes_clinicianalert_changelist",
    ],
)
def test_an_admin_list_page_costs_one_audit_insert_however_many_patients(world: World, name):
    """The audit adds one INSERT per page: the query count doesn't grow with the rows."""
    from tests.api.conftest import active_plan
    from tests.factories import patient_with_portal, screen

    client = page_client(world.users["clinic_admin"])
    url = reverse(name)
    client.get(url)  # warm the session and caches

    def counted() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries), _inserts(queries.captured_queries)

    few = counted()
    for _ in range(4):
        extra = patient_with_portal(world.patient_a.clinic, clinician=world.users["clinician_a"])
        screen(extra)
        active_plan(extra, world.template)
        ClinicianAlert.objects.create(
            clinic=extra.clinic, patient=extra, kind="pain", message="Pain 8", dedupe_key=extra.pk
        )
    many = counted()
    assert few[1] == many[1] == 1
    assert few[0] == many[0]


def test_api_list_and_portal_page_cost_one_audit_insert(world: World):
    api = world.client("clinic_admin")
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/checkins/").status_code == 200
    assert _inserts(queries.captured_queries) == 1
    portal = page_client(world.users["patient_a"])
    with CaptureQueriesContext(connection) as queries:
        assert portal.get(reverse("portal:progress")).status_code == 200
    assert _inserts(queries.captured_queries) == 1


# 4. Changes carry their true channel and address.


def test_plan_changes_through_the_api_are_recorded_as_api_with_the_address(world: World):
    client = world.client("clinician_a")
    plan = world.plan_a
    for action, body in (("pause", {"reason": "Holiday"}), ("resume", {"reason": "Back"})):
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = client.post(f"/api/v1/plans/{plan.pk}/{action}/", body, format="json")
        assert response.status_code == 200, response.content
        event = AuditEvent.objects.get(id__gt=before, object_type="programmes.plan")
        assert (event.action, event.channel, event.ip_address, event.actor_id) == (
            "update",
            "api",
            ADDRESS,
            world.users["clinician_a"].pk,
        )
        assert event.patient_ids == [plan.patient_id]


def test_plan_changes_through_the_admin_are_recorded_as_admin_with_the_address(world: World):
    client = page_client(world.users["clinician_a"])
    url = reverse("admin:programmes_plan_action", args=[world.plan_a.pk, "pause"])
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    assert client.post(url, {"reason": "Holiday"}).status_code == 302
    event = AuditEvent.objects.get(id__gt=before, action="update")
    assert (event.channel, event.ip_address, event.object_type) == (
        "admin",
        ADDRESS,
        "programmes.plan",
    )


def test_acknowledging_an_alert_in_the_admin_leaves_a_row(world: World):
    client = page_client(world.users["clinician_a"])
    response = client.post(
        reverse("admin:programmes_clinicianalert_changelist"),
        {"action": "acknowledge", "_selected_action": [world.alert_a.pk]},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="update", object_type="programmes.clinicianalert")
    assert (event.channel, event.ip_address, event.actor, event.patient_ids) == (
        "admin",
        ADDRESS,
        world.users["clinician_a"],
        [world.patient_a.pk],
    )


def test_table_limits_changed_in_the_admin_are_recorded_with_the_address(world: World):
    clinic = world.patient_a.clinic
    client = page_client(world.users["clinic_admin"])
    response = client.post(
        reverse("admin:clinic_clinic_table_limits", args=[clinic.pk]),
        {"max_weight_kg": "120", "max_height_cm": "190", "reason": "New table"},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(object_type="clinic.clinic", action="update")
    assert (event.channel, event.ip_address) == ("admin", ADDRESS)


def test_a_service_called_outside_any_request_or_task_is_recorded_as_system(world: World):
    from programmes import services

    services.plan_pause(plan=world.plan_a, by=world.plan_a.clinician, reason="Shell")
    event = AuditEvent.objects.filter(object_type="programmes.plan").latest("id")
    assert (event.channel, event.ip_address) == ("system", None)


def test_a_task_opens_the_task_channel_and_closes_it_after(world: World):
    from celery.signals import task_postrun, task_prerun

    from clinic.audit_context import current_audit_context
    from programmes import services

    task_prerun.send(sender=None, task_id="t-1", task=None)
    services.plan_pause(plan=world.plan_a, by=None, reason="Swept")
    task_postrun.send(sender=None, task_id="t-1", task=None)
    assert current_audit_context() is None
    event = AuditEvent.objects.filter(object_type="programmes.plan").latest("id")
    assert event.channel == "task"


def test_channel_values_of_the_context_are_audit_channels():
    from clinic import audit_context as ctx

    channels = {ctx.API, ctx.ADMIN, ctx.PORTAL, ctx.SYSTEM, ctx.TASK, ctx.COMMAND}
    assert channels <= set(AuditEvent.Channel.values)


# 5. Sign-ins.


def test_failed_and_successful_sign_ins_are_kept_with_the_address(world: World):
    from django.test import Client

    user = world.users["patient_a"]
    client = Client()
    client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    client.post(reverse("login"), {"username": "nobody-here", "password": "wrong"})
    client.post(reverse("login"), {"username": user.username, "password": "correct-horse-battery"})
    rows = list(AuditEvent.objects.filter(action__in=["login", "login_fail"]).order_by("id"))
    assert [(r.action, r.ip_address) for r in rows] == [
        ("login_fail", ADDRESS),
        ("login_fail", ADDRESS),
        ("login", ADDRESS),
    ]
    assert rows[0].object_id == str(user.pk) and rows[0].clinic_id == world.patient_a.clinic_id
    assert rows[1].changes == {"username": "nobody-here"} and rows[1].clinic_id is None
    assert rows[2].actor == user
    assert "correct-horse-battery" not in str([(r.summary, r.changes) for r in rows])


def test_api_token_sign_ins_are_kept_too(world: World):
    from rest_framework.test import APIClient

    user = world.users["patient_a"]
    client = APIClient()
    bad = client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": "x"}, format="json"
    )
    good = client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": "correct-horse-battery"},
        format="json",
    )
    assert (bad.status_code, good.status_code) == (400, 200)
    rows = AuditEvent.objects.filter(object_type="auth.user").order_by("id")
    assert [(r.action, r.channel, r.ip_address) for r in rows] == [
        ("login_fail", "api", ADDRESS),
        ("login", "api", ADDRESS),
    ]


def test_a_patients_data_export_lists_the_list_pages_that_showed_them(world: World):
    from privacy import services as privacy_services

    page_client(world.users["clinic_admin"]).get(reverse("admin:patients_patient_changelist"))
    export = privacy_services.patient_export(
        patient=world.patient_b, by=world.users["clinic_admin"]
    )
    summaries = [row["summary"] for row in export["audit"]]
    assert any(s.startswith("Admin patients list read") for s in summaries)
