"""The one loader of today's treatment permission: every path asks it.

`treatment_today(patient)` gathers what `programmes.domain.permission.treatment_permission`
needs (screening, live override, referral, red flag, the running plan with its step and
exercises, today's reported symptoms) in three queries at most (the patient; the plan
with today's symptoms; its exercises), in the patient's own local date, and answers with
what may be shown, sent, assigned, activated or advanced.
Services pass `lock=True` to hold the patient and plan rows while they change them
(always patient first, then plan: one lock order, no deadlock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import CharField, F, Func, Prefetch, QuerySet

from patients.models import Patient, Referral
from patients.services import patient_local_date
from programmes.domain.permission import (
    INVERSION_CATEGORY,
    InversionDose,
    Level,
    PlanFacts,
    ReferralState,
    ScreeningFacts,
    TreatmentPermission,
    inversion_dose,
    treatment_permission,
)
from programmes.models import CheckIn, Plan, PlanExercise, PlanInversionStep

PATIENT_RELATED = (
    "clinic",
    "current_screening__override",
    "current_screening__referral",
)

_REFERRAL_STATE = {
    Referral.Result.PENDING: ReferralState.PENDING,
    Referral.Result.PATHOLOGY_EXCLUDED: ReferralState.EXCLUDED,
    Referral.Result.SPECIALIST_CARE: ReferralState.SPECIALIST,
}


def patient_today(patient: Patient) -> date:
    """The patient's own local date: days, sessions and check-ins are counted in it (the
    one rule, `patients.services.patient_local_date`)."""
    return patient_local_date(patient)


def screening_facts(patient: Patient) -> ScreeningFacts:
    """What the patient's record says, as the permission function reads it.

    `patient` comes with `PATIENT_RELATED` (the current screening, its override and referral).
    A revoked override counts as none.
    """
    red_flag = (
        ReferralState.PENDING if patient.red_flag_reported_at is not None else ReferralState.NONE
    )
    stop = patient.stop_symptom_reported_at is not None
    screening = patient.current_screening
    if screening is None:
        return ScreeningFacts(outcome=None, checkin_red_flag=red_flag, stop_symptom_pending=stop)
    override = getattr(screening, "override", None)
    referral = getattr(screening, "referral", None)
    return ScreeningFacts(
        outcome=screening.outcome,
        valid_until=screening.valid_until,
        override_until=override.expires_on
        if override is not None and override.revoked_at is None
        else None,
        screening_referral=_REFERRAL_STATE[referral.result]
        if referral is not None
        else ReferralState.NONE,
        checkin_red_flag=red_flag,
        stop_symptom_pending=stop,
    )


def as_inversion_dose(dose) -> InversionDose:
    """A plan's (or template's) exercise row as inversion time; a blank hold is the
    exercise's default, as the patient is shown it."""
    hold = (
        dose.hold_seconds if dose.hold_seconds is not None else dose.exercise.default_hold_seconds
    )
    return inversion_dose(
        name=dose.exercise.name,
        sets=dose.sets,
        repetitions=dose.repetitions,
        hold_seconds=hold,
        times_per_day=dose.times_per_day,
    )


def inversion_doses(doses: Iterable[PlanExercise]) -> list[InversionDose]:
    """The plan's inversion-category exercises, as the limits count them."""
    return [as_inversion_dose(d) for d in doses if d.exercise.category == INVERSION_CATEGORY]


def plan_facts(plan: Plan) -> PlanFacts:
    step = plan.current_step
    return PlanFacts(
        status=plan.status,
        start_date=plan.start_date,
        end_date=plan.end_date,
        current_step=step.as_domain() if step is not None else None,
        inversion_paused=plan.inversion_paused,
        pause_cause=plan.inversion_pause_cause,
        ceiling_deg=plan.ceiling_deg,
        full_inversion_allowed=plan.full_inversion_allowed,
    )


def permission_for(
    patient: Patient, plan: Plan | None, *, today: date, symptoms_today: Iterable[str] = ()
) -> TreatmentPermission:
    """The permission for rows already loaded (`patient` with `PATIENT_RELATED`)."""
    return treatment_permission(
        screening=screening_facts(patient),
        plan=plan_facts(plan) if plan is not None else None,
        symptoms_today=symptoms_today,
        today=today,
    )


@dataclass(frozen=True)
class TreatmentToday:
    """One patient's permission today, with the rows it was decided on."""

    patient: Patient
    plan: Plan | None
    today: date
    permission: TreatmentPermission
    symptoms_today: frozenset[str]

    @property
    def inversion_step(self) -> PlanInversionStep | None:
        """The plan's current step, if it may be done today (within today's limits)."""
        if self.plan is None or self.plan.current_step is None:
            return None
        step = self.plan.current_step
        return step if self.permission.allows_step(step.as_domain()) else None

    def exercise_allowed(self, dose: PlanExercise) -> bool:
        return self.permission.allows_exercise(
            category=dose.exercise.category,
            contraindication_tags=dose.exercise.contraindication_tags,
        )

    @property
    def exercises(self) -> list[PlanExercise]:
        """The plan's exercises that may be done today: never an inversion one where
        inversion may not, nor one that would take the day's inversion (with the step
        shown) past today's limits."""
        if self.plan is None or not self.permission.programme:
            return []
        step = self.inversion_step
        shown, doses = [], []
        for dose in self.plan.exercises.all():
            if not self.exercise_allowed(dose):
                continue
            if dose.exercise.category == INVERSION_CATEGORY:
                with_it = [*doses, as_inversion_dose(dose)]
                limits = self.permission.limits
                if limits.prescription_violations(step.as_domain() if step else None, with_it):
                    continue
                doses = with_it
            shown.append(dose)
        return shown

    @property
    def level(self) -> Level:
        return self.permission.level


def _plans(patient_id: int, *, today: date, lock: bool, exercises: bool) -> QuerySet[Plan]:
    """Plans with their step, the patient's symptoms reported on `today` in the same
    statement, and (with `exercises`) their exercises."""
    plans = Plan.objects.select_related("current_step").annotate(
        symptoms_reported=_symptoms_on(patient_id, today)
    )
    if exercises:
        plans = plans.prefetch_related(
            Prefetch(
                "exercises", queryset=PlanExercise.objects.select_related("exercise").order_by()
            )
        )
    if lock:
        plans = plans.select_for_update(of=("self",))
    return plans


def _symptoms_on(patient_id: int, day: date) -> ArraySubquery:
    """Every symptom code the patient's check-ins of `day` reported (repeats allowed)."""
    codes = (
        CheckIn.objects.filter(patient_id=patient_id, local_date=day)
        .order_by()
        .annotate(code=Func(F("symptoms"), function="unnest", output_field=CharField()))
        .values("code")
    )
    return ArraySubquery(codes)


def symptoms_reported_on(patient: Patient, day: date) -> frozenset[str]:
    rows = (
        CheckIn.objects.filter(patient=patient, local_date=day)
        .exclude(symptoms=[])
        .order_by()
        .values_list("symptoms", flat=True)
    )
    return frozenset(code for codes in rows for code in codes)


_RUNNING = object()


def treatment_today(
    patient: Patient | int,
    *,
    plan: Plan | object | None = _RUNNING,
    lock: bool = False,
    today: date | None = None,
    symptoms: Iterable[str] = (),
    exercises: bool = True,
) -> TreatmentToday:
    """Today's permission for one patient, from fresh rows.

    `plan`: the running plan unless given (a draft to activate, say). `symptoms`: those
    of a check-in being submitted now, added to today's stored ones. `lock`: hold the
    patient row and then the plan row until the transaction ends. `exercises`: load the
    plan's exercises with it (False: `plan.exercises` is read from the database when
    asked); the permission itself never reads them.
    """
    patient_id = patient if isinstance(patient, int) else patient.pk
    patients = Patient.objects.select_related(*PATIENT_RELATED)
    if lock:
        patients = patients.select_for_update(of=("self",))
    fresh = patients.get(pk=patient_id)
    today = today or patient_today(fresh)
    loaded: Plan | None = None
    if plan is not _RUNNING and plan is not None:
        loaded = _plans(fresh.pk, today=today, lock=lock, exercises=exercises).get(pk=plan.pk)
    elif plan is _RUNNING:
        loaded = (
            _plans(fresh.pk, today=today, lock=lock, exercises=exercises)
            .running()
            .filter(patient=fresh)
            .first()
        )
    if loaded is not None:
        loaded.patient = fresh
        # Today's stored symptoms came with the plan: no statement of their own.
        stored = frozenset(loaded.symptoms_reported)
    else:
        stored = symptoms_reported_on(fresh, today)
    reported = stored | frozenset(symptoms)
    return TreatmentToday(
        patient=fresh,
        plan=loaded,
        today=today,
        permission=permission_for(fresh, loaded, today=today, symptoms_today=reported),
        symptoms_today=reported,
    )


def treatments_today(patient_ids: Iterable[int]) -> dict[int, TreatmentToday]:
    """Today's permission for many patients at once (reminders, sweeps), in five queries
    whatever their number, each in the patient's own date. Nothing is locked."""
    ids = set(patient_ids)
    patients = {
        p.pk: p for p in Patient.objects.select_related(*PATIENT_RELATED).filter(pk__in=ids)
    }
    plans = {
        plan.patient_id: plan
        for plan in Plan.objects.running()
        .filter(patient_id__in=ids)
        .select_related("current_step")
        .prefetch_related(
            Prefetch(
                "exercises", queryset=PlanExercise.objects.select_related("exercise").order_by()
            )
        )
    }
    days = {pk: patient_today(patient) for pk, patient in patients.items()}
    reported: dict[int, set[str]] = {pk: set() for pk in patients}
    rows = (
        CheckIn.objects.filter(patient_id__in=ids, local_date__in=set(days.values()))
        .exclude(symptoms=[])
        .order_by()
        .values_list("patient_id", "local_date", "symptoms")
    )
    for patient_id, day, codes in rows:
        if days.get(patient_id) == day:
            reported[patient_id].update(codes)
    answers = {}
    for pk, patient in patients.items():
        plan = plans.get(pk)
        if plan is not None:
            plan.patient = patient
        symptoms = frozenset(reported[pk])
        answers[pk] = TreatmentToday(
            patient=patient,
            plan=plan,
            today=days[pk],
            permission=permission_for(patient, plan, today=days[pk], symptoms_today=symptoms),
            symptoms_today=symptoms,
        )
    return answers
