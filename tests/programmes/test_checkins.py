"""Check-ins through the API and the service: once only, safety stops in the same request."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import AuditEvent
from programmes import checkins, services
from programmes.domain.permission import PauseCause
from programmes.models import CheckIn, ClinicianAlert, ProgrammeTemplate
from programmes.permission import patient_today
from tests.factories import api_token, patient_with_portal, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient():
    patient = patient_with_portal()
    screen(patient)
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    services.plan_activate(plan=plan, by=patient.clinician)
    return patient


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def token_client(user) -> APIClient:
    """Signed in as the app is: a token in the Authorization header."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


def body(**overrides):
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "completion": "done",
        "inversion_angle_deg": 20,
        "inversion_seconds": 60,
        "pain_before": 5,
        "pain_after": 4,
        "symptoms": [],
    }
    data.update(overrides)
    return data


def test_checkin_is_stored_once_for_a_repeated_idempotency_key(patient):
    client = api(patient.user)
    data = body()
    first = client.post("/api/v1/me/checkins/", data, format="json")
    again = client.post("/api/v1/me/checkins/", data, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["created"] is False
    assert CheckIn.objects.count() == 1
    listed = client.get("/api/v1/me/checkins/").json()["results"]
    assert [row["id"] for row in listed] == [first.json()["checkin"]["id"]]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"pain_before": 11}, "pain_before"),
        ({"inversion_angle_deg": 120}, "inversion_angle_deg"),
        ({"inversion_seconds": -5}, "inversion_seconds"),
        ({"symptoms": ["sneezing"]}, "symptoms"),
        ({"completion": "maybe"}, "completion"),
        ({"idempotency_key": "not-a-uuid"}, "idempotency_key"),
    ],
    ids=[
        "pain 11",
        "angle 120",
        "negative time",
        "unknown symptom",
        "unknown completion",
        "malformed key",
    ],
)
def test_impossible_checkin_values_answer_400_with_field_errors(patient, overrides, field):
    response = api(patient.user).post("/api/v1/me/checkins/", body(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not CheckIn.objects.exists()


def test_stop_symptom_pauses_inversion_and_alerts_in_the_same_request(patient):
    response = api(patient.user).post(
        "/api/v1/me/checkins/", body(symptoms=["chest_pain"]), format="json"
    )
    assert response.status_code == 201
    assert response.json()["inversion_paused"] is True
    assert "Stop" in response.json()["stop_advice"] or "stop" in response.json()["stop_advice"]
    plan = patient.plans.get()
    assert plan.inversion_paused
    assert ClinicianAlert.objects.filter(patient=patient, kind="stop_symptom").count() == 1
    assert services.prescription_for(patient).inversion is None


def test_red_flag_symptom_gives_urgent_referral_advice(patient):
    response = api(patient.user).post(
        "/api/v1/me/checkins/", body(symptoms=["saddle_numbness"]), format="json"
    )
    assert response.json()["urgent_referral_advice"]
    assert ClinicianAlert.objects.filter(patient=patient, kind="red_flag").exists()


def test_mild_symptom_goes_back_one_step(patient):
    plan = patient.plans.get()
    services.plan_advance(plan=plan, by=patient.clinician, pace_override_reason="Test set-up")
    response = api(patient.user).post(
        "/api/v1/me/checkins/", body(inversion_angle_deg=30, symptoms=["dizziness"]), format="json"
    )
    assert response.json()["went_back"] is True
    plan.refresh_from_db()
    assert plan.current_step.angle_deg == 20


def test_high_pain_alerts_the_clinician_once_a_day(patient):
    client = api(patient.user)
    client.post("/api/v1/me/checkins/", body(pain_after=8), format="json")
    client.post("/api/v1/me/checkins/", body(pain_after=9), format="json")
    assert ClinicianAlert.objects.filter(kind="high_pain").count() == 1


def test_checkin_in_a_rolled_back_transaction_enqueues_nothing(
    patient, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        checkins.checkin_submit(
            patient=patient,
            data=checkins.CheckInInput(
                idempotency_key=uuid.uuid4(), completion="done", symptoms=("chest_pain",)
            ),
            channel="portal",
        )
        raise RuntimeError("the request failed after the check-in was written")
    assert callbacks == []
    assert not CheckIn.objects.exists()
    assert not ClinicianAlert.objects.exists()


def test_checkin_for_a_future_day_is_refused(patient):
    tomorrow = timezone.localdate() + timedelta(days=2)
    response = api(patient.user).post(
        "/api/v1/me/checkins/", body(local_date=tomorrow.isoformat()), format="json"
    )
    assert response.status_code == 400
    assert "local_date" in response.json()


def test_progress_shows_adherence_pain_and_next_step(patient):
    api(patient.user).post("/api/v1/me/checkins/", body(), format="json")
    progress = api(patient.user).get("/api/v1/me/progress/").json()
    assert progress["adherence_7_days"] == 1.0
    assert progress["current_step"]["angle_deg"] == 20
    assert progress["next_step"]["angle_deg"] == 30
    assert progress["pain"][-1]["after"] == 4.0


def test_clinician_cannot_use_patient_endpoints(patient):
    assert api(patient.clinician).get("/api/v1/me/checkins/").status_code == 403


def test_checkin_stores_the_exercises_done_and_answers_with_them(patient):
    plan = patient.plans.get()
    done = sorted(plan.exercises.values_list("pk", flat=True))[:2]
    response = api(patient.user).post(
        "/api/v1/me/checkins/", body(exercise_ids=[done[1], done[0], done[1]]), format="json"
    )
    assert response.status_code == 201
    answered = response.json()["checkin"]
    stored = CheckIn.objects.get(pk=answered["id"])
    assert sorted(stored.exercises_done.values_list("pk", flat=True)) == done
    assert sorted(answered["exercises_done"]) == done


def test_checkin_with_another_plans_exercise_is_refused_and_stores_nothing(patient):
    other = patient_with_portal()
    screen(other)
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    foreign = services.plan_create_from_template(
        patient=other, template=template, by=other.clinician
    )
    response = api(patient.user).post(
        "/api/v1/me/checkins/",
        body(exercise_ids=[foreign.exercises.values_list("pk", flat=True).first()]),
        format="json",
    )
    assert response.status_code == 400
    assert "exercise_ids" in response.json()
    assert CheckIn.objects.count() == 0


def test_repeated_key_returns_the_first_checkin_after_the_plan_ended(patient):
    client = api(patient.user)
    data = body()
    first = client.post("/api/v1/me/checkins/", data, format="json").json()["checkin"]
    plan = patient.plans.get()
    plan.status = "ended"
    plan.save(update_fields=["status"])
    again = client.post("/api/v1/me/checkins/", data, format="json")
    assert again.status_code == 200
    assert again.json()["checkin"]["id"] == first["id"]
    assert CheckIn.objects.count() == 1


# The token, with its user and membership; the patient's record (the row alone); the
# savepoint the test's transaction makes of the service's atomic block (BEGIN in
# production); today's permission, locked: the patient with screening, override and
# referral, then the running plan with its step and today's reported symptoms in one
# statement; two inserts: the check-in (or its key found taken, in the same statement)
# and its audit row; the savepoint's release. No read of the key before the write, of
# the plan's exercises when none are named, or to answer.
CHECKIN_POST_QUERIES = 1 + 1 + 1 + 2 + 2 + 1
# Exercises named: one count that they are the plan's, one insert of them.
CHECKIN_WITH_EXERCISES_POST_QUERIES = CHECKIN_POST_QUERIES + 2


def test_api_checkin_costs_a_pinned_number_of_queries(patient, django_assert_num_queries):
    client = token_client(patient.user)
    with django_assert_num_queries(CHECKIN_POST_QUERIES):
        response = client.post("/api/v1/me/checkins/", body(), format="json")
    assert response.status_code == 201


def test_api_checkin_with_exercises_costs_a_pinned_number_of_queries(
    patient, django_assert_num_queries
):
    client = token_client(patient.user)
    done = list(patient.plans.get().exercises.values_list("pk", flat=True)[:2])
    with django_assert_num_queries(CHECKIN_WITH_EXERCISES_POST_QUERIES):
        response = client.post("/api/v1/me/checkins/", body(exercise_ids=done), format="json")
    assert response.status_code == 201
    assert sorted(response.json()["checkin"]["exercises_done"]) == sorted(done)


# A stop symptom, on top of a normal check-in's: the patient's stop symptom (an update),
# the plan's pause (an update and its event), the clinician's alert; the three audit
# rows (check-in, patient, plan) in one insert. No row is read a second time.
STOP_CHECKIN_POST_QUERIES = CHECKIN_POST_QUERIES + 4


def test_api_stop_symptom_checkin_acts_in_a_pinned_number_of_queries(
    patient, django_assert_num_queries
):
    client = token_client(patient.user)
    last_audit = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with django_assert_num_queries(STOP_CHECKIN_POST_QUERIES):
        response = client.post("/api/v1/me/checkins/", body(symptoms=["chest_pain"]), format="json")
    assert response.status_code == 201 and response.json()["clinician_alerted"] is True
    patient.refresh_from_db()
    plan = patient.plans.get()
    assert patient.stop_symptom_reported_at is not None
    assert plan.inversion_paused and plan.inversion_pause_cause == PauseCause.STOP_SYMPTOM
    assert ClinicianAlert.objects.filter(patient=patient, kind="stop_symptom").count() == 1
    written = AuditEvent.objects.filter(pk__gt=last_audit).exclude(action="read")
    assert sorted(written.values_list("object_type", flat=True)) == [
        "patients.patient",
        "programmes.checkin",
        "programmes.plan",
    ]


@pytest.fixture
def lapse_screening(monkeypatch):
    """Lapse a patient's screening: it ran out yesterday (their local date), no sweep yet.

    A screening is never edited (PostgreSQL refuses it), so the clock moves instead, to the
    day after the screening's last valid day. The database keeps its own clock, by which
    the running plan it holds is still allowed.
    """

    def lapse(patient) -> None:
        ahead = patient.current_screening.valid_until - patient_today(patient) + timedelta(days=1)
        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + ahead)

    return lapse


def test_api_checkin_with_inversion_is_refused_once_the_screening_has_lapsed(
    patient, lapse_screening
):
    lapse_screening(patient)
    assert patient.plans.get().inversion_active  # only today's gate refuses inversion
    response = api(patient.user).post("/api/v1/me/checkins/", body(), format="json")
    assert response.status_code == 400
    assert "inversion_angle_deg" in response.json()
    assert not CheckIn.objects.exists()


def test_api_checkin_without_inversion_after_the_screening_lapsed_records_no_step(
    patient, lapse_screening
):
    lapse_screening(patient)
    response = api(patient.user).post(
        "/api/v1/me/checkins/",
        body(inversion_angle_deg=None, inversion_seconds=None),
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["checkin"]["step"] is None
    stored = CheckIn.objects.get()
    assert stored.step_id is None
    assert stored.inversion_angle_deg is None and stored.inversion_seconds is None


def test_checkins_after_the_screening_lapsed_never_count_toward_progression(
    patient, django_capture_on_commit_callbacks, lapse_screening
):
    plan = patient.plans.get()
    plan.auto_advance = True
    plan.save(update_fields=["auto_advance"])
    lapse_screening(patient)
    today = patient_today(patient)
    with django_capture_on_commit_callbacks() as callbacks:
        for day in range(3):
            checkins.checkin_submit(
                patient=patient,
                data=checkins.CheckInInput(
                    idempotency_key=uuid.uuid4(),
                    completion="done",
                    local_date=today - timedelta(days=day),
                    pain_before=5,
                    pain_after=4,
                ),
                channel="portal",
            )
    assert CheckIn.objects.count() == 3
    assert not CheckIn.objects.filter(step__isnull=False).exists()
    assert callbacks == []  # no automatic progression run for sessions without inversion
    records = services.recent_checkin_records(plan, today)
    assert [r.inversion_done for r in records] == [False, False, False]


# A session not done has no angle or time (the service's rule, for every channel).


@pytest.mark.parametrize(
    ("completion", "kept"),
    [("done", (20, 60)), ("partial", (20, 60)), ("not_done", (None, None))],
    ids=["done keeps the angle and time", "partly done keeps them", "not done keeps neither"],
)
def test_api_checkin_stores_an_angle_and_time_only_for_a_session_done(patient, completion, kept):
    response = api(patient.user).post(
        "/api/v1/me/checkins/", body(completion=completion), format="json"
    )
    assert response.status_code == 201, response.content
    answered = response.json()["checkin"]
    assert (answered["inversion_angle_deg"], answered["inversion_seconds"]) == kept
    stored = CheckIn.objects.get(patient=patient)
    assert (stored.completion, stored.inversion_angle_deg, stored.inversion_seconds) == (
        completion,
        *kept,
    )


def test_service_stores_no_angle_or_time_for_a_session_not_done(patient):
    result = checkins.checkin_submit(
        patient=patient,
        data=checkins.CheckInInput(
            idempotency_key=uuid.uuid4(),
            completion="not_done",
            inversion_angle_deg=20,
            inversion_seconds=60,
        ),
        channel="portal",
    )
    stored = CheckIn.objects.get(pk=result.checkin.pk)
    assert (stored.inversion_angle_deg, stored.inversion_seconds) == (None, None)


def test_api_session_not_done_with_an_angle_is_still_refused_while_inversion_is_paused(patient):
    """Refused by name as before (nothing stored); without the angle and time it is kept."""
    services.plan_pause_inversion(
        plan=patient.plans.get(), by=None, reason="Test set-up", cause=PauseCause.STOP_SYMPTOM
    )
    client = api(patient.user)
    refused = client.post("/api/v1/me/checkins/", body(completion="not_done"), format="json")
    assert refused.status_code == 400
    assert set(refused.json()) == {"inversion_angle_deg"}
    assert not CheckIn.objects.exists()
    kept = client.post(
        "/api/v1/me/checkins/",
        body(completion="not_done", inversion_angle_deg=None, inversion_seconds=None),
        format="json",
    )
    assert kept.status_code == 201, kept.content


# The audit rows a check-in and a questionnaire leave.


def audit_row(object_type: str) -> dict:
    return (
        AuditEvent.objects.filter(object_type=object_type)
        .values(
            "actor_id",
            "clinic_id",
            "patient_id",
            "patient_ids",
            "channel",
            "object_id",
            "summary",
            "changes",
        )
        .get()
    )


def test_a_check_in_is_audited_with_its_clinic_patient_channel_and_refusals(patient):
    response = api(patient.user).post(
        "/api/v1/me/checkins/", body(pain_after=11, symptoms=["dizziness"]), format="json"
    )
    assert response.status_code == 400  # the mild symptom is acted on, pain 11 refused
    checkin = CheckIn.objects.get(patient=patient)
    assert audit_row("programmes.checkin") == {
        "actor_id": patient.user.pk,
        "clinic_id": patient.clinic_id,
        "patient_id": patient.pk,
        "patient_ids": [patient.pk],
        "channel": "api",
        "object_id": str(checkin.pk),
        "summary": f"Check-in {checkin.local_date} (refused: pain_after)",
        "changes": {},
    }


def test_a_questionnaire_is_audited_with_its_clinic_patient_and_score(patient):
    response = checkins.questionnaire_submit(
        patient=patient, pain=4, odi_sections=(2, 2, 1, 1, 2, 1, 1, None, 1, 1)
    )
    assert audit_row("programmes.questionnaireresponse") == {
        "actor_id": None,
        "clinic_id": patient.clinic_id,
        "patient_id": patient.pk,
        "patient_ids": [patient.pk],
        "channel": "portal",
        "object_id": str(response.pk),
        "summary": f"Questionnaire: ODI {response.odi_percent}%",
        "changes": {},
    }
