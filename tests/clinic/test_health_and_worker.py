"""/healthz reports each part, and tasks sent by the web side run in a real worker."""

import ipaddress
import uuid

import pytest

from config.celery import ping

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


@pytest.fixture(autouse=True)
def details_for_the_test_client(settings):
    """The test client calls from 127.0.0.1: a detail network here (see
    test_healthz_details.py for who else sees the parts)."""
    settings.HEALTHZ_DETAIL_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]


def test_healthz_is_200_when_database_redis_and_a_worker_are_up(client, celery_processes):
    celery_processes("worker")
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["components"]) == {"database", "redis", "celery"}
    assert body["components"]["celery"].startswith("ok")


def test_healthz_is_503_naming_celery_when_no_worker_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["celery"]


def test_healthz_is_503_naming_redis_when_redis_is_down(client, settings, throwaway_redis):
    settings.REDIS_URL = throwaway_redis.url
    throwaway_redis.stop()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "redis" in response.json()["failing"]
    assert response.json()["components"]["database"] == "ok"


def test_task_sent_from_the_web_side_runs_in_a_real_worker_process(celery_processes):
    celery_processes("worker")
    token = uuid.uuid4().hex
    result = ping.delay(token)
    assert result.get(timeout=30) == f"pong:{token}"
