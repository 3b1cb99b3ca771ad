"""Token login is a sign-in like any other: django-axes counts its failures and locks it out."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from clinic.models import ApiToken, Role
from clinic.tokens import token_digest
from tests.factories import member, patient_with_portal

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


def _sign_in(username: str, password: str, *, address: str = "203.0.113.7", otp: str = ""):
    body = {"username": username, "password": password}
    if otp:
        body["otp"] = otp
    return APIClient().post(TOKEN_URL, body, format="json", REMOTE_ADDR=address)


def test_token_login_answers_429_once_failures_reach_the_axes_limit():
    user = patient_with_portal().user
    limit = settings.AXES_FAILURE_LIMIT
    assert limit >= 2  # one wrong password must not lock a patient out

    for _ in range(limit - 1):
        response = _sign_in(user.username, "wrong password")
        assert response.status_code == 400
        assert response.json() == {
            "non_field_errors": ["Unable to sign in with these credentials."]
        }

    response = _sign_in(user.username, "wrong password")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Too many failed sign-ins: try again later."}


def test_lockout_holds_for_the_right_password_and_gives_no_token():
    user = patient_with_portal().user
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(user.username, "wrong password")

    for _ in range(2):  # and keeps holding: a locked-out try does not reset anything
        response = _sign_in(user.username, PASSWORD)
        assert response.status_code == 429
        assert "token" not in response.json()
    assert not ApiToken.objects.filter(user=user).exists()


def test_lockout_is_per_user_name_and_address():
    """Another address, or another account from the locked address, still signs in."""
    user = patient_with_portal().user
    other = patient_with_portal().user
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(user.username, "wrong password", address="203.0.113.7")

    assert _sign_in(user.username, PASSWORD, address="203.0.113.7").status_code == 429
    elsewhere = _sign_in(user.username, PASSWORD, address="198.51.100.20")
    assert elsewhere.status_code == 200
    assert ApiToken.objects.get(user=user).digest == token_digest(elsewhere.json()["token"])
    assert _sign_in(other.username, PASSWORD, address="203.0.113.7").status_code == 200


def test_wrong_second_factor_codes_count_towards_the_lockout():
    """A clinician's right password with wrong codes is still locked out: the code
    is no way round the count."""
    clinician = member(Role.CLINICIAN)
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = _sign_in(clinician.username, PASSWORD, otp="000000")
        assert response.status_code == 400
        assert "otp" in response.json()

    assert _sign_in(clinician.username, PASSWORD, otp="000000").status_code == 429
    assert _sign_in(clinician.username, PASSWORD).status_code == 429
    assert not ApiToken.objects.filter(user=clinician).exists()
