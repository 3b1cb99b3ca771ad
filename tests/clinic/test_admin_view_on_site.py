"""The admin's "view on site" shortcut answers another clinic's record exactly as it
answers an id nobody has: it confirms nothing outside the user's clinic."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from clinic.models import Role
from patients.models import Patient
from tests.factories import ClinicFactory, PatientFactory, member, otp_login

pytestmark = pytest.mark.django_db


def _shortcut(patient_id) -> str:
    return f"/admin/r/{ContentType.objects.get_for_model(Patient).pk}/{patient_id}/"


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.CLINIC_ADMIN, Role.STAFF])
def test_another_clinics_patient_and_a_missing_id_answer_the_same_404(role):
    clinic = ClinicFactory()
    own = PatientFactory(clinic=clinic)
    elsewhere = PatientFactory()
    missing = Patient.objects.order_by("-pk").first().pk + 1000
    client = Client()
    otp_login(client, member(role, clinic))

    answers = {
        name: client.get(_shortcut(patient_id))
        for name, patient_id in [
            ("elsewhere", elsewhere.pk),
            ("missing", missing),
            ("not an id", "abc"),
        ]
    }
    own_answer = client.get(_shortcut(own.pk))

    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 404)
    assert len({a.content for a in answers.values()}) == 1
    assert own_answer.status_code == 302
    assert own_answer["Location"].endswith(f"/admin/patients/patient/{own.pk}/change/")


def test_a_model_the_user_may_not_view_answers_404_as_well():
    client = Client()
    otp_login(client, member(Role.STAFF))
    user_type = ContentType.objects.get(app_label="auth", model="user")

    response = client.get(f"/admin/r/{user_type.pk}/1/")
    unknown_type = client.get("/admin/r/999999/1/")

    assert response.status_code == 404
    assert unknown_type.status_code == 404


def test_the_shortcut_still_needs_a_staff_sign_in():
    response = Client().get(_shortcut(PatientFactory().pk))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
