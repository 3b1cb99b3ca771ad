"""Intake and screening through the API, the admin and the services."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import AuditEvent, Role
from patients import services
from patients.models import Intake, Referral, Screening, ScreeningOverride
from tests.factories import (
    CONTRAINDICATED,
    REVIEW,
    URGENT,
    ClinicFactory,
    PatientFactory,
    clinician,
    member,
    otp_login,
    patient_with_portal,
    screen,
)

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def intake_body(**overrides) -> dict:
    body = {
        "systolic_bp": 122,
        "diastolic_bp": 78,
        "bp_measured_by": "Nurse Lee",
        "bp_measured_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "weight_kg": 80,
        "height_cm": 178,
        "baseline_pain": 6,
        "odi_sections": [2, 1, 2, 1, 2, 1, 1, None, 1, 2],
        "conditions": [],
        "medications": [],
    }
    body.update(overrides)
    return body


def test_clinician_creates_patient_in_own_clinic_through_api():
    user = clinician()
    response = api(user).post(
        "/api/v1/patients/",
        {
            "first_name": "Ada",
            "last_name": "Lane",
            "date_of_birth": "1970-02-03",
            "time_zone": "Europe/Paris",
            "clinician": user.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["screening_outcome"] is None
    assert AuditEvent.objects.filter(object_type="patients.patient", action="create").exists()


def test_patient_create_rejects_bad_time_zone_and_future_birth_date():
    user = clinician()
    response = api(user).post(
        "/api/v1/patients/",
        {
            "first_name": "Ada",
            "last_name": "Lane",
            "date_of_birth": "2999-01-01",
            "time_zone": "Mars/Base",
            "clinician": user.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"date_of_birth", "time_zone"}


def test_intake_through_api_returns_stored_screening_with_findings():
    patient = PatientFactory()
    response = api(patient.clinician).post(
        f"/api/v1/patients/{patient.pk}/intakes/",
        intake_body(systolic_bp=150, conditions=["osteoporosis"]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    screening = response.json()["screening"]
    assert screening["outcome"] == "review_required"
    assert screening["rule_set_version"] == "2026.1"
    codes = {finding["code"] for finding in screening["findings"]}
    assert codes == {"rc_blood_pressure", "rc_osteoporosis_osteopenia"}
    assert all(finding["message"] and finding["evidence"] for finding in screening["findings"])
    assert response.json()["odi_percent"] == "28.9"  # 13 of 45: one section unanswered


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"systolic_bp": None}, "systolic_bp"),
        ({"systolic_bp": 300, "diastolic_bp": 20}, "systolic_bp"),
        ({"systolic_bp": 120, "diastolic_bp": 130}, "diastolic_bp"),
        ({"surgery": True, "surgery_date": "2999-01-01"}, "surgery_date"),
        ({"surgery": True}, "surgery_date"),
        ({"conditions": ["broken_heart"]}, "conditions"),
        ({"medications": ["snake_oil"]}, "medications"),
        ({"baseline_pain": 11}, "baseline_pain"),
        ({"odi_sections": [1, 2, 3]}, "odi_sections"),
        ({"odi_sections": [None] * 10}, "odi_sections"),
        ({"weight_kg": -5}, "weight_kg"),
        ({"bp_measured_at": "2999-01-01T10:00:00Z"}, "bp_measured_at"),
    ],
    ids=[
        "missing systolic pressure",
        "impossible 300/20 pressure",
        "diastolic above systolic",
        "surgery date in the future",
        "surgery answered yes without a date",
        "unknown condition code",
        "unknown medication code",
        "pain of 11",
        "ODI with three sections",
        "ODI with every section unanswered",
        "negative weight",
        "blood pressure measured in the future",
    ],
)
def test_bad_intake_answers_get_400_with_field_message_and_store_nothing(overrides, field):
    patient = PatientFactory()
    body = {key: value for key, value in intake_body(**overrides).items() if value is not None}
    response = api(patient.clinician).post(
        f"/api/v1/patients/{patient.pk}/intakes/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert not Intake.objects.exists()
    assert not Screening.objects.exists()
    assert not AuditEvent.objects.filter(patient_id=patient.pk).exists()


def test_intakes_are_kept_and_a_new_one_supersedes_the_old():
    patient = PatientFactory()
    first = screen(patient)
    second = screen(patient, **CONTRAINDICATED)
    assert list(patient.intakes.order_by("number").values_list("number", flat=True)) == [1, 2]
    assert first.outcome == "cleared"
    assert patient.current_screening == second
    assert Screening.objects.filter(pk=first.pk).exists()


def test_current_screening_endpoint_shows_override():
    patient = PatientFactory()
    screening = screen(patient, **REVIEW)
    services.screening_override_record(
        screening=screening,
        clinician=patient.clinician,
        reason="BP rechecked 132/80",
        channel="api",
    )
    response = api(patient.clinician).get(f"/api/v1/patients/{patient.pk}/screening/")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "review_required"
    assert body["override"]["reason"] == "BP rechecked 132/80"
    assert body["override"]["expires_on"] == screening.valid_until.isoformat()


# Overrides: review_required only, by every path.


@pytest.mark.parametrize(
    "answers", [CONTRAINDICATED, URGENT, {}], ids=["contraindicated", "urgent referral", "cleared"]
)
def test_service_refuses_override_unless_review_required(answers):
    patient = PatientFactory()
    screening = screen(patient, **answers)
    with pytest.raises(ValidationError):
        services.screening_override_record(
            screening=screening, clinician=patient.clinician, reason="I know best", channel="admin"
        )
    assert not ScreeningOverride.objects.exists()


def test_service_refuses_override_without_reason_or_from_another_clinic():
    patient = PatientFactory()
    screening = screen(patient, **REVIEW)
    with pytest.raises(ValidationError):
        services.screening_override_record(
            screening=screening, clinician=patient.clinician, reason="   ", channel="admin"
        )
    with pytest.raises(PermissionDenied):
        services.screening_override_record(
            screening=screening, clinician=clinician(ClinicFactory()), reason="ok", channel="admin"
        )
    with pytest.raises(PermissionDenied):
        services.screening_override_record(
            screening=screening,
            clinician=member(Role.STAFF, patient.clinic),
            reason="ok",
            channel="admin",
        )
    assert not ScreeningOverride.objects.exists()


def test_database_refuses_override_of_contraindicated_screening_written_directly():
    patient = PatientFactory()
    screening = screen(patient, **CONTRAINDICATED)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScreeningOverride.objects.create(
            screening=screening,
            screening_outcome="review_required",
            reason="bypass",
            clinician=patient.clinician,
            expires_on=screening.valid_until,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ScreeningOverride.objects.create(
            screening=screening,
            screening_outcome="contraindicated",
            reason="bypass",
            clinician=patient.clinician,
            expires_on=screening.valid_until,
        )


def test_database_refuses_blank_override_reason():
    patient = PatientFactory()
    screening = screen(patient, **REVIEW)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScreeningOverride.objects.create(
            screening=screening,
            reason="  ",
            clinician=patient.clinician,
            expires_on=screening.valid_until,
        )


def test_api_override_of_contraindicated_answers_400_and_review_required_201():
    patient = PatientFactory()
    screen(patient, **CONTRAINDICATED)
    client = api(patient.clinician)
    url = f"/api/v1/patients/{patient.pk}/screening/override/"
    refused = client.post(url, {"reason": "please"}, format="json")
    assert refused.status_code == 400
    assert "screening" in refused.json()
    screen(patient, **REVIEW)
    assert client.post(url, {"reason": ""}, format="json").status_code == 400
    accepted = client.post(url, {"reason": "Reviewed with GP; BP controlled"}, format="json")
    assert accepted.status_code == 201
    assert accepted.json()["override"]["scope"] == "inversion"


def test_admin_override_of_contraindicated_shows_refusal_and_stores_nothing(client):
    patient = PatientFactory()
    screen(patient, **CONTRAINDICATED)
    otp_login(client, patient.clinician)
    response = client.post(f"/admin/patients/patient/{patient.pk}/override/", {"reason": "please"})
    assert response.status_code == 200
    assert "can&#x27;t be overridden" in response.content.decode()
    assert not ScreeningOverride.objects.exists()


def test_admin_override_of_review_required_records_it(client):
    patient = PatientFactory()
    screen(patient, **REVIEW)
    otp_login(client, patient.clinician)
    response = client.post(
        f"/admin/patients/patient/{patient.pk}/override/", {"reason": "Rechecked BP 128/82"}
    )
    assert response.status_code == 302
    override = ScreeningOverride.objects.get()
    assert override.clinician == patient.clinician
    assert AuditEvent.objects.filter(object_type="patients.screeningoverride").exists()


def test_patient_cannot_override_own_screening_through_api():
    patient = patient_with_portal()
    screen(patient, **REVIEW)
    response = api(patient.user).post(
        f"/api/v1/patients/{patient.pk}/screening/override/", {"reason": "me"}, format="json"
    )
    assert response.status_code == 403
    assert not ScreeningOverride.objects.exists()


# Urgent referral.


def test_urgent_referral_blocks_everything_until_referral_and_result_recorded():
    patient = PatientFactory()
    screening = screen(patient, **URGENT)
    assert not services.treatment_permission(patient).programme
    referral = services.referral_record(
        screening=screening,
        by=patient.clinician,
        referred_to="Emergency department",
        referred_on=timezone.localdate(),
        channel="admin",
    )
    patient.refresh_from_db()
    assert not services.treatment_permission(patient).programme
    services.referral_result_record(
        referral=referral,
        by=patient.clinician,
        result=Referral.Result.PATHOLOGY_EXCLUDED,
        notes="MRI clear",
        channel="admin",
    )
    patient = type(patient).objects.select_related("current_screening__referral").get(pk=patient.pk)
    permission = services.treatment_permission(patient)
    assert permission.programme and not permission.inversion


# Audit and access.


def test_every_intake_screening_and_override_change_is_recorded_with_who_and_when():
    patient = PatientFactory()
    screening = screen(patient, **REVIEW)
    services.screening_override_record(
        screening=screening, clinician=patient.clinician, reason="ok after review", channel="api"
    )
    events = AuditEvent.objects.filter(patient_id=patient.pk)
    assert set(events.values_list("object_type", flat=True)) == {
        "patients.intake",
        "patients.screening",
        "patients.screeningoverride",
    }
    assert all(event.actor == patient.clinician and event.at for event in events)


def test_other_clinic_sees_404_for_patient_and_screening():
    patient = PatientFactory()
    screen(patient)
    outsider = api(clinician(ClinicFactory()))
    assert outsider.get(f"/api/v1/patients/{patient.pk}/").status_code == 404
    assert outsider.get(f"/api/v1/patients/{patient.pk}/screening/").status_code == 404
    assert (
        outsider.post(
            f"/api/v1/patients/{patient.pk}/intakes/", intake_body(), format="json"
        ).status_code
        == 404
    )


def test_patient_reads_only_own_record():
    patient = patient_with_portal()
    other = patient_with_portal(patient.clinic)
    client = api(patient.user)
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert client.get(f"/api/v1/patients/{other.pk}/").status_code == 404
    assert [row["id"] for row in client.get("/api/v1/patients/").json()["results"]] == [patient.pk]
