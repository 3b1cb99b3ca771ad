"""schemathesis against the generated schema, through the WSGI app: no 5xx, no answer
that breaks the schema, for a clinician and for a patient. Fixed seed, bounded examples."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test.utils import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, seed, settings
from rest_framework.authtoken.models import Token
from rest_framework.renderers import JSONRenderer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from clinic.wsgi import application
from tests.factories import patient_with_portal

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _load_schema():
    """The schema as /api/schema/ serves it (JSON round trip), bound to the WSGI app."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(JSONRenderer().render(schema)))
    loaded.app = application
    return loaded


schema = _load_schema()


@pytest.fixture
def tokens(db):
    """API tokens of a clinician and of their patient (a light world: it is made once
    per operation)."""
    patient = patient_with_portal()
    users = {"clinician_a": patient.clinician, "patient_a": patient.user}
    # The WSGI handler closes "old" connections at each request's start and end:
    # that would close the test's own transaction, so, as Django's test client does,
    # it is switched off while schemathesis calls the app.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {
            role: Token.objects.get_or_create(user=users[role])[0].key
            for role in ("clinician_a", "patient_a")
        }
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
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
    for role in ("clinician_a", "patient_a"):
        case.call_and_validate(headers={"Authorization": f"Token {tokens[role]}"}, checks=CHECKS)
