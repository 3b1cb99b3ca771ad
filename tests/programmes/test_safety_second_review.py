"""What a second hostile review of the safety kernel found, as behaviour that holds.

- An inversion-category exercise is inversion in its dose too: a fixed dose within a first
  step's range, counted with the step towards two sessions and the day's limit, through
  the services, the API, Today and PostgreSQL.
- A stop symptom stands on the patient until a clinician reviews it, whatever plan there is
  (none, a draft, an exercise-only one), and the portal acts on it with no running plan.
- A patient's change of time zone never makes extra session days for progression.
- A patient in urgent referral gets no session reminder; a patient never reads the clinic's
  plan timeline.
- One alert per pause: a mid-plan urgent screening raises one alert that says what it
  paused.
- Going back a step while inversion is paused keeps the caps.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import Role
from patients import services as patient_services
from programmes import checkins, services
from programmes.domain.permission import (
    INVERSION_CATEGORY,
    InversionLimits,
    PauseCause,
    dose_violations,
    inversion_dose,
)
from programmes.domain.progression import InversionStep
from programmes.models import (
    ClinicianAlert,
    Exercise,
    Plan,
    PlanExercise,
    PlanStatus,
    ProgrammeTemplate,
    ReminderDelivery,
)
from programmes.permission import patient_today, treatment_today
from programmes.reminders import NOTHING_PRESCRIBED, reminder_send_batch
from tests.factories import member, otp_login, patient_with_portal, screen

pytestmark = pytest.mark.django_db

INVERSION_TEMPLATE = "Progressive inversion (default)"
Kind = ClinicianAlert.Kind


def template(kind: str = "inversion") -> ProgrammeTemplate:
    if kind == "inversion":
        return ProgrammeTemplate.objects.get(name=INVERSION_TEMPLATE)
    return ProgrammeTemplate.objects.get(kind="exercise_only", clinic__isnull=True)


def running(patient, kind: str = "inversion") -> Plan:
    plan = services.plan_create_from_template(
        patient=patient, template=template(kind), by=patient.clinician
    )
    return services.plan_activate(plan=plan, by=patient.clinician)


def shipped_inversion() -> Exercise:
    return Exercise.objects.get(slug="inversion-table-session")


def cleared_patient(**fields):
    patient = patient_with_portal(**fields)
    screen(patient)
    return patient


def stop_checkin(patient, symptom: str = "chest_pain", local_date=None):
    return checkins.checkin_submit(
        patient=patient,
        data=checkins.CheckInInput(
            idempotency_key=uuid.uuid4(),
            completion="done",
            symptoms=(symptom,),
            local_date=local_date,
        ),
        channel="api",
    )


def add_exercise(plan: Plan, **values):
    return services.plan_prescription_update(
        plan=plan,
        exercises=services.RowEdits(added=({"order": 50, **values},)),
        by=plan.patient.clinician,
        channel="admin",
    )


# An inversion exercise's dose: the domain rule, table-driven.

DAY_0 = InversionLimits(
    max_angle_deg=60, max_session_seconds=600, max_sessions_per_day=2, max_daily_seconds=300
)
DAY_20 = InversionLimits(
    max_angle_deg=60, max_session_seconds=600, max_sessions_per_day=2, max_daily_seconds=1200
)
STEP_1 = InversionStep(angle_deg=20, hold_seconds=60, sessions_per_day=1)
STEP_5 = InversionStep(angle_deg=60, hold_seconds=300, sessions_per_day=1)


def dose(hold, times=1, sets=1):
    return inversion_dose(name="Inversion", sets=sets, hold_seconds=hold, times_per_day=times)


@pytest.mark.parametrize(
    ("limits", "step", "doses", "broken"),
    [
        (DAY_0, STEP_1, [dose(60)], ()),
        (DAY_0, None, [dose(120)], ()),
        (DAY_0, STEP_1, [dose(121)], ("holds at most 120 s",)),
        (DAY_0, STEP_1, [dose(60, sets=3)], ("holds at most 120 s",)),
        (DAY_0, None, [dose(60, times=2)], ("at most 1 time a day",)),
        (DAY_0, STEP_1, [dose(600, times=6)], ("holds at most", "at most 1 time", "sessions")),
        (DAY_0, STEP_1, [dose(60), dose(60)], ("3 inversion sessions a day",)),
        (DAY_0, STEP_5, [dose(60)], ("360 s inverted a day",)),
        (DAY_20, STEP_5, [dose(120)], ()),
        (DAY_0, None, [dose(None)], ("needs its hold time",)),
        (DAY_0, STEP_1, [], ()),
    ],
)
def test_an_inversion_exercise_counts_with_the_step_within_todays_limits(
    limits, step, doses, broken
):
    found = " ".join(limits.prescription_violations(step, doses))
    for words in broken:
        assert words in found
    assert bool(found) == bool(broken)


def test_one_dose_alone_is_held_to_a_first_steps_range():
    assert dose_violations(dose(120)) == ()
    assert dose_violations(dose(120, sets=2))  # two holds of 2 minutes: 4 minutes a session


# Through every path.


def test_the_service_refuses_an_inversion_exercise_beyond_the_caps_on_day_0():
    plan = running(cleared_patient())
    with pytest.raises(ValidationError, match="holds at most 120 s"):
        add_exercise(plan, exercise=shipped_inversion(), hold_seconds=600, times_per_day=6)
    assert not plan.exercises.filter(exercise__category=INVERSION_CATEGORY).exists()


def test_the_service_adds_an_inversion_exercise_that_fits_with_the_step():
    plan = running(cleared_patient())
    add_exercise(plan, exercise=shipped_inversion(), hold_seconds=60)
    assert plan.exercises.filter(exercise__category=INVERSION_CATEGORY).count() == 1


def test_a_second_inversion_exercise_is_a_third_session_and_is_refused():
    plan = running(cleared_patient())
    add_exercise(plan, exercise=shipped_inversion(), hold_seconds=60)
    with pytest.raises(ValidationError, match="3 inversion sessions a day"):
        services.plan_prescription_update(
            plan=plan,
            exercises=services.RowEdits(
                added=({"exercise": shipped_inversion(), "order": 51, "hold_seconds": 60},)
            ),
            by=plan.patient.clinician,
            channel="admin",
        )


def test_the_api_answers_400_and_today_never_shows_the_overdose():
    patient = cleared_patient()
    plan = running(patient)
    clinician = APIClient()
    clinician.force_authenticate(patient.clinician)
    response = clinician.post(
        f"/api/v1/plans/{plan.pk}/exercises/",
        {"exercise": shipped_inversion().pk, "hold_seconds": 600, "times_per_day": 6},
        format="json",
    )
    assert response.status_code == 400, response.content
    # However it got there (written underneath the services), Today doesn't show it.
    PlanExercise.objects.create(
        plan=plan, exercise=shipped_inversion(), hold_seconds=600, times_per_day=6, order=60
    )
    me = APIClient()
    me.force_authenticate(patient.user)
    today = me.get("/api/v1/me/today/").json()
    assert "Inversion table session" not in [e["name"] for e in today["exercises"]]
    assert today["inversion"] is not None  # the step itself still fits
    PlanExercise.objects.filter(plan=plan, order=60).delete()  # PostgreSQL would refuse it


def test_an_inversion_exercise_with_no_hold_anywhere_is_refused():
    patient = cleared_patient()
    plan = running(patient)
    own = Exercise.objects.create(
        clinic=patient.clinic, name="Home inversion chair", slug="chair", category="inversion"
    )
    with pytest.raises(ValidationError, match="needs its hold time"):
        add_exercise(plan, exercise=own)


def test_a_template_whose_inversion_exercise_overdoses_is_not_assignable():
    patient = cleared_patient()
    own = ProgrammeTemplate.objects.create(
        clinic=patient.clinic, name="Heavy", kind="exercise_only", is_active=True
    )
    own.exercises.create(exercise=shipped_inversion(), hold_seconds=300, times_per_day=1)
    problems = services.plan_assignment_problems(patient=patient, template=own)
    assert "holds at most 120 s" in problems["template"]


def test_advancing_refuses_a_step_that_with_the_inversion_exercise_passes_todays_limit():
    patient = cleared_patient()
    plan = running(patient)
    add_exercise(plan, exercise=shipped_inversion(), hold_seconds=120)
    reached = []
    with pytest.raises(ValidationError, match="inverted a day"):
        for _ in range(4):
            plan = services.plan_advance(
                plan=Plan.objects.get(pk=plan.pk), by=patient.clinician, pace_override_reason="T"
            )
            reached.append(plan.current_step.order)
    # Steps 2 and 3 (2 and 3 minutes) fit with the exercise's 2 minutes in 5 minutes a day;
    # step 4 (4 minutes) does not, in the first two weeks.
    assert reached == [1, 2]


# A stop symptom stands on the patient until a clinician reviews it.


def test_a_stop_symptom_with_only_a_draft_starts_that_plan_with_inversion_paused():
    patient = cleared_patient()
    draft = services.plan_create_from_template(
        patient=patient, template=template(), by=patient.clinician
    )
    result = stop_checkin(patient)
    assert result.assessment.stop and result.clinician_alerted
    plan = services.plan_activate(plan=draft, by=patient.clinician)
    assert plan.inversion_paused and plan.inversion_pause_cause == PauseCause.STOP_SYMPTOM
    assert treatment_today(patient.pk).inversion_step is None
    assert services.resume_needs(Plan.objects.select_related("patient").get(pk=plan.pk))
    with pytest.raises(ValidationError, match="confirm"):
        services.plan_resume(plan=plan, by=patient.clinician)
    services.plan_resume(
        plan=plan, by=patient.clinician, reason="Chest pain was reflux: GP saw", confirmed=True
    )
    patient.refresh_from_db()
    assert patient.stop_symptom_reported_at is None
    assert treatment_today(patient.pk).inversion_step is not None


def test_a_stop_symptom_on_an_exercise_plan_keeps_inversion_out_until_reviewed(monkeypatch):
    patient = cleared_patient()
    plan = running(patient, "exercise_only")
    stop_checkin(patient)
    plan.refresh_from_db()
    assert plan.inversion_paused  # nothing was inverting, but the plan now shows "resume"
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(days=1))
    with pytest.raises(ValidationError, match=r"stop symptom|paused"):
        add_exercise(plan, exercise=shipped_inversion(), hold_seconds=60)
    services.plan_resume(plan=plan, by=patient.clinician, reason="Reviewed", confirmed=True)
    add_exercise(Plan.objects.get(pk=plan.pk), exercise=shipped_inversion(), hold_seconds=60)


def test_a_stop_symptom_with_no_plan_at_all_alerts_and_stands_for_the_next_plan():
    patient = cleared_patient()
    result = stop_checkin(patient, "palpitations")
    assert result.checkin is None and result.clinician_alerted
    assert ClinicianAlert.objects.filter(patient=patient, kind=Kind.STOP_SYMPTOM).exists()
    plan = running(patient)  # a plan given later starts with inversion paused for review
    assert plan.inversion_paused


def test_the_portal_acts_on_a_stop_symptom_posted_after_the_plan_ended():
    patient = cleared_patient()
    plan = running(patient)
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/checkin/").status_code == 200  # the form is open
    services.plan_end(plan=plan, by=patient.clinician, reason="Course finished")
    response = client.post(
        "/checkin/",
        {
            "idempotency_key": str(uuid.uuid4()),
            "completion": "done",
            "pain_before": "3",
            "pain_after": "3",
            "symptoms": ["chest_pain"],
        },
    )
    assert ClinicianAlert.objects.filter(patient=patient, kind=Kind.STOP_SYMPTOM).exists()
    assert "Stop inverting now" in response.content.decode()


def test_the_portal_with_no_plan_and_no_symptom_still_says_there_is_nothing_today():
    patient = cleared_patient()
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        "/checkin/", {"idempotency_key": str(uuid.uuid4()), "completion": "done"}
    )
    assert response.status_code == 200
    assert not ClinicianAlert.objects.filter(patient=patient).exists()


# A change of time zone makes no extra session days.

PAGO_PAGO, KIRITIMATI = "Pacific/Pago_Pago", "Pacific/Kiritimati"  # UTC-11, UTC+14


def test_hopping_time_zones_does_not_advance_a_step_within_the_hour(monkeypatch):
    # 10:30 UTC: 23:30 the day before in Pago Pago, 00:30 the day after in Kiritimati.
    real_now = timezone.now
    instant = datetime.combine(real_now().date(), datetime.min.time(), UTC)
    instant += timedelta(hours=10, minutes=30)
    offset = instant - real_now()
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)
    patient = patient_with_portal(time_zone=PAGO_PAGO)
    screen(patient, taken_on=patient_today(patient))
    plan = running(patient)
    Plan.objects.filter(pk=plan.pk).update(auto_advance=True)
    start = patient_today(patient)
    me = APIClient()
    me.force_authenticate(patient.user)
    response = me.patch(
        "/api/v1/me/reminder-preferences/", {"time_zone": KIRITIMATI}, format="json"
    )
    assert response.status_code == 200, response.content
    plan.refresh_from_db()
    assert plan.step_started_on == start + timedelta(days=2)  # counted from the new today
    assert plan.events.filter(reason__contains="Time zone changed").exists()
    for n in range(3):
        checkins.checkin_submit(
            patient=patient,
            data=checkins.CheckInInput(
                idempotency_key=uuid.uuid4(),
                completion="done",
                inversion_angle_deg=20,
                inversion_seconds=60,
                pain_before=4,
                pain_after=4,
                local_date=start + timedelta(days=n),
            ),
            channel="api",
        )
    services.progression_evaluate(plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.current_step.order == 0


# Reminders and the plan's timeline.


def test_no_session_reminder_is_sent_to_a_patient_in_urgent_referral(mailoutbox):
    patient = cleared_patient(remind_by_email=True, email="p@example.invalid")
    running(patient)
    # Reported yesterday (today's reminder is then still due but for the red flag).
    stop_checkin(patient, "saddle_numbness", patient_today(patient) - timedelta(days=1))
    row = ReminderDelivery.objects.create(
        patient=patient,
        clinic=patient.clinic,
        local_date=patient_today(patient),
        kind="reminder",
        channel="email",
    )
    reminder_send_batch([row.pk])
    row.refresh_from_db()
    assert row.status == ReminderDelivery.Status.FAILED
    assert row.last_error == NOTHING_PRESCRIBED
    assert mailoutbox == []


def test_a_patient_never_reads_the_clinics_plan_timeline():
    patient = cleared_patient()
    plan = running(patient)
    patient_services.patient_health_update(
        patient=patient, changes={"pregnant": True}, by=patient.user, channel="portal"
    )
    me = APIClient()
    me.force_authenticate(patient.user)
    assert me.get(f"/api/v1/plans/{plan.pk}/events/").status_code == 403
    shown = me.get(f"/api/v1/plans/{plan.pk}/").json()
    assert shown["current_step"] is None and shown["inversion_steps"] == []
    assert shown["proposal"] is None


# One alert per pause.


def test_an_urgent_screening_mid_plan_raises_one_alert_that_says_what_it_paused():
    patient = cleared_patient()
    running(patient)
    screen(patient, saddle_numbness=True)
    alerts = list(ClinicianAlert.objects.filter(patient=patient))
    assert [a.kind for a in alerts] == [Kind.URGENT_REFERRAL]
    assert "paused" in alerts[0].message


# Going back while paused keeps the caps.


def test_going_back_while_inversion_is_paused_still_checks_the_caps():
    patient = cleared_patient()
    plan = running(patient)
    services.plan_advance(plan=plan, by=patient.clinician, pace_override_reason="Testing")
    plan = services.plan_pause(
        plan=Plan.objects.get(pk=plan.pk), by=patient.clinician, reason="Away"
    )
    # The first step, edited underneath to break the start range, can't be gone back to.
    first = plan.inversion_steps.order_by("order").first()
    type(first).objects.filter(pk=first.pk).update(hold_seconds=500)
    with pytest.raises(ValidationError, match="first step"):
        services.plan_go_back(plan=plan, by=patient.clinician)
    assert Plan.objects.get(pk=plan.pk).current_step.order == 1
    assert plan.status == PlanStatus.PAUSED
    type(first).objects.filter(pk=first.pk).update(hold_seconds=60)  # PostgreSQL would refuse


# A library exercise in use keeps what it prescribes; a ceiling keeps every step.


def test_an_exercise_on_a_plan_in_use_cant_become_inversion_or_change_its_default_hold():
    patient = cleared_patient()
    plan = running(patient, "exercise_only")
    walking = plan.exercises.select_related("exercise").first().exercise
    own = Exercise.objects.create(
        clinic=patient.clinic,
        name="Chair lean",
        slug="chair-lean",
        category="stretch",
        patient_instructions="Lean back.",
    )
    PlanExercise.objects.create(plan=plan, exercise=own, order=70)
    problems = services.exercise_change_problems(own, {"category": INVERSION_CATEGORY})
    assert "On 1 plan in use" in problems["category"]
    assert services.exercise_change_problems(own, {"name": "Chair lean (seated)"}) == {}
    assert services.exercise_change_problems(walking, {"default_hold_seconds": 5}) == {}
    # The shipped inversion exercise is on no plan yet: its default may change.
    assert (
        services.exercise_change_problems(shipped_inversion(), {"default_hold_seconds": 90}) == {}
    )


def test_the_admin_refuses_turning_an_exercise_in_use_into_inversion_with_a_message():
    patient = cleared_patient()
    admin_client = Client()
    otp_login(admin_client, member(Role.CLINIC_ADMIN, patient.clinic))
    plan = running(patient, "exercise_only")
    own = Exercise.objects.create(
        clinic=patient.clinic,
        name="Chair lean",
        slug="chair-lean",
        category="stretch",
        patient_instructions="Lean back.",
    )
    PlanExercise.objects.create(plan=plan, exercise=own, order=70)
    response = admin_client.post(
        f"/admin/programmes/exercise/{own.pk}/change/",
        {
            "clinic": patient.clinic_id,
            "name": own.name,
            "slug": own.slug,
            "category": INVERSION_CATEGORY,
            "patient_instructions": own.patient_instructions,
            "default_sets": 1,
            "default_times_per_day": 1,
            "default_hold_seconds": 60,
        },
    )
    assert response.status_code == 200
    assert "On 1 plan in use" in response.content.decode()
    own.refresh_from_db()
    assert own.category == "stretch"


def test_lowering_the_ceiling_below_a_later_step_is_refused_with_a_message():
    patient = cleared_patient()
    plan = running(patient)
    with pytest.raises(ValidationError, match="Step 3 is at 40°"):
        services.plan_update(
            plan=plan, changes={"ceiling_deg": 35}, by=patient.clinician, channel="admin"
        )


def test_an_inversion_exercises_repetitions_are_time_inverted_too():
    plan = running(cleared_patient())
    with pytest.raises(ValidationError, match="holds at most 120 s"):
        add_exercise(plan, exercise=shipped_inversion(), hold_seconds=120, repetitions=10)
    assert dose_violations(
        inversion_dose(name="Inversion", sets=1, repetitions=3, hold_seconds=60, times_per_day=1)
    )


def test_a_library_exercise_in_use_keeps_its_contraindication_tags():
    patient = cleared_patient()
    plan = running(patient, "exercise_only")
    own = Exercise.objects.create(
        clinic=patient.clinic,
        name="Deep squat",
        slug="deep-squat",
        category="strength",
        patient_instructions="Squat.",
        contraindication_tags=["contraindicated"],
    )
    PlanExercise.objects.create(plan=plan, exercise=own, order=70)
    removed = services.exercise_change_problems(own, {"contraindication_tags": []})
    assert "On 1 plan in use" in removed["contraindication_tags"]
    added = {"contraindication_tags": ["contraindicated", "review_required"]}
    assert services.exercise_change_problems(own, added) == {}


def test_a_plan_starting_later_with_exercises_can_be_activated():
    patient = cleared_patient()
    later = patient_today(patient) + timedelta(days=5)
    draft = services.plan_create_from_template(
        patient=patient, template=template("exercise_only"), by=patient.clinician, start_date=later
    )
    plan = services.plan_activate(plan=draft, by=patient.clinician)
    assert plan.status == PlanStatus.ACTIVE and plan.start_date == later
