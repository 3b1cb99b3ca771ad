"""Emergency advice names the patient's own emergency number (the patient's, else the clinic's).

Domain wording, the check-in API and portal, screening messages, the footer and the admins.
"""

import uuid

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import AuditEvent, Role
from patients.domain.screening import for_patient
from programmes import services as plan_services
from programmes.domain.symptoms import (
    STOP_ADVICE,
    URGENT_REFERRAL_ADVICE,
    classify_symptoms,
    stop_advice,
    urgent_referral_advice,
)
from programmes.models import ProgrammeTemplate
from tests.factories import ClinicFactory, member, otp_login, patient_with_portal, screen


@pytest.mark.parametrize("number", ["999", "112", "911", "000"])
def test_stop_and_urgent_referral_advice_name_the_number(number):
    others = {"999", "112", "911", "000"} - {number}
    for advice in (stop_advice(number), urgent_referral_advice(number)):
        assert f"emergency services on {number}" in advice
        assert not [other for other in others if other in advice]
    assert ("A&E" in urgent_referral_advice(number)) is (number == "999")
    assert "the emergency department" in urgent_referral_advice(number)


def test_the_advice_constants_are_the_999_wording():
    assert stop_advice("999") == STOP_ADVICE
    assert urgent_referral_advice("999") == URGENT_REFERRAL_ADVICE
    assert "A&E" in URGENT_REFERRAL_ADVICE


def test_classify_symptoms_gives_advice_for_the_number_it_is_given():
    assessment = classify_symptoms({"saddle_numbness"}, "112")
    assert assessment.emergency_number == "112"
    assert "on 112" in assessment.stop_advice and "on 112" in assessment.urgent_referral_advice
    assert classify_symptoms({"chest_pain"}).stop_advice == STOP_ADVICE  # default 999


def test_screening_patient_messages_name_the_patients_emergency_services():
    message = "Please go to {emergency_department} today, or call {emergency_number}."
    assert (
        for_patient(message, "911") == "Please go to the emergency department today, or call 911."
    )
    assert for_patient(message, "999") == (
        "Please go to A&E (the emergency department) today, or call 999."
    )


def new_yorker(*, clinic_number="999", patient_number="911"):
    clinic = ClinicFactory(emergency_number=clinic_number)
    return patient_with_portal(
        clinic, time_zone="America/New_York", emergency_number=patient_number
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("clinic_number", "patient_number"),
    [
        pytest.param("911", "", id="a New York clinic's number"),
        pytest.param("999", "911", id="the patient's own number over the clinic's"),
    ],
)
def test_new_york_patient_is_told_911_at_check_in_through_api_and_portal(
    clinic_number, patient_number
):
    patient = new_yorker(clinic_number=clinic_number, patient_number=patient_number)
    assert patient.emergency_phone == "911"
    screen(patient)
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = plan_services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    plan_services.plan_activate(plan=plan, by=patient.clinician)
    portal = Client()
    portal.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    page = portal.post(
        "/checkin/",
        {
            "idempotency_key": str(uuid.uuid4()),
            "completion": "not_done",
            "pain_before": "3",
            "symptoms": ["chest_pain"],
        },
    ).content.decode()
    assert 'href="tel:911"' in page and "Call 911" in page
    assert "In an emergency call 911." in page
    assert "tel:999" not in page and "Call 999" not in page and "on 999" not in page

    # Then a red flag through the API, later that day.
    client = APIClient()
    client.force_authenticate(patient.user)
    response = client.post(
        "/api/v1/me/checkins/",
        {
            "idempotency_key": str(uuid.uuid4()),
            "completion": "done",
            "pain_before": 3,
            "symptoms": ["saddle_numbness"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "emergency services on 911" in body["stop_advice"]
    assert "911" in body["urgent_referral_advice"] and "A&E" not in body["urgent_referral_advice"]
    assert "999" not in body["stop_advice"] + body["urgent_referral_advice"]


@pytest.mark.django_db
def test_urgent_screening_message_names_911_and_no_a_and_e_for_a_new_york_patient():
    patient = new_yorker()
    screening = screen(
        patient, bladder_bowel_change=True, bladder_bowel_change_date=timezone.localdate()
    )
    message = screening.findings[0]["patient_message"]
    assert "call emergency services on 911" in message
    assert "the emergency department" in message and "A&E" not in message
    portal = Client()
    portal.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    html = portal.get("/").content.decode()
    assert "In an emergency call 911." in html and "call 999" not in html


@pytest.mark.django_db
def test_a_uk_patient_keeps_the_999_wording():
    patient = patient_with_portal()
    screening = screen(patient, saddle_numbness=True)
    assert "A&E (the emergency department)" in screening.findings[0]["patient_message"]
    assert "on 999" in screening.findings[0]["patient_message"]


@pytest.mark.django_db
def test_clinic_admin_sets_the_clinics_emergency_number_audited(client):
    clinic = ClinicFactory()
    admin = member(Role.CLINIC_ADMIN, clinic)
    otp_login(client, admin)
    response = client.post(
        f"/admin/clinic/clinic/{clinic.pk}/change/",
        {
            "name": clinic.name,
            "slug": clinic.slug,
            "time_zone": "America/New_York",
            "emergency_number": "911",
        },
    )
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert clinic.emergency_number == "911"
    audit = AuditEvent.objects.get(object_type="clinic.clinic", actor=admin)
    assert audit.changes["emergency_number"] == "911"


@pytest.mark.django_db
def test_patient_admin_sets_the_patients_own_emergency_number(client):
    patient = patient_with_portal()
    otp_login(client, patient.clinician)
    url = f"/admin/patients/patient/{patient.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="emergency_number"' in page
    assert "Emergency advice names <strong>999</strong>" in page
    response = client.post(
        url,
        {
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "sex": patient.sex,
            "email": patient.email,
            "phone": "",
            "clinician": patient.clinician_id,
            "time_zone": "America/New_York",
            "emergency_number": "911",
            "reminder_time": "18:00",
            "remind_by_email": "on",
            "remind_in_portal": "on",
            "intakes-TOTAL_FORMS": "0",
            "intakes-INITIAL_FORMS": "0",
            "intakes-MIN_NUM_FORMS": "0",
            "intakes-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    patient.refresh_from_db()
    assert patient.emergency_phone == "911"
    assert AuditEvent.objects.filter(
        object_type="patients.patient", action="update", actor=patient.clinician
    ).exists()
