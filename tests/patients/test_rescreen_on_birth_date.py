"""A corrected date of birth is screened again at once: age is a screening answer
(CLINICAL.md s.2, over 50 with no improvement after a month of care is a red flag)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from patients import services
from patients.models import Channel, Intake, Outcome
from tests.factories import PatientFactory, clean_answers

pytestmark = pytest.mark.django_db


def _intake(patient) -> None:
    services.intake_submit(
        patient=patient,
        answers=clean_answers(no_improvement_after_month_of_care=True),
        measurements=services.IntakeMeasurements(
            bp_measured_by="Nurse",
            bp_measured_at=timezone.now() - timedelta(hours=1),
            baseline_pain=5,
            odi_sections=(2,) * 10,
        ),
        by=patient.clinician,
        channel=Channel.ADMIN,
    )


def _born_years_ago(years: int) -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - timedelta(days=10)


def test_a_date_of_birth_making_the_patient_over_50_screens_urgent_referral():
    patient = PatientFactory(date_of_birth=_born_years_ago(40))
    _intake(patient)
    patient.refresh_from_db()
    assert patient.current_screening.outcome != Outcome.URGENT_REFERRAL

    services.patient_update(
        patient=patient,
        changes={"date_of_birth": _born_years_ago(62)},
        by=patient.clinician,
        channel=Channel.ADMIN,
    )

    patient.refresh_from_db()
    assert patient.current_screening.outcome == Outcome.URGENT_REFERRAL
    assert "red_flag_malignancy_age_no_improvement" in {
        finding["code"] for finding in patient.current_screening.findings
    }


def test_other_details_and_patients_without_an_intake_are_not_screened():
    patient = PatientFactory(date_of_birth=_born_years_ago(40))
    _intake(patient)
    services.patient_update(
        patient=patient, changes={"first_name": "Ana"}, by=patient.clinician, channel="admin"
    )
    assert Intake.objects.filter(patient=patient).count() == 1

    newcomer = PatientFactory(date_of_birth=_born_years_ago(40))
    services.patient_update(
        patient=newcomer,
        changes={"date_of_birth": _born_years_ago(62)},
        by=newcomer.clinician,
        channel=Channel.ADMIN,
    )
    newcomer.refresh_from_db()
    assert newcomer.current_screening is None
    assert not Intake.objects.filter(patient=newcomer).exists()
