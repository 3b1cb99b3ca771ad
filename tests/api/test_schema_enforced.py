"""What the schema forbids the API refuses, field by field, and what the schema states
the API enforces: the fixes schemathesis's negative_data_rejection and
positive_data_acceptance checks led to (tests/api/test_schemathesis.py)."""

from __future__ import annotations

import re
import sys
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from clinic.api_schema import NOT_ONLY_WHITESPACE
from programmes.models import CheckIn, ClinicianAlert
from tests.factories import PatientFactory, api_token

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def published_schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


LIST_FILTERS = [
    ("clinician_a", "/api/v1/checkins/", "date_to"),
    ("clinician_a", "/api/v1/checkins/", "completion"),
    ("clinician_a", "/api/v1/intakes/", "taken_from"),
    ("clinician_a", "/api/v1/alerts/", "open"),
    ("clinician_a", "/api/v1/alerts/", "kind"),
    ("clinician_a", "/api/v1/plans/", "patient"),
    ("clinician_a", "/api/v1/patients/", "screening_outcome"),
]


# One world for many requests: each test here loops rather than parametrizes.


def test_a_filter_given_without_a_value_answers_400_naming_it(world):
    """django-filter would drop it and answer the unfiltered list."""
    for role, path, name in LIST_FILTERS:
        response = world.client(role).get(f"{path}?{name}=")

        assert response.status_code == 400, (path, name, response.content)
        assert name in response.json(), (path, name)


def test_open_is_true_or_false_anything_else_answers_400_naming_it(world):
    client = world.client("clinician_a")
    for value in ("null", "1", "True", "yes", "maybe"):
        response = client.get(f"/api/v1/alerts/?open={value}")

        assert response.status_code == 400, (value, response.content)
        assert "open" in response.json(), value


def test_open_true_and_false_filter_the_alerts(world):
    client = world.client("clinician_a")
    open_ids = [row["id"] for row in client.get("/api/v1/alerts/?open=true").json()["results"]]
    closed = client.get("/api/v1/alerts/?open=false").json()["results"]

    assert open_ids == [world.alert_a.pk]
    assert closed == []


def test_an_id_filter_that_is_not_a_whole_number_from_1_answers_400_naming_it(world):
    """The schema says integer: django-filter's NumberFilter read 1.5 as patient 1."""
    client = world.client("clinician_a")
    for value in ("1.5", "1e51", "0", "-1", "9223372036854775808", "\u0661", " 1"):
        response = client.get("/api/v1/plans/", {"patient": value})

        assert response.status_code == 400, (value, response.content)
        assert "patient" in response.json(), value


def test_an_id_filter_picks_that_patients_rows(world):
    client = world.client("clinician_a")
    response = client.get("/api/v1/checkins/", {"patient": world.patient_a.pk})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [world.checkin_a.pk]


def test_a_reminder_time_the_schema_forbids_answers_400_naming_it(world):
    """DRF's time parsing takes more than HH:MM[:SS]; the schema's pattern is the rule."""
    client = world.client("patient_a")
    for value in ("09:95", "24:00", "9:05", "18:00:00.5", "18:00+01:00", "\u0661\u0668:00"):
        response = client.patch(
            "/api/v1/me/reminder-preferences/", {"reminder_time": value}, format="json"
        )

        assert response.status_code == 400, (value, response.content)
        assert "reminder_time" in response.json(), value
    world.patient_a.refresh_from_db()
    assert world.patient_a.reminder_time.isoformat() == "18:00:00"


def test_a_reminder_time_the_schema_allows_is_kept(world):
    client = world.client("patient_a")
    for value, kept in (("19:30", "19:30:00"), ("19:30:15", "19:30:15"), ("23:59:59", "23:59:59")):
        response = client.patch(
            "/api/v1/me/reminder-preferences/", {"reminder_time": value}, format="json"
        )

        assert response.status_code == 200, (value, response.content)
        world.patient_a.refresh_from_db()
        assert world.patient_a.reminder_time.isoformat() == kept


def test_a_plan_change_naming_a_field_it_does_not_have_answers_400_naming_it(world):
    response = world.client("clinician_a").patch(
        f"/api/v1/plans/{world.plan_a.pk}/", {"status": "ended"}, format="json"
    )

    assert response.status_code == 400
    assert "status" in response.json()


def test_the_schema_says_a_plan_change_takes_no_other_field(published_schema):
    component = published_schema["components"]["schemas"]["PatchedPlanUpdateRequest"]

    assert component["additionalProperties"] is False


def test_a_blank_plan_name_answers_400_naming_it_and_the_schema_forbids_it(world, published_schema):
    name = published_schema["components"]["schemas"]["PatchedPlanUpdateRequest"]["properties"][
        "name"
    ]
    response = world.client("clinician_a").patch(
        f"/api/v1/plans/{world.plan_a.pk}/", {"name": " \t\u3000"}, format="json"
    )

    assert response.status_code == 400
    assert "name" in response.json()
    assert name["pattern"] == NOT_ONLY_WHITESPACE


def test_the_not_only_whitespace_pattern_is_pythons_strip():
    """The pattern matches a one-character string exactly when DRF's trimming keeps it."""
    pattern = re.compile(NOT_ONLY_WHITESPACE)
    disagree = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if (pattern.search(chr(code)) is None) != (chr(code).strip() == "")
    ]

    assert disagree == []


def test_the_schema_states_the_intake_ranges_the_api_refuses_outside(world, published_schema):
    properties = published_schema["components"]["schemas"]["IntakeAnswersRequest"]["properties"]
    client = world.client("clinician_a")
    for field, value in (
        ("systolic_bp", 59),
        ("systolic_bp", 261),
        ("diastolic_bp", 29),
        ("weight_kg", 350.5),
        ("height_cm", 99),
    ):
        response = client.post(
            f"/api/v1/patients/{world.patient_a.pk}/intakes/", {field: value}, format="json"
        )

        assert response.status_code == 400, (field, value)
        assert field in response.json(), (field, value)
        assert not properties[field]["minimum"] <= value <= properties[field]["maximum"]


def test_page_size_and_id_filters_state_their_bounds(published_schema):
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in published_schema["paths"]["/api/v1/plans/"]["get"]["parameters"]
    }

    assert parameters["page_size"] == {"type": "integer", "minimum": 1}
    assert parameters["patient"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 2**63 - 1,
    }


def test_request_bodies_are_documented_as_json_only(published_schema):
    types = {
        media_type
        for item in published_schema["paths"].values()
        for operation in item.values()
        for media_type in (operation.get("requestBody") or {}).get("content", {})
    }

    assert types == {"application/json"}


def test_a_form_encoded_check_in_with_a_stop_symptom_is_still_taken_and_acted_on(world):
    """The schema documents JSON, but the API keeps parsing forms: a stop symptom posted
    as a plain form is acted on, never refused with 415 and lost."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(world.patient_a.user)}")
    response = client.post(
        "/api/v1/me/checkins/",
        f"idempotency_key={uuid.uuid4()}&completion=done&symptoms=chest_pain",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 201, response.content
    assert response.json()["inversion_paused"] is True
    assert CheckIn.objects.filter(patient=world.patient_a, symptoms=["chest_pain"]).exists()
    assert ClinicianAlert.objects.filter(
        patient=world.patient_a, kind=ClinicianAlert.Kind.STOP_SYMPTOM
    ).exists()


def test_a_patient_changed_before_any_screening_is_answered_with_a_null_outcome(world):
    """The schema requires `screening_outcome`; a partial update's answer once left it out."""
    clinician_a = world.users["clinician_a"]
    unscreened = PatientFactory(clinic=world.patient_a.clinic, clinician=clinician_a)

    response = world.client("clinician_a").patch(
        f"/api/v1/patients/{unscreened.pk}/", {"first_name": "Ada"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Ada"
    assert response.json()["screening_outcome"] is None


def test_a_check_in_under_a_used_key_with_a_field_the_schema_forbids_answers_400_naming_it(world):
    """The first check-in stands (and a new stop symptom is acted on), but the body's
    invalid field is refused by name, not answered 200 as if it were a plain retry."""
    client = world.client("patient_a")
    key = str(uuid.uuid4())
    first = client.post(
        "/api/v1/me/checkins/",
        {"idempotency_key": key, "completion": "not_done"},
        format="json",
    )
    assert first.status_code == 201

    again = client.post(
        "/api/v1/me/checkins/",
        {
            "idempotency_key": key,
            "completion": "not_done",
            "pain_after": 11,
            "symptoms": ["chest_pain"],
        },
        format="json",
    )

    assert again.status_code == 400, again.content
    assert set(again.json()) == {"pain_after", "safety"}
    assert again.json()["safety"]["checkin"]["id"] == first.json()["checkin"]["id"]
    assert again.json()["safety"]["clinician_alerted"] is True
    stored = CheckIn.objects.get(patient=world.patient_a, idempotency_key=key)
    assert stored.pain_after is None
    assert stored.symptoms == ["chest_pain"]
