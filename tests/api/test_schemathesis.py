"""schemathesis against the generated schema, through the WSGI app: no 5xx, no answer
that breaks the schema, for a clinician and for a patient. Fixed seed, bounded examples."""

from __future__ import annotations

import importlib
import json

import pytest
import schemathesis
from django.apps import apps
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test.utils import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, seed, settings
from rest_framework.renderers import JSONRenderer
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks

from config.wsgi import application
from tests.api.conftest import make_world
from tests.factories import api_token

ROLES_TESTED = ("clinician_a", "patient_a")
# `--checks all`: every check schemathesis registers (server errors, status codes, content
# types, headers and bodies against the schema, negative data refused, positive data
# accepted, missing headers, unsupported methods, auth ignored, use after free, ...).
# Not yet: positive_data_acceptance (domain rules the schema can't state refuse some
# schema-valid bodies with 400) and negative_data_rejection (a few fields accept what
# the schema forbids, e.g. an empty time_zone in a PATCH); see issue 12.
NOT_YET = {"positive_data_acceptance", "negative_data_rejection"}
load_all_checks()
CHECKS = [
    REGISTERED_CHECKS.get_one(name)
    for name in REGISTERED_CHECKS.get_all_names()
    if name not in NOT_YET
]


def _load_schema():
    """The schema as /api/schema/ serves it (JSON round trip), bound to the WSGI app."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(JSONRenderer().render(schema)))
    loaded.app = application
    return loaded


schema = _load_schema()


# Cheap hashes for the accounts made here and the sign-ins schemathesis tries: the
# production hasher's million rounds per attempt would be most of the run.
FAST_HASHING = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])


@pytest.fixture(scope="module")
def tokens(django_db_setup, django_db_blocker):
    """API tokens of a clinician and of their patient, in a clinic with a screening, an
    active plan, a check-in and an alert, so the lists answer with real rows.

    Made once for the module and committed, not once per operation: each operation runs
    in its own transaction, rolled back after it, on top of this state. At the end the
    database is flushed, as after a transactional test, and the shipped library put back.
    """
    starter = importlib.import_module("programmes.migrations.0003_starter_library")
    try:
        with django_db_blocker.unblock(), FAST_HASHING:
            starter.create_library(apps, None)
            world = make_world()
            keys = {role: api_token(world.users[role]) for role in ROLES_TESTED}
        # The WSGI handler closes "old" connections at each request's start and end, as a
        # server must; that would close each test's transaction, so, as Django's test
        # client does, it is switched off while schemathesis calls the app.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        with FAST_HASHING:
            yield keys
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        # Committed rows outlive the tests' rollbacks: empty the tables as a
        # transactional test does (a DELETE would trip the append-only audit trigger).
        with django_db_blocker.unblock():
            call_command("flush", verbosity=0, interactive=False)
            starter.create_library(apps, None)


@pytest.fixture(autouse=True)
def starter_library():
    """Overrides tests/conftest.py's per-test refill: the module's committed world (see
    `tokens`) already holds the shipped library, and nothing here flushes it mid-run."""


@pytest.mark.django_db  # each operation's own writes are rolled back; the world stays
@override_settings(AXES_ENABLED=False)  # random sign-ins must not lock the test address out
@schema.parametrize()
@seed(20261125)
@settings(
    max_examples=4,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_random_input_without_5xx_or_schema_breaks(case, tokens):
    for role in ROLES_TESTED:
        case.call_and_validate(headers={"Authorization": f"Token {tokens[role]}"}, checks=CHECKS)
