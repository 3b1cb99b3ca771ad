"""PostgreSQL refuses, at COMMIT, any state the safety kernel forbids (programmes 0010).

Each case sets up a legal state through the services, then writes raw SQL that breaks one
invariant: the transaction is refused (at the statement for a screening edit, a running
plan's start date and the check constraints; at COMMIT for what a service may settle in
several writes) and nothing changed. Each refusal has a legal counterpart that commits, so
the guard is not simply refusing everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from patients import services as patient_services
from patients.domain.screening import intake_valid_until
from patients.models import Screening
from programmes import services
from programmes.domain.permission import PauseCause
from programmes.models import Exercise, PlanExercise, PlanInversionStep, ProgrammeTemplate
from programmes.permission import patient_today
from tests.factories import CONTRAINDICATED, REVIEW, PatientFactory, screen

pytestmark = pytest.mark.django_db(transaction=True)

INVERSION_TEMPLATE = "Progressive inversion (default)"
# UTC-11 and UTC+14, no summer time: their dates always differ by at least one day.
BEHIND, AHEAD, BEHIND_TOO = "Pacific/Pago_Pago", "Pacific/Kiritimati", "Pacific/Midway"

TABLES = (
    "patients_patient",
    "patients_screening",
    "patients_screeningoverride",
    "patients_referral",
    "programmes_exercise",
    "programmes_plan",
    "programmes_planinversionstep",
    "programmes_planexercise",
    "programmes_templateinversionstep",
    "programmes_templateexercise",
)


def snapshot() -> dict[str, list]:
    """Every row of the tables the guard watches, to show a refused write left no trace."""
    rows = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"SELECT to_jsonb(t) FROM {table} t ORDER BY t.id")
            rows[table] = [row[0] for row in cursor.fetchall()]
    return rows


def template(kind: str = "inversion") -> ProgrammeTemplate:
    if kind == "inversion":
        return ProgrammeTemplate.objects.get(name=INVERSION_TEMPLATE)
    return ProgrammeTemplate.objects.get(kind="exercise_only", clinic__isnull=True)


def running_plan(patient, kind: str = "inversion", *, days_ago: int = 0, **options):
    start = patient_today(patient) - timedelta(days=days_ago)
    plan = services.plan_create_from_template(
        patient=patient, template=template(kind), by=patient.clinician, start_date=start, **options
    )
    return services.plan_activate(plan=plan, by=patient.clinician, today=start)


def inversion_exercise() -> Exercise:
    return Exercise.objects.get(clinic__isnull=True, category="inversion")


@dataclass
class Setup:
    """The ids a case's SQL names, as `%(name)s` parameters."""

    patient: int
    plan: int
    step: int | None = None  # the plan's current step
    next_step: int | None = None
    third_step: int | None = None
    high_step: int | None = None  # a step above 60°, not current
    screening: int | None = None  # the current screening
    old_screening: int | None = None  # an earlier screening of the same patient
    pending: int | None = None  # a screening awaiting a clinician's confirmation
    other_screening: int | None = None  # another patient's cleared screening
    other_step: int | None = None  # a step of another patient's plan
    override: int | None = None
    exercise: int | None = None  # a plan exercise row (not inversion)
    library_exercise: int | None = None  # its exercise of the library
    inversion: int | None = None  # the shipped inversion exercise
    clinician: int | None = None
    draft: int | None = None  # a draft plan of another patient
    inversion_dose: int | None = None  # the plan's row of the shipped inversion exercise

    def params(self) -> dict[str, int | None]:
        return dict(self.__dict__)


def _ids(patient, plan, **more) -> Setup:
    plan.refresh_from_db()
    steps = list(plan.inversion_steps.order_by("order").values_list("pk", flat=True))
    dose = plan.exercises.exclude(exercise__category="inversion").first()
    return Setup(
        patient=patient.pk,
        plan=plan.pk,
        step=plan.current_step_id,
        next_step=steps[1] if len(steps) > 1 else None,
        third_step=steps[2] if len(steps) > 2 else None,
        screening=patient.current_screening_id,
        exercise=dose.pk if dose else None,
        library_exercise=dose.exercise_id if dose else None,
        inversion=inversion_exercise().pk,
        clinician=patient.clinician_id,
        **more,
    )


def cleared() -> Setup:
    """A cleared patient on day 0 of an active inversion plan, at step 1 (20°, 1 minute)."""
    patient = PatientFactory()
    screen(patient)
    return _ids(patient, running_plan(patient))


def cleared_day_20() -> Setup:
    """The same on day 20: past the first two weeks' 5 minutes a day."""
    patient = PatientFactory()
    screen(patient, taken_on=timezone.localdate() - timedelta(days=22))
    return _ids(patient, running_plan(patient, days_ago=20))


def cleared_with_inversion_exercise() -> Setup:
    """The same, with the shipped inversion exercise at 1 minute once a day beside step 1."""
    patient = PatientFactory()
    screen(patient)
    plan = running_plan(patient)
    dose = PlanExercise.objects.create(
        plan=plan, exercise=inversion_exercise(), order=9, hold_seconds=60, times_per_day=1
    )
    return _ids(patient, plan, inversion_dose=dose.pk)


def cleared_with_blank_inversion_exercise() -> Setup:
    """The same, the plan's inversion exercise leaving its hold to the library's default."""
    patient = PatientFactory()
    screen(patient)
    plan = running_plan(patient)
    dose = PlanExercise.objects.create(plan=plan, exercise=inversion_exercise(), order=9)
    return _ids(patient, plan, inversion_dose=dose.pk)


def full_inversion() -> Setup:
    """A plan that allows full inversion (ceiling 90°) and has a step at 70°, not current."""
    patient = PatientFactory()
    screen(patient)
    plan = running_plan(patient, ceiling_deg=90, full_inversion_allowed=True)
    high = PlanInversionStep.objects.create(plan=plan, order=9, angle_deg=70, hold_seconds=60)
    return _ids(patient, plan, high_step=high.pk)


def review_with_override() -> Setup:
    patient = PatientFactory()
    screening = screen(patient, **REVIEW)
    override = patient_services.screening_override_record(
        screening=screening, clinician=patient.clinician, reason="BP controlled", channel="admin"
    )
    return _ids(patient, running_plan(patient), override=override.pk)


def contraindicated_paused() -> Setup:
    """Cleared, then a health update (pregnancy) contraindicated: inversion paused."""
    patient = PatientFactory()
    screen(patient)
    plan = running_plan(patient)
    patient_services.patient_health_update(
        patient=patient, changes={"pregnant": True}, by=patient.clinician, channel="admin"
    )
    patient.refresh_from_db()
    plan.refresh_from_db()
    assert plan.inversion_paused and patient.current_screening.outcome == "contraindicated"
    return _ids(patient, plan)


def clinician_paused() -> Setup:
    """A cleared patient whose clinician paused inversion."""
    patient = PatientFactory()
    screen(patient)
    plan = running_plan(patient)
    services.plan_pause_inversion(
        plan=plan, by=patient.clinician, reason="Holiday", cause=PauseCause.CLINICIAN
    )
    return _ids(patient, plan)


def contraindicated_exercises() -> Setup:
    """A contraindicated patient on an active exercise-only plan."""
    patient = PatientFactory()
    screen(patient, **CONTRAINDICATED)
    return _ids(patient, running_plan(patient, "exercise_only"))


def cleared_exercises() -> Setup:
    patient = PatientFactory()
    screen(patient)
    return _ids(patient, running_plan(patient, "exercise_only"))


def rescreened() -> Setup:
    """Contraindicated, then cleared by a new intake (a resolved condition), on a plan."""
    patient = PatientFactory()
    old = screen(patient, **CONTRAINDICATED)
    screen(patient)
    return _ids(patient, running_plan(patient), old_screening=old.pk)


def with_pending_screening() -> Setup:
    """A cleared patient on a plan, and a later screening that waits for confirmation."""
    patient = PatientFactory()
    current = screen(patient)
    pending = Screening.objects.create(
        patient=patient,
        intake=current.intake,
        outcome="cleared",
        findings=[],
        rule_set_version=current.rule_set_version,
        screened_on=current.screened_on,
        valid_until=current.valid_until,
        awaiting_confirmation=True,
    )
    patient.refresh_from_db()
    return _ids(patient, running_plan(patient), pending=pending.pk)


def beside_another_patient() -> Setup:
    """A cleared patient on a plan, beside another on a plan and a third with a draft."""
    other = PatientFactory()
    screen(other)
    other_plan = running_plan(other)
    third = PatientFactory(clinic=other.clinic)
    third_screening = screen(third)
    draft = services.plan_create_from_template(
        patient=third, template=template(), by=third.clinician
    )
    patient = PatientFactory(clinic=other.clinic)
    screen(patient)
    return _ids(
        patient,
        running_plan(patient),
        other_screening=third_screening.pk,
        other_step=other_plan.current_step_id,
        draft=draft.pk,
    )


def paused_plan() -> Setup:
    """A cleared patient whose clinician paused the whole plan."""
    patient = PatientFactory()
    screen(patient)
    plan = services.plan_pause(plan=running_plan(patient), by=patient.clinician, reason="Away")
    return _ids(patient, plan)


def valid_until_local_today() -> Setup:
    """A patient in UTC-11 whose screening's last valid day is their own today."""
    patient = PatientFactory(time_zone=BEHIND)
    today = patient_today(patient)
    taken_on = today - (intake_valid_until(today) - today)
    screening = screen(patient, taken_on=taken_on)
    assert screening.valid_until == today
    return _ids(patient, running_plan(patient))


@dataclass(frozen=True)
class Case:
    setup: object
    sql: str
    refused: str | None  # a regex of the refusal; None: the write is legal and commits
    at: str = "commit"  # where a refusal comes: "commit" or "statement"


REFUSED = {
    "the ceiling lowered below a later step": Case(
        cleared,
        "UPDATE programmes_plan SET ceiling_deg = 20 WHERE id = %(plan)s",
        "step 2 at 30 degrees is above the plan ceiling 20",
    ),
    # The whole prescription: start ranges, the size of a step, inversion exercises.
    "first step raised from 20 degrees, 1 minute to 60 degrees, 4 minutes on day 0": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET angle_deg = 60, hold_seconds = 240 "
        "WHERE id = %(step)s",
        "outside the start ranges",
    ),
    "first step made twice a day": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET sessions_per_day = 2 WHERE id = %(step)s",
        "outside the start ranges",
    ),
    "the next step 25 degrees above the first": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET angle_deg = 45 WHERE id = %(next_step)s",
        "one step is at most",
    ),
    "the next step 3 minutes longer than the first": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET hold_seconds = 240 WHERE id = %(next_step)s",
        "one step is at most",
    ),
    "inversion exercise added at 10 minutes, 6 times a day": Case(
        cleared,
        "INSERT INTO programmes_planexercise "
        '(plan_id, "order", exercise_id, sets, hold_seconds, times_per_day) '
        "VALUES (%(plan)s, 60, %(inversion)s, 1, 600, 6)",
        "above a first step's range",
    ),
    "inversion exercise's hold raised to 3 minutes": Case(
        cleared_with_inversion_exercise,
        "UPDATE programmes_planexercise SET hold_seconds = 180 WHERE id = %(inversion_dose)s",
        "above a first step's range",
    ),
    "inversion exercise's sets made three holds of 1 minute": Case(
        cleared_with_inversion_exercise,
        "UPDATE programmes_planexercise SET sets = 3 WHERE id = %(inversion_dose)s",
        "above a first step's range",
    ),
    "a second inversion exercise: three sessions a day with the step": Case(
        cleared_with_inversion_exercise,
        "INSERT INTO programmes_planexercise "
        '(plan_id, "order", exercise_id, sets, hold_seconds, times_per_day) '
        "VALUES (%(plan)s, 61, %(inversion)s, 1, 60, 1)",
        "3 inversion sessions a day",
    ),
    "the library's default hold of a blank inversion exercise raised to 10 minutes": Case(
        cleared_with_blank_inversion_exercise,
        "UPDATE programmes_exercise SET default_hold_seconds = 600 WHERE id = %(inversion)s",
        "above a first step's range",
    ),
    "a stop symptom recorded while inversion runs": Case(
        cleared,
        "UPDATE patients_patient SET stop_symptom_reported_at = now() WHERE id = %(patient)s",
        "stop symptom reported at a check-in awaits a clinician's review",
    ),
    # Caps of CLINICAL.md section 3 on the step rows.
    "current step raised to 90 degrees, 10 minutes, twice a day": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET angle_deg = 90, hold_seconds = 600, "
        "sessions_per_day = 2 WHERE id = %(step)s",
        "above 60 and the plan does not allow full inversion",
    ),
    "current step above the plan's own ceiling": Case(
        cleared,
        "UPDATE programmes_plan SET ceiling_deg = 15 WHERE id = %(plan)s",
        "above the plan ceiling",
    ),
    "a step that is not current raised above 60 degrees": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET angle_deg = 65 WHERE id = %(next_step)s",
        "above 60 and the plan does not allow full inversion",
    ),
    "full inversion withdrawn while a step is at 70 degrees": Case(
        full_inversion,
        "UPDATE programmes_plan SET full_inversion_allowed = false, ceiling_deg = 60 "
        "WHERE id = %(plan)s",
        "above 60 and the plan does not allow full inversion",
    ),
    "first step: 200 s twice a day is outside the start ranges": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET hold_seconds = 200, sessions_per_day = 2 "
        "WHERE id = %(step)s",
        "outside the start ranges",
    ),
    "first step: intermittent 12 cycles of 30 s is 6 minutes a session": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET cycles = 12, cycle_seconds = 30 "
        "WHERE id = %(step)s",
        "outside the start ranges",
    ),
    "first two weeks: step 3 (3 minutes) twice a day made current": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET sessions_per_day = 2 "
        "WHERE id = %(third_step)s;"
        "UPDATE programmes_plan SET current_step_id = %(third_step)s WHERE id = %(plan)s",
        "360 s inverted a day is above today's limit of 300 s",
    ),
    "angle beyond 90 degrees": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET angle_deg = 95 WHERE id = %(step)s",
        "plan_step_angle_10_90",
        at="statement",
    ),
    "a hold over 10 minutes": Case(
        cleared_day_20,
        "UPDATE programmes_planinversionstep SET hold_seconds = 601 WHERE id = %(step)s",
        "plan_step_hold_max_10_min",
        at="statement",
    ),
    "three sessions a day": Case(
        cleared_day_20,
        "UPDATE programmes_planinversionstep SET sessions_per_day = 3 WHERE id = %(step)s",
        "plan_step_sessions_1_2",
        at="statement",
    ),
    "intermittent cycles of 40 s": Case(
        cleared_day_20,
        "UPDATE programmes_planinversionstep SET cycles = 5, cycle_seconds = 40 "
        "WHERE id = %(step)s",
        "plan_step_intermittent_cycles_20_30",
        at="statement",
    ),
    "intermittent cycles without their length": Case(
        cleared_day_20,
        "UPDATE programmes_planinversionstep SET cycles = 5 WHERE id = %(step)s",
        "plan_step_intermittent_cycles_20_30",
        at="statement",
    ),
    "an intermittent session of 30 cycles of 25 s (12.5 minutes)": Case(
        cleared_day_20,
        "UPDATE programmes_planinversionstep SET cycles = 30, cycle_seconds = 25 "
        "WHERE id = %(step)s",
        "plan_step_session_max_10_min",
        at="statement",
    ),
    "a ceiling above 60 degrees without full inversion": Case(
        cleared,
        "UPDATE programmes_plan SET ceiling_deg = 80 WHERE id = %(plan)s",
        "plan_ceiling_above_60_needs_full_inversion",
        at="statement",
    ),
    "a template step above 60 degrees": Case(
        cleared,
        'UPDATE programmes_templateinversionstep SET angle_deg = 61 WHERE "order" = 4',
        "template_step_angle_max_60",
        at="statement",
    ),
    "a template step of 3 sessions a day": Case(
        cleared,
        "UPDATE programmes_templateinversionstep SET sessions_per_day = 3",
        "template_step_sessions_1_2",
        at="statement",
    ),
    # The current step is the plan's own.
    "current step taken from another patient's plan": Case(
        beside_another_patient,
        "UPDATE programmes_plan SET current_step_id = %(other_step)s WHERE id = %(plan)s",
        "current step belongs to another plan",
    ),
    "current step moved onto another plan": Case(
        beside_another_patient,
        'UPDATE programmes_planinversionstep SET plan_id = %(draft)s, "order" = 99 '
        "WHERE id = %(step)s",
        "current step belongs to another plan",
    ),
    # Inversion for a patient who must not invert, whichever table the change came through.
    "plan: inversion resumed for a contraindicated patient": Case(
        contraindicated_paused,
        "UPDATE programmes_plan SET inversion_paused = false, inversion_pause_cause = '' "
        "WHERE id = %(plan)s",
        "inversion refused .*screening is contraindicated",
    ),
    "plan: a step made current on a contraindicated patient's exercise plan": Case(
        contraindicated_exercises,
        "INSERT INTO programmes_planinversionstep "
        '(plan_id, "order", angle_deg, hold_seconds, sessions_per_day, days_per_week) '
        "VALUES (%(plan)s, 0, 20, 60, 1, 7);"
        "UPDATE programmes_plan SET current_step_id = "
        "(SELECT id FROM programmes_planinversionstep WHERE plan_id = %(plan)s) "
        "WHERE id = %(plan)s",
        "inversion refused .*screening is contraindicated",
    ),
    "plan exercise: the inversion exercise added for a contraindicated patient": Case(
        contraindicated_exercises,
        "INSERT INTO programmes_planexercise "
        '(plan_id, "order", exercise_id, sets, times_per_day) '
        "VALUES (%(plan)s, 9, %(inversion)s, 1, 1)",
        "inversion refused .*screening is contraindicated",
    ),
    "plan exercise: an exercise swapped for the inversion exercise": Case(
        contraindicated_exercises,
        "UPDATE programmes_planexercise SET exercise_id = %(inversion)s WHERE id = %(exercise)s",
        "inversion refused .*screening is contraindicated",
    ),
    "exercise: an exercise on the plan recategorised as inversion": Case(
        contraindicated_exercises,
        "UPDATE programmes_exercise SET category = 'inversion' WHERE id = %(library_exercise)s",
        "inversion refused .*screening is contraindicated",
    ),
    "patient: current screening pointed back at a contraindicated one": Case(
        rescreened,
        "UPDATE patients_patient SET current_screening_id = %(old_screening)s "
        "WHERE id = %(patient)s",
        "inversion refused .*screening is contraindicated",
    ),
    "patient: current screening removed": Case(
        cleared,
        "UPDATE patients_patient SET current_screening_id = NULL WHERE id = %(patient)s",
        "inversion refused .*has not been screened",
    ),
    "patient: another patient's screening made current": Case(
        beside_another_patient,
        "UPDATE patients_patient SET current_screening_id = NULL WHERE id = (SELECT patient_id "
        "FROM patients_screening WHERE id = %(other_screening)s);"
        "UPDATE patients_patient SET current_screening_id = %(other_screening)s "
        "WHERE id = %(patient)s",
        "is another patient's",
    ),
    "patient: a red flag reported while inversion runs": Case(
        cleared,
        "UPDATE patients_patient SET red_flag_reported_at = now() WHERE id = %(patient)s",
        "inversion refused .*red-flag symptom",
    ),
    "patient: a time zone ahead, where the screening has lapsed": Case(
        valid_until_local_today,
        f"UPDATE patients_patient SET time_zone = '{AHEAD}' WHERE id = %(patient)s",
        "inversion refused .*screening expired",
    ),
    "patient: a screening awaiting confirmation made current": Case(
        with_pending_screening,
        "UPDATE patients_patient SET current_screening_id = %(pending)s WHERE id = %(patient)s",
        "awaits a clinician's confirmation",
    ),
    "override: deleted": Case(
        review_with_override,
        "DELETE FROM patients_screeningoverride WHERE id = %(override)s",
        "inversion refused .*review_required and no override",
    ),
    "override: revoked": Case(
        review_with_override,
        "UPDATE patients_screeningoverride SET revoked_at = now() WHERE id = %(override)s",
        "inversion refused .*override was revoked",
    ),
    "override: its last day moved into the past": Case(
        review_with_override,
        "UPDATE patients_screeningoverride SET expires_on = current_date - 2 "
        "WHERE id = %(override)s",
        "inversion refused .*override expired",
    ),
    # Screenings are never edited (refused at once).
    "screening: outcome turned to cleared": Case(
        review_with_override,
        "UPDATE patients_screening SET outcome = 'cleared' WHERE id = %(screening)s",
        "a screening is never edited",
        at="statement",
    ),
    "screening: a contraindication edited away": Case(
        contraindicated_paused,
        "UPDATE patients_screening SET outcome = 'cleared', findings = '[]' "
        "WHERE id = %(screening)s",
        "a screening is never edited",
        at="statement",
    ),
    "screening: findings edited": Case(
        review_with_override,
        "UPDATE patients_screening SET findings = '[]' WHERE id = %(screening)s",
        "a screening is never edited",
        at="statement",
    ),
    "screening: validity extended": Case(
        cleared,
        "UPDATE patients_screening SET valid_until = valid_until + 365 WHERE id = %(screening)s",
        "a screening is never edited",
        at="statement",
    ),
    "screening: moved to another intake": Case(
        rescreened,
        "UPDATE patients_screening SET intake_id = (SELECT intake_id FROM patients_screening "
        "WHERE id = %(old_screening)s) WHERE id = %(screening)s",
        "a screening is never edited",
        at="statement",
    ),
    "screening: moved to another patient": Case(
        beside_another_patient,
        "UPDATE patients_screening SET patient_id = %(patient)s WHERE id = %(other_screening)s",
        "a screening is never edited",
        at="statement",
    ),
    "screening: a confirmed one set awaiting confirmation again": Case(
        cleared,
        "UPDATE patients_screening SET awaiting_confirmation = true WHERE id = %(screening)s",
        "can't await confirmation again",
        at="statement",
    ),
    # A running plan's start date (the first two weeks count from it).
    "running plan: start date moved back a month": Case(
        cleared,
        "UPDATE programmes_plan SET start_date = start_date - 30 WHERE id = %(plan)s",
        "running plan's start date can't change",
        at="statement",
    ),
    "paused plan: start date moved back a month": Case(
        paused_plan,
        "UPDATE programmes_plan SET start_date = start_date - 30 WHERE id = %(plan)s",
        "running plan's start date can't change",
        at="statement",
    ),
    # Plan exercise doses.
    "plan exercise: 11 sets": Case(
        cleared,
        "UPDATE programmes_planexercise SET sets = 11 WHERE id = %(exercise)s",
        "plan_exercise_sets_max_10",
        at="statement",
    ),
    "plan exercise: 101 repetitions": Case(
        cleared,
        "UPDATE programmes_planexercise SET repetitions = 101 WHERE id = %(exercise)s",
        "plan_exercise_repetitions_max_100",
        at="statement",
    ),
    "plan exercise: a hold over 10 minutes": Case(
        cleared,
        "UPDATE programmes_planexercise SET hold_seconds = 601 WHERE id = %(exercise)s",
        "plan_exercise_hold_max_10_min",
        at="statement",
    ),
    "plan exercise: 7 times a day": Case(
        cleared,
        "UPDATE programmes_planexercise SET times_per_day = 7 WHERE id = %(exercise)s",
        "plan_exercise_times_per_day_1_6",
        at="statement",
    ),
    "plan exercise: 0 times a day": Case(
        cleared,
        "UPDATE programmes_planexercise SET times_per_day = 0 WHERE id = %(exercise)s",
        "plan_exercise_times_per_day_1_6",
        at="statement",
    ),
    "template exercise: 11 sets": Case(
        cleared,
        "UPDATE programmes_templateexercise SET sets = 11",
        "template_exercise_sets_max_10",
        at="statement",
    ),
}

LEGAL = {
    "a stop symptom recorded as inversion pauses": Case(
        cleared,
        "UPDATE patients_patient SET stop_symptom_reported_at = now() WHERE id = %(patient)s;"
        "UPDATE programmes_plan SET inversion_paused = true, "
        "inversion_pause_cause = 'stop_symptom' WHERE id = %(plan)s",
        None,
    ),
    "inversion exercise of 1 minute once a day beside step 1": Case(
        cleared,
        "INSERT INTO programmes_planexercise "
        '(plan_id, "order", exercise_id, sets, hold_seconds, times_per_day) '
        "VALUES (%(plan)s, 60, %(inversion)s, 1, 60, 1)",
        None,
    ),
    "inversion exercise's hold lowered": Case(
        cleared_with_inversion_exercise,
        "UPDATE programmes_planexercise SET hold_seconds = 30 WHERE id = %(inversion_dose)s",
        None,
    ),
    "first two weeks: step 2 (2 minutes) twice a day made current, 4 minutes a day": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET sessions_per_day = 2 WHERE id = %(next_step)s;"
        "UPDATE programmes_plan SET current_step_id = %(next_step)s WHERE id = %(plan)s",
        None,
    ),
    "first step: intermittent 4 cycles of 30 s is 2 minutes a session": Case(
        cleared,
        "UPDATE programmes_planinversionstep SET cycles = 4, cycle_seconds = 30 "
        "WHERE id = %(step)s",
        None,
    ),
    "day 20: step 3 (3 minutes) twice a day made current, past 5 minutes a day": Case(
        cleared_day_20,
        "UPDATE programmes_planinversionstep SET sessions_per_day = 2 "
        "WHERE id = %(third_step)s;"
        "UPDATE programmes_plan SET current_step_id = %(third_step)s WHERE id = %(plan)s",
        None,
    ),
    "full inversion allowed: the 70 degree step made current": Case(
        full_inversion,
        "UPDATE programmes_plan SET current_step_id = %(high_step)s WHERE id = %(plan)s",
        None,
    ),
    "the plan's own next step made current": Case(
        cleared,
        "UPDATE programmes_plan SET current_step_id = %(next_step)s WHERE id = %(plan)s",
        None,
    ),
    "the ceiling lowered to the plan's highest step": Case(
        full_inversion, "UPDATE programmes_plan SET ceiling_deg = 70 WHERE id = %(plan)s", None
    ),
    "a template step at 60 degrees, 2 sessions a day": Case(
        cleared,
        "UPDATE programmes_templateinversionstep SET angle_deg = 60, sessions_per_day = 2 "
        'WHERE "order" = 3',
        None,
    ),
    "plan: inversion resumed for a cleared patient": Case(
        clinician_paused,
        "UPDATE programmes_plan SET inversion_paused = false, inversion_pause_cause = '' "
        "WHERE id = %(plan)s",
        None,
    ),
    "plan: a contraindicated patient's paused plan edited elsewhere": Case(
        contraindicated_paused,
        "UPDATE programmes_plan SET pause_reason = 'Reviewed by phone', auto_advance = true "
        "WHERE id = %(plan)s",
        None,
    ),
    "plan: a contraindicated patient's plan ended": Case(
        contraindicated_paused,
        "UPDATE programmes_plan SET status = 'ended', inversion_paused = false WHERE id = %(plan)s",
        None,
    ),
    "plan exercise: the inversion exercise added for a cleared patient": Case(
        cleared_exercises,
        "INSERT INTO programmes_planexercise "
        '(plan_id, "order", exercise_id, sets, times_per_day) '
        "VALUES (%(plan)s, 9, %(inversion)s, 1, 1)",
        None,
    ),
    "plan exercise: a contraindicated patient's exercise dose changed": Case(
        contraindicated_exercises,
        "UPDATE programmes_planexercise SET sets = 10, repetitions = 100, hold_seconds = 600, "
        "times_per_day = 6 WHERE id = %(exercise)s",
        None,
    ),
    "exercise: one on a contraindicated patient's plan recategorised, not as inversion": Case(
        contraindicated_exercises,
        "UPDATE programmes_exercise SET category = CASE category WHEN 'core' THEN 'mobility' "
        "ELSE 'core' END WHERE id = %(library_exercise)s",
        None,
    ),
    "patient: a contraindicated screening made current as inversion pauses": Case(
        rescreened,
        "UPDATE patients_patient SET current_screening_id = %(old_screening)s "
        "WHERE id = %(patient)s;"
        "UPDATE programmes_plan SET inversion_paused = true, inversion_pause_cause = 'screening' "
        "WHERE id = %(plan)s",
        None,
    ),
    "patient: a red flag reported as inversion pauses": Case(
        cleared,
        "UPDATE patients_patient SET red_flag_reported_at = now() WHERE id = %(patient)s;"
        "UPDATE programmes_plan SET inversion_paused = true, inversion_pause_cause = 'red_flag' "
        "WHERE id = %(plan)s",
        None,
    ),
    "patient: a time zone with the same date": Case(
        valid_until_local_today,
        f"UPDATE patients_patient SET time_zone = '{BEHIND_TOO}' WHERE id = %(patient)s",
        None,
    ),
    "patient: a pending screening confirmed, then made current": Case(
        with_pending_screening,
        "UPDATE patients_screening SET awaiting_confirmation = false, confirmed_at = now(), "
        "confirmed_by_id = %(clinician)s WHERE id = %(pending)s;"
        "UPDATE patients_patient SET current_screening_id = %(pending)s WHERE id = %(patient)s",
        None,
    ),
    "patient: made current, then confirmed in the same transaction": Case(
        with_pending_screening,
        "UPDATE patients_patient SET current_screening_id = %(pending)s WHERE id = %(patient)s;"
        "UPDATE patients_screening SET awaiting_confirmation = false, confirmed_at = now(), "
        "confirmed_by_id = %(clinician)s WHERE id = %(pending)s",
        None,
    ),
    "override: revoked as inversion pauses": Case(
        review_with_override,
        "UPDATE patients_screeningoverride SET revoked_at = now() WHERE id = %(override)s;"
        "UPDATE programmes_plan SET inversion_paused = true, inversion_pause_cause = 'screening' "
        "WHERE id = %(plan)s",
        None,
    ),
    "override: its reason reworded": Case(
        review_with_override,
        "UPDATE patients_screeningoverride SET reason = 'BP controlled on two readings' "
        "WHERE id = %(override)s",
        None,
    ),
    "referral: recorded for a cleared patient": Case(
        cleared,
        "INSERT INTO patients_referral (patient_id, referred_to, referred_on, result, "
        "result_notes, recorded_by_id, created_at) VALUES (%(patient)s, 'Spinal clinic', "
        "current_date, 'pending', '', %(clinician)s, now())",
        None,
    ),
    "screening: a save that writes the verdict unchanged": Case(
        cleared,
        "UPDATE patients_screening SET outcome = outcome, findings = findings, "
        "valid_until = valid_until, confirmed_at = now() WHERE id = %(screening)s",
        None,
    ),
    "draft plan: start date moved": Case(
        beside_another_patient,
        "UPDATE programmes_plan SET start_date = start_date + 7 WHERE id = %(draft)s",
        None,
    ),
    "running plan: the same start date written again": Case(
        cleared,
        "UPDATE programmes_plan SET start_date = start_date, name = 'Renamed' WHERE id = %(plan)s",
        None,
    ),
}


def run(sql: str, params: dict) -> None:
    with connection.cursor() as cursor:
        for statement in sql.split(";"):
            cursor.execute(statement, params)


AT_COMMIT = {name: case for name, case in REFUSED.items() if case.at == "commit"}
AT_ONCE = {name: case for name, case in REFUSED.items() if case.at == "statement"}


@pytest.mark.parametrize("case", AT_COMMIT.values(), ids=AT_COMMIT.keys())
def test_raw_sql_that_breaks_an_invariant_is_refused_at_commit_and_changes_nothing(case):
    ids = case.setup()
    before = snapshot()
    reached_commit = False
    with pytest.raises(IntegrityError, match=case.refused), transaction.atomic():
        run(case.sql, ids.params())
        reached_commit = True
    # A deferred rule lets every statement through and refuses the COMMIT.
    assert reached_commit
    assert snapshot() == before


# Refused at the statement, whatever the transaction does next: no COMMIT is needed to
# show it, so these run inside the test's own transaction (a savepoint each).
@pytest.mark.django_db
@pytest.mark.parametrize("case", AT_ONCE.values(), ids=AT_ONCE.keys())
def test_raw_sql_that_breaks_a_cap_or_edits_a_screening_is_refused_at_once(case):
    ids = case.setup()
    before = snapshot()
    reached_end = False
    with pytest.raises(IntegrityError, match=case.refused), transaction.atomic():
        run(case.sql, ids.params())
        reached_end = True
    assert not reached_end
    assert snapshot() == before


@pytest.mark.parametrize("case", LEGAL.values(), ids=LEGAL.keys())
def test_the_legal_counterpart_commits(case):
    ids = case.setup()
    before = snapshot()
    with transaction.atomic():
        run(case.sql, ids.params())
    assert snapshot() != before


def test_a_health_update_that_contraindicates_commits_with_inversion_paused():
    """The service's several writes (intake, screening, patient, then the plan's pause)
    settle before COMMIT: the patient may not invert, and the plan no longer does."""
    ids = contraindicated_paused()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inverto_inversion_forbidden(p.patient_id), p.inversion_paused "
            "FROM programmes_plan p WHERE p.id = %s",
            [ids.plan],
        )
        assert cursor.fetchone() == ("screening is contraindicated", True)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (cleared, None),
        (review_with_override, None),
        (contraindicated_exercises, "screening is contraindicated"),
        (valid_until_local_today, None),
    ],
    ids=[
        "cleared: may invert",
        "review required with a live override: may invert",
        "contraindicated: may not",
        "last valid day in the patient's own zone: may invert",
    ],
)
def test_the_database_reads_the_patients_record_as_the_permission_function_does(setup, reason):
    ids = setup()
    with connection.cursor() as cursor:
        cursor.execute("SELECT inverto_inversion_forbidden(%s)", [ids.patient])
        assert cursor.fetchone()[0] == reason


def test_the_orm_cannot_add_the_inversion_exercise_for_a_contraindicated_patient():
    ids = contraindicated_exercises()
    with pytest.raises(IntegrityError, match="inversion refused"), transaction.atomic():
        PlanExercise.objects.create(plan_id=ids.plan, exercise_id=ids.inversion, order=9)
    assert not PlanExercise.objects.filter(plan_id=ids.plan, exercise_id=ids.inversion).exists()
