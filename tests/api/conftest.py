"""A small world for the API tests: two clinics, every role, and health data of patient A."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import Role
from patients.models import Intake
from programmes import checkins, services
from programmes.models import ClinicianAlert, Exercise, Plan, ProgrammeTemplate
from tests.factories import (
    ClinicFactory,
    api_token,
    clinician,
    member,
    patient_with_portal,
    screen,
)

ROLES = (
    "anonymous",
    "patient_a",
    "patient_b",
    "clinician_a",
    "clinician_other_clinic",
    "staff",
    "clinic_admin",
)


@dataclass
class World:
    users: dict
    patient_a: object
    patient_b: object
    plan_a: Plan
    intake_a: Intake
    checkin_a: object
    alert_a: ClinicianAlert
    exercise: Exercise
    template: ProgrammeTemplate

    def client(self, role: str) -> APIClient:
        """An API client signed in with the role's token (anonymous: none)."""
        client = APIClient()
        user = self.users.get(role)
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
        return client


def active_plan(patient, template) -> Plan:
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    return services.plan_activate(plan=plan, by=patient.clinician)


def make_world() -> World:
    clinic = ClinicFactory()
    other_clinic = ClinicFactory()
    clinician_a = clinician(clinic)
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    patient_a = patient_with_portal(clinic, clinician=clinician_a)
    patient_b = patient_with_portal(clinic, clinician=clinician_a)
    for patient in (patient_a, patient_b):
        screen(patient, taken_on=timezone.localdate() - timedelta(days=1))
    plan_a = active_plan(patient_a, template)
    active_plan(patient_b, template)
    result = checkins.checkin_submit(
        patient=patient_a,
        data=checkins.CheckInInput(
            idempotency_key=uuid.uuid4(),
            completion="done",
            inversion_angle_deg=20,
            inversion_seconds=60,
            pain_before=8,
            pain_after=7,
        ),
        channel="api",
    )
    alert = ClinicianAlert.objects.get(patient=patient_a)  # pain 8 alerts the clinician
    users = {
        "anonymous": None,
        "patient_a": patient_a.user,
        "patient_b": patient_b.user,
        "clinician_a": clinician_a,
        "clinician_other_clinic": clinician(other_clinic),
        "staff": member(Role.STAFF, clinic),
        "clinic_admin": member(Role.CLINIC_ADMIN, clinic),
    }
    return World(
        users=users,
        patient_a=patient_a,
        patient_b=patient_b,
        plan_a=plan_a,
        intake_a=patient_a.intakes.get(),
        checkin_a=result.checkin,
        alert_a=alert,
        exercise=Exercise.objects.filter(clinic__isnull=True).first(),
        template=template,
    )


@pytest.fixture
def world(db) -> World:
    return make_world()
