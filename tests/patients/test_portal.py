"""The patient portal: what a patient sees and what their forms store, through the test client."""

import re
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from clinic.models import AuditEvent
from patients.models import Channel, Intake
from programmes import services
from programmes.domain.permission import PauseCause
from programmes.domain.symptoms import EXIT_ADVICE, STOP_ADVICE, URGENT_REFERRAL_ADVICE
from programmes.models import (
    CheckIn,
    ClinicianAlert,
    PlanExercise,
    ProgrammeTemplate,
    QuestionnaireResponse,
)
from programmes.permission import patient_today
from tests.factories import CONTRAINDICATED, clinician, otp_login, patient_with_portal, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def inversion_template():
    return ProgrammeTemplate.objects.get(name="Progressive inversion (default)")


@pytest.fixture
def exercise_template():
    return ProgrammeTemplate.objects.get(kind="exercise_only", clinic__isnull=True)


def active_plan(patient, template):
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    return services.plan_activate(plan=plan, by=patient.clinician)


@pytest.fixture
def cleared(inversion_template):
    """A cleared patient with a portal account and an active inversion plan at step 1."""
    patient = patient_with_portal()
    screen(patient)
    return patient, active_plan(patient, inversion_template)


def signed_in(patient) -> Client:
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def checkin_body(**overrides) -> dict:
    body = {
        "idempotency_key": str(uuid.uuid4()),
        "completion": "done",
        "inversion_angle_deg": "20",
        "held_minutes": "1",
        "held_seconds": "0",
        "pain_before": "5",
        "pain_after": "4",
        "note": "",
    }
    body.update(overrides)
    return body


def error_next_to(html: str, field_id: str) -> str:
    """The error list rendered for one field (its id ties it to the input), or ''."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


# Today.


def test_today_shows_inversion_step_hold_and_exit_advice_for_cleared_patient(cleared):
    patient, _ = cleared
    response = signed_in(patient).get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "20°, hold 1 minute" in html
    assert "Once a day" in html
    assert escape(EXIT_ADVICE) in html
    assert "data-timer" in html and 'aria-live="assertive"' in html
    assert 'href="/checkin/"' in html
    assert "Knee-to-chest" in html or "knee" in html.lower()
    assert html.count("<h1") == 1


def test_today_shows_no_inversion_for_contraindicated_patient(exercise_template):
    patient = patient_with_portal()
    screen(patient, **CONTRAINDICATED)
    active_plan(patient, exercise_template)
    html = signed_in(patient).get("/").content.decode()
    assert "data-timer" not in html
    assert "hold 1 minute" not in html
    assert "exercises only" in html
    assert "How to do it" in html  # exercises with their instructions


def test_today_explains_paused_inversion_and_links_the_questionnaire_when_due(cleared, monkeypatch):
    patient, plan = cleared
    services.plan_pause_inversion(
        plan=plan, by=None, reason="Stop symptom reported.", cause=PauseCause.STOP_SYMPTOM
    )
    # A running plan's start date stays: the clock moves to the plan's day 15 instead.
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(days=15))
    html = signed_in(patient).get("/").content.decode()
    assert "Inversion is paused" in html
    assert "data-timer" not in html
    assert 'href="/questionnaire/"' in html


def test_staff_user_without_patient_record_is_sent_to_admin():
    response = signed_in_user(clinician()).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def signed_in_user(user) -> Client:
    """A staff user signed in with their second factor, as staff always are."""
    client = Client()
    otp_login(client, user)
    return client


def test_anonymous_visitor_is_sent_to_sign_in():
    response = Client().get("/history/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# Check in.


def test_checkin_is_stored_and_appears_in_history(cleared):
    patient, plan = cleared
    exercise = PlanExercise.objects.filter(plan=plan).first()
    client = signed_in(patient)
    form_page = client.get("/checkin/").content.decode()
    assert 'name="idempotency_key"' in form_page
    assert 'hx-post="/checkin/"' in form_page and 'action="/checkin/"' in form_page
    response = client.post(
        "/checkin/", checkin_body(exercises=[exercise.pk], held_seconds="30", note="Easy")
    )
    assert response.status_code == 302 and response["Location"] == "/history/"
    checkin = CheckIn.objects.get(patient=patient)
    assert (checkin.completion, checkin.inversion_angle_deg, checkin.inversion_seconds) == (
        "done",
        20,
        90,
    )
    assert (checkin.pain_before, checkin.pain_after, checkin.note) == (5, 4, "Easy")
    assert list(checkin.exercises_done.all()) == [exercise]
    history = client.get("/history/").content.decode()
    assert f'href="/history/{checkin.pk}/"' in history
    assert "Check-in saved" in history
    assert "✓ Done" in history
    detail = client.get(f"/history/{checkin.pk}/").content.decode()
    assert "1 minute 30 seconds" in detail and exercise.exercise.name in detail


# The session, its user, the second factor's device, the membership; the patient's
# record; today's prescription for the form (the patient, the plan with today's symptoms,
# its exercises); the savepoint the test's transaction makes of the check-in's atomic
# block (BEGIN in production); the patient, then the plan with today's symptoms, locked;
# the check-in and its audit row; the savepoint's release. Nothing is read to redirect.
PORTAL_CHECKIN_POST_QUERIES = 4 + 1 + 3 + 1 + 2 + 2 + 1


def test_portal_checkin_costs_a_pinned_number_of_queries(cleared, django_assert_num_queries):
    patient, _ = cleared
    client = signed_in(patient)
    with django_assert_num_queries(PORTAL_CHECKIN_POST_QUERIES):
        response = client.post("/checkin/", checkin_body())
    assert response.status_code == 302 and response["Location"] == "/history/"
    assert CheckIn.objects.filter(patient=patient).count() == 1


def test_a_session_not_done_is_stored_with_no_angle_or_time_the_form_prefilled(cleared):
    """The form comes pre-filled with the step's angle and time; "not today" keeps neither."""
    patient, _ = cleared
    response = signed_in(patient).post("/checkin/", checkin_body(completion="not_done"))
    assert response.status_code == 302, response.content
    checkin = CheckIn.objects.get(patient=patient)
    assert (checkin.completion, checkin.inversion_angle_deg, checkin.inversion_seconds) == (
        "not_done",
        None,
        None,
    )


def test_same_idempotency_key_twice_stores_one_checkin(cleared):
    patient, _ = cleared
    client = signed_in(patient)
    body = checkin_body()
    first = client.post("/checkin/", body)
    second = client.post("/checkin/", body)
    assert first.status_code == second.status_code == 302
    assert CheckIn.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize(
    ("field", "value", "field_id", "message"),
    [
        ("pain_before", "11", "id_pain_before", "Pain is rated from 0 (none) to 10"),
        ("inversion_angle_deg", "120", "id_inversion_angle_deg", "The angle is between 0°"),
        ("held_seconds", "-5", "id_held_seconds", "Seconds are between 0 and 59"),
        ("held_minutes", "-1", "id_held_minutes", "Time inverted is between 0 and 20 minutes"),
        ("held_minutes", "21", "id_held_minutes", "Time inverted is between 0 and 20 minutes"),
    ],
    ids=["pain 11", "angle 120", "negative seconds", "negative minutes", "over 20 minutes"],
)
def test_out_of_range_checkin_rerenders_with_message_next_to_field_and_stores_nothing(
    cleared, field, value, field_id, message
):
    patient, _ = cleared
    body = checkin_body(**{field: value}, note="Kept as typed")
    response = signed_in(patient).post("/checkin/", body)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in escape(error_next_to(html, field_id)) or message in error_next_to(
        html, field_id
    )
    assert "Kept as typed" in html
    assert body["idempotency_key"] in html  # the same key, so a corrected send is still one
    assert CheckIn.objects.count() == 0


def test_invalid_number_input_marks_the_input_invalid(cleared):
    patient, _ = cleared
    html = signed_in(patient).post("/checkin/", checkin_body(inversion_angle_deg="120")).content
    html = html.decode()
    tag = re.search(r'<input[^>]*name="inversion_angle_deg"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in tag
    assert 'aria-describedby="id_inversion_angle_deg_error"' in tag
    assert 'value="120"' in tag


def test_service_validation_errors_are_shown_next_to_the_matching_fields(cleared, monkeypatch):
    patient, _ = cleared

    def refuse(**_):
        raise ValidationError(
            {"exercise_ids": "Choose exercises from your own programme.", "plan": "No plan."}
        )

    monkeypatch.setattr("portal.views.checkin_submit", refuse)
    response = signed_in(patient).post("/checkin/", checkin_body())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choose exercises from your own programme." in error_next_to(html, "id_exercises")
    assert "No plan." in html


def test_stop_symptom_pauses_inversion_alerts_clinician_and_shows_advice_in_same_request(cleared):
    patient, plan = cleared
    response = signed_in(patient).post("/checkin/", checkin_body(symptoms=["chest_pain"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert escape(STOP_ADVICE) in html
    assert 'class="alert alert-stop" role="alert"' in html
    assert "Your clinician has been told, and inversion is paused" in html
    assert escape(URGENT_REFERRAL_ADVICE) not in html
    plan.refresh_from_db()
    assert plan.inversion_paused is True
    assert ClinicianAlert.objects.filter(
        patient=patient, kind=ClinicianAlert.Kind.STOP_SYMPTOM
    ).exists()
    today = signed_in(patient).get("/").content.decode()
    assert "Inversion is paused" in today and "data-timer" not in today


def test_red_flag_symptom_shows_urgent_referral_advice(cleared):
    patient, _ = cleared
    response = signed_in(patient).post("/checkin/", checkin_body(symptoms=["saddle_numbness"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert escape(STOP_ADVICE) in html
    assert escape(URGENT_REFERRAL_ADVICE) in html
    assert ClinicianAlert.objects.filter(
        patient=patient, kind=ClinicianAlert.Kind.RED_FLAG
    ).exists()


def test_repeating_a_stop_checkin_shows_the_same_advice_without_a_second_checkin(cleared):
    patient, _ = cleared
    client = signed_in(patient)
    body = checkin_body(symptoms=["fainting"])
    client.post("/checkin/", body)
    again = client.post("/checkin/", body)
    assert again.status_code == 200
    assert escape(STOP_ADVICE) in again.content.decode()
    assert CheckIn.objects.filter(patient=patient).count() == 1


def test_mild_symptom_at_step_two_goes_back_to_step_one(cleared):
    patient, plan = cleared
    services.plan_advance(plan=plan, by=patient.clinician, pace_override_reason="Test set-up")
    plan.refresh_from_db()
    assert plan.current_step.order == 1
    response = signed_in(patient).post(
        "/checkin/",
        checkin_body(inversion_angle_deg="30", held_minutes="2", symptoms=["dizziness"]),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your next session is one step lower" in html
    assert "20°, hold 1 min, once a day" in html
    plan.refresh_from_db()
    assert plan.current_step.order == 0
    assert plan.inversion_paused is False


def test_htmx_checkin_swaps_a_partial_and_redirects_through_htmx(cleared):
    patient, _ = cleared
    client = signed_in(patient)
    invalid = client.post("/checkin/", checkin_body(pain_after="12"), HTTP_HX_REQUEST="true")
    html = invalid.content.decode()
    assert invalid.status_code == 200
    assert html.lstrip().startswith('<div id="checkin-panel">') and "<html" not in html
    assert "Pain is rated from 0" in error_next_to(html, "id_pain_after")
    stored = client.post("/checkin/", checkin_body(), HTTP_HX_REQUEST="true")
    assert stored.status_code == 200 and stored["HX-Redirect"] == "/history/"
    assert CheckIn.objects.count() == 1


def test_checkin_form_has_no_inversion_fields_when_today_has_no_inversion(exercise_template):
    patient = patient_with_portal()
    screen(patient, **CONTRAINDICATED)
    active_plan(patient, exercise_template)
    html = signed_in(patient).get("/checkin/").content.decode()
    assert 'name="inversion_angle_deg"' not in html
    assert 'name="pain_before"' in html and 'name="symptoms"' in html


# History.


def test_another_patients_checkin_is_not_found(cleared, inversion_template):
    patient, _ = cleared
    signed_in(patient).post("/checkin/", checkin_body())
    theirs = CheckIn.objects.get(patient=patient)
    other = patient_with_portal(clinic=patient.clinic)
    screen(other)
    active_plan(other, inversion_template)
    client = signed_in(other)
    assert client.get(f"/history/{theirs.pk}/").status_code == 404
    assert f"/history/{theirs.pk}/" not in client.get("/history/").content.decode()


def test_changing_the_id_in_the_address_never_reaches_another_clinics_patient(
    cleared, inversion_template
):
    """Another clinic's check-in, an id that does not exist and the staff pages all refuse."""
    patient, _ = cleared
    signed_in(patient).post("/checkin/", checkin_body(note="Private note"))
    theirs = CheckIn.objects.get(patient=patient)
    other = patient_with_portal()  # a patient of another clinic
    assert other.clinic_id != patient.clinic_id
    screen(other)
    active_plan(other, inversion_template)
    client = signed_in(other)
    for path in (f"/history/{theirs.pk}/", f"/history/{theirs.pk + 1000}/"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Private note" not in response.content.decode()
    staff_page = client.get(f"/admin/patients/patient/{patient.pk}/change/")
    assert staff_page.status_code == 302 and staff_page["Location"].startswith("/admin/login/")


def test_history_calendar_labels_days_in_text_and_refuses_future_months(cleared):
    patient, _ = cleared
    client = signed_in(patient)
    client.post("/checkin/", checkin_body(completion="partial"))
    html = client.get("/history/").content.decode()
    today = timezone.localdate()
    assert f"{today:%A} {today.day} {today:%B} (today): partly done" in html
    future = client.get("/history/?month=2999-01").content.decode()
    assert f"{today:%B %Y}" in future
    assert client.get("/history/?month=nonsense").status_code == 200
    assert client.get("/history/?month=0001-01").status_code == 200  # no month before it


@pytest.mark.parametrize(
    ("path", "summary"),
    [
        ("/", "Today read"),
        ("/history/", "History read"),
        ("/progress/", "Progress read"),
        ("checkin", "Check-in read"),
    ],
    ids=["today", "history", "progress", "one-check-in"],
)
def test_portal_pages_of_health_data_leave_a_read_audit_row(cleared, path, summary):
    patient, _ = cleared
    client = signed_in(patient)
    client.post("/checkin/", checkin_body())
    if path == "checkin":
        path = f"/history/{CheckIn.objects.get(patient=patient).pk}/"
    assert client.get(path).status_code == 200
    audit = AuditEvent.objects.get(action="read", summary=summary)
    assert (audit.channel, audit.patient_id, audit.actor_id, audit.clinic_id) == (
        Channel.PORTAL,
        patient.pk,
        patient.user_id,
        patient.clinic_id,
    )


# Progress.


def test_progress_shows_charts_with_tables_and_the_next_step(cleared):
    patient, _ = cleared
    client = signed_in(patient)
    client.post("/checkin/", checkin_body(pain_before="6", pain_after="3"))
    html = client.get("/progress/").content.decode()
    assert html.count('<svg class="chart"') == 2
    assert html.count("<table") >= 3
    assert "step 1 of 5" in html and "Next: <strong>step 2</strong>, 30°" in html
    assert "26.7%" in html or "%" in html  # the baseline ODI from the intake


def test_progress_counts_oswestry_change_from_the_first_intake(inversion_template):
    patient = patient_with_portal()
    first_day = patient_today(patient) - timedelta(days=20)
    screen(patient, taken_on=first_day)
    active_plan(patient, inversion_template)
    screen(patient)  # a later re-screen: same scores, a later date
    html = signed_in(patient).get("/progress/").content.decode()
    assert f'{first_day.day} {first_day:%b %Y} <span class="muted">(start)</span>' in html


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


def test_progress_names_no_inversion_step_once_the_screening_has_lapsed(cleared, lapse_screening):
    patient, plan = cleared
    lapse_screening(patient)
    plan.refresh_from_db()
    assert plan.inversion_active  # only the gate stands between the patient and the table
    html = signed_in(patient).get("/progress/").content.decode()
    # A lapsed screening allows no programme at all until a clinician reviews it.
    assert "Inversion is not allowed at the moment" in html
    assert "step 1 of 5" not in html and "20°" not in html and "Next:" not in html


# Health update.


def test_health_update_adding_pregnancy_pauses_inversion(cleared):
    patient, plan = cleared
    response = signed_in(patient).post("/health/", {"pregnant": "yes"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Inversion is not safe for you at the moment" in html
    assert "Inversion is paused" in html
    plan.refresh_from_db()
    assert plan.inversion_paused is True
    latest = patient.intakes.order_by("-number").first()
    assert (latest.reason, latest.channel, latest.answers["pregnant"]) == (
        "health_update",
        Channel.PORTAL,
        True,
    )


def test_health_update_needs_a_date_for_an_operation_and_something_new(cleared):
    patient, _ = cleared
    client = signed_in(patient)
    html = client.post("/health/", {"pregnant": "no", "surgery": "on"}).content.decode()
    assert "Give the date" in error_next_to(html, "id_surgery_date")
    nothing = client.post("/health/", {"pregnant": "no"}).content.decode()
    assert "Nothing has changed yet" in nothing
    assert patient.intakes.count() == 1


# Intake.

STEP_1 = {
    "systolic_bp": "124",
    "diastolic_bp": "79",
    "bp_measured_by": "Me, home monitor",
    "weight_kg": "80",
    "height_cm": "178",
    "baseline_pain": "6",
}


def test_intake_steps_keep_progress_in_session_and_store_an_intake_at_the_end():
    patient = patient_with_portal()
    client = signed_in(patient)
    assert 'href="/intake/"' in client.get("/").content.decode()
    measured = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/intake/?step=1", {**STEP_1, "bp_measured_at": measured, "step": 1})
    assert response.status_code == 302 and response["Location"] == "/intake/?step=2"
    assert client.session["intake_draft"]["systolic_bp"] == "124"
    # Going back shows what was typed.
    assert 'value="Me, home monitor"' in client.get("/intake/?step=1").content.decode()
    response = client.post("/intake/", {"step": 2, "night_pain": "on", "action": "next"})
    assert response["Location"] == "/intake/?step=3"
    response = client.post("/intake/", {"step": 3, "conditions": ["diabetes"], "action": "next"})
    assert response["Location"] == "/intake/?step=4"
    assert client.session["intake_draft"]["conditions"] == ["diabetes"]
    odi = {f"odi_{i}": "2" for i in range(9)}
    response = client.post("/intake/", {"step": 4, **odi, "odi_9": "", "action": "submit"})
    assert response.status_code == 200
    intake = Intake.objects.get(patient=patient)
    assert intake.channel == Channel.PORTAL and intake.systolic_bp == 124
    assert intake.answers["night_pain"] is True and intake.answers["conditions"] == ["diabetes"]
    assert float(intake.odi_percent) == 40.0
    assert "intake_draft" not in client.session
    assert "Thank you: your answers are saved" in response.content.decode()
    assert 'href="/intake/"' not in client.get("/").content.decode()


def test_intake_step_validates_its_own_fields_before_moving_on():
    patient = patient_with_portal()
    client = signed_in(patient)
    body = {**STEP_1, "systolic_bp": "", "bp_measured_at": "", "step": 1}
    response = client.post("/intake/", body)
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required" in error_next_to(html, "id_systolic_bp")
    assert 'value="Me, home monitor"' in html
    # A later step's rule (at least one ODI section) does not block step 1.
    measured = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    ok = client.post("/intake/", {**STEP_1, "bp_measured_at": measured, "step": 1})
    assert ok.status_code == 302
    assert not Intake.objects.filter(patient=patient).exists()


# Settings and questionnaire.


def test_reminder_settings_save_with_an_audit_row(cleared):
    patient, _ = cleared
    client = signed_in(patient)
    assert 'type="time"' in client.get("/settings/").content.decode()
    response = client.post(
        "/settings/",
        {"reminder_time": "07:45", "time_zone": "Europe/Paris", "remind_in_portal": "on"},
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.reminder_time.hour, patient.reminder_time.minute) == (7, 45)
    assert patient.time_zone == "Europe/Paris"
    assert (patient.remind_by_email, patient.remind_in_portal) == (False, True)
    audit = AuditEvent.objects.get(summary="Reminder settings changed")
    assert (audit.channel, audit.patient_id, audit.actor_id) == (
        "portal",
        patient.pk,
        patient.user_id,
    )


def test_reminder_settings_refuse_an_unknown_time_zone(cleared):
    patient, _ = cleared
    response = signed_in(patient).post(
        "/settings/", {"reminder_time": "07:45", "time_zone": "Mars/Olympus"}
    )
    assert response.status_code == 200
    assert error_next_to(response.content.decode(), "id_time_zone")
    assert not AuditEvent.objects.filter(summary="Reminder settings changed").exists()


def test_questionnaire_stores_pain_and_odi(cleared):
    patient, _ = cleared
    client = signed_in(patient)
    html = client.get("/questionnaire/").content.decode()
    assert "0 = no problem … 5 = the worst" in html and "Pain intensity" in html
    body = {"pain": "4", **{f"odi_{i}": "1" for i in range(10)}}
    response = client.post("/questionnaire/", body)
    assert response.status_code == 302 and response["Location"] == "/progress/"
    stored = QuestionnaireResponse.objects.get(patient=patient)
    assert (stored.pain, float(stored.odi_percent)) == (4, 20.0)
    empty = client.post("/questionnaire/", {"pain": "4"})
    assert "Answer at least one" in error_next_to(empty.content.decode(), "id_odi_0")
