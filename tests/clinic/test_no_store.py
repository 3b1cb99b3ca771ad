"""Whatever a signed-in user is shown (portal, admin, reports, API by token or session)
is sent with `Cache-Control: no-store, private`; the sign-in page and static files keep
their own caching."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from clinic.models import Role
from clinic.security import NO_STORE
from tests.factories import api_token, member, otp_login, patient_with_portal

pytestmark = pytest.mark.django_db


def _assert_no_store(response, path: str) -> None:
    cache_control = response.headers.get("Cache-Control", "")
    assert "no-store" in cache_control and "private" in cache_control, (path, cache_control)


@pytest.mark.parametrize(
    "path", ["/", "/history/", "/progress/", "/health/", "/settings/", "/api/v1/me/today/"]
)
def test_portal_pages_and_the_patients_api_by_session_are_not_stored(path):
    patient = patient_with_portal()
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get(path)

    assert response.status_code < 500
    _assert_no_store(response, path)


@pytest.mark.parametrize(
    "path",
    ["/admin/", "/admin/patients/patient/", "/admin/clinic/auditevent/", "/reports/"],
)
def test_admin_and_report_pages_are_not_stored(path):
    staff_user = member(Role.CLINICIAN)
    client = Client()
    otp_login(client, staff_user)

    response = client.get(path)

    assert response.status_code < 500
    _assert_no_store(response, path)


@pytest.mark.parametrize(
    "path", ["/api/v1/patients/", "/api/v1/checkins/", "/api/v1/patients/999999/"]
)
def test_api_answers_to_a_token_are_not_stored_found_or_not(path):
    user = member(Role.CLINICIAN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")

    response = client.get(path)

    assert response.status_code in (200, 404)
    assert response.headers["Cache-Control"] == NO_STORE


def test_an_answer_to_a_wrong_token_is_not_stored_either():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/v1/patients/")

    assert response.status_code == 401
    _assert_no_store(response, "/api/v1/patients/")


def test_the_sign_in_page_to_an_anonymous_caller_keeps_its_own_caching():
    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != NO_STORE
