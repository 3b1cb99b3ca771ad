"""Reminder fan-out: 100,000 due reminders sent by two real Celery worker processes.

The sweep (`programmes.reminders.reminder_sweep`) runs at 02:00 UTC of today:
late morning for the reminder clinic's 100,000 patients (UTC+9/+10, reminders
08:00-10:30), night for the 10,000 European patients of the main synthetic
clinic, so exactly the reminder clinic is due. It inserts ledger rows patient
chunk by patient chunk and enqueues them in batches; the workers send through
the console channel into their log files, which are then read to count sends
and duplicates.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from clinic.models import Clinic

TARGET_SECONDS = 180
SENT_LINE = re.compile(rb"\[reminder (inverto-[^\]]+)\]")


@dataclass
class FanoutResult:
    seconds: float
    swept: int
    sent: int
    failed: int
    pending: int
    sends: int  # console lines written by the workers
    duplicates: int
    redis_peak_mb: float
    redis_baseline_mb: float
    timed_out: bool


def sweep_instant(today=None) -> datetime:
    today = today or timezone.now().date()
    return datetime.combine(today, clock(2, 0), UTC)


def reset_ledger(clinic: Clinic) -> None:
    """Forget the reminder clinic's earlier sends, so its patients are due again."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            DELETE FROM programmes_portalnotice WHERE delivery_id IN (
                SELECT id FROM programmes_reminderdelivery WHERE clinic_id = %s)
            """,
            [clinic.pk],
        )
        cursor.execute("DELETE FROM programmes_reminderdelivery WHERE clinic_id = %s", [clinic.pk])


class RedisSampler(threading.Thread):
    """Samples the server's used_memory every 50 ms; Redis here is shared, so the
    baseline is taken first and the peak is reported beside it."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = redis.Redis.from_url(url)
        self.baseline = self._used()
        self.peak = self.baseline
        self.stopping = threading.Event()

    def _used(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def run(self) -> None:
        while not self.stopping.is_set():
            self.peak = max(self.peak, self._used())
            self.stopping.wait(0.05)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
        self.peak = max(self.peak, self._used())


def _ledger(clinic: Clinic, local_date) -> tuple[int, int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FILTER (WHERE status = 'sent'),
                   count(*) FILTER (WHERE status = 'failed'),
                   count(*) FILTER (WHERE status = 'pending')
              FROM programmes_reminderdelivery WHERE clinic_id = %s AND local_date = %s
            """,
            [clinic.pk, local_date],
        )
        return cursor.fetchone()


def count_sends(log_paths: list[Path]) -> tuple[int, int]:
    """(lines sent, duplicates) from the workers' console output."""
    keys: Counter[bytes] = Counter()
    for path in log_paths:
        for match in SENT_LINE.finditer(path.read_bytes()):
            keys[match.group(1)] += 1
    sends = sum(keys.values())
    return sends, sends - len(keys)


def run_fanout(
    clinic: Clinic,
    *,
    expected: int,
    log_dir: Path,
    worker_args: tuple[str, ...] = ("--concurrency", "2"),
    timeout: float = 420,
    say=lambda _m: None,
) -> FanoutResult:
    from bench.processes import CeleryProcess
    from programmes.reminders import reminder_sweep

    instant = sweep_instant()
    reset_ledger(clinic)
    workers = [
        CeleryProcess(
            "worker",
            log_dir=log_dir,
            args=worker_args,
            env={"REMINDER_CHANNEL_OVERRIDE": "console", "LOG_LEVEL": "WARNING"},
        )
        for _ in range(2)
    ]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.wait_ready()
        say(f"two workers ready; sweeping at {instant:%Y-%m-%d %H:%M} UTC")
        sampler = RedisSampler(settings.REDIS_URL)
        sampler.start()
        started = time.perf_counter()
        with override_settings(REMINDER_CHANNEL_OVERRIDE="console"):
            swept = reminder_sweep(now=instant)
        say(f"swept {swept:,} due reminders in {time.perf_counter() - started:.1f} s")
        local_date = None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT min(local_date) FROM programmes_reminderdelivery WHERE clinic_id = %s",
                [clinic.pk],
            )
            local_date = cursor.fetchone()[0]
        deadline = started + timeout
        last_said = 0.0
        timed_out = False
        while True:
            sent, failed, pending = _ledger(clinic, local_date)
            if pending == 0 and sent + failed >= swept:
                break
            now = time.perf_counter()
            if now > deadline:
                timed_out = True
                break
            if now - last_said > 10:
                say(f"  {sent:,} sent, {pending:,} pending ({now - started:.0f} s)")
                last_said = now
            time.sleep(0.25)
        seconds = time.perf_counter() - started
        sampler.stop()
    finally:
        for worker in workers:
            worker.stop()
    sent, failed, pending = _ledger(clinic, local_date)
    sends, duplicates = count_sends([worker.log_path for worker in workers])
    return FanoutResult(
        seconds=seconds,
        swept=swept,
        sent=sent,
        failed=failed,
        pending=pending,
        sends=sends,
        duplicates=duplicates,
        redis_peak_mb=round(sampler.peak / 2**20, 1),
        redis_baseline_mb=round(sampler.baseline / 2**20, 1),
        timed_out=timed_out,
    )


def fanout_line(result: FanoutResult, *, expected: int) -> dict:
    """The reminder fan-out's JSON line: seconds against the limit, sends and duplicates."""
    meets = (
        not result.timed_out
        and result.seconds <= TARGET_SECONDS
        and result.sent == expected
        and result.sends == expected
        and result.duplicates == 0
    )
    return {
        "name": "reminder_fanout",
        "value": round(result.seconds, 1),
        "unit": "s",
        "baseline_kind": "limit",
        "baseline": TARGET_SECONDS,
        "ratio": round(result.seconds / TARGET_SECONDS, 3),
        "target": f"all {expected} sent in <= {TARGET_SECONDS} s (ratio <= 1), 0 duplicates",
        "meets": meets,
        "sends": result.sends,
        "duplicates": result.duplicates,
        "redis_peak_mb": result.redis_peak_mb,
        "due": result.swept,
        "sent": result.sent,
        "failed": result.failed,
        "redis_baseline_mb": result.redis_baseline_mb,
    }
