"""An intake's blood pressure must have been measured within the last 30 days (our choice).

A health update reuses the last intake's reading: it is never refused for it (a patient
reporting a pregnancy must be screened at once), the old reading is flagged instead.
"""

import re
from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from patients import services
from patients.domain.answers import BP_MAX_AGE_DAYS, bp_measured_recently
from patients.domain.screening import intake_valid_until
from patients.models import Channel, Intake, Outcome, Screening
from programmes import services as plan_services
from programmes.models import ProgrammeTemplate
from tests.factories import (
    PatientFactory,
    clean_answers,
    days_ago,
    otp_login,
    patient_with_portal,
    screen,
)

DAY = date(2026, 5, 31)


@pytest.mark.parametrize(
    ("measured", "recent"),
    [
        pytest.param(DAY, True, id="measured on the intake day"),
        pytest.param(DAY - timedelta(days=29), True, id="29 days before"),
        pytest.param(DAY - timedelta(days=30), True, id="30 days before is still recent"),
        pytest.param(DAY - timedelta(days=31), False, id="31 days before is too old"),
        pytest.param(DAY - timedelta(days=3 * 365), False, id="years ago"),
    ],
)
def test_blood_pressure_is_recent_for_30_days(measured, recent):
    assert BP_MAX_AGE_DAYS == 30
    assert bp_measured_recently(measured, today=DAY) is recent


def measured_days_ago(days: int) -> datetime:
    return timezone.make_aware(datetime.combine(days_ago(days), time(9, 0)))


def measurements(days: int) -> services.IntakeMeasurements:
    return services.IntakeMeasurements(
        bp_measured_by="Nurse",
        bp_measured_at=min(measured_days_ago(days), timezone.now() - timedelta(minutes=1)),
        baseline_pain=5,
        odi_sections=(2,) * 10,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("days", "stored"),
    [
        pytest.param(30, True, id="a 30-day-old reading is accepted"),
        pytest.param(31, False, id="a 31-day-old reading is refused"),
        pytest.param(900, False, id="a reading of years ago is refused"),
    ],
)
def test_intake_service_refuses_a_blood_pressure_older_than_30_days(days, stored):
    patient = PatientFactory()
    submit = lambda: services.intake_submit(  # noqa: E731
        patient=patient,
        answers=clean_answers(),
        measurements=measurements(days),
        by=patient.clinician,
        channel=Channel.ADMIN,
    )
    if stored:
        submit()
    else:
        with pytest.raises(ValidationError) as refused:
            submit()
        assert "more than 30 days ago" in refused.value.message_dict["bp_measured_at"][0]
    assert Intake.objects.filter(patient=patient).exists() is stored


@pytest.mark.django_db
def test_api_intake_with_an_old_blood_pressure_answers_400_on_the_field_and_stores_nothing():
    patient = patient_with_portal()
    client = APIClient()
    client.force_authenticate(patient.user)
    response = client.post(
        f"/api/v1/patients/{patient.pk}/intakes/",
        {
            "systolic_bp": 122,
            "diastolic_bp": 78,
            "bp_measured_by": "Me",
            "bp_measured_at": (timezone.now() - timedelta(days=45)).isoformat(),
            "weight_kg": 80,
            "height_cm": 178,
            "baseline_pain": 4,
            "odi_sections": [1] * 10,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "more than 30 days ago" in response.json()["bp_measured_at"][0]
    assert not Intake.objects.exists() and not Screening.objects.exists()


def error_next_to(html: str, field_id: str) -> str:
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


@pytest.mark.django_db
def test_portal_intake_step_one_refuses_an_old_blood_pressure_next_to_the_field():
    patient = patient_with_portal()
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    old = (timezone.localtime() - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/intake/?step=1",
        {
            "systolic_bp": "124",
            "diastolic_bp": "79",
            "bp_measured_by": "Me",
            "bp_measured_at": old,
            "weight_kg": "80",
            "height_cm": "178",
            "baseline_pain": "6",
            "step": 1,
        },
    )
    assert response.status_code == 200
    assert "more than 30 days ago" in error_next_to(response.content.decode(), "id_bp_measured_at")
    assert not Intake.objects.exists()


@pytest.mark.django_db
def test_admin_intake_form_refuses_an_old_blood_pressure(client):
    patient = PatientFactory()
    otp_login(client, patient.clinician)
    old = (timezone.localtime() - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        f"/admin/patients/patient/{patient.pk}/intake/",
        {
            "systolic_bp": "124",
            "diastolic_bp": "79",
            "bp_measured_by": "Nurse",
            "bp_measured_at": old,
            "weight_kg": "80",
            "height_cm": "178",
            "baseline_pain": "6",
            "odi_0": "2",
        },
    )
    assert response.status_code == 200
    assert "more than 30 days ago" in response.content.decode()
    assert not Intake.objects.exists()


# Health updates reuse the last intake's reading.


@pytest.mark.django_db
def test_health_update_with_a_stale_blood_pressure_still_screens_a_pregnancy_and_flags_it():
    patient = patient_with_portal()
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    screen(patient, taken_on=days_ago(45))
    plan = plan_services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    plan_services.plan_activate(plan=plan, by=patient.clinician)
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/health/", {"pregnant": "yes"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Inversion is not safe for you at the moment" in html
    assert "Please ask the clinic to measure it again" in html
    patient.refresh_from_db()
    screening = patient.current_screening
    assert screening.outcome == Outcome.CONTRAINDICATED
    codes = [finding["code"] for finding in screening.findings]
    assert codes == ["ci_pregnancy", services.BP_REMEASURE]
    plan.refresh_from_db()
    assert plan.inversion_paused


@pytest.mark.django_db
def test_health_update_is_never_refused_for_the_reading_and_does_not_renew_the_intake():
    patient = PatientFactory()
    first = screen(patient, taken_on=days_ago(60))
    intake = services.patient_health_update(
        patient=patient,
        changes={"medications": ["daily_aspirin"]},
        by=patient.clinician,
        channel=Channel.ADMIN,
    )
    screening = services.intake_screening(intake)
    assert screening.outcome == Outcome.REVIEW_REQUIRED
    assert services.BP_REMEASURE in [finding["code"] for finding in screening.findings]
    # Valid as long as the intake whose measurements it reuses, not 90 days from today.
    assert screening.valid_until == first.valid_until == intake_valid_until(days_ago(60))


@pytest.mark.django_db
def test_health_update_with_a_recent_reading_is_not_flagged():
    patient = PatientFactory()
    screen(patient, taken_on=days_ago(10))
    intake = services.patient_health_update(
        patient=patient, changes={"pregnant": True}, by=patient.clinician, channel=Channel.ADMIN
    )
    codes = [finding["code"] for finding in services.intake_screening(intake).findings]
    assert codes == ["ci_pregnancy"]
