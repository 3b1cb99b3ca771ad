"""Clinician alerts from adherence: 49 h, low 7-day adherence, stalled, dropped; each once."""

from datetime import date, datetime, timedelta

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
