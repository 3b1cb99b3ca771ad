"""Adherence kept as it happens: what each plan prescribes and what each day's check-ins earned.

PostgreSQL writes both tables itself (migration 0015's triggers), in the same transaction
as the check-in, plan change, pause, resume or time-zone change that moves them, so no
write path can forget them. Django only reads them; `programmes.adherence_reconcile`
recomputes them from scratch and repairs any difference.
"""

from __future__ import annotations

from django.db import models


class DateMultiRangeField(models.Field):
    """PostgreSQL's `datemultirange` (Django has range fields, not multiranges)."""

    description = "A set of date ranges"

    def db_type(self, connection) -> str:
        return "datemultirange"


class PlanDays(models.Model):
    """The local days on which a plan prescribes a session (CLINICAL.md section 6).

    From its start date to its end date (open while it runs), less the spans a clinician
    had it paused; empty for a draft. Days are the patient's own, so a change of time
    zone rebuilds them.
    """

    plan = models.OneToOneField(
        "programmes.Plan",
        primary_key=True,
        on_delete=models.DO_NOTHING,  # PostgreSQL cascades (migration 0015)
        db_constraint=False,
        related_name="+",
    )
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    clinic = models.ForeignKey(
        "clinic.Clinic", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    days = DateMultiRangeField()

    class Meta:
        indexes = [
            models.Index(fields=["clinic", "patient"], name="plandays_clinic_patient_idx"),
            models.Index(fields=["patient"], name="plandays_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"plan {self.plan_id}: {self.days}"


class DayCredit(models.Model):
    """What one plan's check-ins of one local day earned, before the cap of one session.

    Kept as sums (not the capped figure) so concurrent check-ins add rather than
    overwrite; `completed` is the capped figure on a prescribed day, settled by the same
    triggers and again whenever the plan's days change.
    """

    plan = models.ForeignKey(
        "programmes.Plan", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    day = models.DateField()
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    clinic = models.ForeignKey(
        "clinic.Clinic", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    checkins = models.PositiveIntegerField()
    credit = models.DecimalField(max_digits=6, decimal_places=1)
    # What the day adds to adherence: LEAST(1, credit) if the plan prescribes it, else 0.
    completed = models.DecimalField(max_digits=2, decimal_places=1, db_default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "day"], name="daycredit_plan_day_unique")
        ]
        indexes = [
            # Covering: a report sums `completed` from the index alone.
            models.Index(
                fields=["clinic", "day"],
                include=["patient", "plan", "completed"],
                name="daycredit_clinic_day_idx",
            ),
            models.Index(
                fields=["patient", "day"],
                include=["plan", "completed"],
                name="daycredit_patient_day_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"plan {self.plan_id} {self.day}: {self.credit} ({self.checkins})"
