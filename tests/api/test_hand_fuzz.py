"""Hand-fuzzed input that once answered 500 answers 400 (or is ignored) instead:
cursors that aren't ours, JSON nested thousands deep, time zones that aren't,
and admin list filters given values they never offered."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from django.contrib import admin
from django.test import Client

from clinic.models import Role
from tests.factories import UserFactory, member, otp_login

pytestmark = pytest.mark.django_db


def _cursor(query: str) -> str:
    return quote(base64.b64encode(query.encode()).decode())


BAD_CURSORS = {
    "a position that isn't a number": _cursor("p=abc"),
    "a position with a NUL": _cursor("p=1%00"),
    "a position beyond bigint": _cursor("p=99999999999999999999999"),
    "an offset that isn't a number": _cursor("o=abc&p=1"),
    "not base64 at all": "%%%not-base64",
    "reverse that isn't a flag": _cursor("r=maybe&p=1"),
}
CURSOR_PATHS = [
    ("clinician_a", "/api/v1/patients/"),
    ("clinician_a", "/api/v1/checkins/"),
    ("clinician_a", "/api/v1/alerts/"),
    ("patient_a", "/api/v1/me/checkins/"),
]
# One world for many requests: each test here loops rather than parametrizes.


def test_a_cursor_that_is_not_ours_answers_400(world):
    for role, path in CURSOR_PATHS:
        client = world.client(role)
        for name, cursor in BAD_CURSORS.items():
            response = client.get(f"{path}?cursor={cursor}")

            assert response.status_code == 400, (path, name, response.content)
            assert "cursor" in response.json(), (path, name)


def test_a_page_size_that_is_not_a_whole_number_from_1_answers_400_a_huge_one_is_capped(world):
    client = world.client("clinician_a")

    refused = [client.get(f"/api/v1/patients/?page_size={v}") for v in ("abc", "0", "-3", "")]
    capped = client.get("/api/v1/patients/?page_size=100000")

    assert [r.status_code for r in refused] == [400, 400, 400, 400]
    assert capped.status_code == 200


def test_a_nul_in_an_api_query_string_answers_400_in_json(world):
    response = world.client("clinician_a").get("/api/v1/patients/?first_name=%00")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


def test_a_cursor_from_a_next_link_still_pages_and_a_huge_offset_is_capped(world):
    client = world.client("clinician_a")
    first = client.get("/api/v1/patients/?page_size=1").json()

    following = client.get(first["next"])
    far = client.get(f"/api/v1/patients/?cursor={_cursor('o=99999999999999999999&p=1')}")

    assert following.status_code == 200
    assert following.json()["results"][0]["id"] != first["results"][0]["id"]
    assert far.status_code == 200


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


JSON_PATHS = [
    ("clinician_a", "post", "/api/v1/patients/"),
    ("patient_a", "patch", "/api/v1/me/reminder-preferences/"),
    ("patient_a", "post", "/api/v1/me/checkins/"),
    ("anonymous", "post", "/api/v1/auth/token/"),
]


def test_json_nested_too_deep_answers_400(world):
    for role, method, path in JSON_PATHS:
        client = world.client(role)
        for depth in (65, 5_000, 100_000):
            body = json.dumps({"time_zone": "here"}).replace('"here"', _nested(depth))

            response = getattr(client, method)(path, body, content_type="application/json")

            assert response.status_code == 400, (path, depth, response.content)
            assert "nested" in response.json()["detail"], (path, depth)


def test_json_strings_holding_nul_answer_400(world):
    """PostgreSQL's text and jsonb refuse NUL: a string holding one is refused first."""
    cases = [
        ("patient_a", "patch", "/api/v1/me/reminder-preferences/", {"time_zone": "\x00"}),
        ("patient_a", "post", "/api/v1/me/checkins/", {"symptoms": ["\x00"]}),
        ("clinician_a", "post", "/api/v1/patients/", {"first_name\x00": "Ada"}),
    ]
    for role, method, path, data in cases:
        response = getattr(world.client(role), method)(path, data, format="json")

        assert response.status_code == 400, (path, response.content)


def test_json_nested_a_little_is_parsed_as_before(world):
    response = world.client("patient_a").patch(
        "/api/v1/me/reminder-preferences/",
        json.dumps({"time_zone": "Europe/Paris", "unknown": _nested(30)}),
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["time_zone"] == "Europe/Paris"


BAD_TIME_ZONES = {
    "300 characters": "A" * 300,
    "a region and 300 characters": "Europe/" + "a" * 300,
    "a directory of zones": "Europe",  # (one with a NUL: test_json_strings_holding_nul)
    "a path out of the zone files": "../../etc/passwd",
    "not a zone": "Mars/Olympus_Mons",
}


def test_a_time_zone_that_is_not_one_answers_400_on_reminder_preferences(world):
    client = world.client("patient_a")
    for name, zone in BAD_TIME_ZONES.items():
        response = client.patch(
            "/api/v1/me/reminder-preferences/", {"time_zone": zone}, format="json"
        )

        assert response.status_code == 400, (name, response.content)
        assert "time_zone" in response.json(), name
    world.patient_a.refresh_from_db()
    assert world.patient_a.time_zone == "Europe/London"


def test_a_time_zone_that_is_not_one_answers_400_on_patient_create(world):
    client = world.client("clinician_a")
    for name, zone in BAD_TIME_ZONES.items():
        response = client.post(
            "/api/v1/patients/",
            {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "date_of_birth": "1970-01-01",
                "time_zone": zone,
            },
            format="json",
        )

        assert response.status_code == 400, (name, response.content)
        assert "time_zone" in response.json(), name


# Admin list filters: every changelist, every filter parameter, values no filter offers.
BAD_FILTER_VALUES = {
    "letters": "abc",
    "a NUL": "\x00",
    "beyond bigint": "99999999999999999999999",
    "a fraction": "1.5",
    "very long": "x" * 5_000,
    "the last year there is": "9999",
}


@pytest.fixture
def admin_client_of_clinic():
    client = Client()
    otp_login(client, member(Role.CLINIC_ADMIN))
    return client


@pytest.fixture
def superuser_client():
    """Sees every admin, Django's and the libraries' included."""
    client = Client()
    otp_login(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def _changelists() -> list[str]:
    return [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model, model_admin in admin.site._registry.items()
        if model_admin.list_filter or model_admin.search_fields or model_admin.date_hierarchy
    ]


@pytest.mark.parametrize("path", _changelists())
def test_admin_filters_given_values_they_never_offered_answer_400_or_ignore_them(
    superuser_client, admin_client_of_clinic, path
):
    client = admin_client_of_clinic
    page = client.get(path)
    if page.status_code == 403:
        client = superuser_client
        page = client.get(path)
    assert page.status_code == 200, path
    changelist = page.context["cl"]
    parameters = {"q", "o", "p"}
    for spec in changelist.filter_specs:
        parameters.update(spec.expected_parameters())
    if changelist.date_hierarchy:
        field = changelist.date_hierarchy
        parameters.update({f"{field}__year", f"{field}__month", f"{field}__day"})

    for parameter in sorted(parameters):
        for name, value in BAD_FILTER_VALUES.items():
            response = client.get(path, {parameter: value})
            if response.status_code == 302:  # Django's "?e=1" for a lookup it can't apply
                response = client.get(response["Location"])
            assert response.status_code in (200, 400), (path, parameter, name)


def test_patient_admin_clinician_filter_abc_and_audit_action_nul_answer_400_or_are_ignored(
    admin_client_of_clinic,
):
    """The two cases the probe found, by name."""
    client = admin_client_of_clinic

    by_clinician = client.get("/admin/patients/patient/?clinician=abc")
    by_action = client.get("/admin/clinic/auditevent/?action=%00")

    assert by_clinician.status_code in (200, 400)
    assert by_action.status_code == 400


@pytest.mark.django_db
def test_a_bad_time_zone_posted_to_the_patient_admin_is_a_form_error_not_a_500():
    from django.test import Client

    from clinic.models import Role
    from tests.factories import member, otp_login, patient_with_portal

    patient = patient_with_portal()
    client = Client()
    otp_login(client, member(Role.CLINIC_ADMIN, patient.clinic))
    url = f"/admin/patients/patient/{patient.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data["time_zone"] = "Mars/Olympus"
    response = client.post(url, {k: v for k, v in data.items() if v is not None})
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.time_zone != "Mars/Olympus"
