"""A stop symptom is acted on in the same request, whatever else the check-in got wrong.

Each stop symptom (CLINICAL.md s.4) crossed with each kind of invalid field, through the
API and the portal: inversion pauses, the clinician is alerted, a red flag puts the
patient in urgent referral, and the invalid fields are refused one by one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from programmes import services
from programmes.domain.permission import Level, PauseCause
from programmes.domain.symptoms import RED_FLAG_SYMPTOMS, STOP_SYMPTOMS
from programmes.models import CheckIn, ClinicianAlert, ProgrammeTemplate
from programmes.permission import patient_today, treatment_today
from tests.factories import patient_with_portal, screen

pytestmark = pytest.mark.django_db

STOP_CODES = sorted(STOP_SYMPTOMS)


@pytest.fixture
def patient():
    """A cleared patient at step 1 of an active inversion plan, with a portal account."""
    patient = patient_with_portal()
    screen(patient)
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    services.plan_activate(plan=plan, by=patient.clinician)
    return patient


def lapse(patient, monkeypatch) -> None:
    """The screening lapsed yesterday and the hourly sweep has not run: inversion is still
    running on the plan, but today's permission refuses inversion fields. A screening is
    never edited, so the clock moves to the day after its last valid day."""
    ahead = patient.current_screening.valid_until - patient_today(patient) + timedelta(days=1)
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + ahead)


def api_body(code: str, **overrides) -> dict:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "completion": "done",
        "inversion_angle_deg": 20,
        "inversion_seconds": 60,
        "pain_before": 5,
        "pain_after": 6,
        "symptoms": [code],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not REMOVED}


REMOVED = object()
TODAY_PLUS = 3

# (id, what breaks, field the answer names, set-up)
API_INVALID = [
    ("pain out of range", {"pain_before": 15}, "pain_before", None),
    ("pain not a number", {"pain_after": "a lot"}, "pain_after", None),
    ("completion missing", {"completion": REMOVED}, "completion", None),
    ("completion unknown", {"completion": "maybe"}, "completion", None),
    ("unknown exercise id", {"exercise_ids": [987654321]}, "exercise_ids", None),
    ("exercise ids not a list", {"exercise_ids": "all"}, "exercise_ids", None),
    ("date in the future", {"local_date": "future"}, "local_date", None),
    ("date before the window", {"local_date": "old"}, "local_date", None),
    ("malformed date", {"local_date": "yesterday"}, "local_date", None),
    ("angle out of range", {"inversion_angle_deg": 200}, "inversion_angle_deg", None),
    ("inversion fields the gate refuses", {}, "inversion_angle_deg", lapse),
    ("unknown symptom beside it", {"symptoms": "extra"}, "symptoms", None),
    ("malformed idempotency key", {"idempotency_key": "not-a-uuid"}, "idempotency_key", None),
    ("note too long", {"note": "x" * 2001}, "note", None),
]


def _resolve(overrides: dict, code: str, patient) -> dict:
    today = patient_today(patient)
    resolved = dict(overrides)
    if resolved.get("local_date") == "future":
        resolved["local_date"] = (today + timedelta(days=TODAY_PLUS)).isoformat()
    elif resolved.get("local_date") == "old":
        resolved["local_date"] = (today - timedelta(days=30)).isoformat()
    if resolved.get("symptoms") == "extra":
        resolved["symptoms"] = [code, "sneezing"]
    return resolved


def assert_acted_on(patient, code: str) -> None:
    now = treatment_today(patient.pk)
    plan = now.plan
    assert plan.inversion_paused
    red = code in RED_FLAG_SYMPTOMS
    assert plan.inversion_pause_cause == (PauseCause.RED_FLAG if red else PauseCause.STOP_SYMPTOM)
    kind = ClinicianAlert.Kind.RED_FLAG if red else ClinicianAlert.Kind.STOP_SYMPTOM
    assert ClinicianAlert.objects.filter(patient=patient, kind=kind).count() == 1
    assert now.inversion_step is None
    if red:
        assert now.patient.red_flag_reported_at is not None
        assert now.permission.level == Level.NONE and now.permission.urgent_referral
    else:
        assert now.patient.red_flag_reported_at is None
        assert now.permission.level == Level.EXERCISE_ONLY
    stored = CheckIn.objects.get(patient=patient)
    assert code in stored.symptoms


@pytest.mark.parametrize("code", STOP_CODES)
@pytest.mark.parametrize(
    ("overrides", "field", "setup"),
    [row[1:] for row in API_INVALID],
    ids=[row[0] for row in API_INVALID],
)
def test_api_stop_symptom_with_an_invalid_field_pauses_and_alerts(
    patient, code, overrides, field, setup, monkeypatch
):
    if setup is not None:
        setup(patient, monkeypatch)
    client = APIClient()
    client.force_authenticate(patient.user)
    data = api_body(code, **_resolve(overrides, code, patient))
    response = client.post("/api/v1/me/checkins/", data, format="json")
    assert response.status_code == 400, response.content
    answer = response.json()
    assert field in answer
    assert answer["safety"]["stop_advice"]
    assert answer["safety"]["clinician_alerted"] is True
    assert (answer["safety"]["urgent_referral_advice"] is not None) == (code in RED_FLAG_SYMPTOMS)
    assert_acted_on(patient, code)


def test_api_valid_fields_beside_a_refused_one_are_kept(patient):
    client = APIClient()
    client.force_authenticate(patient.user)
    response = client.post(
        "/api/v1/me/checkins/",
        api_body("chest_pain", pain_before=15, pain_after=8, note="felt awful"),
        format="json",
    )
    assert response.status_code == 400
    stored = CheckIn.objects.get(patient=patient)
    assert (stored.pain_before, stored.pain_after, stored.note) == (None, 8, "felt awful")
    assert stored.step_id is not None and stored.inversion_seconds == 60


def test_api_invalid_check_in_without_a_safety_signal_stores_nothing(patient):
    client = APIClient()
    client.force_authenticate(patient.user)
    response = client.post(
        "/api/v1/me/checkins/", api_body("dizziness", symptoms=[], pain_before=15), format="json"
    )
    assert response.status_code == 400
    assert "safety" not in response.json()
    assert not CheckIn.objects.exists()
    assert not treatment_today(patient.pk).plan.inversion_paused


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"symptoms": ["dizziness"]}, id="a mild symptom"),
        pytest.param({"symptoms": [], "pain_after": 8}, id="pain of 8"),
    ],
)
def test_api_a_mild_symptom_or_high_pain_beside_a_refused_field_is_kept_and_acted_on(patient, body):
    client = APIClient()
    client.force_authenticate(patient.user)
    response = client.post(
        "/api/v1/me/checkins/",
        api_body("dizziness", pain_before=15, **body),
        format="json",
    )
    assert response.status_code == 400  # the refused field is named
    assert "pain_before" in response.json()
    stored = CheckIn.objects.get(patient=patient)
    assert stored.pain_before is None
    if body["symptoms"]:
        assert stored.symptoms == ["dizziness"]
    else:
        assert ClinicianAlert.objects.filter(patient=patient, kind="high_pain").exists()


def test_api_stop_symptom_in_a_body_that_is_not_json_object_still_answers_400(patient):
    client = APIClient()
    client.force_authenticate(patient.user)
    response = client.post("/api/v1/me/checkins/", ["chest_pain"], format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("code", STOP_CODES)
def test_a_valid_stop_checkin_sent_again_answers_as_the_first(patient, code):
    """A retry after a lost answer: the patient is told again that their clinician was
    told and inversion paused, because both happened the first time."""
    client = APIClient()
    client.force_authenticate(patient.user)
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "completion": "not_done",
        "pain_before": 5,
        "symptoms": [code],
    }
    first = client.post("/api/v1/me/checkins/", data, format="json")
    again = client.post("/api/v1/me/checkins/", data, format="json")
    assert first.status_code == 201, first.content
    assert again.status_code == 200, again.content
    for answer in (first.json(), again.json()):
        assert answer["clinician_alerted"] is True
        assert answer["inversion_paused"] is True
    assert ClinicianAlert.objects.filter(patient=patient).count() == 1


def test_api_stop_symptom_sent_again_with_the_same_key_alerts_once(patient):
    client = APIClient()
    client.force_authenticate(patient.user)
    data = api_body("fainting", pain_before=15)
    first = client.post("/api/v1/me/checkins/", data, format="json")
    again = client.post("/api/v1/me/checkins/", data, format="json")
    # The repeat is as invalid as the first (400 naming the field); the stop symptom was
    # acted on once, and the answer says so both times.
    assert first.status_code == 400 and again.status_code == 400
    assert "pain_before" in again.json()
    assert again.json()["safety"]["clinician_alerted"] is True
    assert CheckIn.objects.filter(patient=patient).count() == 1
    assert ClinicianAlert.objects.filter(patient=patient).count() == 1


# The portal: the same, through the form a patient posts.


def portal_body(code: str, **overrides) -> dict:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "completion": "done",
        "inversion_angle_deg": "20",
        "held_minutes": "1",
        "held_seconds": "0",
        "pain_before": "5",
        "pain_after": "6",
        "note": "",
        "symptoms": [code],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not REMOVED}


PORTAL_INVALID = [
    ("pain out of range", {"pain_before": "15"}),
    ("pain not a number", {"pain_after": "a lot"}),
    ("completion missing", {"completion": REMOVED}),
    ("unknown exercise choice", {"exercises": ["987654321"]}),
    ("minutes out of range", {"held_minutes": "90"}),
    ("angle out of range", {"inversion_angle_deg": "200"}),
    ("idempotency key missing", {"idempotency_key": REMOVED}),
    ("unknown symptom beside it", {"symptoms": "extra"}),
    ("note too long", {"note": "x" * 2001}),
]


@pytest.mark.parametrize("code", STOP_CODES)
@pytest.mark.parametrize(
    "overrides", [row[1] for row in PORTAL_INVALID], ids=[row[0] for row in PORTAL_INVALID]
)
def test_portal_stop_symptom_with_a_form_error_pauses_alerts_and_shows_advice(
    patient, code, overrides
):
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    overrides = dict(overrides)
    if overrides.get("symptoms") == "extra":
        overrides["symptoms"] = [code, "sneezing"]
    response = client.post("/checkin/", portal_body(code, **overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stop inverting now" in html
    assert "Your clinician has been told" in html
    assert "could not be saved" in html
    if code in RED_FLAG_SYMPTOMS:
        assert "Get urgent medical care today" in html
    assert_acted_on(patient, code)


def test_portal_lapsed_screening_with_inversion_posted_and_a_stop_symptom(patient, monkeypatch):
    """The form was loaded while inversion was allowed; it lapsed before the post."""
    lapse(patient, monkeypatch)
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/checkin/", portal_body("palpitations"))
    assert response.status_code == 200
    assert "Stop inverting now" in response.content.decode()
    assert_acted_on(patient, "palpitations")


def test_api_form_encoded_stop_symptom_is_not_lost_to_a_later_code(patient):
    """Form data repeats `symptoms`; every value counts, not only the last."""
    client = APIClient()
    client.force_authenticate(patient.user)
    response = client.post(
        "/api/v1/me/checkins/",
        {
            "idempotency_key": str(uuid.uuid4()),
            "completion": "bogus",
            "symptoms": ["chest_pain", "dizziness"],
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert_acted_on(patient, "chest_pain")


def test_a_stop_symptom_sent_again_under_a_used_key_is_acted_on(patient):
    """A retry or an edit under the same key keeps the first check-in, never losing the
    stop symptom the first one did not carry."""
    client = APIClient()
    client.force_authenticate(patient.user)
    key = str(uuid.uuid4())
    first = client.post(
        "/api/v1/me/checkins/",
        {"idempotency_key": key, "completion": "not_done"},
        format="json",
    )
    assert first.status_code == 201
    again = client.post(
        "/api/v1/me/checkins/",
        {"idempotency_key": key, "completion": "not_done", "symptoms": ["fainting"]},
        format="json",
    )
    assert again.status_code == 200
    assert again.json()["clinician_alerted"] is True
    assert_acted_on(patient, "fainting")


def test_the_portal_claims_the_clinician_was_told_of_high_pain_only_when_an_alert_stands(
    patient,
):
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    body = portal_body("dizziness", pain_after="8", symptoms=[], inversion_angle_deg=REMOVED)
    body.pop("held_minutes"), body.pop("held_seconds")
    first = client.post("/checkin/", body, follow=True).content.decode()
    assert "so your clinician has been told" in first
    ClinicianAlert.objects.filter(patient=patient).update(acknowledged_at=timezone.now())
    body["idempotency_key"] = str(uuid.uuid4())
    second = client.post("/checkin/", body, follow=True).content.decode()
    assert "so your clinician has been told" not in second
    assert "your clinician will see it" in second
