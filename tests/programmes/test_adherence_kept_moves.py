"""The kept adherence follows rows that move or change by any path (the ORM's `update`
here, as a script or an admin bulk action would): after each, the reconcile finds no
difference from the from-scratch computation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from patients.models import Patient
from programmes.adherence_reconcile import adherence_reconcile
from programmes.models import CheckIn, Plan, PlanEvent
from tests.factories import PatientFactory, check_in

pytestmark = pytest.mark.django_db
START = date(2026, 3, 2)


def _plan(patient, start=START, status="active") -> Plan:
    return Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        clinician=patient.clinician,
        name="P",
        start_date=start,
        status=status,
    )


def _plan_moved_to_another_patient(patient):
    other = PatientFactory(clinic=patient.clinic, clinician=patient.clinician)
    plan = _plan(patient)
    check_in(plan, START)
    return lambda: (
        Plan.objects.filter(pk=plan.pk).update(patient=other),
        CheckIn.objects.filter(plan=plan).update(patient=other),
    )


def _pause_changed_to_another_kind(patient):
    plan = _plan(patient)
    check_in(plan, START + timedelta(days=3))
    event = PlanEvent.objects.create(plan=plan, kind="paused")
    return lambda: PlanEvent.objects.filter(pk=event.pk).update(kind="advanced")


def _pause_moved_to_another_plan(patient):
    first = _plan(patient, status="ended")
    event = PlanEvent.objects.create(plan=first, kind="paused")
    second = _plan(patient, START + timedelta(days=1))
    return lambda: PlanEvent.objects.filter(pk=event.pk).update(plan=second)


def _checkin_moved_to_another_plan(patient):
    first = _plan(patient, status="ended")
    checkin = check_in(first, START)
    second = _plan(patient)
    check_in(second, START, "partial")
    return lambda: CheckIn.objects.filter(pk=checkin.pk).update(plan=second)


def _plan_deleted(patient):
    plan = _plan(patient)
    check_in(plan, START)
    PlanEvent.objects.create(plan=plan, kind="paused")
    return plan.delete


def _zone_changed_in_bulk(patient):
    plan = _plan(patient)
    PlanEvent.objects.create(plan=plan, kind="paused")
    return lambda: Patient.objects.filter(pk=patient.pk).update(time_zone="Pacific/Kiritimati")


@pytest.mark.parametrize(
    "arrange",
    [
        _plan_moved_to_another_patient,
        _pause_changed_to_another_kind,
        _pause_moved_to_another_plan,
        _checkin_moved_to_another_plan,
        _plan_deleted,
        _zone_changed_in_bulk,
    ],
    ids=lambda arrange: arrange.__name__.strip("_").replace("_", " "),
)
def test_kept_adherence_equals_the_definition_after(arrange):
    change = arrange(PatientFactory())
    assert adherence_reconcile(repair=False).differences == 0
    change()
    assert adherence_reconcile(repair=False).differences == 0
