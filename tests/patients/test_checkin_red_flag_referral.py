"""A red flag reported at a check-in is answered by a referral; an override can be revoked.

Referral for a check-in red flag (no urgent screening), its result clearing or keeping
the red flag, and the revocation of an inversion override: services, API and admin.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import AuditEvent, Role
from patients import services
from patients.models import Patient, Referral
from programmes import services as plan_services
from programmes.models import Plan, ProgrammeTemplate
from programmes.permission import treatment_today
from tests.factories import (
    REVIEW,
    URGENT,
    ClinicFactory,
    PatientFactory,
    clinician,
    member,
    otp_login,
    screen,
)

pytestmark = pytest.mark.django_db


def red_flagged() -> Patient:
    """A cleared patient who reported saddle numbness at a check-in."""
    patient = PatientFactory()
    screen(patient)
    services.patient_red_flag_report(
        patient=patient, note="Saddle numbness at check-in", by=None, channel="api"
    )
    patient.refresh_from_db()
    return patient


def refer(patient, **kwargs) -> Referral:
    return services.referral_record(
        patient=patient,
        by=patient.clinician,
        referred_to="Emergency department",
        referred_on=timezone.localdate(),
        channel="admin",
        **kwargs,
    )


def result(referral, outcome) -> Referral:
    return services.referral_result_record(
        referral=referral, by=referral.recorded_by, result=outcome, notes="MRI", channel="admin"
    )


def test_a_check_in_red_flag_is_referred_without_a_screening():
    patient = red_flagged()
    referral = refer(patient)
    assert (referral.patient, referral.screening) == (patient, None)
    assert services.checkin_referral(patient) == referral
    assert AuditEvent.objects.filter(
        object_type="patients.referral", summary__contains="reported at a check-in"
    ).exists()
    with pytest.raises(ValidationError, match="already recorded"):
        refer(patient)


def test_no_check_in_referral_without_an_open_red_flag_or_by_another_clinic():
    patient = PatientFactory()
    screen(patient)
    with pytest.raises(ValidationError, match="No red flag"):
        refer(patient)
    flagged = red_flagged()
    with pytest.raises(PermissionDenied):
        services.referral_record(
            patient=flagged,
            by=clinician(ClinicFactory()),
            referred_to="ED",
            referred_on=timezone.localdate(),
            channel="api",
        )
    with pytest.raises(ValidationError, match="future"):
        services.referral_record(
            patient=flagged,
            by=flagged.clinician,
            referred_to="ED",
            referred_on=timezone.localdate() + timedelta(days=2),
            channel="admin",
        )
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("outcome", "cleared"),
    [
        pytest.param(Referral.Result.PATHOLOGY_EXCLUDED, True, id="pathology excluded clears"),
        pytest.param(Referral.Result.SPECIALIST_CARE, False, id="specialist care keeps it"),
    ],
)
def test_referral_result_on_a_check_in_red_flag(outcome, cleared):
    patient = red_flagged()
    assert treatment_today(patient.pk).permission.urgent_referral
    result(refer(patient), outcome)
    patient.refresh_from_db()
    assert (patient.red_flag_reported_at is None) is cleared
    assert treatment_today(patient.pk).permission.urgent_referral is not cleared
    assert (
        AuditEvent.objects.filter(
            object_type="patients.patient", summary__startswith="Check-in red flag cleared"
        ).exists()
        is cleared
    )


def test_a_result_on_an_old_referral_never_clears_a_newer_red_flag():
    patient = red_flagged()
    old = refer(patient)
    result(old, Referral.Result.PATHOLOGY_EXCLUDED)
    services.patient_red_flag_report(patient=patient, note="Again", by=None, channel="api")
    result(old, Referral.Result.PATHOLOGY_EXCLUDED)
    patient.refresh_from_db()
    assert patient.red_flag_reported_at is not None


def test_screening_referrals_keep_working_with_or_without_the_patient():
    patient = PatientFactory()
    screening = screen(patient, **URGENT)
    referral = services.referral_record(
        screening=screening,
        by=patient.clinician,
        referred_to="Spinal team",
        referred_on=timezone.localdate(),
        channel="admin",
    )
    assert (referral.patient, referral.screening) == (patient, screening)
    with pytest.raises(ValidationError, match="already recorded"):
        refer(patient, screening=screening)
    other = PatientFactory(clinic=patient.clinic, clinician=patient.clinician)
    with pytest.raises(ValidationError, match="another patient"):
        refer(other, screening=screening)
    result(referral, Referral.Result.PATHOLOGY_EXCLUDED)
    referral.refresh_from_db()
    assert referral.result == Referral.Result.PATHOLOGY_EXCLUDED


def test_admin_records_the_referral_and_result_for_a_check_in_red_flag(client):
    patient = red_flagged()
    otp_login(client, patient.clinician)
    page = client.get(f"/admin/patients/patient/{patient.pk}/change/").content.decode()
    assert "Red flag reported at a check-in" in page
    assert "referral/?for=checkin" in page
    response = client.post(
        f"/admin/patients/patient/{patient.pk}/referral/?for=checkin",
        {"referred_to": "A&E", "referred_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    referral = Referral.objects.get(patient=patient)
    assert referral.screening is None
    response = client.post(
        f"/admin/patients/patient/{patient.pk}/referral-result/?for=checkin",
        {"result": Referral.Result.PATHOLOGY_EXCLUDED, "result_notes": "MRI clear"},
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.red_flag_reported_at is None


# Revoking an override.


@pytest.fixture
def overridden():
    """A review-required patient inverting under a clinician's override."""
    patient = PatientFactory()
    screening = screen(patient, **REVIEW)
    override = services.screening_override_record(
        screening=screening, clinician=patient.clinician, reason="BP fine at GP", channel="admin"
    )
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = plan_services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    plan_services.plan_activate(plan=plan, by=patient.clinician)
    assert treatment_today(patient.pk).permission.inversion
    return patient, override, plan


def test_revoking_an_override_pauses_inversion_audited(overridden):
    patient, override, plan = overridden
    services.screening_override_revoke(
        override=override, by=patient.clinician, reason="BP now 165/100", channel="admin"
    )
    override.refresh_from_db()
    assert (override.revoked_by, override.revoke_reason) == (patient.clinician, "BP now 165/100")
    assert override.revoked_at is not None
    plan.refresh_from_db()
    assert plan.inversion_paused
    assert not treatment_today(patient.pk).permission.inversion
    assert AuditEvent.objects.filter(
        object_type="patients.screeningoverride", summary="Inversion override revoked"
    ).exists()
    with pytest.raises(ValidationError, match="already been revoked"):
        services.screening_override_revoke(
            override=override, by=patient.clinician, reason="again", channel="admin"
        )
    with pytest.raises(ValidationError, match="revoked"):
        services.screening_override_record(
            screening=override.screening,
            clinician=patient.clinician,
            reason="back on",
            channel="admin",
        )


def test_revoking_needs_a_reason_and_a_clinician_of_the_clinic(overridden):
    patient, override, plan = overridden
    with pytest.raises(ValidationError, match="reason"):
        services.screening_override_revoke(
            override=override, by=patient.clinician, reason="  ", channel="admin"
        )
    for outsider in (clinician(ClinicFactory()), member(Role.STAFF, patient.clinic)):
        with pytest.raises(PermissionDenied):
            services.screening_override_revoke(
                override=override, by=outsider, reason="no", channel="api"
            )
    override.refresh_from_db()
    assert override.revoked_at is None
    assert Plan.objects.get(pk=plan.pk).inversion_active


def test_api_revokes_the_override_for_clinicians_only(overridden):
    patient, _, plan = overridden
    url = f"/api/v1/patients/{patient.pk}/screening/override/revoke/"
    staff = APIClient()
    staff.force_authenticate(member(Role.STAFF, patient.clinic))
    assert staff.post(url, {"reason": "no"}, format="json").status_code == 403
    client = APIClient()
    client.force_authenticate(patient.clinician)
    assert client.post(url, {"reason": ""}, format="json").status_code == 400
    response = client.post(url, {"reason": "New glaucoma"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["override"]["revoke_reason"] == "New glaucoma"
    plan.refresh_from_db()
    assert plan.inversion_paused


def test_admin_revokes_the_override_with_a_reason(client, overridden):
    patient, override, plan = overridden
    otp_login(client, patient.clinician)
    page = client.get(f"/admin/patients/patient/{patient.pk}/change/").content.decode()
    assert "Revoke override" in page
    url = f"/admin/patients/patient/{patient.pk}/override-revoke/"
    assert client.post(url, {"reason": ""}).status_code == 200
    assert client.post(url, {"reason": "Dizzy spells reported"}).status_code == 302
    override.refresh_from_db()
    assert override.revoke_reason == "Dizzy spells reported"
    plan.refresh_from_db()
    assert plan.inversion_paused
    page = client.get(f"/admin/patients/patient/{patient.pk}/change/").content.decode()
    assert "Override revoked" in page
