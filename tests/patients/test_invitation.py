"""Portal invitations: one-time link, 7 days, single use; login lockout."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from clinic.models import Role
from patients import services
from patients.models import Invitation
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def invite(patient, django_capture_on_commit_callbacks) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_send(
            patient=patient, by=patient.clinician, base_url="http://testserver/"
        )
    return re.search(r"http://testserver(/invite/\S+/)", mail.outbox[-1].body).group(1)


def test_invitation_link_creates_account_logs_in_and_dies(
    client, django_capture_on_commit_callbacks
):
    patient = PatientFactory(email="ada@example.invalid")
    path = invite(patient, django_capture_on_commit_callbacks)
    assert client.get(path).status_code == 200
    response = client.post(
        path, {"password1": "sciatica-walks-2026", "password2": "sciatica-walks-2026"}
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.user.membership.role == Role.PATIENT
    assert client.get("/", follow=True).status_code == 200
    client.logout()
    assert client.get(path).status_code == 410  # single use


def test_expired_invitation_is_refused(client, django_capture_on_commit_callbacks):
    patient = PatientFactory(email="bo@example.invalid")
    path = invite(patient, django_capture_on_commit_callbacks)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(path).status_code == 410
    patient.refresh_from_db()
    assert patient.user is None


def test_weak_password_re_renders_with_message(client, django_capture_on_commit_callbacks):
    patient = PatientFactory(email="cy@example.invalid")
    path = invite(patient, django_capture_on_commit_callbacks)
    response = client.post(path, {"password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200
    assert (
        "too common" in response.content.decode() or "entirely numeric" in response.content.decode()
    )
    assert Invitation.objects.get().used_at is None


def test_only_the_token_hash_is_stored(django_capture_on_commit_callbacks):
    patient = PatientFactory(email="di@example.invalid")
    path = invite(patient, django_capture_on_commit_callbacks)
    token = path.strip("/").split("/")[-1]
    assert token not in Invitation.objects.get().token_hash


def test_repeated_failed_logins_lock_the_account(client):
    patient = PatientFactory()
    user = patient.clinician
    for _ in range(5):
        client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
