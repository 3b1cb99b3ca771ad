"""Today's prescription for a patient: what to do today, or why there is nothing.
Today's permission decides; the portal, the API and reminders show what this says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from patients.models import Patient
from programmes.domain.permission import NOT_NOW
from programmes.domain.symptoms import EXIT_ADVICE
from programmes.models import Plan, PlanInversionStep, PlanStatus
from programmes.permission import TreatmentToday, treatment_today


@dataclass(frozen=True)
class TodayExercise:
    id: int  # the plan exercise (dose)
    name: str
    category: str
    dosage: str
    instructions: str


@dataclass(frozen=True)
class TodayPrescription:
    day: date
    plan: Plan | None
    inversion: PlanInversionStep | None
    inversion_reason: str
    exit_advice: str
    exercises: tuple[TodayExercise, ...]
    nothing_reason: str

    @property
    def has_session(self) -> bool:
        return self.inversion is not None or bool(self.exercises)


def prescription_for(patient: Patient, day: date | None = None) -> TodayPrescription:
    """What the patient should do today, or why there is nothing: today's permission decides.

    Inversion (a step, or an exercise of the inversion category) is shown only where the
    permission allows it within today's limits.
    """
    now = treatment_today(patient.pk, today=day)
    return prescription_from(now)


def prescription_from(now: TreatmentToday) -> TodayPrescription:
    plan, day, permission = now.plan, now.today, now.permission
    if plan is None:
        return TodayPrescription(
            day,
            None,
            None,
            "",
            EXIT_ADVICE,
            (),
            "You have no programme yet: your clinician will set one up after your assessment.",
        )
    if plan.status == PlanStatus.PAUSED:
        return TodayPrescription(
            day,
            plan,
            None,
            "",
            EXIT_ADVICE,
            (),
            "Your programme is paused by your clinician. "
            + (f"Reason: {plan.pause_reason}" if plan.pause_reason else ""),
        )
    if not permission.programme:
        return TodayPrescription(day, plan, None, "", EXIT_ADVICE, (), permission.patient_reason)
    inversion = now.inversion_step
    inversion_reason = ""
    if plan.current_step_id is not None and inversion is None:
        inversion_reason = (
            "Inversion is paused until your clinician reviews it. " + plan.pause_reason
            if plan.inversion_paused
            else permission.patient_reason or NOT_NOW
        )
    exercises = tuple(
        TodayExercise(
            id=p.pk,
            name=p.exercise.name,
            category=p.exercise.get_category_display(),
            dosage=p.dosage_text(),
            instructions=p.exercise.patient_instructions,
        )
        for p in now.exercises
    )
    return TodayPrescription(day, plan, inversion, inversion_reason, EXIT_ADVICE, exercises, "")
