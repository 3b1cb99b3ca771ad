"""The sweep's SQL: one reminder per local day at local time, across 2026's clock changes."""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from programmes import services
from programmes.models import CheckIn, Plan, PortalNotice, ProgrammeTemplate, ReminderDelivery
from programmes.permission import patient_today
from programmes.reminders import reminder_send_batch, reminder_sweep
from tests.factories import PatientFactory, screen

pytestmark = pytest.mark.django_db


def enrolled(zone: str, reminder: time, **fields):
    patient = PatientFactory(
        time_zone=zone,
        reminder_time=reminder,
        **{"remind_by_email": False, "remind_in_portal": True, **fields},
    )
    screen(patient)  # only a patient who may follow a programme is reminded
    Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        name="Exercise",
        clinician=patient.clinician,
        start_date=date(2026, 1, 1),
        status="active",
    )
    return patient


def tick_through(start: datetime, hours: int, step_minutes: int = 5) -> None:
    moment = start
    while moment < start + timedelta(hours=hours):
        reminder_sweep(now=moment)
        moment += timedelta(minutes=step_minutes)


@pytest.mark.parametrize(
    ("zone", "change_day"),
    [
        ("Europe/London", date(2026, 3, 29)),
        ("Europe/London", date(2026, 10, 25)),
        ("America/New_York", date(2026, 3, 8)),
        ("America/New_York", date(2026, 11, 1)),
    ],
    ids=[
        "London springs forward",
        "London falls back",
        "New York springs forward",
        "New York falls back",
    ],
)
def test_one_reminder_per_local_day_at_local_time_across_clock_change(zone, change_day):
    patient = enrolled(zone, time(18, 0))
    local_zone = ZoneInfo(zone)
    start = datetime.combine(change_day - timedelta(days=1), time(0, 0), local_zone).astimezone(UTC)
    tick_through(start, hours=72, step_minutes=15)
    rows = ReminderDelivery.objects.filter(patient=patient, kind="reminder")
    per_day = Counter(rows.values_list("local_date", flat=True))
    assert per_day == {
        change_day - timedelta(days=1): 1,
        change_day: 1,
        change_day + timedelta(days=1): 1,
    }
    for row in rows:
        local = row.created_at.astimezone(local_zone)
        assert local.date() == row.local_date
        assert (local.hour, local.minute) == (18, 0)


def test_patients_in_different_zones_are_reminded_at_their_own_local_time():
    london = enrolled("Europe/London", time(9, 0))
    tokyo = enrolled("Asia/Tokyo", time(9, 0))
    tick_through(datetime(2026, 6, 1, 0, 0, tzinfo=UTC), hours=24)
    sent_at = {
        row.patient_id: row.created_at
        for row in ReminderDelivery.objects.filter(kind="reminder", local_date=date(2026, 6, 1))
    }
    assert sent_at[london.pk] == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert sent_at[tokyo.pk] == datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 09:00 JST


def test_morning_reminder_gets_one_nudge_and_nothing_in_quiet_hours():
    patient = enrolled("Europe/London", time(9, 30))
    tick_through(datetime(2026, 6, 1, 0, 0, tzinfo=UTC), hours=24)
    rows = ReminderDelivery.objects.filter(patient=patient, local_date=date(2026, 6, 1))
    assert sorted(rows.values_list("kind", flat=True)) == ["nudge", "reminder"]
    for row in rows:
        assert 8 <= row.created_at.astimezone(ZoneInfo("Europe/London")).hour < 21


@pytest.mark.parametrize(
    "setup",
    ["opted_out", "checked_in", "no_active_plan"],
    ids=["opted out", "already checked in today", "no active plan"],
)
def test_no_reminder_when_not_due(setup):
    patient = enrolled("Europe/London", time(18, 0), reminders_opted_out=setup == "opted_out")
    plan = patient.plans.get()
    if setup == "checked_in":
        CheckIn.objects.create(
            plan=plan,
            patient=patient,
            clinic=patient.clinic,
            idempotency_key="00000000-0000-0000-0000-000000000001",
            local_date=date(2026, 6, 1),
            completion="done",
        )
    if setup == "no_active_plan":
        Plan.objects.filter(pk=plan.pk).update(status="paused")
    reminder_sweep(now=datetime(2026, 6, 1, 17, 30, tzinfo=UTC))  # 18:30 BST
    assert not ReminderDelivery.objects.exists()


def test_a_second_sweep_inserts_nothing_and_sending_twice_delivers_once():
    patient = enrolled("Europe/London", time(18, 0))
    moment = datetime(2026, 6, 1, 17, 30, tzinfo=UTC)
    assert reminder_sweep(now=moment) == 1
    assert reminder_sweep(now=moment, requeue_after=timedelta(hours=1)) == 0
    ids = list(ReminderDelivery.objects.values_list("id", flat=True))
    assert reminder_send_batch(ids) == []
    assert reminder_send_batch(ids) == []
    assert PortalNotice.objects.filter(patient=patient).count() == 1
    assert ReminderDelivery.objects.get().status == "sent"


def test_a_failing_channel_is_retried_then_recorded_failed_without_blocking_others(settings):
    settings.REMINDER_MAX_ATTEMPTS = 2
    no_phone = enrolled("Europe/London", time(18, 0), remind_by_sms=True, phone="")
    reachable = enrolled("Europe/London", time(18, 0))
    reminder_sweep(now=datetime(2026, 6, 1, 17, 30, tzinfo=UTC))
    # The SQL skips SMS for a patient with no phone; force a failing row to prove isolation.
    ReminderDelivery.objects.create(
        patient=no_phone,
        clinic=no_phone.clinic,
        local_date=date(2026, 6, 1),
        kind="reminder",
        channel="sms",
    )
    ids = list(ReminderDelivery.objects.values_list("id", flat=True))
    failed = reminder_send_batch(ids)
    assert len(failed) == 1
    assert PortalNotice.objects.filter(patient=reachable).count() == 1
    assert reminder_send_batch(failed) == []
    sms = ReminderDelivery.objects.get(channel="sms")
    assert (sms.status, sms.attempts) == ("failed", 2)
    assert "phone" in sms.last_error


def test_stale_pending_rows_are_enqueued_again():
    enrolled("Europe/London", time(18, 0))
    moment = datetime(2026, 6, 1, 17, 30, tzinfo=UTC)
    reminder_sweep(now=moment)
    later = moment + timedelta(minutes=11)
    assert reminder_sweep(now=later, requeue_after=timedelta(minutes=10)) == 1
    assert ReminderDelivery.objects.get().enqueued_at == later


class WorkerDiesAfterSending:
    """An outside channel whose worker is killed right after the message left it."""

    name = "email"
    transactional = False

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, *, delivery, patient, message) -> None:
        self.sent.append(delivery.idempotency_key)
        raise SystemExit("kill -9")  # nothing after this line runs in the worker


def test_an_outside_channel_killed_mid_send_is_never_sent_again(monkeypatch):
    """E-mail and SMS leave the database: their row is `sending` before they go out,
    so a worker killed after sending can't send it twice; the sweep records it."""
    from programmes import channels

    patient = enrolled("Europe/London", time(18, 0), remind_by_email=True, remind_in_portal=False)
    moment = datetime(2026, 6, 1, 17, 30, tzinfo=UTC)
    assert reminder_sweep(now=moment) == 1
    row = ReminderDelivery.objects.get(patient=patient)
    assert row.channel == "email"
    dying = WorkerDiesAfterSending()
    monkeypatch.setitem(channels.CHANNELS, "email", dying)
    with pytest.raises(SystemExit):
        reminder_send_batch([row.pk])
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sending", 1)

    assert row.claimed_at is not None
    # The test's clock is `moment`: the worker claimed the row then.
    ReminderDelivery.objects.filter(pk=row.pk).update(claimed_at=moment)

    # The task is redelivered and the sweep runs again: nothing goes out a second time.
    assert reminder_send_batch([row.pk]) == []
    assert (
        reminder_sweep(now=moment + timedelta(minutes=11), requeue_after=timedelta(minutes=10)) == 0
    )
    assert len(dying.sent) == 1
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.last_error.startswith("interrupted while sending")


def test_a_row_claimed_recently_is_not_called_interrupted(monkeypatch):
    """The sweep waits for the claim time, not the (older) enqueue time, of a row `sending`."""
    patient = enrolled("Europe/London", time(18, 0), remind_by_email=True, remind_in_portal=False)
    moment = datetime(2026, 6, 1, 17, 30, tzinfo=UTC)
    reminder_sweep(now=moment)
    row = ReminderDelivery.objects.get(patient=patient)
    late_claim = moment + timedelta(minutes=30)
    ReminderDelivery.objects.filter(pk=row.pk).update(status="sending", claimed_at=late_claim)
    reminder_sweep(now=late_claim + timedelta(minutes=1), requeue_after=timedelta(minutes=10))
    row.refresh_from_db()
    assert row.status == "sending"


def test_email_reminder_is_marked_sent_after_it_left(mailoutbox):
    patient = enrolled("Europe/London", time(18, 0), remind_by_email=True, remind_in_portal=False)
    reminder_sweep(now=datetime(2026, 6, 1, 17, 30, tzinfo=UTC))
    row = ReminderDelivery.objects.get(patient=patient)
    assert reminder_send_batch([row.pk]) == []
    assert reminder_send_batch([row.pk]) == []
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert [message.to for message in mailoutbox] == [[patient.email]]


@pytest.mark.parametrize(
    ("lapsed", "names_step"),
    [(False, True), (True, False)],
    ids=["cleared: the step is named", "screening lapsed: no step, only exercises"],
)
def test_reminder_names_the_inversion_step_only_while_the_screening_allows_it(
    lapsed, names_step, monkeypatch
):
    patient = PatientFactory(remind_by_email=False, remind_in_portal=True)
    screen(patient)
    template = ProgrammeTemplate.objects.get(name="Progressive inversion (default)")
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    services.plan_activate(plan=plan, by=patient.clinician)
    if lapsed:  # before the expiry sweep has paused the plan
        # Screenings are never edited: the clock moves to the day after its last valid day.
        ahead = patient.current_screening.valid_until - patient_today(patient) + timedelta(days=1)
        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + ahead)
    today = patient_today(patient)
    row = ReminderDelivery.objects.create(
        patient=patient, clinic=patient.clinic, local_date=today, kind="reminder", channel="portal"
    )
    assert reminder_send_batch([row.pk]) == []
    text = PortalNotice.objects.get(patient=patient).message
    assert ("20°" in text) is names_step
    assert "your exercises" in text
