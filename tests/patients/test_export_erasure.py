"""A patient's data export and erasure: clinic administrators only, audited, through services."""

import json
import uuid
from datetime import date, timedelta

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import ApiToken, AuditEvent, Role
from patients import services
from patients.models import Patient, Referral, Screening, ScreeningOverride
from privacy import services as privacy_services
from programmes import checkins
from programmes import services as programme_services
from programmes.adherence import patient_adherence
from programmes.models import (
    CheckIn,
    ClinicianAlert,
    Plan,
    PlanStatus,
    PortalNotice,
    ProgrammeTemplate,
    QuestionnaireResponse,
    ReminderDelivery,
)
from tests.factories import REVIEW, api_token, member, otp_login, patient_with_portal, screen

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def history(patient, *, checkin_count: int = 2, note: str = "Felt it in my left calf") -> Plan:
    """A full record: two intakes (one overridden), an active plan, check-ins, a
    questionnaire, an alert, a reminder delivery and a portal notice."""
    screening = screen(patient, **REVIEW)
    services.screening_override_record(
        screening=screening,
        clinician=patient.clinician,
        reason="BP rechecked 128/82",
        channel="admin",
    )
    patient.refresh_from_db()
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = programme_services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    programme_services.plan_activate(plan=plan, by=patient.clinician)
    today = timezone.localdate()
    for offset in range(checkin_count):
        checkins.checkin_submit(
            patient=patient,
            data=checkins.CheckInInput(
                idempotency_key=uuid.uuid4(),
                completion="done",
                inversion_angle_deg=20,
                inversion_seconds=60,
                pain_before=5,
                pain_after=4,
                note=note,
                local_date=today - timedelta(days=offset),
            ),
            channel="portal",
        )
    checkins.questionnaire_submit(
        patient=patient, pain=4, odi_sections=(2, 2, 1, 1, 2, 1, 1, None, 1, 1)
    )
    ClinicianAlert.objects.create(
        clinic=patient.clinic,
        patient=patient,
        plan=plan,
        kind=ClinicianAlert.Kind.HIGH_PAIN,
        message="Pain 8",
        dedupe_key=f"test-{patient.pk}",
    )
    delivery = ReminderDelivery.objects.create(
        patient=patient,
        clinic=patient.clinic,
        local_date=today,
        kind="session",
        channel="email",
        status="failed",
        last_error=f"550 mailbox {patient.email} unavailable",
    )
    PortalNotice.objects.create(
        patient=patient, delivery=delivery, message=f"{patient.first_name}, time to check in"
    )
    return plan


def can_authenticate(username: str) -> bool:
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username=username, password=PASSWORD) is not None


@pytest.fixture
def clinic_admin_and_patients():
    patient = patient_with_portal(first_name="Aoife", last_name="Brennan", phone="07700 900123")
    other = patient_with_portal(clinic=patient.clinic, first_name="Kwame", last_name="Mensah")
    history(patient)
    history(other, note="Kwame's private note")
    administrator = member(Role.CLINIC_ADMIN, patient.clinic)
    return administrator, patient, other


def test_export_holds_every_kind_of_record_of_the_patient_and_nothing_of_another(
    clinic_admin_and_patients,
):
    administrator, patient, other = clinic_admin_and_patients
    data = privacy_services.patient_export(patient=patient, by=administrator)

    assert data["patient"]["first_name"] == "Aoife"
    assert data["patient"]["phone"] == "07700 900123"
    assert data["patient"]["date_of_birth"] == "1975-06-15"
    assert data["portal_account"]["username"] == patient.user.username
    assert len(data["intakes"]) == 1 and len(data["screenings"]) == 1
    assert data["screening_overrides"][0]["reason"] == "BP rechecked 128/82"
    (plan,) = data["plans"]
    assert plan["status"] == "active"
    assert [step["angle_deg"] for step in plan["inversion_steps"]][:1] == [20]
    assert plan["exercises"] and plan["exercises"][0]["exercise_name"]
    assert {event["kind"] for event in plan["events"]} >= {"created", "activated"}
    assert len(data["checkins"]) == 2
    assert all(row["note"] == "Felt it in my left calf" for row in data["checkins"])
    assert all(isinstance(row["exercises_done_ids"], list) for row in data["checkins"])
    assert len(data["questionnaires"]) == 1
    # The review-required intake told the clinician, and the test's own high-pain alert.
    assert sorted(row["kind"] for row in data["alerts"]) == ["high_pain", "review_required"]
    assert len(data["reminder_deliveries"]) == 1
    assert len(data["portal_notices"]) == 1
    assert {row["summary"] for row in data["audit"]} >= {"Inversion override recorded"}

    text = json.dumps(data)
    assert "Kwame" not in text and "Mensah" not in text
    other_ids = {
        str(pk) for pk in CheckIn.objects.filter(patient=other).values_list("pk", flat=True)
    }
    assert not other_ids & {str(row["id"]) for row in data["checkins"]}
    assert all(row["patient_id"] == patient.pk for row in data["checkins"])
    assert all(row["patient_id"] == patient.pk for row in data["screenings"])


def test_export_is_audited_as_an_export_by_the_administrator(clinic_admin_and_patients):
    administrator, patient, _ = clinic_admin_and_patients
    privacy_services.patient_export(patient=patient, by=administrator)
    event = AuditEvent.objects.get(action="export", patient_id=patient.pk)
    assert event.actor == administrator
    assert event.channel == "admin"
    assert event.object_type == "patients.patient"


def test_export_takes_the_same_number_of_queries_however_long_the_history(
    clinic_admin_and_patients,
):
    administrator, patient, _ = clinic_admin_and_patients
    newcomer = patient_with_portal(clinic=patient.clinic)
    history(newcomer, checkin_count=6)
    counts = []
    for someone in (patient, newcomer):
        with CaptureQueriesContext(connection) as queries:
            privacy_services.patient_export(patient=someone, by=administrator)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 22


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.STAFF, Role.PATIENT])
def test_only_the_clinic_administrator_may_export_or_erase(clinic_admin_and_patients, role):
    _, patient, _ = clinic_admin_and_patients
    someone = member(role, patient.clinic)
    with pytest.raises(PermissionDenied):
        privacy_services.patient_export(patient=patient, by=someone)
    with pytest.raises(PermissionDenied):
        privacy_services.patient_erase(patient=patient, by=someone, reason="asked")
    assert not AuditEvent.objects.filter(action="export").exists()


def test_administrator_of_another_clinic_may_not_export(clinic_admin_and_patients):
    _, patient, _ = clinic_admin_and_patients
    stranger = member(Role.CLINIC_ADMIN)
    with pytest.raises(PermissionDenied):
        privacy_services.patient_export(patient=patient, by=stranger)


def test_erasure_removes_identity_keeps_birth_year_and_closes_the_account(
    clinic_admin_and_patients,
):
    administrator, patient, _ = clinic_admin_and_patients
    user = patient.user
    username = user.username
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    api_token(user)
    assert can_authenticate(username)

    privacy_services.patient_erase(
        patient=patient, by=administrator, reason="Written request, 3 March"
    )

    patient.refresh_from_db()
    assert "Aoife" not in patient.full_name and "Brennan" not in patient.full_name
    assert patient.email == "" and patient.phone == ""
    assert patient.date_of_birth == date(1975, 1, 1)
    assert patient.reminders_opted_out
    user.refresh_from_db()
    assert not user.is_active and not user.has_usable_password()
    assert user.username != username and user.email == "" and user.first_name == ""
    assert not can_authenticate(username)
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not ApiToken.objects.filter(user=user).exists()
    assert not PortalNotice.objects.filter(patient=patient).exists()
    assert not CheckIn.objects.filter(patient=patient).exclude(note="").exists()
    assert not ReminderDelivery.objects.filter(patient=patient).exclude(last_error="").exists()
    assert "Aoife" not in json.dumps(
        privacy_services.patient_export(patient=patient, by=administrator)
    )


def test_erased_patient_cannot_sign_in_to_the_portal(clinic_admin_and_patients):
    administrator, patient, _ = clinic_admin_and_patients
    username = patient.user.username
    signed_in = Client()
    signed_in.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")

    privacy_services.patient_erase(patient=patient, by=administrator, reason="Written request")

    response = Client().post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in Client().session
    assert signed_in.get("/").status_code == 302  # the old session is dead too
    assert signed_in.get("/")["Location"].startswith("/accounts/login/")


def test_erasure_keeps_clinical_aggregates_counting(clinic_admin_and_patients):
    administrator, patient, other = clinic_admin_and_patients
    today = timezone.localdate()
    start = today - timedelta(days=6)
    before = patient_adherence(patient.pk, start=start, end=today)
    counts_before = (
        CheckIn.objects.filter(clinic=patient.clinic).count(),
        QuestionnaireResponse.objects.filter(clinic=patient.clinic).count(),
        Screening.objects.filter(patient__clinic=patient.clinic).count(),
        ScreeningOverride.objects.filter(screening__patient=patient).count(),
    )

    privacy_services.patient_erase(patient=patient, by=administrator, reason="Written request")

    assert patient_adherence(patient.pk, start=start, end=today) == before
    assert before.completed > 0
    assert counts_before == (
        CheckIn.objects.filter(clinic=patient.clinic).count(),
        QuestionnaireResponse.objects.filter(clinic=patient.clinic).count(),
        Screening.objects.filter(patient__clinic=patient.clinic).count(),
        ScreeningOverride.objects.filter(screening__patient=patient).count(),
    )
    plan = Plan.objects.get(patient=patient)
    assert plan.status == PlanStatus.ENDED
    other.refresh_from_db()
    assert other.first_name == "Kwame" and other.user.is_active


def test_erasure_is_audited_with_its_reason_and_cannot_run_twice(clinic_admin_and_patients):
    administrator, patient, _ = clinic_admin_and_patients
    privacy_services.patient_erase(patient=patient, by=administrator, reason="Written request")
    event = AuditEvent.objects.get(patient_id=patient.pk, changes__erased=True)
    assert (event.action, event.channel, event.actor) == ("update", "admin", administrator)
    assert event.changes["reason"] == "Written request"
    with pytest.raises(ValidationError):
        privacy_services.patient_erase(patient=patient, by=administrator, reason="again")


def test_erasure_without_a_reason_is_refused_and_changes_nothing(clinic_admin_and_patients):
    administrator, patient, _ = clinic_admin_and_patients
    with pytest.raises(ValidationError):
        privacy_services.patient_erase(patient=patient, by=administrator, reason="  ")
    assert Patient.objects.get(pk=patient.pk).first_name == "Aoife"


# The admin actions.


def changelist_action(client, action: str, patient, **extra):
    return client.post(
        "/admin/patients/patient/",
        {"action": action, "_selected_action": [patient.pk], "index": 0, **extra},
    )


def test_admin_export_action_downloads_the_patients_json(clinic_admin_and_patients):
    administrator, patient, _ = clinic_admin_and_patients
    client = Client()
    otp_login(client, administrator)
    response = changelist_action(client, "export_data", patient)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert response.json()["patient"]["last_name"] == "Brennan"


def test_admin_erase_action_asks_for_a_reason_and_confirmation_first(clinic_admin_and_patients):
    administrator, patient, _ = clinic_admin_and_patients
    client = Client()
    otp_login(client, administrator)

    page = changelist_action(client, "erase_identity", patient)
    assert page.status_code == 200
    assert "cannot be undone" in page.content.decode()
    unconfirmed = changelist_action(
        client, "erase_identity", patient, post="yes", reason="Written request"
    )
    assert unconfirmed.status_code == 200  # the page again, with the missing confirmation
    assert Patient.objects.get(pk=patient.pk).first_name == "Aoife"

    done = changelist_action(
        client, "erase_identity", patient, post="yes", reason="Written request", confirm="on"
    )
    assert done.status_code == 302
    assert Patient.objects.get(pk=patient.pk).first_name == privacy_services.ERASED_FIRST_NAME


def test_clinician_is_not_offered_the_data_protection_actions(clinic_admin_and_patients):
    _, patient, _ = clinic_admin_and_patients
    client = Client()
    otp_login(client, patient.clinician)
    html = client.get("/admin/patients/patient/").content.decode()
    assert 'value="send_invitation"' in html
    assert 'value="export_data"' not in html and 'value="erase_identity"' not in html
    response = changelist_action(client, "export_data", patient)
    assert response.get("Content-Type") != "application/json"
    assert not AuditEvent.objects.filter(action="export").exists()


def test_referral_records_are_exported_for_an_urgent_referral(clinic_admin_and_patients):
    administrator, patient, _ = clinic_admin_and_patients
    screening = screen(patient, saddle_numbness=True)
    services.referral_record(
        screening=screening,
        by=patient.clinician,
        referred_to="Emergency department",
        referred_on=timezone.localdate(),
        channel="admin",
    )
    data = privacy_services.patient_export(patient=patient, by=administrator)
    assert [row["referred_to"] for row in data["referrals"]] == ["Emergency department"]
    assert Referral.objects.count() == 1
