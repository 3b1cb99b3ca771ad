"""/healthz tells anyone the overall status, and only signed-in staff (second factor
done) or callers from HEALTHZ_DETAIL_NETWORKS the parts, their errors and the workers."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import Client

from clinic.models import Role
from tests.factories import member, otp_login, patient_with_portal

pytestmark = pytest.mark.django_db

MONITORING = [ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("2001:db8::/32")]


@pytest.fixture(autouse=True)
def monitoring_network(settings):
    settings.HEALTHZ_DETAIL_NETWORKS = MONITORING


def _healthz(client: Client, address: str = "127.0.0.1"):
    # No worker runs in these tests: the answer is 503 "down", and its details name celery.
    response = client.get("/healthz", REMOTE_ADDR=address)
    assert response.status_code == 503
    return response.json()


@pytest.mark.parametrize("address", ["127.0.0.1", "10.21.0.1", "2001:db9::1", "not-an-address"])
def test_an_anonymous_caller_outside_the_detail_networks_gets_the_status_only(address):
    assert _healthz(Client(), address) == {"status": "down"}


@pytest.mark.parametrize("address", ["10.20.3.4", "2001:db8::7"])
def test_a_caller_from_a_detail_network_gets_the_parts(address):
    body = _healthz(Client(), address)

    assert body["failing"] == ["celery"]
    assert set(body["components"]) == {"database", "redis", "celery"}


def test_signed_in_staff_with_their_second_factor_get_the_parts():
    client = Client()
    otp_login(client, member(Role.STAFF))

    assert _healthz(client)["failing"] == ["celery"]


def test_staff_without_their_second_factor_and_patients_get_the_status_only():
    half_signed_in = Client()
    half_signed_in.force_login(
        member(Role.CLINICIAN), backend="django.contrib.auth.backends.ModelBackend"
    )
    patient = Client()
    patient.force_login(
        patient_with_portal().user, backend="django.contrib.auth.backends.ModelBackend"
    )

    assert _healthz(half_signed_in) == {"status": "down"}
    assert _healthz(patient) == {"status": "down"}
