"""What the patient is told is true: every outcome the patient reads "your clinician has
been told" about raises its clinician alert in the same request, e-mails it once with an
absolute link, and heads the at-risk report until a clinician acknowledges it."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import AuditEvent, Role
from programmes import services
from programmes.alert_rules import alert_sweep
from programmes.alerts import alert_acknowledge, alert_send_email, alerts_unsent
from programmes.domain.permission import INVERSION_CATEGORY
from programmes.models import ClinicianAlert, Exercise, PlanExercise, ProgrammeTemplate
from programmes.tasks import alert_email
from reports import queries as reports
from tests.factories import clinician, member, otp_login, patient_with_portal, screen

pytestmark = pytest.mark.django_db

Kind = ClinicianAlert.Kind
TOLD = "Your clinician has been told"


# Patients and the three interfaces.


def inversion_plan(patient):
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    return services.plan_activate(plan=plan, by=patient.clinician)


def exercise_plan(patient, *, with_inversion_exercise: bool = False):
    """An exercise-only plan; optionally with an inversion-category exercise (no step)."""
    template = ProgrammeTemplate.objects.get(kind="exercise_only", clinic__isnull=True)
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    if with_inversion_exercise:
        PlanExercise.objects.create(
            plan=plan,
            exercise=Exercise.objects.filter(category=INVERSION_CATEGORY).order_by("pk").first(),
            hold_seconds=60,
            order=99,
        )
    return services.plan_activate(plan=plan, by=patient.clinician)


def new_patient(clinic=None):
    """A patient with a portal account and no intake yet."""
    return patient_with_portal(clinic, phone="+44 7700 900123")


def inverting_patient(clinic=None):
    """A cleared patient on an active inversion plan."""
    patient = new_patient(clinic)
    screen(patient)
    inversion_plan(patient)
    return patient


def portal(patient) -> Client:
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def measured_at() -> str:
    return (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")


def portal_intake(patient, *, warning_signs=(), conditions=(), systolic="124"):
    """The portal's intake, one step a page, as a patient sends it. Returns the last page."""
    client = portal(patient)
    step_1 = {
        "systolic_bp": systolic,
        "diastolic_bp": "79",
        "bp_measured_by": "Me, home monitor",
        "bp_measured_at": measured_at(),
        "weight_kg": "80",
        "height_cm": "178",
        "baseline_pain": "6",
        "step": 1,
    }
    assert client.post("/intake/?step=1", step_1).status_code == 302
    step_2 = {"step": 2, "action": "next", **{name: "on" for name in warning_signs}}
    assert client.post("/intake/", step_2).status_code == 302
    step_3 = {"step": 3, "action": "next", "conditions": list(conditions)}
    assert client.post("/intake/", step_3).status_code == 302
    odi = {f"odi_{i}": "2" for i in range(10)}
    response = client.post("/intake/", {"step": 4, **odi, "action": "submit"})
    assert response.status_code == 200, response.content.decode()[:2000]
    return response


def api_intake(patient, user=None, *, systolic=122, conditions=(), **answers):
    """An intake through the API: the patient's own (default) or a clinician's."""
    body = {
        "systolic_bp": systolic,
        "diastolic_bp": 78,
        "bp_measured_by": "Nurse Lee",
        "bp_measured_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "weight_kg": 80,
        "height_cm": 178,
        "baseline_pain": 6,
        "odi_sections": [2, 1, 2, 1, 2, 1, 1, None, 1, 2],
        "conditions": list(conditions),
        "medications": [],
        **answers,
    }
    response = api(user or patient.user).post(
        f"/api/v1/patients/{patient.pk}/intakes/", body, format="json"
    )
    assert response.status_code == 201, response.json()
    return response


def admin_intake(patient, *, systolic="122", conditions=(), **answers):
    """An intake recorded by the patient's clinician in the admin."""
    client = Client()
    otp_login(client, patient.clinician)
    body = {
        "systolic_bp": systolic,
        "diastolic_bp": "78",
        "bp_measured_by": "Nurse Lee",
        "bp_measured_at": measured_at(),
        "weight_kg": "80",
        "height_cm": "178",
        "baseline_pain": "6",
        "conditions": list(conditions),
        **{f"odi_{i}": "2" for i in range(10)},
        **{name: "on" for name, value in answers.items() if value},
    }
    response = client.post(reverse("admin:patients_patient_intake", args=[patient.pk]), body)
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


def portal_health_update(patient, *, conditions=(), pregnant="no"):
    response = portal(patient).post(
        "/health/", {"conditions": list(conditions), "pregnant": pregnant}
    )
    assert response.status_code == 200
    assert "Thank you: your update is saved" in response.content.decode()
    return response


def checkin_body(symptom: str) -> dict:
    return {
        "idempotency_key": str(uuid.uuid4()),
        "completion": "done",
        "inversion_angle_deg": "20",
        "held_minutes": "1",
        "held_seconds": "0",
        "pain_before": "5",
        "pain_after": "4",
        "symptoms": [symptom],
    }


def portal_checkin(patient, symptom: str):
    response = portal(patient).post("/checkin/", checkin_body(symptom))
    assert response.status_code == 200
    return response


def api_checkin(patient, symptom: str):
    response = api(patient.user).post(
        "/api/v1/me/checkins/",
        {
            "idempotency_key": str(uuid.uuid4()),
            "completion": "done",
            "inversion_angle_deg": 20,
            "inversion_seconds": 60,
            "pain_before": 5,
            # One invalid field: the symptom is acted on all the same.
            "pain_after": 11,
            "symptoms": [symptom],
        },
        format="json",
    )
    # The bad field is refused (400); the symptom is not: it was acted on and says so.
    assert response.status_code == 400 and response.json()["safety"]["inversion_paused"]
    return response


# The outcomes: (setup, request, the alert kind).

OUTCOMES = {
    "intake urgent referral via portal": (
        new_patient,
        lambda p: portal_intake(p, warning_signs=["saddle_numbness"]),
        Kind.URGENT_REFERRAL,
    ),
    "intake urgent referral via API (patient)": (
        new_patient,
        lambda p: api_intake(p, saddle_numbness=True),
        Kind.URGENT_REFERRAL,
    ),
    "intake urgent referral via admin": (
        new_patient,
        lambda p: admin_intake(p, saddle_numbness=True),
        Kind.URGENT_REFERRAL,
    ),
    "intake review required via portal": (
        new_patient,
        lambda p: portal_intake(p, systolic="145"),
        Kind.REVIEW_REQUIRED,
    ),
    "intake review required via API (patient)": (
        new_patient,
        lambda p: api_intake(p, systolic=145),
        Kind.REVIEW_REQUIRED,
    ),
    "intake review required via admin": (
        new_patient,
        lambda p: admin_intake(p, systolic="145"),
        Kind.REVIEW_REQUIRED,
    ),
    "glaucoma mid-plan via portal health update": (
        inverting_patient,
        lambda p: portal_health_update(p, conditions=["glaucoma"]),
        Kind.SCREENING_PAUSE,
    ),
    "glaucoma mid-plan via API intake (patient)": (
        inverting_patient,
        lambda p: api_intake(p, conditions=["glaucoma"]),
        Kind.SCREENING_PAUSE,
    ),
    "pregnancy mid-plan via portal health update": (
        inverting_patient,
        lambda p: portal_health_update(p, pregnant="yes"),
        Kind.SCREENING_PAUSE,
    ),
    "stop symptom via portal check-in": (
        inverting_patient,
        lambda p: portal_checkin(p, "chest_pain"),
        Kind.STOP_SYMPTOM,
    ),
    "stop symptom via API check-in with a bad field": (
        inverting_patient,
        lambda p: api_checkin(p, "chest_pain"),
        Kind.STOP_SYMPTOM,
    ),
    "red flag via portal check-in": (
        inverting_patient,
        lambda p: portal_checkin(p, "saddle_numbness"),
        Kind.RED_FLAG,
    ),
    "red flag via API check-in with a bad field": (
        inverting_patient,
        lambda p: api_checkin(p, "saddle_numbness"),
        Kind.RED_FLAG,
    ),
}


def filters_for(patient) -> reports.Filters:
    today = timezone.localdate()
    return reports.Filters(patient.clinic_id, today - timedelta(days=27), today)


def staff_page(patient):
    client = Client()
    otp_login(client, patient.clinician)
    response = client.get(reverse("reports:at_risk"))
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_each_outcome_raises_one_alert_and_heads_the_at_risk_report_until_acknowledged(
    outcome,
):
    make, send, kind = OUTCOMES[outcome]
    patient = make()
    inverting_patient(patient.clinic)  # a bystander, at risk for nothing: never on top

    response = send(patient)

    if response["Content-Type"].startswith("text/html") and response.status_code == 200:
        assert TOLD in response.content.decode()  # the portal's page, now true
    alerts = ClinicianAlert.objects.filter(patient=patient, kind=kind)
    assert alerts.count() == 1
    alert = alerts.get()
    assert alert.acknowledged_at is None and alert.message
    rows = reports.safety_rows(filters_for(patient))
    assert [row.patient_id for row in rows] == [patient.pk]
    assert kind in rows[0].kinds
    assert rows[0].since <= timezone.now()
    assert rows[0].phone == "+44 7700 900123"
    # The staff page shows it above the at-risk rows, with why and since when.
    page = staff_page(patient)
    assert [row.patient_id for row in page.context["safety_rows"]] == [patient.pk]
    html = page.content.decode()
    assert html.index('id="needs-clinician"') < html.index(f'data-kind="{kind}"')
    assert reports.SAFETY_LABELS[kind] in html

    # A clinician acts: every open safety alert of this patient acknowledged.
    for open_alert in ClinicianAlert.objects.filter(patient=patient, acknowledged_at__isnull=True):
        assert alert_acknowledge(alert=open_alert, by=patient.clinician, channel="admin")
    assert reports.safety_rows(filters_for(patient)) == []
    assert AuditEvent.objects.filter(
        summary__startswith="Alert acknowledged", patient_id=patient.pk
    ).exists()


@pytest.mark.parametrize(
    ("send", "told"),
    [
        (lambda p: portal_intake(p, warning_signs=["saddle_numbness"]), True),
        (lambda p: portal_intake(p, systolic="145"), True),
        (lambda p: portal_intake(p, conditions=["glaucoma"]), False),
        (lambda p: portal_intake(p), False),
    ],
    ids=[
        "urgent referral: told",
        "review required: told",
        "first intake contraindicated: no alert, not told",
        "cleared: not told",
    ],
)
def test_the_intake_page_says_the_clinician_was_told_only_when_an_alert_stands(send, told):
    patient = new_patient()
    html = send(patient).content.decode()
    assert ClinicianAlert.objects.filter(patient=patient).exists() is told
    assert (TOLD in html) is told


@pytest.mark.parametrize(
    ("plan", "changes", "kind"),
    [
        ("inversion", {"conditions": ["glaucoma"]}, Kind.SCREENING_PAUSE),
        ("inversion exercise, no step", {"pregnant": "yes"}, Kind.SCREENING_PAUSE),
        ("exercise only", {"pregnant": "yes"}, Kind.CONTRAINDICATED),
        ("inversion", {"conditions": ["diabetes"]}, Kind.REVIEW_REQUIRED),
        ("inversion", {"conditions": ["immunosuppression"]}, Kind.URGENT_REFERRAL),
        ("inversion", {"conditions": ["hiatal_hernia"], "pregnant": "no"}, Kind.REVIEW_REQUIRED),
    ],
    ids=[
        "glaucoma pauses inversion",
        "pregnancy pauses an inversion exercise",
        "pregnancy on exercises only: newly contraindicated",
        "diabetes: review required",
        "immunosuppression: urgent referral",
        "hernia: review required",
    ],
)
def test_a_health_update_that_reaches_the_clinic_raises_its_alert_and_says_so(plan, changes, kind):
    patient = new_patient()
    screen(patient)
    if plan == "inversion":
        running = inversion_plan(patient)
    else:
        running = exercise_plan(patient, with_inversion_exercise=plan != "exercise only")
    response = portal_health_update(patient, **changes)
    assert ClinicianAlert.objects.filter(patient=patient, kind=kind).count() == 1
    assert TOLD in response.content.decode()
    running.refresh_from_db()
    if kind == Kind.SCREENING_PAUSE:
        assert running.inversion_paused
        # One event, one alert: the pause says it, no second "contraindicated" one.
        assert not ClinicianAlert.objects.filter(patient=patient, kind=Kind.CONTRAINDICATED)
    rows = reports.safety_rows(filters_for(patient))
    assert [row.patient_id for row in rows] == [patient.pk] and kind in rows[0].kinds


def test_a_health_update_that_changes_nothing_tells_nobody_and_says_nothing_of_it():
    patient = new_patient()
    screen(patient)
    exercise_plan(patient)
    html = portal_health_update(patient, conditions=["cancer_history"]).content.decode()
    patient.refresh_from_db()
    assert patient.current_screening.outcome == "cleared"
    assert not ClinicianAlert.objects.filter(patient=patient).exists()
    assert TOLD not in html and "told" not in html.lower().replace("you told us", "")
    assert reports.safety_rows(filters_for(patient)) == []


def test_the_same_screening_announced_again_raises_no_second_alert():
    """A re-run (the expiry sweep, a second signal) finds the alert by its key."""
    from patients.services import screening_changed

    patient = new_patient()
    screen(patient, saddle_numbness=True)
    patient.refresh_from_db()
    for reason in ("intake", "expired"):
        screening_changed.send(
            sender=None,
            patient=patient,
            screening=patient.current_screening,
            reason=reason,
            by=None,
            today=timezone.localdate(),
        )
    assert ClinicianAlert.objects.filter(patient=patient).count() == 1


def test_a_check_in_red_flag_stands_on_top_until_a_clinician_acts_even_without_its_alert():
    patient = inverting_patient()
    portal_checkin(patient, "saddle_numbness")
    patient.refresh_from_db()
    assert patient.red_flag_reported_at is not None
    ClinicianAlert.objects.filter(patient=patient).delete()  # say its alert went missing
    rows = reports.safety_rows(filters_for(patient))
    assert [(row.patient_id, row.kinds) for row in rows] == [(patient.pk, [Kind.RED_FLAG])]
    assert rows[0].since == patient.red_flag_reported_at

    client = Client()
    otp_login(client, patient.clinician)
    response = client.post(reverse("reports:at_risk_acknowledge", args=[patient.pk]))
    assert response.status_code == 302
    assert reports.safety_rows(filters_for(patient)) == []
    acknowledged = ClinicianAlert.objects.get(patient=patient)
    assert (acknowledged.kind, acknowledged.acknowledged_by) == (Kind.RED_FLAG, patient.clinician)


def test_acknowledging_through_the_api_and_the_admin_removes_the_top_row():
    first = inverting_patient()
    second = inverting_patient(first.clinic)
    for patient in (first, second):
        portal_checkin(patient, "chest_pain")
    assert {row.patient_id for row in reports.safety_rows(filters_for(first))} == {
        first.pk,
        second.pk,
    }
    by_api = ClinicianAlert.objects.get(patient=first)
    response = api(first.clinician).post(f"/api/v1/alerts/{by_api.pk}/acknowledge/")
    assert response.status_code == 200 and response.json()["acknowledged_at"]
    assert [row.patient_id for row in reports.safety_rows(filters_for(first))] == [second.pk]

    client = Client()
    otp_login(client, first.clinician)
    by_admin = ClinicianAlert.objects.get(patient=second)
    response = client.post(
        reverse("admin:programmes_clinicianalert_changelist"),
        {"action": "acknowledge", "_selected_action": [by_admin.pk]},
    )
    assert response.status_code == 302
    assert reports.safety_rows(filters_for(first)) == []
    audited = AuditEvent.objects.filter(summary="Alert acknowledged: Stop symptom reported")
    assert sorted(audited.values_list("channel", flat=True)) == ["admin", "api"]


def test_only_a_clinician_may_acknowledge_from_the_report(staff_client):
    patient = inverting_patient()
    portal_checkin(patient, "chest_pain")
    client = staff_client(patient.clinic)  # a staff member, not a clinician
    page = client.get(reverse("reports:at_risk"))
    assert "I have acted" not in page.content.decode()
    response = client.post(reverse("reports:at_risk_acknowledge", args=[patient.pk]))
    assert response.status_code == 403
    assert ClinicianAlert.objects.get(patient=patient).acknowledged_at is None


def test_the_at_risk_export_lists_who_needs_a_clinician_first():
    patient = inverting_patient()
    portal_checkin(patient, "chest_pain")
    client = Client()
    otp_login(client, patient.clinician)
    response = client.get(reverse("reports:export_csv", args=["at_risk"]))
    lines = b"".join(response.streaming_content).decode().splitlines()
    header, first = lines[0].split(","), lines[1].split(",")
    assert header[-2:] == list(reports.SAFETY_COLUMNS)
    assert first[0] == str(patient.pk)
    assert first[-2].startswith(reports.SAFETY_LABELS[Kind.STOP_SYMPTOM])


def test_the_alert_email_goes_once_to_the_clinician_with_an_absolute_link_and_the_phone(
    settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "https://clinic.example.org/"
    patient = inverting_patient()
    # The request's own on_commit callbacks run: the alert's e-mail is sent to the broker.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        portal_health_update(patient, conditions=["glaucoma"])
    assert callbacks
    alert = ClinicianAlert.objects.get(patient=patient)
    # The task as a worker runs it, and once more as a redelivered message would.
    assert alert_email.apply(args=[alert.pk]).get() is True
    assert alert_email.apply(args=[alert.pk]).get() is False
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [patient.clinician.email]
    assert "Health update paused inversion" in mail.subject
    assert alert.message in mail.body
    assert "Phone: +44 7700 900123" in mail.body
    link = f"https://clinic.example.org/admin/patients/patient/{patient.pk}/change/"
    assert f"Open the patient: {link}" in mail.body
    assert "At-risk list: https://clinic.example.org/reports/at-risk/" in mail.body
    alert.refresh_from_db()
    assert alert.emailed_at is not None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_emails_the_stop_symptom_alert_once(celery_processes):
    patient = inverting_patient()
    worker = celery_processes(
        "worker", env={"EMAIL_URL": "consolemail://", "PORTAL_BASE_URL": "https://c.example"}
    )
    api_checkin(patient, "chest_pain")
    alert = ClinicianAlert.objects.get(patient=patient, kind=Kind.STOP_SYMPTOM)
    deadline = time.monotonic() + 60
    while alert.emailed_at is None and time.monotonic() < deadline:
        time.sleep(0.3)
        alert.refresh_from_db()
    assert alert.emailed_at is not None
    assert alert_send_email(alert_id=alert.pk) is False  # a second send sends nothing
    log = worker.log_path.read_text()
    assert log.count(f"To: {patient.clinician.email}") == 1
    assert f"https://c.example/admin/patients/patient/{patient.pk}/change/" in log


def test_an_alert_for_a_clinician_without_an_address_goes_to_the_clinics_other_clinicians(
    mailoutbox,
):
    patient = inverting_patient()
    get_user_model().objects.filter(pk=patient.clinician_id).update(email="")
    colleague = clinician(patient.clinic)
    admin = member(Role.CLINIC_ADMIN, patient.clinic)
    member(Role.STAFF, patient.clinic)  # front desk: not a clinical recipient
    clinician()  # another clinic's clinician: never
    api_checkin(patient, "chest_pain")
    alert = ClinicianAlert.objects.get(patient=patient, kind=Kind.STOP_SYMPTOM)
    assert alert_send_email(alert_id=alert.pk) is True
    assert len(mailoutbox) == 1
    assert sorted(mailoutbox[0].to) == sorted([colleague.email, admin.email])
    alert.refresh_from_db()
    assert alert.emailed_at is not None
    assert alert.emailed_to == ", ".join(sorted([colleague.email, admin.email]))


def test_an_inactive_responsible_clinician_is_not_the_only_one_told(mailoutbox):
    patient = inverting_patient()
    get_user_model().objects.filter(pk=patient.clinician_id).update(is_active=False)
    colleague = clinician(patient.clinic)
    api_checkin(patient, "chest_pain")
    alert = ClinicianAlert.objects.get(patient=patient, kind=Kind.STOP_SYMPTOM)
    assert alert_send_email(alert_id=alert.pk) is True
    assert mailoutbox[0].to == [colleague.email]


def test_an_alert_nobody_can_receive_stays_unsent_and_the_sweep_tries_again(
    mailoutbox, django_capture_on_commit_callbacks
):
    patient = inverting_patient()
    get_user_model().objects.filter(pk=patient.clinician_id).update(email="")
    api_checkin(patient, "chest_pain")
    alert = ClinicianAlert.objects.get(patient=patient, kind=Kind.STOP_SYMPTOM)
    assert alert_send_email(alert_id=alert.pk) is False
    alert.refresh_from_db()
    assert alert.emailed_at is None and alert.emailed_to == ""
    assert mailoutbox == []
    # Someone at the clinic gets an address; the next sweep sends the waiting alert.
    colleague = clinician(patient.clinic)
    later = timezone.now() + timedelta(minutes=10)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alert_sweep(now=later)
    assert alert.pk in alerts_unsent(now=later)
    assert callbacks  # the sweep queued the e-mail again
    assert alert_email.apply(args=[alert.pk]).get() is True
    assert mailoutbox[0].to == [colleague.email]
    assert alerts_unsent(now=later) == []
