"""`manage.py adherence_reconcile [--check]`: compare the kept adherence with its sources."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from programmes.adherence_reconcile import adherence_reconcile

SHOWN = 20


class Command(BaseCommand):
    help = "Recompute the kept adherence from check-ins and plans; report and repair differences."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="Report only; exit 1 if anything differs."
        )

    def handle(self, *args, check: bool = False, **options) -> None:
        result = adherence_reconcile(repair=not check)
        for plan_id, expected, kept in result.plans[:SHOWN]:
            self.stdout.write(f"plan {plan_id}: days {kept or 'missing'}, expected {expected}")
        for plan_id, day, checkins, credit, kept_checkins, kept_credit in result.credits[:SHOWN]:
            self.stdout.write(
                f"plan {plan_id} {day}: {kept_checkins or 0} check-in(s) credit {kept_credit or 0}"
                f", expected {checkins or 0} credit {credit or 0}"
            )
        shown = min(len(result.plans), SHOWN) + min(len(result.credits), SHOWN)
        hidden = result.differences - shown
        if hidden > 0:
            self.stdout.write(f"… and {hidden} more")
        if not result.differences:
            self.stdout.write("Adherence reconciled: no difference.")
        elif check:
            raise CommandError(f"{result.differences} difference(s) found (not repaired).")
        else:
            self.stdout.write(f"Repaired {result.differences} difference(s).")
