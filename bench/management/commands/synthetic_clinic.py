"""Build (or reuse) the benchmark's synthetic clinic, with a progress bar on stderr."""

from __future__ import annotations

import dataclasses
import time

from django.core.management.base import BaseCommand, CommandError

from bench import synthetic
from bench.progress import Progress, say
from bench.run import refuse_shared_stores


class Command(BaseCommand):
    help = (
        "Create the synthetic clinic of `make bench` (10,000 patients, 90 days of plans and"
        " check-ins) with COPY; reuse it when it is already there."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--patients", type=int, default=synthetic.CLINIC_SPEC.patients)
        parser.add_argument("--days", type=int, default=synthetic.CLINIC_SPEC.days)
        parser.add_argument(
            "--reminders",
            action="store_true",
            help="Also the reminder fan-out's population (100,000 patients, no check-ins).",
        )

    def handle(self, *args, patients: int, days: int, reminders: bool, **options) -> None:
        # The same guard as `make bench`: never thousands of accounts in the demo's stores.
        refusal = refuse_shared_stores()
        if refusal:
            raise CommandError(refusal)
        specs = [dataclasses.replace(synthetic.CLINIC_SPEC, patients=patients, days=days)]
        if reminders:
            specs.append(synthetic.REMINDER_SPEC)
        for spec in specs:
            built = ensure_with_progress(spec)
            self.stdout.write(
                f"{built.clinic.name}: {built.patients:,} patients, {built.checkins:,} check-ins,"
                f" {'reused' if built.reused else 'built'}; staff login {built.staff_username}"
                f" / {synthetic.PASSWORD}"
            )


def ensure_with_progress(spec: synthetic.Spec) -> synthetic.SyntheticClinic:
    """`synthetic.ensure` with a progress bar while it builds."""
    started = time.monotonic()
    bar = Progress(synthetic.expected_rows(spec), f"building {spec.slug}")
    built = synthetic.ensure(spec, progress=lambda n, stage: bar.advance(n, stage=stage), say=say)
    if not built.reused:
        bar.done()
        say(f"{spec.slug}: built in {time.monotonic() - started:.0f} s")
    else:
        say(f"{spec.slug}: reused ({built.patients:,} patients, {built.checkins:,} check-ins)")
    return built
