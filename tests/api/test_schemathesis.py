"""schemathesis against the generated schema, through the WSGI app, as `--checks all` and
the stateful phase would run it: no 5xx, no answer that breaks the schema, nothing the
schema forbids accepted, nothing it allows refused but for the domain rules named below;
for a clinician and for a patient. Fixed seed, bounded examples."""

from __future__ import annotations

import importlib
import json
import os
from typing import ClassVar

import pytest
import schemathesis
from django.apps import apps
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test.utils import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, seed, settings
from rest_framework.renderers import JSONRenderer
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig

from config.wsgi import application
from patients.models import Intake, Screening
from programmes.models import CheckIn, ClinicianAlert, Exercise, Plan, ProgrammeTemplate
from tests.api.conftest import make_world
from tests.factories import api_token

ROLES_TESTED = ("clinician_a", "patient_a")

SEED = int(os.environ.get("ST_SEED", 20261125))

# Schema-valid input that a domain rule refuses with 400: rules the schema can't state
# (what exists, who may see it, what today's plan allows, what the safety gate refuses).
# For these operations alone a 400 to schema-valid input passes positive_data_acceptance,
# and then only if every field it names is one listed here (see `domain_refusal`); a 400
# anywhere else, or naming any other field, fails.
DOMAIN_REFUSALS: dict[str, frozenset[str]] = {
    # Which accounts exist, and their second factor, are not the schema's to say.
    "POST /api/v1/auth/token/": frozenset({"non_field_errors", "otp"}),
    # An IANA zone (the schema says string: the zone database is the machine's), a
    # clinician of the clinic, a birth date before today, a phone before SMS reminders.
    "POST /api/v1/patients/": frozenset({"time_zone", "clinician", "date_of_birth"}),
    "PATCH /api/v1/patients/{id}/": frozenset(
        {"time_zone", "clinician", "date_of_birth", "remind_by_sms"}
    ),
    "PATCH /api/v1/me/reminder-preferences/": frozenset({"time_zone", "remind_by_sms"}),
    # Answers that contradict each other (diastolic under systolic, a date for each yes),
    # dates against today, a blood pressure measured within 30 days, the questionnaire
    # unless a red flag excuses it.
    "POST /api/v1/patients/{id}/intakes/": frozenset(
        {
            "diastolic_bp",
            "bp_measured_at",
            "odi_sections",
            "eye_surgery_date",
            "heart_attack_date",
            "fracture_date",
            "surgery_date",
            "bladder_bowel_change_date",
        }
    ),
    # An override needs a current, unexpired screening that found something to override,
    # and has none yet; a revocation needs one standing.
    "POST /api/v1/patients/{id}/screening/override/": frozenset({"screening"}),
    "POST /api/v1/patients/{id}/screening/override/revoke/": frozenset({"override"}),
    "POST /api/v1/screenings/{id}/confirm/": frozenset({"screening"}),
    # A patient and a template the clinician may use today (the screening decides), the
    # ceiling above 60° only with full inversion allowed.
    "POST /api/v1/plans/": frozenset({"patient", "template", "ceiling_deg"}),
    # The plan's state decides: what an ended or running plan may change, steps under the
    # ceiling, a clinician of the clinic, the end after the start.
    "PATCH /api/v1/plans/{id}/": frozenset(
        {"status", "start_date", "end_date", "ceiling_deg", "full_inversion_allowed", "clinician"}
    ),
    "POST /api/v1/plans/{id}/exercises/": frozenset({"status", "exercise", "exercises"}),
    "POST /api/v1/plans/{id}/activate/": frozenset(
        {"status", "patient", "current_step", "inversion_steps", "exercises"}
    ),
    "POST /api/v1/plans/{id}/pause/": frozenset({"status", "reason"}),
    # After a stop symptom: the clinician's reason and confirmation.
    "POST /api/v1/plans/{id}/resume/": frozenset(
        {"status", "reason", "confirmed", "patient", "current_step"}
    ),
    # The progression's pace (or the clinical reason to override it) and the caps.
    "POST /api/v1/plans/{id}/advance/": frozenset({"status", "current_step", "pace"}),
    "POST /api/v1/plans/{id}/go-back/": frozenset({"status", "current_step"}),
    "POST /api/v1/plans/{id}/end/": frozenset({"status"}),
    # A day within the check-in window in the patient's zone, exercises of the patient's
    # own programme, inversion only when today allows it, a programme to check in to; a
    # refused check-in still carries what its symptoms set off (`safety`): a safety
    # signal is never dropped.
    "POST /api/v1/me/checkins/": frozenset(
        {"local_date", "exercise_ids", "inversion_angle_deg", "plan", "safety"}
    ),
}
# Every paged list: a cursor is an opaque value the API issued in a `next` or `previous`
# link, which no schema can describe.
CURSOR = "cursor"


# A few real zones: a random string is never one, so without them no patient is made.
TIME_ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]


def _load_schema(known: dict[str, dict[str, list]] | None = None):
    """The schema as /api/schema/ serves it (JSON round trip), bound to the WSGI app,
    with schemathesis's own per-operation setting for the refusals above: 400 joins the
    statuses positive_data_acceptance expects, for those operations only.

    `known` maps a path pattern ("" for every path) to fields (`body.patient`,
    `path.id`, ...) and values that exist there, which schemathesis's dictionaries draw
    half the time; the other half stays random."""
    raw = json.loads(JSONRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    refusable = sorted({*DOMAIN_REFUSALS, *_paged_operations(raw)})
    # schemathesis's default for the check (a 5xx is not_a_server_error's to report), and 400.
    expected = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
    known = {"": {"body.time_zone": TIME_ZONES}, **(known or {})}
    dictionaries: dict[str, dict] = {}
    bindings: dict[str, dict] = {}
    for path, fields in known.items():
        for field, values in fields.items():
            name = f"known-{len(dictionaries)}"
            dictionaries[name] = {"values": values}
            bindings.setdefault(path, {})[field] = {"dictionary": name, "probability": 0.5}
    config = SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            # No NUL in generated strings: PostgreSQL can't store one, so the API refuses it
            # in any string, a rule tests/api/test_hand_fuzz.py pins field by field.
            "generation": {"allow-x00": False, "deterministic": True},
            "dictionaries": dictionaries,
            "parameters": bindings.pop(""),
            "operations": [
                *(
                    {"include-path-regex": path, "parameters": fields}
                    for path, fields in bindings.items()
                ),
                *(
                    {
                        "include-name": label,
                        "checks": {"positive_data_acceptance": {"expected-statuses": expected}},
                    }
                    for label in refusable
                ),
            ],
        }
    )
    loaded = schemathesis.openapi.from_dict(raw, config=config)
    loaded.app = application
    return loaded


def _paged_operations(raw: dict) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, operations in raw["paths"].items()
        for method, operation in operations.items()
        if any(p["name"] == CURSOR for p in operation.get("parameters", []))
    }


schema = _load_schema()
PAGED = _paged_operations(schema.raw_schema)


def domain_refusal(ctx, response, case) -> None:
    """A 400 to schema-valid input names only fields a domain rule of its operation owns."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code != 400:
        return
    label = f"{case.method.upper()} {case.path}"
    allowed = DOMAIN_REFUSALS.get(label, frozenset()) | (
        {CURSOR} if label in PAGED else frozenset()
    )
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    named = set(body) if isinstance(body, dict) else set()
    assert named and named <= allowed, (
        f"Schema-valid input refused with 400 naming {sorted(named) or 'no field'}; "
        f"a domain rule of {label} may name only {sorted(allowed) or 'none'}: {body!r}"
    )


# `--checks all`: every check schemathesis registers (server errors, status codes, content
# types, headers and bodies against the schema, negative data refused, positive data
# accepted, missing headers, unsupported methods, auth ignored, use after free, ...), and
# the narrowing of positive_data_acceptance's allowed 400s above.
load_all_checks()
CHECKS = [REGISTERED_CHECKS.get_one(name) for name in REGISTERED_CHECKS.get_all_names()]
CHECKS.append(domain_refusal)


# Cheap hashes for the accounts made here and the sign-ins schemathesis tries: the
# production hasher's million rounds per attempt would be most of the run.
FAST_HASHING = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])


@pytest.fixture(scope="module")
def committed_world(django_db_setup, django_db_blocker):
    """A clinic with a clinician and their patients, a screening, an active plan, a
    check-in and an alert, so the lists answer with real rows.

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
            known = _known_values(world)
        # The WSGI handler closes "old" connections at each request's start and end, as a
        # server must; that would close each test's transaction, so, as Django's test
        # client does, it is switched off while schemathesis calls the app.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        with FAST_HASHING:
            yield keys, known
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        # Committed rows outlive the tests' rollbacks: empty the tables as a
        # transactional test does (a DELETE would trip the append-only audit trigger).
        with django_db_blocker.unblock():
            call_command("flush", verbosity=0, interactive=False)
            starter.create_library(apps, None)


def _known_values(world) -> dict[str, dict[str, list]]:
    """Ids of the world's records, for the fields and paths that name them."""

    def ids(queryset) -> list[int]:
        return list(queryset.values_list("pk", flat=True))

    def as_text(values: list[int]) -> list[str]:
        return [str(value) for value in values]

    patients = [world.patient_a.pk, world.patient_b.pk]
    return {
        "": {
            "body.patient": patients,
            "query.patient": patients,
            "body.template": ids(ProgrammeTemplate.objects.all()),
            "body.exercise": ids(Exercise.objects.all()),
            "body.exercise_ids[*]": ids(world.plan_a.exercises.all()),
            "body.clinician": [world.users["clinician_a"].pk],
        },
        # A path parameter is a string in the schema (ANY_ID): its values are too.
        "^/api/v1/patients/{id}/": {"path.id": as_text(patients)},
        "^/api/v1/plans/{id}/": {"path.id": as_text(ids(Plan.objects.all()))},
        "^/api/v1/plans/{plan_pk}/": {"path.plan_pk": ids(Plan.objects.all())},
        "^/api/v1/alerts/{id}/": {"path.id": as_text(ids(ClinicianAlert.objects.all()))},
        "^/api/v1/screenings/{id}/": {"path.id": as_text(ids(Screening.objects.all()))},
        "^/api/v1/intakes/{id}/": {"path.id": as_text(ids(Intake.objects.all()))},
        "^/api/v1/checkins/{id}/": {"path.id": as_text(ids(CheckIn.objects.all()))},
        "^/api/v1/exercises/{id}/": {"path.id": as_text(ids(Exercise.objects.all()))},
        "^/api/v1/templates/{id}/": {"path.id": as_text(ids(ProgrammeTemplate.objects.all()))},
    }


@pytest.fixture(scope="module")
def tokens(committed_world) -> dict[str, str]:
    """API tokens of the world's clinician and of their patient."""
    return committed_world[0]


@pytest.fixture(autouse=True)
def starter_library():
    """Overrides tests/conftest.py's per-test refill: the module's committed world (see
    `tokens`) already holds the shipped library, and nothing here flushes it mid-run."""


def _signed_in(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


@pytest.mark.django_db  # each operation's own writes are rolled back; the world stays
@override_settings(AXES_ENABLED=False)  # random sign-ins must not lock the test address out
@schema.parametrize()
@seed(SEED)
@settings(
    max_examples=int(os.environ.get("ST_N", 4)),
    deadline=None,
    database=None,
    derandomize=not os.environ.get("ST_RAND"),
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_random_input_without_5xx_or_schema_breaks(case, tokens):
    for role in ROLES_TESTED:
        case.call_and_validate(headers=_signed_in(tokens[role]), checks=CHECKS)


class Workflows:
    """Sequences of calls chained by the links schemathesis infers from the schema (an
    id a response gives is the next call's path id), every answer checked by all checks."""

    token: ClassVar[str] = ""

    def setup(self):
        # Each scenario starts from the committed world, as Hypothesis replays scenarios
        # and expects the same answers: its writes are rolled back at its end, the way
        # Django's TestCase wraps a test (so the services' durable blocks nest in it).
        self._scenario = transaction.atomic()
        self._scenario._from_testcase = True
        self._scenario.__enter__()

    def teardown(self):
        transaction.set_rollback(True)
        self._scenario.__exit__(None, None, None)
        super().teardown()

    def get_call_kwargs(self, case):
        return {"headers": _signed_in(self.token)}

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        case.validate_response(
            response,
            checks=CHECKS,
            headers=kwargs.get("headers"),
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


@pytest.fixture(scope="module")
def workflows(committed_world):
    """The state machine, on a schema whose id fields draw the world's ids half the time:
    a plan is made only for a patient and a template that exist."""
    return _load_schema(committed_world[1]).as_state_machine()


@pytest.mark.django_db  # the scenarios' writes are rolled back at the end; the world stays
@override_settings(AXES_ENABLED=False)
@pytest.mark.parametrize("role", ROLES_TESTED)
def test_api_workflows_answer_without_5xx_or_schema_breaks(role, tokens, workflows):
    machine = type(f"Workflows_{role}", (Workflows, workflows), {"token": tokens[role]})
    machine.run(
        settings=settings(
            max_examples=int(os.environ.get("ST_SN", 8)),
            stateful_step_count=int(os.environ.get("ST_STEPS", 6)),
            deadline=None,
            database=None,
            derandomize=not os.environ.get("ST_RAND"),
            suppress_health_check=list(HealthCheck),
        )
    )
