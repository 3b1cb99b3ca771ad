"""Reminders through the real Redis and real Celery worker processes: each sent exactly once.

Sends go to the in-portal channel, which writes its notice in the ledger row's
own transaction, so "sent once" is checked where it is guaranteed: one notice
per ledger row, one ledger row per (patient, local date, kind, channel).
"""

import subprocess
import sys
import time as clock
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bench.processes import ROOT, process_env
from clinic.models import Clinic
from programmes.models import Plan, PortalNotice, ReminderDelivery
from programmes.reminders import reminder_sweep
from tests.factories import ClinicFactory, clinician, screen_many

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def daytime_zone() -> str:
    """A fixed-offset zone where it is now between 09:00 and 19:00, so reminders are due."""
    for offset in range(-12, 15):
        name = f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"
        if 9 <= timezone.now().astimezone(ZoneInfo(name)).hour < 19:
            return name
    raise AssertionError("no daytime zone found")


def enrol_many(count: int, zone: str, clinic: Clinic | None = None) -> list[int]:
    from patients.models import Patient

    clinic = clinic or ClinicFactory()
    owner = clinician(clinic)
    patients = Patient.objects.bulk_create(
        Patient(
            clinic=clinic,
            clinician=owner,
            first_name=f"P{i}",
            last_name="Test",
            date_of_birth=date(1970, 1, 1),
            time_zone=zone,
            reminder_time=time(8, 0),
            remind_by_email=False,
            remind_in_portal=True,
        )
        for i in range(count)
    )
    screen_many(patients)  # only a patient who may follow a programme is reminded
    Plan.objects.bulk_create(
        Plan(
            patient=p,
            clinic=clinic,
            clinician=owner,
            name="Exercise",
            status="active",
            start_date=date(2026, 1, 1),
        )
        for p in patients
    )
    return [p.pk for p in patients]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        if predicate():
            return
        clock.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def sent() -> int:
    return ReminderDelivery.objects.filter(status="sent").count()


def assert_each_sent_exactly_once(count: int) -> None:
    assert ReminderDelivery.objects.count() == count
    assert sent() == count
    assert PortalNotice.objects.count() == count
    assert PortalNotice.objects.values("patient").distinct().count() == count


def sweep_in_subprocess(redis_url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "reminders_sweep", *args],
        cwd=ROOT,
        check=True,
        env=process_env(redis_url=redis_url),
        capture_output=True,
        timeout=120,
    )


def test_a_due_reminder_is_sent_once(celery_processes):
    enrol_many(1, daytime_zone())
    celery_processes("worker")
    assert reminder_sweep() == 1
    wait_until(lambda: sent() == 1, 30, "the reminder")
    assert reminder_sweep(requeue_after=timedelta(0)) == 0
    clock.sleep(1)
    assert_each_sent_exactly_once(1)


def test_worker_killed_mid_batch_then_restarted_sends_every_reminder_once(celery_processes):
    enrol_many(1000, daytime_zone())
    worker = celery_processes("worker", args=("--concurrency", "2"))
    assert reminder_sweep() == 1000
    wait_until(lambda: sent() >= 150, 60, "the batch to start")
    worker.kill_hard()
    in_flight = sent()
    assert in_flight < 1000, "the batch finished before the kill: nothing was tested"
    celery_processes("worker", args=("--concurrency", "2"))
    # The killed worker's messages stay unacknowledged until the visibility timeout;
    # the next sweep re-enqueues the rows still pending.
    reminder_sweep(requeue_after=timedelta(0))
    wait_until(lambda: sent() == 1000, 120, "every reminder")
    clock.sleep(1)
    assert_each_sent_exactly_once(1000)


def test_redis_stopped_and_started_mid_batch_still_sends_every_reminder_once(
    celery_processes, throwaway_redis
):
    # Enough rows that the batch outlasts the moment Redis stops, on a loaded machine too.
    enrol_many(4000, daytime_zone())
    celery_processes("worker", redis_url=throwaway_redis.url, args=("--concurrency", "2"))
    sweep_in_subprocess(throwaway_redis.url)
    wait_until(lambda: sent() >= 150, 60, "the batch to start")
    throwaway_redis.stop()
    # Counted as Redis stops: the batch a worker holds may finish during the outage.
    in_flight = sent()
    clock.sleep(2)
    throwaway_redis.start()  # empty: the queued batches are gone with it
    assert in_flight < 4000, "the batch finished before Redis stopped: nothing was tested"
    sweep_in_subprocess(throwaway_redis.url, "--requeue-after", "0")
    wait_until(lambda: sent() == 4000, 240, "every reminder")
    clock.sleep(1)
    assert_each_sent_exactly_once(4000)


def test_two_beat_processes_send_once_per_patient(celery_processes):
    enrol_many(50, daytime_zone())
    celery_processes("worker", args=("--concurrency", "2"))
    fast = {"REMINDER_SWEEP_SECONDS": "1", "ALERT_SWEEP_SECONDS": "3600"}
    celery_processes("beat", env=fast)
    celery_processes("beat", env=fast)
    wait_until(lambda: sent() == 50, 60, "the reminders")
    clock.sleep(4)  # several more ticks of both beats
    assert_each_sent_exactly_once(50)


def test_two_sweepers_ticking_through_a_simulated_day_send_once_per_patient_per_day(
    celery_processes,
):
    """Two sweepers race over the same simulated 48 hours (June: no clock change)."""
    from patients.models import Patient

    clinic = ClinicFactory()
    for zone in ("Europe/London", "America/New_York", "Asia/Kolkata"):
        enrol_many(5, zone, clinic)
    Patient.objects.update(reminder_time=time(9, 30))
    celery_processes("worker", args=("--concurrency", "2"))
    sweepers = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "reminders_sweep",
                "--day",
                "2026-06-01",
                "--step-minutes",
                "10",
            ],
            cwd=ROOT,
            env=process_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for sweeper in sweepers:
        assert sweeper.wait(timeout=300) == 0, sweeper.stderr.read().decode()
    wait_until(
        lambda: not ReminderDelivery.objects.filter(status="pending").exists(), 120, "every send"
    )
    # 1 and 2 June lie wholly inside the 48 simulated hours in all three zones.
    rows = ReminderDelivery.objects.filter(local_date__in=[date(2026, 6, 1), date(2026, 6, 2)])
    keys = list(rows.values_list("patient_id", "local_date", "kind"))
    assert len(keys) == 15 * 2 * 2  # patients × days × (reminder, nudge)
    assert len(set(keys)) == len(keys)
    assert PortalNotice.objects.count() == ReminderDelivery.objects.filter(status="sent").count()
