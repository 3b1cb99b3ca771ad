"""Run the reminder sweep once, now or at a simulated time (operations and tests)."""

from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand, CommandError

from programmes.reminders import reminder_sweep


class Command(BaseCommand):
    help = "Insert due reminder rows and enqueue their sends; with --day, tick through a day."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--at", help="Sweep as if it were this UTC time (ISO 8601).")
        parser.add_argument("--day", help="Tick through this UTC day (YYYY-MM-DD) and the next.")
        parser.add_argument("--step-minutes", type=int, default=5)
        parser.add_argument(
            "--requeue-after", type=int, help="Seconds before a pending row is re-enqueued."
        )

    def handle(self, *args, **options) -> None:
        requeue = (
            timedelta(seconds=options["requeue_after"])
            if options["requeue_after"] is not None
            else None
        )
        if options["day"]:
            try:
                start = datetime.fromisoformat(options["day"]).replace(tzinfo=UTC)
            except ValueError:
                raise CommandError("--day takes YYYY-MM-DD") from None
            moment, total = start, 0
            while moment < start + timedelta(days=2):
                total += reminder_sweep(now=moment, requeue_after=requeue or timedelta(days=9999))
                moment += timedelta(minutes=options["step_minutes"])
            self.stdout.write(f"{total} reminder rows enqueued")
            return
        at = datetime.fromisoformat(options["at"]) if options["at"] else None
        self.stdout.write(f"{reminder_sweep(now=at, requeue_after=requeue)} reminder rows enqueued")
