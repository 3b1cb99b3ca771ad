"""Settings come from the environment, fail fast in one line, and pass the deploy check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "INVERTO_ENV": "production",
    "SECRET_KEY": "a-production-secret-key-that-is-long-and-random-0123456789-abcdefghijkl",
    "ALLOWED_HOSTS": "clinic.example.org",
    "DATABASE_URL": "postgres://inverto:secret@db.internal:5432/clinic",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.org:587",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    ignored = {*PRODUCTION_ENV, "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in ignored}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_passes_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"DATABASE_URL": "not-a-url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://root@localhost/clinic"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"TIME_ZONE": "Mars/Olympus_Mons"}, "TIME_ZONE"),
        ({"EMAIL_URL": "pigeon://coop"}, "EMAIL_URL"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"INVERTO_ENV": "staging"}, "INVERTO_ENV"),
        ({"HEALTHZ_DETAIL_NETWORKS": "10.0.0.0/8,intranet"}, "HEALTHZ_DETAIL_NETWORKS"),
        ({"TIME_ZONE": "Europe/" + "a" * 300}, "TIME_ZONE"),
        (
            {"MIGRATION_DATABASE_URL": "postgres://owner@db.internal:5432/another"},
            "MIGRATION_DATABASE_URL",
        ),
    ],
    ids=[
        "database url without a scheme",
        "database url for another engine",
        "redis url with the wrong scheme",
        "debug that is neither true nor false",
        "time zone that does not exist",
        "email url with an unknown scheme",
        "production without a secret key",
        "production without allowed hosts",
        "unknown environment profile",
        "healthz detail network that is not one",
        "time zone too long for a file name",
        "migration database url naming another database",
    ],
)
def test_bad_setting_stops_start_up_with_one_line_naming_it(overrides, setting):
    result = manage("check", env={**PRODUCTION_ENV, **overrides})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert setting in lines[0]
    assert "Traceback" not in result.stderr


def test_migrations_are_in_step_with_models():
    result = manage("makemigrations", "--check", "--dry-run", env={})
    assert result.returncode == 0, result.stdout + result.stderr


def test_livez_answers_without_asking_dependencies(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_postgresql_jit_is_off_for_the_applications_connections():
    """The day grid would make JIT compile for seconds; settings switch it off per connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
