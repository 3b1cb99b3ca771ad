"""`python -m bench.run`: build or reuse the synthetic clinic, then print the figures.

One JSON line per measurement on stdout, each a ratio taken in this same run
(or, for the reminder fan-out, seconds against its limit); progress on stderr.
A missed target is a figure, not a failure: the exit status is non-zero only
when a measurement could not be taken because something broke.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from urllib.parse import urlparse


def main() -> int:
    # The project's settings with the yardstick views mounted (config.bench_urls).
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.bench_settings"
    # WhiteNoise warns that `collectstatic` has not run; the bench serves no static file.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()

    from bench.progress import say

    refusal = refuse_shared_stores()
    if refusal:
        say(refusal)
        return 2
    log_dir = Path(tempfile.mkdtemp(prefix="inverto-bench-"))
    say(f"logs of gunicorn and the workers: {log_dir}")
    _flush_redis()
    started = time.monotonic()

    from bench import synthetic
    from bench.management.commands.synthetic_clinic import ensure_with_progress

    main_clinic = ensure_with_progress(synthetic.CLINIC_SPEC)
    reminder_clinic = ensure_with_progress(synthetic.REMINDER_SPEC)
    from programmes.adherence_reconcile import adherence_reconcile

    reconciled = adherence_reconcile(repair=False)
    say(f"adherence reconcile after the build: {reconciled.differences} difference(s)")

    broken = False
    for measure in (
        lambda: measure_pages(main_clinic),
        lambda: [measure_checkins(main_clinic, log_dir)],
        lambda: [measure_fanout(reminder_clinic, log_dir)],
    ):
        try:
            lines = measure()
        except Exception as error:  # report it, go on with the other measurements
            broken = True
            traceback.print_exc()
            say(f"measurement failed: {error}")
            continue
        from bench.measure import emit

        for line in lines:
            emit(line)
    say(f"done in {time.monotonic() - started:.0f} s")
    if broken or os.environ.get("BENCH_KEEP_LOGS") == "1":
        say(f"logs kept in {log_dir}")
    else:
        shutil.rmtree(log_dir, ignore_errors=True)  # ~20 MB of console reminders a run
    return 1 if broken else 0


def refuse_shared_stores() -> str | None:
    """The bench writes and deletes freely: never against the demo's database or Redis db 0."""
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    redis_db = (urlparse(settings.REDIS_URL).path or "/0").lstrip("/") or "0"
    if os.environ.get("BENCH_ALLOW_ANY_STORE") == "1":
        return None
    if "bench" not in name:
        return f"refusing to run against database {name!r}: use a database named *bench*"
    if redis_db == "0":
        return "refusing to run against Redis db 0 (the demo's): set REDIS_URL to another db"
    return None


def _flush_redis() -> None:
    """Empty the bench's own Redis db: no task left over from an earlier run is worked."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    client.close()


# Measurements.


def measure_pages(built) -> list[dict]:
    """The report pages against the staff page, then the overview as other clinics join."""
    from django.db import connection

    from bench import pages
    from bench.isolation import other_clinics
    from bench.measure import failed_line, ratio_line
    from bench.progress import say

    with connection.cursor() as cursor:
        # A patient with a long inversion history: the heaviest per-patient page.
        cursor.execute(
            """
            SELECT p.patient_id FROM programmes_plan p
             WHERE p.clinic_id = %s AND p.status = 'active' AND p.current_step_id IS NOT NULL
             ORDER BY p.start_date, p.id LIMIT 1
            """,
            [built.clinic.pk],
        )
        row = cursor.fetchone()
    patient_id = row[0] if row else None
    client = pages.staff_client(built.staff_username)
    staff = pages.time_page(client, pages.page_url(pages.STAFF_PAGE, None))
    say(f"staff page: {staff.page_ms:.1f} ms, {staff.statements} statements")
    lines, overview = [], None
    for name, url_name, needs_patient, at_most in pages.PAGES:
        target = f"ratio <= {at_most}"
        url = pages.page_url(url_name, patient_id if needs_patient else None)
        try:
            if url is None:
                raise RuntimeError(f"the page {url_name} does not exist (no such URL name)")
            timing = pages.time_page(client, url)
        except RuntimeError as error:
            lines.append(
                failed_line(
                    name,
                    unit="ms",
                    target=target,
                    error=str(error),
                    baseline_kind=pages.BASELINE_KIND,
                )
            )
            continue
        say(
            f"{name}: page {timing.page_ms:.1f} ms, its {timing.statements} statements"
            f" {timing.sql_ms:.1f} ms (median of {timing.runs})"
        )
        overview = timing if name == "report_overview" else overview
        lines.append(
            ratio_line(
                name,
                value=timing.page_ms,
                baseline=staff.page_ms,
                baseline_kind=pages.BASELINE_KIND,
                unit="ms",
                target=target,
                at_most=at_most,
                url=url,
                statements=timing.statements,
                sql_ms=round(timing.sql_ms, 2),
            )
        )
    if overview is not None:
        url = pages.page_url("reports:overview", None)
        say("copying the clinic into 9 more clinics for the isolation figure")
        with other_clinics(built.clinic, count=9) as added:
            say(f"{added:,} more patients in 9 clinics; measuring the overview again")
            joined = pages.time_page(client, url)
        say(f"report_isolation: {overview.page_ms:.1f} ms alone, {joined.page_ms:.1f} ms joined")
        lines.append(
            ratio_line(
                "report_isolation",
                value=joined.page_ms,
                baseline=overview.page_ms,
                baseline_kind="same_page_one_clinic",
                unit="ms",
                target=f"ratio <= {pages.ISOLATION_RATIO}",
                at_most=pages.ISOLATION_RATIO,
                url=url,
                other_clinics=9,
                other_patients=added,
                statements=joined.statements,
            )
        )
    return lines


def measure_checkins(built, log_dir: Path) -> dict:
    from bench import throughput as tp
    from bench.measure import percentile, ratio_line
    from bench.progress import say

    leftover = tp.remove_load(built.clinic, [])
    if leftover:
        say(f"removed {leftover} check-ins left by an interrupted earlier run")
    sessions = tp.patient_sessions(built.clinic, 6000)
    threads, seconds = 8, 12
    say(f"{len(sessions):,} patient sessions; gunicorn 3 workers x 4 threads; {threads} clients")
    try:
        with tp.Gunicorn(workers=3, threads=4, log_path=log_dir / "gunicorn.log") as server:
            writes = tp.minimal_write_requests(sessions)
            tp.run_load(server.port, writes, threads=4, seconds=2, max_requests=500, expect=201)
            baseline = tp.run_load(
                server.port,
                writes,
                threads=threads,
                seconds=seconds,
                max_requests=1_000_000,
                expect=201,
            )
            say(
                f"minimal write: {baseline.per_second:.0f} req/s ({baseline.errors} errors"
                f" {baseline.first_error})"
            )
            load = tp.run_load(
                server.port,
                tp.checkin_requests(sessions),
                threads=threads,
                seconds=seconds,
                max_requests=len(sessions),
                expect=201,
            )
            say(
                f"check-ins: {load.per_second:.0f} req/s, {load.ok:,} created,"
                f" {load.errors} errors {load.first_error}"
            )
    finally:
        removed = tp.remove_load(built.clinic, sessions)
        say(f"removed the {removed:,} check-ins the load posted")
    return ratio_line(
        "checkin_throughput",
        value=load.per_second,
        baseline=baseline.per_second,
        baseline_kind="minimal_write",
        unit="req/s",
        target=f"ratio >= {tp.TARGET_RATIO}",
        at_least=tp.TARGET_RATIO,
        p50_ms=round(percentile(load.latencies, 0.5) * 1000, 1),
        p95_ms=round(percentile(load.latencies, 0.95) * 1000, 1),
        requests=load.ok,
        errors=load.errors,
        clients=threads,
        baseline_p50_ms=round(percentile(baseline.latencies, 0.5) * 1000, 1),
        baseline_p95_ms=round(percentile(baseline.latencies, 0.95) * 1000, 1),
        **({"first_error": load.first_error} if load.first_error else {}),
    )


def measure_fanout(built, log_dir: Path) -> dict:
    from bench import fanout
    from bench.progress import say

    expected = built.patients
    result = fanout.run_fanout(built.clinic, expected=expected, log_dir=log_dir, say=say)
    say(
        f"reminders: {result.sent:,} sent in {result.seconds:.1f} s, {result.sends:,} console"
        f" lines, {result.duplicates} duplicates, Redis peak {result.redis_peak_mb} MB"
    )
    return fanout.fanout_line(result, expected=expected)


if __name__ == "__main__":
    sys.exit(main())
