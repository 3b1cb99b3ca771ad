"""The adherence PostgreSQL keeps equals adherence by its definition, whatever happens.

Random sequences of check-ins (added, changed, moved to another day, removed), pauses,
resumes, ends, step changes, moved events, end-date and status changes, a next plan and
time-zone changes, written straight through the ORM (the triggers must follow any write
path). After each step the kept tables reconcile with no difference and every figure
equals the day grid of the
definition (`programmes.adherence_definition`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from programmes.adherence import patient_adherence, weekly_adherence
from programmes.adherence_definition import grid_sql
from programmes.adherence_reconcile import adherence_reconcile
from programmes.models import CheckIn, DayCredit, Plan, PlanDays, PlanEvent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

START = date(2026, 3, 2)
DAYS = 28
ZONES = ("Europe/London", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago")
COMPLETIONS = ("done", "partial", "not_done")
EVENT_KINDS = ("paused", "resumed", "ended", "completed", "advanced")
HOURS = st.integers(min_value=-24, max_value=(DAYS + 2) * 24)

steps = st.one_of(
    st.tuples(st.just("checkin"), st.integers(-3, DAYS + 3), st.sampled_from(COMPLETIONS)),
    st.tuples(st.just("change_checkin"), st.integers(0, 50), st.sampled_from(COMPLETIONS)),
    st.tuples(st.just("move_checkin"), st.integers(0, 50), st.integers(-3, DAYS + 3)),
    st.tuples(st.just("remove_checkin"), st.integers(0, 50)),
    st.tuples(st.just("event"), st.sampled_from(EVENT_KINDS), HOURS),
    st.tuples(st.just("move_event"), st.integers(0, 50), HOURS),
    st.tuples(st.just("remove_event"), st.integers(0, 50)),
    st.tuples(st.just("zone"), st.sampled_from(ZONES)),
    st.tuples(st.just("end_date"), st.one_of(st.none(), st.integers(-2, DAYS + 3))),
    st.tuples(st.just("status"), st.sampled_from(("active", "paused"))),
    st.tuples(st.just("second_plan"), st.integers(0, DAYS)),
)


def _at(hours: int) -> datetime:
    return datetime(START.year, START.month, START.day, tzinfo=UTC) + timedelta(hours=hours)


def _nth(queryset, index: int):
    rows = list(queryset.order_by("pk"))
    return rows[index % len(rows)] if rows else None


def apply(step: tuple, patient, plans: list[Plan]) -> None:
    kind, *args = step
    plan = plans[-1]
    if kind == "checkin":
        offset, completion = args
        CheckIn.objects.create(
            plan=plan,
            patient=patient,
            clinic=patient.clinic,
            idempotency_key=uuid.uuid4(),
            local_date=START + timedelta(days=offset),
            completion=completion,
        )
    elif kind == "change_checkin":
        if checkin := _nth(CheckIn.objects.filter(patient=patient), args[0]):
            CheckIn.objects.filter(pk=checkin.pk).update(completion=args[1])
    elif kind == "move_checkin":  # to another day, as shifting a clinic's dates does
        if checkin := _nth(CheckIn.objects.filter(patient=patient), args[0]):
            CheckIn.objects.filter(pk=checkin.pk).update(local_date=START + timedelta(days=args[1]))
    elif kind == "remove_checkin":
        if checkin := _nth(CheckIn.objects.filter(patient=patient), args[0]):
            checkin.delete()
    elif kind == "event":
        event = PlanEvent.objects.create(plan=plan, kind=args[0])
        PlanEvent.objects.filter(pk=event.pk).update(at=_at(args[1]))
    elif kind == "move_event":
        if event := _nth(PlanEvent.objects.filter(plan__patient=patient), args[0]):
            PlanEvent.objects.filter(pk=event.pk).update(at=_at(args[1]))
    elif kind == "remove_event":
        if event := _nth(PlanEvent.objects.filter(plan__patient=patient), args[0]):
            event.delete()
    elif kind == "zone":
        type(patient).objects.filter(pk=patient.pk).update(time_zone=args[0])
    elif kind == "end_date":
        Plan.objects.filter(pk=plan.pk).update(
            end_date=None if args[0] is None else START + timedelta(days=args[0])
        )
    elif kind == "status":
        Plan.objects.filter(pk=plan.pk).update(status=args[0])
    elif kind == "second_plan":  # one plan runs at a time: the last one ends first
        Plan.objects.filter(pk=plan.pk).update(status="ended")
        plans.append(_plan(patient, start=START + timedelta(days=args[0])))


def _plan(patient, *, start: date) -> Plan:
    return Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        clinician=patient.clinician,
        name="Programme",
        start_date=start,
        status="active",
    )


def by_definition(patient_id: int, start: date, end: date) -> tuple[int, float, list[tuple]]:
    with connection.cursor() as cursor:
        params = {"start": start, "end": end, "patient": patient_id}
        cursor.execute(
            grid_sql("p.patient_id = %(patient)s")
            + "SELECT count(*), COALESCE(sum(completed), 0) FROM grid",
            params,
        )
        prescribed, completed = cursor.fetchone()
        cursor.execute(
            grid_sql("p.patient_id = %(patient)s")
            + """SELECT date_trunc('week', day)::date, count(*), sum(completed)
                   FROM grid GROUP BY 1 ORDER BY 1""",
            params,
        )
        weeks = [(week, int(n), float(done)) for week, n, done in cursor.fetchall()]
    return int(prescribed), float(completed), weeks


WINDOWS = ((0, DAYS), (-5, 3), (7, 13), (20, DAYS + 5))


def assert_kept_equals_definition(patient_id: int) -> None:
    result = adherence_reconcile(repair=False)
    assert (result.plans, result.credits) == ([], [])
    for first, last in WINDOWS:
        start, end = START + timedelta(days=first), START + timedelta(days=last)
        prescribed, completed, weeks = by_definition(patient_id, start, end)
        kept = patient_adherence(patient_id, start=start, end=end)
        assert (kept.prescribed, kept.completed) == (prescribed, completed)
        assert [
            (w.week_start, w.adherence.prescribed, w.adherence.completed)
            for w in weekly_adherence(patient_id, start=start, end=end)
        ] == weeks


class TestKeptAdherence(HypothesisTestCase):
    """Each example in its own transaction, rolled back (hypothesis's Django test case)."""

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(steps, min_size=1, max_size=14))
    def test_kept_adherence_equals_the_definition_after_every_step(self, sequence):
        patient = PatientFactory()
        plans = [_plan(patient, start=START)]
        assert_kept_equals_definition(patient.pk)
        for step in sequence:
            apply(step, patient, plans)
            assert_kept_equals_definition(patient.pk)


def test_reconcile_finds_and_repairs_a_planted_difference():
    patient = PatientFactory()
    plan = _plan(patient, start=START)
    for offset, completion in ((0, "done"), (1, "partial"), (1, "done")):
        CheckIn.objects.create(
            plan=plan,
            patient=patient,
            clinic=patient.clinic,
            idempotency_key=uuid.uuid4(),
            local_date=START + timedelta(days=offset),
            completion=completion,
        )
    assert adherence_reconcile(repair=False).differences == 0
    honest = patient_adherence(patient.pk, start=START, end=START + timedelta(days=6))
    assert (honest.prescribed, honest.completed) == (7, 2.0)

    DayCredit.objects.filter(plan=plan, day=START).update(credit=0)  # a lost credit
    DayCredit.objects.filter(plan=plan, day=START + timedelta(days=1)).delete()  # a lost day
    PlanDays.objects.filter(plan=plan).delete()  # a lost plan
    assert patient_adherence(patient.pk, start=START, end=START + timedelta(days=6)).prescribed == 0

    found = adherence_reconcile(repair=False)
    assert [row[0] for row in found.plans] == [plan.pk]
    assert [(row[0], row[1]) for row in found.credits] == [
        (plan.pk, START),
        (plan.pk, START + timedelta(days=1)),
    ]
    assert not found.repaired
    assert adherence_reconcile(repair=False).differences == 3  # looking changed nothing

    repaired = adherence_reconcile()
    assert repaired.repaired and repaired.differences == 3
    assert adherence_reconcile(repair=False).differences == 0
    assert patient_adherence(patient.pk, start=START, end=START + timedelta(days=6)) == honest


def test_the_history_calendar_misses_only_prescribed_days():
    """Days a clinician had the plan paused are not "missed", nor days after it ended."""
    from programmes.checkins import checkin_calendar

    patient = PatientFactory()
    type(patient).objects.filter(pk=patient.pk).update(time_zone="Europe/London")
    patient.refresh_from_db()
    plan = _plan(patient, start=START)
    Plan.objects.filter(pk=plan.pk).update(end_date=START + timedelta(days=8))
    for kind, hours in (("paused", 3 * 24 + 12), ("resumed", 6 * 24 + 9)):
        event = PlanEvent.objects.create(plan=plan, kind=kind)
        PlanEvent.objects.filter(pk=event.pk).update(at=_at(hours))
    CheckIn.objects.create(
        plan=plan,
        patient=patient,
        clinic=patient.clinic,
        idempotency_key=uuid.uuid4(),
        local_date=START + timedelta(days=1),
        completion="done",
    )
    days = checkin_calendar(
        patient,
        start=START - timedelta(days=1),
        end=START + timedelta(days=10),
        today=START + timedelta(days=10),
    )
    assert [day.status for day in days] == [
        "none",  # before the plan
        "missed",
        "done",
        "missed",
        "none",  # paused from day 3
        "none",
        "none",
        "missed",  # resumed on day 6: that day prescribes again
        "missed",
        "missed",  # the end date, inclusive
        "none",  # ended
        "none",  # today is not over
    ]
