"""A red-flag intake is never held back by an unanswered questionnaire (Oswestry).

Through the domain, the service, the API, the portal's intake steps and the admin form.
"""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from patients import services
from patients.domain.screening import questionnaire_required
from patients.models import Channel, Intake, Outcome
from tests.factories import PatientFactory, clean_answers, otp_login, patient_with_portal

TODAY = date(2026, 4, 1)
UNANSWERED = (None,) * 10


@pytest.mark.parametrize(
    ("answers", "required"),
    [
        pytest.param({}, True, id="no red flag: one section is needed"),
        pytest.param({"saddle_numbness": True}, False, id="saddle numbness"),
        pytest.param({"foot_drop": True}, False, id="foot drop"),
        pytest.param({"fever": True}, False, id="fever with back pain"),
        pytest.param(
            {"bladder_bowel_change": True, "bladder_bowel_change_date": date(2026, 2, 1)},
            False,
            id="an old bladder change is still a warning sign answered",
        ),
        pytest.param(
            {"conditions": frozenset({"immunosuppression"})},
            False,
            id="answers that screen urgent referral without a warning-sign question",
        ),
        pytest.param({"pregnant": True}, True, id="a contraindication is not a red flag"),
    ],
)
def test_questionnaire_is_required_unless_a_red_flag(answers, required):
    assert questionnaire_required(clean_answers(**answers), today=TODAY) is required


def measurements(odi=UNANSWERED) -> services.IntakeMeasurements:
    return services.IntakeMeasurements(
        bp_measured_by="Nurse",
        bp_measured_at=timezone.now() - timedelta(hours=1),
        baseline_pain=7,
        odi_sections=odi,
    )


@pytest.mark.django_db
def test_red_flag_intake_with_no_oswestry_answer_is_stored_and_screened_urgent():
    patient = PatientFactory()
    intake = services.intake_submit(
        patient=patient,
        answers=clean_answers(saddle_numbness=True),
        measurements=measurements(),
        by=patient.clinician,
        channel=Channel.ADMIN,
    )
    assert intake.odi_percent is None and intake.odi_sections == [None] * 10
    patient.refresh_from_db()
    assert patient.current_screening.outcome == Outcome.URGENT_REFERRAL


@pytest.mark.django_db
def test_intake_without_a_red_flag_still_needs_one_oswestry_section():
    patient = PatientFactory()
    with pytest.raises(ValidationError) as refused:
        services.intake_submit(
            patient=patient,
            answers=clean_answers(),
            measurements=measurements(),
            by=patient.clinician,
            channel=Channel.ADMIN,
        )
    assert "odi_sections" in refused.value.message_dict
    assert not Intake.objects.exists()


@pytest.mark.django_db
def test_health_update_after_a_red_flag_intake_without_oswestry_is_screened():
    patient = patient_with_portal()
    services.intake_submit(
        patient=patient,
        answers=clean_answers(foot_drop=True),
        measurements=measurements(),
        by=patient.clinician,
        channel=Channel.ADMIN,
    )
    update = services.patient_health_update(
        patient=patient, changes={"pregnant": True}, by=patient.user, channel=Channel.PORTAL
    )
    assert update.odi_percent is None
    assert services.intake_screening(update).outcome == Outcome.URGENT_REFERRAL


@pytest.mark.django_db
def test_api_red_flag_intake_with_every_oswestry_section_null_is_201():
    patient = patient_with_portal()
    client = APIClient()
    client.force_authenticate(patient.user)
    response = client.post(
        f"/api/v1/patients/{patient.pk}/intakes/",
        {
            "systolic_bp": 122,
            "diastolic_bp": 78,
            "bp_measured_by": "Me",
            "bp_measured_at": (timezone.now() - timedelta(hours=1)).isoformat(),
            "weight_kg": 80,
            "height_cm": 178,
            "baseline_pain": 8,
            "odi_sections": [None] * 10,
            "bladder_bowel_change": True,
            "bladder_bowel_change_date": timezone.localdate().isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["odi_percent"] is None
    assert response.json()["screening"]["outcome"] == "urgent_referral"


STEP_1 = {
    "systolic_bp": "124",
    "diastolic_bp": "79",
    "bp_measured_by": "Me, home monitor",
    "weight_kg": "80",
    "height_cm": "178",
    "baseline_pain": "8",
}


@pytest.mark.django_db
def test_portal_intake_with_a_red_flag_is_sent_with_the_questionnaire_unanswered():
    patient = patient_with_portal()
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    measured = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    client.post("/intake/?step=1", {**STEP_1, "bp_measured_at": measured, "step": 1})
    client.post("/intake/", {"step": 2, "saddle_numbness": "on", "action": "next"})
    client.post("/intake/", {"step": 3, "action": "next"})
    odi_page = client.get("/intake/?step=4").content.decode()
    assert "you can send them with these questions answered or not" in odi_page
    response = client.post("/intake/", {"step": 4, "action": "submit"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Thank you: your answers are saved" in html
    assert "Please contact the clinic today" in html
    intake = Intake.objects.get(patient=patient)
    assert intake.odi_percent is None and intake.answers["saddle_numbness"] is True


@pytest.mark.django_db
def test_portal_intake_without_a_red_flag_re_renders_the_questionnaire_step_with_its_error():
    patient = patient_with_portal()
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    measured = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    client.post("/intake/?step=1", {**STEP_1, "bp_measured_at": measured, "step": 1})
    client.post("/intake/", {"step": 2, "action": "next"})
    client.post("/intake/", {"step": 3, "action": "next"})
    response = client.post("/intake/", {"step": 4, "action": "submit"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Answer at least one section of the Oswestry questionnaire" in html
    assert "you can send them with these questions answered or not" not in html
    assert not Intake.objects.exists()


@pytest.mark.django_db
def test_admin_intake_form_records_a_red_flag_with_the_questionnaire_unanswered(client):
    patient = PatientFactory()
    otp_login(client, patient.clinician)
    measured = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/admin/patients/patient/{patient.pk}/intake/",
        {**STEP_1, "bp_measured_by": "Nurse", "bp_measured_at": measured, "fever": "on"},
    )
    assert response.status_code == 302, response.content.decode()
    intake = Intake.objects.get(patient=patient)
    assert intake.odi_percent is None
    page = client.get(f"/admin/patients/intake/{intake.pk}/change/").content.decode()
    assert "ODI not answered" in page
