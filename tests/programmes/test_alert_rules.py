"""Clinician alerts from adherence: 49 h, low 7-day adherence, stalled, dropped; each once."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from programmes.alert_rules import alert_sweep
from programmes.models import CheckIn, ClinicianAlert, Plan
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def plan_started(days_ago: int) -> Plan:
    patient = PatientFactory()
    return Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        clinician=patient.clinician,
        name="Exercise",
        status="active",
        start_date=timezone.localdate() - timedelta(days=days_ago),
    )


def check_in(plan: Plan, day: date, completion: str = "done", at: datetime | None = None):
    checkin = CheckIn.objects.create(
        plan=plan,
        patient=plan.patient,
        clinic=plan.clinic,
        local_date=day,
        idempotency_key=f"{plan.pk:016x}{day.toordinal():016x}",
        completion=completion,
    )
    if at:
        CheckIn.objects.filter(pk=checkin.pk).update(submitted_at=at)
    return checkin


def kinds() -> list[str]:
    return sorted(ClinicianAlert.objects.values_list("kind", flat=True))


def test_no_checkin_for_49_hours_alerts_once_not_every_tick():
    plan = plan_started(10)
    now = timezone.now()
    check_in(plan, timezone.localdate() - timedelta(days=2), at=now - timedelta(hours=50))
    alert_sweep(now=now)
    alert_sweep(now=now + timedelta(minutes=15))
    assert kinds().count("no_checkin") == 1


def test_48_hours_without_checkin_is_not_yet_an_alert():
    plan = plan_started(1)
    now = timezone.now()
    for offset in range(2):
        check_in(plan, timezone.localdate() - timedelta(days=offset), at=now - timedelta(hours=48))
    alert_sweep(now=now)
    assert "no_checkin" not in kinds()


def test_a_new_checkin_starts_a_new_episode():
    plan = plan_started(10)
    now = timezone.now()
    check_in(plan, timezone.localdate() - timedelta(days=5), at=now - timedelta(days=5))
    alert_sweep(now=now)
    check_in(plan, timezone.localdate() - timedelta(days=1), at=now - timedelta(hours=1))
    alert_sweep(now=now + timedelta(hours=50))
    assert kinds().count("no_checkin") == 2


def test_stalled_and_dropped_after_14_and_21_days():
    plan = plan_started(30)
    now = timezone.now()
    check_in(plan, timezone.localdate() - timedelta(days=22), at=now - timedelta(days=22))
    alert_sweep(now=now)
    assert {"stalled", "dropped", "no_checkin"} <= set(kinds())


def test_low_seven_day_adherence_alerts_once_a_week():
    plan = plan_started(10)
    today = timezone.localdate()
    check_in(plan, today - timedelta(days=1), completion="partial", at=timezone.now())
    check_in(plan, today, at=timezone.now())
    alert_sweep()  # 1.5 of 7 sessions
    alert_sweep()
    alert = ClinicianAlert.objects.get(kind="low_adherence")
    assert "1.5 of 7" in alert.message


def test_adherent_patient_raises_nothing():
    plan = plan_started(6)
    for offset in range(7):
        check_in(plan, timezone.localdate() - timedelta(days=offset), at=timezone.now())
    alert_sweep()
    assert kinds() == []


def new_york_plan(start: date) -> Plan:
    """A patient in New York at a London clinic (the test settings' zone)."""
    patient = PatientFactory(time_zone="America/New_York")
    return Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        clinician=patient.clinician,
        name="Exercise",
        status="active",
        start_date=start,
    )


# 02:00 UTC on 15 January 2026 is 21:00 on the 14th in New York.
NIGHT_IN_NEW_YORK = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)


def test_seven_day_adherence_is_counted_in_the_patients_own_days():
    """1.5 of 3 sessions in New York's days (50%, no alert); the clinic's date would have
    counted the patient's tomorrow as missed (1.5 of 4)."""
    plan = new_york_plan(date(2026, 1, 12))
    check_in(plan, date(2026, 1, 12), completion="partial", at=NIGHT_IN_NEW_YORK)
    check_in(plan, date(2026, 1, 14), at=NIGHT_IN_NEW_YORK - timedelta(hours=1))
    alert_sweep(now=NIGHT_IN_NEW_YORK)
    assert "low_adherence" not in kinds()


def test_seven_day_adherence_waits_for_today_before_counting_it():
    """At noon, not yet checked in today: 1.5 of the 3 whole days before today (50%, no
    alert), where counting the unfinished day would have made it 1.5 of 4."""
    patient = PatientFactory(time_zone="Europe/London")
    plan = Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        clinician=patient.clinician,
        name="Exercise",
        status="active",
        start_date=date(2026, 1, 12),
    )
    noon = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    check_in(plan, date(2026, 1, 12), completion="partial", at=noon - timedelta(days=3))
    check_in(plan, date(2026, 1, 14), at=noon - timedelta(days=1))
    alert_sweep(now=noon)
    assert "low_adherence" not in kinds()
    check_in(plan, date(2026, 1, 15), completion="not_done", at=noon)
    alert_sweep(now=noon)  # today now counts, as a session not done: 1.5 of 4
    assert "low_adherence" in kinds()


@pytest.mark.parametrize(
    ("hours", "alerted"), [(48, False), (49, True)], ids=["48 hours: not yet", "49 hours: alert"]
)
def test_a_plan_never_checked_in_is_silent_from_midnight_where_the_patient_lives(hours, alerted):
    plan = new_york_plan(date(2026, 1, 10))
    midnight_in_new_york = datetime(2026, 1, 10, 5, 0, tzinfo=UTC)
    alert_sweep(now=midnight_in_new_york + timedelta(hours=hours))
    assert ("no_checkin" in kinds()) is alerted
    assert plan.pk
