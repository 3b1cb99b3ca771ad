"""A clinic administrator resets a staff member's lost authenticator in the admin."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import AuditEvent, Membership, Role
from clinic.otp import second_factor_reset
from tests.factories import ClinicFactory, member, otp_login

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/clinic/membership/"


def with_device(role: str, clinic=None):
    user = member(role, clinic)
    TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    return user


def test_clinic_administrator_resets_a_clinicians_authenticator_from_the_admin():
    clinic = ClinicFactory()
    admin_user = member(Role.CLINIC_ADMIN, clinic)
    clinician = with_device(Role.CLINICIAN, clinic)
    client = Client()
    otp_login(client, admin_user)
    membership = Membership.objects.get(user=clinician)
    assert "reset_second_factor" in client.get(CHANGELIST).content.decode()
    response = client.post(
        CHANGELIST,
        {"action": "reset_second_factor", "_selected_action": [membership.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Second factor reset for 1 account" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    audit = AuditEvent.objects.get(summary__startswith="Second factor reset")
    assert (audit.actor_id, audit.clinic_id, audit.channel) == (admin_user.pk, clinic.pk, "admin")


def test_a_clinician_cannot_reach_the_reset_and_the_service_refuses_them():
    clinic = ClinicFactory()
    clinician = member(Role.CLINICIAN, clinic)
    colleague = with_device(Role.CLINICIAN, clinic)
    client = Client()
    otp_login(client, clinician)
    assert client.get(CHANGELIST).status_code == 403  # memberships are the administrator's
    with pytest.raises(PermissionDenied):
        second_factor_reset(membership=Membership.objects.get(user=colleague), by=clinician)
    assert TOTPDevice.objects.filter(user=colleague).exists()


def test_an_administrator_of_another_clinic_cannot_reset():
    other_admin = member(Role.CLINIC_ADMIN, ClinicFactory())
    clinician = with_device(Role.CLINICIAN, ClinicFactory())
    with pytest.raises(PermissionDenied):
        second_factor_reset(membership=Membership.objects.get(user=clinician), by=other_admin)
    assert TOTPDevice.objects.filter(user=clinician).exists()
