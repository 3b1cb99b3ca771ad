"""The last 7 and 30 days' adherence, as the portal and the API both show it."""

import uuid
from datetime import date, timedelta

import pytest

from programmes.adherence import recent_adherence
from programmes.models import CheckIn, Plan
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


def plan_with(history: dict[int, str]) -> Plan:
    """An active plan started 60 days before TODAY; `history` maps days-ago to completion."""
    patient = PatientFactory()
    plan = Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        clinician=patient.clinician,
        name="Exercise",
        start_date=TODAY - timedelta(days=60),
        status="active",
    )
    CheckIn.objects.bulk_create(
        CheckIn(
            plan=plan,
            patient=patient,
            clinic=patient.clinic,
            idempotency_key=uuid.uuid4(),
            local_date=TODAY - timedelta(days=ago),
            completion=completion,
        )
        for ago, completion in history.items()
    )
    return plan


EVERY_DAY_TO_YESTERDAY = {ago: "done" for ago in range(1, 40)}


@pytest.mark.parametrize(
    ("history", "through", "week", "month"),
    [
        (EVERY_DAY_TO_YESTERDAY, TODAY - timedelta(days=1), (7, 7.0), (30, 30.0)),
        ({**EVERY_DAY_TO_YESTERDAY, 0: "done"}, TODAY, (7, 7.0), (30, 30.0)),
        ({**EVERY_DAY_TO_YESTERDAY, 0: "partial"}, TODAY, (7, 6.5), (30, 29.5)),
        ({}, TODAY - timedelta(days=1), (7, 0.0), (30, 0.0)),
        ({0: "done", 1: "not_done", 8: "done"}, TODAY, (7, 1.0), (30, 2.0)),
    ],
    ids=[
        "not yet checked in today: both windows end yesterday, still 7 and 30 days long",
        "checked in today: today counts",
        "a partial session today counts one half",
        "nothing checked in: nothing completed of 7 and 30 prescribed",
        "a missed day counts as prescribed and not done",
    ],
)
def test_recent_adherence_counts_today_only_once_checked_in(history, through, week, month):
    plan = plan_with(history)
    recent = recent_adherence(plan.patient_id, today=TODAY)
    assert recent.through == through
    assert (recent.last_7_days.prescribed, recent.last_7_days.completed) == week
    assert (recent.last_30_days.prescribed, recent.last_30_days.completed) == month


def test_recent_adherence_of_a_patient_with_no_plan_prescribes_nothing():
    recent = recent_adherence(PatientFactory().pk, today=TODAY)
    assert recent.last_30_days.prescribed == 0
    assert recent.last_30_days.ratio is None
