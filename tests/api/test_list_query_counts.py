"""Every list endpoint answers in a fixed number of queries, however many rows it shows.

Pinned counts catch a new query per request; the growth test (3 rows, then 30) catches
a query per row (N+1) that a small fixture would hide.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from patients import services as patient_services
from programmes import checkins
from programmes.models import (
    Exercise,
    PlanEvent,
    ProgrammeTemplate,
    TemplateExercise,
    TemplateInversionStep,
)
from tests.api.conftest import active_plan
from tests.factories import (
    REVIEW,
    ClinicFactory,
    api_token,
    clinician,
    patient_with_portal,
    screen,
)

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
SMALL, LARGE = 3, 30


@dataclass
class Clinic:
    """One clinic whose rows of every listed kind grow together."""

    clinic: object
    clinician: object
    template: ProgrammeTemplate
    patients: list = field(default_factory=list)
    plans: list = field(default_factory=list)
    rows: int = 0

    @property
    def first_patient(self):
        return self.patients[0]

    def client(self, user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
        return client


def _check_in(patient, plan, *, pain: int) -> None:
    checkins.checkin_submit(
        patient=patient,
        data=checkins.CheckInInput(
            idempotency_key=uuid.uuid4(),
            completion="done",
            inversion_angle_deg=20,
            inversion_seconds=60,
            exercise_ids=tuple(plan.exercises.values_list("pk", flat=True)[:2]),
            pain_before=pain,
            pain_after=pain,
        ),
        channel="api",
    )


def grow(world: Clinic, count: int) -> None:
    """`count` more of every listed row: patients (each screened review_required with an
    override, on an active plan, with a high-pain check-in and so an alert), and for the
    first patient and plan more check-ins and plan events; clinic exercises and templates."""
    for _ in range(count):
        patient = patient_with_portal(world.clinic, clinician=world.clinician)
        screening = screen(patient, **REVIEW)
        patient_services.screening_override_record(
            screening=screening,
            clinician=world.clinician,
            reason="Blood pressure rechecked at 132/80.",
            channel="api",
        )
        plan = active_plan(patient, world.template)
        _check_in(patient, plan, pain=8)
        world.patients.append(patient)
        world.plans.append(plan)
    first_plan = world.plans[0]
    for _ in range(count):
        _check_in(world.first_patient, first_plan, pain=3)
    PlanEvent.objects.bulk_create(
        PlanEvent(plan=first_plan, by=world.clinician, kind=PlanEvent.Kind.EDITED, reason="Dose")
        for _ in range(count)
    )
    shipped_steps = list(world.template.inversion_steps.all())
    shipped_exercises = list(world.template.exercises.all())
    for i in range(world.rows, world.rows + count):
        Exercise.objects.create(
            clinic=world.clinic,
            name=f"Clinic stretch {i}",
            slug=f"clinic-stretch-{i}",
            category="stretch",
            patient_instructions="Lie on your back and hug one knee.",
        )
        template = ProgrammeTemplate.objects.create(
            clinic=world.clinic, name=f"Clinic programme {i}", kind=world.template.kind
        )
        TemplateInversionStep.objects.bulk_create(
            TemplateInversionStep(template=template, **step.prescription())
            for step in shipped_steps
        )
        TemplateExercise.objects.bulk_create(
            TemplateExercise(template=template, **dose.prescription()) for dose in shipped_exercises
        )
    world.rows += count


def clinic_with(rows: int) -> Clinic:
    clinic = ClinicFactory()
    world = Clinic(
        clinic=clinic,
        clinician=clinician(clinic),
        template=ProgrammeTemplate.objects.get(name="Progressive inversion (default)"),
    )
    grow(world, rows)
    return world


# Each list endpoint: who asks, the URL, and the pinned number of queries for one page.
# The count covers the whole request: the token (its user and role come with it), the
# page, its prefetches and the one INSERT of the read audit rows.
LISTS = {
    "patients": ("clinician", lambda w: f"{V1}/patients/", 4),
    "intakes": ("clinician", lambda w: f"{V1}/intakes/", 4),
    "screenings": ("clinician", lambda w: f"{V1}/screenings/", 3),
    "plans": ("clinician", lambda w: f"{V1}/plans/", 6),
    "plan events": ("clinician", lambda w: f"{V1}/plans/{w.plans[0].pk}/events/", 4),
    "check-ins": ("clinician", lambda w: f"{V1}/checkins/", 4),
    "alerts": ("clinician", lambda w: f"{V1}/alerts/", 3),
    "exercises": ("clinician", lambda w: f"{V1}/exercises/", 3),
    "templates": ("clinician", lambda w: f"{V1}/templates/", 6),
    "my check-ins": ("patient", lambda w: f"{V1}/me/checkins/", 4),
    "patient's own check-ins": ("patient", lambda w: f"{V1}/checkins/", 4),
}


def _queries(world: Clinic, name: str) -> tuple[int, list[str], int]:
    """(queries, their SQL, rows shown) of one list request."""
    role, url, _ = LISTS[name]
    user = world.clinician if role == "clinician" else world.first_patient.user
    client = world.client(user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url(world))
    assert response.status_code == 200, response.content
    return (
        len(captured),
        [q["sql"] for q in captured.captured_queries],
        len(response.json()["results"]),
    )


@pytest.mark.parametrize("name", list(LISTS))
def test_list_endpoint_answers_in_its_pinned_number_of_queries(name, django_assert_num_queries):
    world = clinic_with(SMALL)
    role, url, pinned = LISTS[name]
    user = world.clinician if role == "clinician" else world.first_patient.user
    client = world.client(user)
    with django_assert_num_queries(pinned):
        response = client.get(url(world))
    assert response.status_code == 200
    assert len(response.json()["results"]) >= 1


def test_no_list_endpoint_runs_more_queries_for_more_rows():
    """3 rows of each kind, then 30: every list shows more rows in the same queries."""
    world = clinic_with(SMALL)
    small = {name: _queries(world, name) for name in LISTS}
    grow(world, LARGE - SMALL)
    large = {name: _queries(world, name) for name in LISTS}

    for name in LISTS:
        assert large[name][2] > small[name][2], f"{name}: the larger clinic shows more rows"
    grew = {
        name: (small[name][0], large[name][0], _repeated(large[name][1]))
        for name in LISTS
        if large[name][0] != small[name][0]
    }
    assert grew == {}


def _repeated(statements: list[str]) -> dict[str, int]:
    """The statements run more than once (the N+1), shortened, with how often."""
    counts = Counter(sql[:160] for sql in statements)
    return {sql: n for sql, n in counts.items() if n > 1}
