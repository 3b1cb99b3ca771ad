"""Patient reads scoped to the asking user."""

import pytest

from clinic.models import Role
from patients.models import Patient
from tests.factories import member, patient_with_portal

pytestmark = pytest.mark.django_db


def test_own_is_the_signed_in_patients_record_and_nothing_for_staff():
    patient = patient_with_portal()
    other = patient_with_portal(clinic=patient.clinic)
    admin = member(Role.CLINIC_ADMIN, patient.clinic)
    assert list(Patient.objects.own(patient.user)) == [patient]
    assert list(Patient.objects.own(other.user)) == [other]
    assert not Patient.objects.own(admin).exists()  # sees the clinic, owns no record
