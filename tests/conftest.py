from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bench.processes import CeleryProcess, RedisServer

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def celery_processes(artifacts_dir):
    """Start real worker/beat processes; every one started is stopped afterwards."""
    started: list[CeleryProcess] = []

    def start(
        kind: str = "worker",
        *,
        redis_url: str | None = None,
        args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> CeleryProcess:
        process = CeleryProcess(
            kind, log_dir=artifacts_dir, redis_url=redis_url, args=args, env=env
        )
        started.append(process.start())
        if wait and kind == "worker":
            process.wait_ready()
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def throwaway_redis():
    """A Redis server of the test's own, on a free port: safe to stop and restart."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def starter_library(request):
    """The shipped exercise library and templates, as migration 0003 creates them.

    A transactional test's flush empties every table, data migrations' rows
    included; putting them back (idempotently) keeps each test independent.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from django.apps import apps

    migration = importlib.import_module("programmes.migrations.0003_starter_library")
    migration.create_library(apps, None)
