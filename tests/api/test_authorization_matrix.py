"""Every API operation and every portal and staff page, crossed with every role.

The operations come from the generated OpenAPI schema and the pages from the
URL resolver (namespaces `portal` and `reports`), so a new endpoint without a
row here fails `test_every_operation_and_page_has_a_row`. Each request runs in
a savepoint that is rolled back, so one role's write never changes what the
next role meets. Cross-patient and cross-clinic access answers 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from clinic.models import AuditEvent
from programmes import services
from programmes.models import Plan
from tests.api.conftest import ROLES, World
from tests.factories import CONTRAINDICATED, REVIEW, screen

pytestmark = pytest.mark.django_db


def expect(anon, pa, pb, ca, cx, staff, admin) -> dict[str, int]:
    return dict(zip(ROLES, (anon, pa, pb, ca, cx, staff, admin), strict=True))


@dataclass(frozen=True)
class Row:
    statuses: dict[str, int]
    # Path parameters of the operation, from the world (patient A's records).
    target: Callable[[World], dict] = lambda w: {}
    body: Callable[[World], dict] | None = None
    # Runs inside the role's savepoint before the request; may return path parameters.
    setup: Callable[[World], dict | None] | None = None
    health_data: bool = True


def patient_a(w):
    return {"id": w.patient_a.pk}


def plan_a(w):
    return {"id": w.plan_a.pk}


def new_draft_plan(w) -> dict:
    services.plan_end(plan=w.plan_a, by=w.plan_a.clinician, reason="Replaced")
    draft = services.plan_create_from_template(
        patient=w.patient_a, template=w.template, by=w.plan_a.clinician
    )
    return {"id": draft.pk}


def paused_plan(w) -> None:
    services.plan_pause(plan=w.plan_a, by=w.plan_a.clinician, reason="Holiday")


def advanced_plan(w) -> None:
    services.plan_advance(plan=w.plan_a, by=w.plan_a.clinician, pace_override_reason="Set-up")


def review_required(w) -> None:
    screen(w.patient_a, **REVIEW)


def overridden(w) -> None:
    from patients import services as patient_services

    screening = screen(w.patient_a, **REVIEW)
    patient_services.screening_override_record(
        screening=screening, clinician=w.patient_a.clinician, reason="BP rechecked", channel="api"
    )


def awaiting_confirmation(w) -> dict:
    """Patient A's own answers (no longer pregnant) wait for a clinician's confirmation."""
    from patients import services as patient_services

    screen(w.patient_a, **CONTRAINDICATED)
    patient_services.patient_health_update(
        patient=w.patient_a, changes={"pregnant": False}, by=w.patient_a.user, channel="portal"
    )
    return {"id": w.patient_a.screenings.get(awaiting_confirmation=True).pk}


def intake_body(w) -> dict:
    return {
        "systolic_bp": 122,
        "diastolic_bp": 78,
        "bp_measured_by": "Nurse",
        "bp_measured_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "weight_kg": 80,
        "height_cm": 178,
        "baseline_pain": 5,
        "odi_sections": [1, 1, 1, 1, 1, 1, 1, 1, 1, None],
    }


def checkin_body(w) -> dict:
    return {"idempotency_key": str(uuid.uuid4()), "completion": "done", "pain_before": 3}


READ_ALL = expect(401, 200, 200, 200, 200, 200, 200)  # each sees their own scope
READ_A = expect(401, 200, 404, 200, 404, 200, 200)
STAFF_READ_A = expect(401, 403, 403, 200, 404, 200, 200)
CLINICAL_A = expect(401, 200, 404, 200, 404, 403, 200)
CLINICAL_LIST = expect(401, 200, 200, 200, 200, 403, 200)
PLAN_WRITE_A = expect(401, 403, 404, 200, 404, 403, 200)
PATIENT_ONLY = expect(401, 200, 200, 403, 403, 403, 403)
LIBRARY = expect(401, 403, 403, 200, 200, 403, 200)
V1 = "/api/v1"

API: dict[tuple[str, str], Row] = {
    ("POST", f"{V1}/auth/token/"): Row(
        expect(200, 200, 200, 200, 200, 200, 200),
        body=lambda w: {
            "username": w.users["patient_a"].username,
            "password": "correct-horse-battery",
        },
        health_data=False,
    ),
    ("POST", f"{V1}/auth/token/revoke/"): Row(
        expect(401, 204, 204, 204, 204, 204, 204), health_data=False
    ),
    ("GET", f"{V1}/patients/"): Row(READ_ALL),
    ("POST", f"{V1}/patients/"): Row(
        # The other clinic's clinician can't name clinician A as responsible: 400.
        expect(401, 403, 403, 201, 400, 403, 201),
        body=lambda w: {
            "first_name": "Ada",
            "last_name": "Lane",
            "date_of_birth": "1970-02-03",
            "clinician": w.users["clinician_a"].pk,
        },
    ),
    ("GET", f"{V1}/patients/{{id}}/"): Row(READ_A, patient_a),
    ("PATCH", f"{V1}/patients/{{id}}/"): Row(
        expect(401, 403, 404, 200, 404, 403, 200), patient_a, body=lambda w: {"phone": "0700"}
    ),
    ("GET", f"{V1}/patients/{{id}}/adherence/"): Row(READ_A, patient_a),
    ("POST", f"{V1}/patients/{{id}}/intakes/"): Row(
        expect(401, 201, 404, 201, 404, 403, 201), patient_a, body=intake_body
    ),
    ("GET", f"{V1}/patients/{{id}}/screening/"): Row(CLINICAL_A, patient_a),
    ("POST", f"{V1}/patients/{{id}}/screening/override/"): Row(
        expect(401, 403, 404, 201, 404, 403, 201),
        patient_a,
        body=lambda w: {"reason": "Blood pressure rechecked 128/82"},
        setup=review_required,
    ),
    ("POST", f"{V1}/patients/{{id}}/screening/override/revoke/"): Row(
        expect(401, 403, 404, 200, 404, 403, 200),
        patient_a,
        body=lambda w: {"reason": "Blood pressure now 165/100"},
        setup=overridden,
    ),
    ("GET", f"{V1}/intakes/"): Row(CLINICAL_LIST),
    ("GET", f"{V1}/intakes/{{id}}/"): Row(CLINICAL_A, lambda w: {"id": w.intake_a.pk}),
    ("GET", f"{V1}/screenings/"): Row(CLINICAL_LIST),
    ("GET", f"{V1}/screenings/{{id}}/"): Row(
        CLINICAL_A, lambda w: {"id": w.patient_a.current_screening_id}
    ),
    ("POST", f"{V1}/screenings/{{id}}/confirm/"): Row(
        expect(401, 403, 404, 200, 404, 403, 200), setup=awaiting_confirmation
    ),
    ("GET", f"{V1}/plans/"): Row(READ_ALL),
    ("POST", f"{V1}/plans/"): Row(
        # Patient A is not in the other clinic's scope: an invalid choice, 400.
        expect(401, 403, 403, 201, 400, 403, 201),
        body=lambda w: {"patient": w.patient_a.pk, "template": w.template.pk},
    ),
    ("GET", f"{V1}/plans/{{id}}/"): Row(READ_A, plan_a),
    ("PATCH", f"{V1}/plans/{{id}}/"): Row(
        PLAN_WRITE_A, plan_a, body=lambda w: {"auto_advance": True}
    ),
    ("POST", f"{V1}/plans/{{id}}/exercises/"): Row(
        expect(401, 403, 404, 201, 404, 403, 201),
        plan_a,
        body=lambda w: {"exercise": w.exercise.pk},
    ),
    ("POST", f"{V1}/plans/{{id}}/activate/"): Row(PLAN_WRITE_A, setup=new_draft_plan),
    ("POST", f"{V1}/plans/{{id}}/pause/"): Row(
        PLAN_WRITE_A, plan_a, body=lambda w: {"reason": "Holiday"}
    ),
    ("POST", f"{V1}/plans/{{id}}/resume/"): Row(PLAN_WRITE_A, plan_a, setup=paused_plan),
    ("POST", f"{V1}/plans/{{id}}/advance/"): Row(
        PLAN_WRITE_A, plan_a, body=lambda w: {"pace_override_reason": "Seen in clinic"}
    ),
    ("POST", f"{V1}/plans/{{id}}/go-back/"): Row(PLAN_WRITE_A, plan_a, setup=advanced_plan),
    ("POST", f"{V1}/plans/{{id}}/end/"): Row(
        PLAN_WRITE_A, plan_a, body=lambda w: {"reason": "Done"}
    ),
    ("GET", f"{V1}/plans/{{plan_pk}}/events/"): Row(
        STAFF_READ_A, lambda w: {"plan_pk": w.plan_a.pk}
    ),
    ("GET", f"{V1}/checkins/"): Row(READ_ALL),
    ("GET", f"{V1}/checkins/{{id}}/"): Row(READ_A, lambda w: {"id": w.checkin_a.pk}),
    ("GET", f"{V1}/alerts/"): Row(expect(401, 403, 403, 200, 200, 200, 200)),
    ("GET", f"{V1}/alerts/{{id}}/"): Row(
        expect(401, 403, 404, 200, 404, 200, 200), lambda w: {"id": w.alert_a.pk}
    ),
    ("POST", f"{V1}/alerts/{{id}}/acknowledge/"): Row(
        expect(401, 403, 404, 200, 404, 403, 200), lambda w: {"id": w.alert_a.pk}
    ),
    ("GET", f"{V1}/exercises/"): Row(LIBRARY, health_data=False),
    ("GET", f"{V1}/exercises/{{id}}/"): Row(
        LIBRARY, lambda w: {"id": w.exercise.pk}, health_data=False
    ),
    ("GET", f"{V1}/templates/"): Row(LIBRARY, health_data=False),
    ("GET", f"{V1}/templates/{{id}}/"): Row(
        LIBRARY, lambda w: {"id": w.template.pk}, health_data=False
    ),
    ("GET", f"{V1}/me/today/"): Row(PATIENT_ONLY),
    ("GET", f"{V1}/me/progress/"): Row(PATIENT_ONLY),
    ("GET", f"{V1}/me/checkins/"): Row(PATIENT_ONLY),
    ("POST", f"{V1}/me/checkins/"): Row(
        expect(401, 201, 201, 403, 403, 403, 403), body=checkin_body
    ),
    ("GET", f"{V1}/me/reminder-preferences/"): Row(PATIENT_ONLY),
    ("PATCH", f"{V1}/me/reminder-preferences/"): Row(
        PATIENT_ONLY, body=lambda w: {"reminder_time": "19:30:00"}
    ),
}

# HTML pages: patients use the portal; staff-side roles are sent to the admin (302).
PORTAL = expect(302, 200, 200, 302, 302, 302, 302)
PAGES: dict[str, Row] = {
    "portal:home": Row(PORTAL),
    "portal:checkin": Row(PORTAL),
    "portal:history": Row(PORTAL),
    "portal:checkin_detail": Row(
        expect(302, 200, 404, 302, 302, 302, 302), lambda w: {"pk": w.checkin_a.pk}
    ),
    "portal:progress": Row(PORTAL),
    "portal:health_update": Row(PORTAL),
    # A patient who has done the intake is sent on to the health update.
    "portal:intake": Row(expect(302, 302, 302, 302, 302, 302, 302)),
    "portal:settings": Row(PORTAL),
    "portal:questionnaire": Row(PORTAL),
}


def _report_kind(w) -> dict:
    from reports.exports import EXPORT_KINDS

    return {"kind": next(iter(EXPORT_KINDS))}


def _staffs_export(w) -> dict:
    """An export the staff member requested: only its requester sees it."""
    from programmes.models import ReportExport
    from reports.exports import EXPORT_KINDS

    export = ReportExport.objects.create(
        clinic=w.patient_a.clinic,
        requested_by=w.users["staff"],
        kind=next(iter(EXPORT_KINDS)),
        filters={},
    )
    return {"pk": export.pk}


# Staff reports: the clinic's staff-side roles; patients 403; another clinic's patient 404.
STAFF_AREA = expect(302, 403, 403, 200, 200, 200, 200)
REPORT_OF_A = expect(302, 403, 403, 200, 404, 200, 200)
PAGES.update(
    {
        "reports:overview": Row(STAFF_AREA),
        "reports:patients": Row(STAFF_AREA),
        "reports:patient": Row(REPORT_OF_A, lambda w: {"pk": w.patient_a.pk}),
        "reports:patient_csv": Row(REPORT_OF_A, lambda w: {"pk": w.patient_a.pk}),
        "reports:at_risk": Row(STAFF_AREA),
        # POST only, for clinicians (clinic administrators too): a GET is refused.
        "reports:at_risk_acknowledge": Row(
            expect(302, 403, 403, 405, 404, 403, 405), lambda w: {"pk": w.patient_a.pk}
        ),
        "reports:clinicians": Row(STAFF_AREA),
        "reports:templates": Row(STAFF_AREA),
        "reports:export_csv": Row(STAFF_AREA, _report_kind),
        "reports:exports": Row(STAFF_AREA),
        "reports:export_status": Row(
            expect(302, 403, 403, 404, 404, 200, 404), setup=_staffs_export
        ),
        "reports:export_download": Row(
            expect(302, 403, 403, 404, 404, 404, 404), setup=_staffs_export
        ),
    }
)
PAGE_NAMESPACES = ("portal", "reports")


def schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }


def _walk(patterns, namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and namespace in PAGE_NAMESPACES and pattern.name:
            yield f"{namespace}:{pattern.name}"


def resolver_pages() -> set[str]:
    return set(_walk(get_resolver().url_patterns))


def test_every_operation_and_page_has_a_row():
    """A new endpoint or page without an expectation here fails this test."""
    assert schema_operations() == set(API)
    found = resolver_pages()
    namespaces = {name.split(":")[0] for name in found}
    # Rows of a namespace not (yet) in the URLconf are not required to resolve.
    assert found == {name for name in PAGES if name.split(":")[0] in namespaces}
    assert "portal" in namespaces


@dataclass(frozen=True)
class Answer:
    status: int
    shows_data: bool  # a JSON body with something in it (a non-empty page, an object)
    audited: bool  # a `read` row by this user, channel api, with the client's address


def _answer_in_savepoint(world: World, role: str, row: Row, request) -> Answer:
    """Send one request in a savepoint that is rolled back afterwards."""
    with transaction.atomic():
        kwargs = row.target(world)
        if row.setup is not None:
            kwargs = {**kwargs, **(row.setup(world) or {})}
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = request(kwargs)
        answer = Answer(
            status=response.status_code,
            shows_data=_shows_data(response),
            audited=_read_audited(world, role, before),
        )
        transaction.set_rollback(True)
    # The world's objects may carry state from the rolled-back setup.
    for obj in (world.plan_a, world.patient_a):
        obj.refresh_from_db()
    return answer


def _read_audited(world: World, role: str, before: int) -> bool:
    rows = AuditEvent.objects.filter(
        id__gt=before,
        actor=world.users[role],
        action="read",
        channel="api",
        ip_address="127.0.0.1",
    )
    return rows.exists()


def _shows_data(response) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    body = response.json()
    return bool(body.get("results")) if "results" in body else bool(body)


def test_api_operations_answer_each_role_as_expected_and_audit_every_health_read(world):
    """One world, every operation and role; each request rolled back after it."""
    got, wrong, unaudited = {}, {}, []
    for method, path in sorted(API):
        row = API[(method, path)]
        for role in ROLES:
            client = world.client(role)
            body = row.body(world) if row.body else None

            def send(kwargs, client=client, body=body, method=method, path=path):
                return getattr(client, method.lower())(path.format(**kwargs), body, format="json")

            answer = _answer_in_savepoint(world, role, row, send)
            got[role] = answer.status
            health_read = method == "GET" and row.health_data and answer.status == 200
            if health_read and answer.shows_data and not answer.audited:
                unaudited.append((role, path))
        if got != row.statuses:
            wrong[f"{method} {path}"] = {
                role: f"{got[role]} (expected {row.statuses[role]})"
                for role in ROLES
                if got[role] != row.statuses[role]
            }
    assert wrong == {}
    assert unaudited == []


def page_client(user) -> Client:
    """A browser session; staff-side accounts have passed their second factor."""
    client = Client()
    if user is None:
        return client
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if user.is_staff and apps.is_installed("django_otp.plugins.otp_totp"):
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def test_portal_and_staff_pages_answer_each_role_as_expected(world):
    wrong = {}
    for name, row in sorted(PAGES.items()):
        if name.split(":")[0] not in {n.split(":")[0] for n in resolver_pages()}:
            continue
        got = {}
        for role in ROLES:
            client = page_client(world.users[role])

            def send(kwargs, client=client, name=name):
                return client.get(reverse(name, kwargs=kwargs))

            got[role] = _answer_in_savepoint(world, role, row, send).status
        if got != row.statuses:
            wrong[name] = {
                role: f"{got[role]} (expected {row.statuses[role]})"
                for role in ROLES
                if got[role] != row.statuses[role]
            }
    assert wrong == {}


def test_every_health_read_of_the_matrix_left_an_audit_row_with_who_and_where(world):
    """Outside any savepoint: after all reads, each reader has rows naming them and the IP."""
    readers = []
    for (method, path), row in API.items():
        if method != "GET" or not row.health_data:
            continue
        for role in ROLES:
            if row.statuses[role] != 200:
                continue
            response = world.client(role).get(path.format(**row.target(world)))
            assert response.status_code == 200
            if _shows_data(response):
                readers.append((role, path))
    assert readers
    for role, path in readers:
        assert AuditEvent.objects.filter(
            actor=world.users[role], action="read", channel="api", ip_address="127.0.0.1"
        ).exists(), (role, path)
    # Patient A's own record was read by A, their clinician, staff and the administrator.
    readers_of_a = set(
        AuditEvent.objects.filter(
            patient_id=world.patient_a.pk, action="read", object_type="patients.patient"
        ).values_list("actor__username", flat=True)
    )
    expected = {
        world.users[r].username for r in ("patient_a", "clinician_a", "staff", "clinic_admin")
    }
    assert expected <= readers_of_a
    assert world.users["patient_b"].username not in readers_of_a


def test_clinician_reads_but_cannot_change_a_colleagues_patients_plan(world):
    from tests.factories import clinician

    colleague = clinician(world.patient_a.clinic)
    world.users["colleague"] = colleague
    client = world.client("colleague")
    assert client.get(f"{V1}/plans/{world.plan_a.pk}/").status_code == 200
    assert client.post(f"{V1}/plans/{world.plan_a.pk}/advance/").status_code == 403
    created = client.post(
        f"{V1}/plans/",
        {"patient": world.patient_a.pk, "template": world.template.pk},
        format="json",
    )
    assert created.status_code == 403
    assert Plan.objects.filter(patient=world.patient_a).count() == 1
    assert world.plan_a.current_step.order == 0
