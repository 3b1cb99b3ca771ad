"""No lost updates: a save through the admin, the API or a service never writes back what
it read before a concurrent pause or re-screening.

The race tests run real threads, each on its own PostgreSQL connection, in committed
transactions. Each race runs twice: released together at a barrier, and with the bad
interleaving forced (the check-in or health update holds its row locks, with a short
sleep, while the save reads the rows and then waits for them).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from clinic.models import AuditEvent, Role
from patients import services as patient_services
from patients.models import Outcome, Patient
from programmes import checkins, services
from programmes.domain.permission import PauseCause
from programmes.domain.symptoms import Symptom
from programmes.models import (
    ClinicianAlert,
    Exercise,
    Plan,
    PlanEvent,
    PlanExercise,
    PlanStatus,
    ProgrammeTemplate,
)
from programmes.permission import patient_today, treatment_today
from tests.factories import (
    CONTRAINDICATED,
    clinician,
    member,
    otp_login,
    patient_with_portal,
    screen,
)

INVERSION_TEMPLATE = "Progressive inversion (default)"
HOLD_SECONDS = 0.6  # how long the forced interleaving keeps its row locks after acting


def inversion_plan(patient) -> Plan:
    template = ProgrammeTemplate.objects.get(name=INVERSION_TEMPLATE)
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    return services.plan_activate(plan=plan, by=patient.clinician)


def exercise_only_plan(patient) -> Plan:
    template = ProgrammeTemplate.objects.get(kind="exercise_only", clinic__isnull=True)
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    return services.plan_activate(plan=plan, by=patient.clinician)


def stop_symptom_checkin(patient, *, day=None):
    return checkins.checkin_submit(
        patient=patient,
        data=checkins.CheckInInput(
            idempotency_key=uuid.uuid4(),
            completion="done",
            pain_before=3,
            pain_after=3,
            symptoms=(Symptom.CHEST_PAIN,),
            local_date=day,
        ),
        channel="api",
    )


def pregnancy_update(patient):
    return patient_services.patient_health_update(
        patient=patient, changes={"pregnant": True}, by=patient.user, channel="portal"
    )


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def admin_client(user) -> Client:
    client = Client()
    otp_login(client, user)
    return client


def plan_form(plan: Plan, **changes) -> dict:
    """The plan's change form as the admin posts it, with no inline row touched."""
    data = {
        "name": plan.name,
        "ceiling_deg": plan.ceiling_deg,
        "inversion_steps-TOTAL_FORMS": 0,
        "inversion_steps-INITIAL_FORMS": 0,
        "exercises-TOTAL_FORMS": 0,
        "exercises-INITIAL_FORMS": 0,
    }
    if plan.status == PlanStatus.DRAFT:
        data["start_date"] = plan.start_date.isoformat()
    if plan.full_inversion_allowed:
        data["full_inversion_allowed"] = "on"
    if plan.auto_advance:
        data["auto_advance"] = "on"
    data.update(changes)
    return data


def patient_form(patient: Patient, **changes) -> dict:
    data = {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "email": patient.email,
        "phone": patient.phone,
        "clinician": patient.clinician_id,
        "time_zone": patient.time_zone,
        "reminder_time": patient.reminder_time.strftime("%H:%M"),
        "remind_by_email": "on",
        "remind_in_portal": "on",
        "intakes-TOTAL_FORMS": 0,
        "intakes-INITIAL_FORMS": 0,
    }
    data.update(changes)
    return data


def run_in_threads(*targets: Callable[[], None], timeout: float = 30) -> None:
    """Run each target in its own thread (its own database connection); re-raise the
    first failure. Every thread closes its connection when it ends."""
    failures: list[BaseException] = []

    def wrapped(target):
        def run():
            try:
                target()
            except BaseException as failure:  # re-raised in the main thread
                failures.append(failure)
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrapped(target)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck on a lock"
    if failures:
        raise failures[0]


# (a) A plan save racing a stop-symptom check-in.


def plan_save(writer: str, plan: Plan, by) -> Callable[[], None]:
    """Turn on automatic advance through one path, from a plan read before the race."""
    if writer == "service":
        return lambda: services.plan_update(
            plan=plan, changes={"auto_advance": True}, by=by, channel="admin"
        )
    if writer == "api":
        client = api(by)

        def through_api():
            response = client.patch(
                f"/api/v1/plans/{plan.pk}/", {"auto_advance": True}, format="json"
            )
            assert response.status_code == 200, response.content

        return through_api
    client = admin_client(by)
    form = plan_form(plan, auto_advance="on")

    def through_admin():
        response = client.post(f"/admin/programmes/plan/{plan.pk}/change/", form)
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response.url == "/admin/programmes/plan/"  # saved, not refused

    return through_admin


RACES = [
    pytest.param(writer, order, id=f"{writer} save, {order.replace('_', ' ')}")
    for writer in ("service", "api", "admin")
    for order in ("released_together", "symptom_holds_the_lock_while_the_save_reads")
] + [pytest.param("service", "save_holds_the_lock_first", id="service save, save holds the lock")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("writer", "order"), RACES)
def test_a_plan_save_racing_a_stop_symptom_checkin_never_undoes_the_pause(writer, order):
    patient = patient_with_portal()
    screen(patient)
    plan = inversion_plan(patient)
    stale = Plan.objects.get(pk=plan.pk)  # the form or the API client read it before
    save = plan_save(writer, stale, patient.clinician)
    waited = {}

    if order == "released_together":
        barrier = threading.Barrier(2)
        run_in_threads(
            lambda: (barrier.wait(5), stop_symptom_checkin(patient)),
            lambda: (barrier.wait(5), save()),
        )
    elif order == "symptom_holds_the_lock_while_the_save_reads":
        acted = threading.Event()

        def checkin_holding_locks():
            with transaction.atomic():
                stop_symptom_checkin(patient)
                acted.set()
                time.sleep(HOLD_SECONDS)

        def save_meanwhile():
            assert acted.wait(5)
            started = time.monotonic()
            save()
            waited["seconds"] = time.monotonic() - started

        run_in_threads(checkin_holding_locks, save_meanwhile)
        # The save really overlapped: it read the plan, then waited for the check-in's locks.
        assert waited["seconds"] > HOLD_SECONDS / 3
    else:
        saved = threading.Event()

        def save_holding_locks():
            with transaction.atomic():
                save()
                saved.set()
                time.sleep(HOLD_SECONDS)

        def checkin_meanwhile():
            assert saved.wait(5)
            stop_symptom_checkin(patient)

        run_in_threads(save_holding_locks, checkin_meanwhile)

    plan.refresh_from_db()
    assert plan.inversion_paused
    assert plan.inversion_pause_cause == PauseCause.STOP_SYMPTOM
    assert plan.auto_advance  # the save landed too: only its own field
    assert ClinicianAlert.objects.filter(
        patient=patient, kind=ClinicianAlert.Kind.STOP_SYMPTOM
    ).exists()
    assert treatment_today(patient.pk).inversion_step is None
    assert PlanEvent.objects.filter(plan=plan, kind=PlanEvent.Kind.EDITED).count() == 1


# (b) A patient save racing a health update that reports a pregnancy.


def patient_save(writer: str, patient: Patient, by) -> Callable[[], None]:
    """Change the patient's phone number through one path, from a record read before."""
    if writer == "service":
        return lambda: patient_services.patient_update(
            patient=patient, changes={"phone": "07700 900123"}, by=by, channel="admin"
        )
    if writer == "api":
        client = api(by)

        def through_api():
            response = client.patch(
                f"/api/v1/patients/{patient.pk}/", {"phone": "07700 900123"}, format="json"
            )
            assert response.status_code == 200, response.content

        return through_api
    client = admin_client(by)
    form = patient_form(patient, phone="07700 900123")

    def through_admin():
        response = client.post(f"/admin/patients/patient/{patient.pk}/change/", form)
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response.url == "/admin/patients/patient/"

    return through_admin


PATIENT_RACES = [
    pytest.param(writer, order, id=f"{writer} save, {order.replace('_', ' ')}")
    for writer in ("service", "api", "admin")
    for order in ("released_together", "update_holds_the_lock_while_the_save_reads")
] + [pytest.param("service", "save_holds_the_lock_first", id="service save, save holds the lock")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("writer", "order"), PATIENT_RACES)
def test_a_patient_save_racing_a_pregnancy_update_never_restores_the_cleared_screening(
    writer, order
):
    patient = patient_with_portal()
    screen(patient)
    plan = inversion_plan(patient)
    stale = Patient.objects.select_related("clinic").get(pk=patient.pk)
    assert stale.current_screening.outcome == Outcome.CLEARED
    save = patient_save(writer, stale, patient.clinician)
    waited = {}

    if order == "released_together":
        barrier = threading.Barrier(2)
        run_in_threads(
            lambda: (barrier.wait(5), pregnancy_update(patient)),
            lambda: (barrier.wait(5), save()),
        )
    elif order == "update_holds_the_lock_while_the_save_reads":
        rescreened = threading.Event()

        def update_holding_locks():
            with transaction.atomic():
                pregnancy_update(patient)
                rescreened.set()
                time.sleep(HOLD_SECONDS)

        def save_meanwhile():
            assert rescreened.wait(5)
            started = time.monotonic()
            save()
            waited["seconds"] = time.monotonic() - started

        run_in_threads(update_holding_locks, save_meanwhile)
        assert waited["seconds"] > HOLD_SECONDS / 3
    else:
        saved = threading.Event()

        def save_holding_locks():
            with transaction.atomic():
                save()
                saved.set()
                time.sleep(HOLD_SECONDS)

        def update_meanwhile():
            assert saved.wait(5)
            pregnancy_update(patient)

        run_in_threads(save_holding_locks, update_meanwhile)

    patient.refresh_from_db()
    assert patient.current_screening.outcome == Outcome.CONTRAINDICATED
    assert patient.phone == "07700 900123"  # the save landed too: only its own field
    plan.refresh_from_db()
    assert plan.inversion_paused
    assert plan.inversion_pause_cause == PauseCause.SCREENING
    with pytest.raises(ValidationError):
        services.plan_resume(plan=plan, by=patient.clinician, reason="Seen", confirmed=True)
    plan.refresh_from_db()
    assert plan.inversion_paused
    assert not treatment_today(patient.pk).permission.inversion


# Stale forms and whole-row writes, one request at a time.

pytest_db = pytest.mark.django_db


@pytest.fixture
def cleared_patient():
    patient = patient_with_portal()
    screen(patient)
    return patient


@pytest_db
def test_admin_change_form_posted_after_a_stop_symptom_keeps_inversion_paused(
    client, cleared_patient
):
    """The form was read before the pause; its post (with a hostile extra field or two)
    changes only what it changed."""
    plan = inversion_plan(cleared_patient)
    otp_login(client, cleared_patient.clinician)
    page = client.get(f"/admin/programmes/plan/{plan.pk}/change/")
    assert page.status_code == 200
    form = plan_form(
        plan,
        auto_advance="on",
        inversion_paused="",
        inversion_pause_cause="",
        status="active",
        current_step=plan.current_step_id,
    )
    stop_symptom_checkin(cleared_patient)
    response = client.post(f"/admin/programmes/plan/{plan.pk}/change/", form)
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.inversion_paused and plan.inversion_pause_cause == PauseCause.STOP_SYMPTOM
    assert plan.auto_advance
    edited = PlanEvent.objects.get(plan=plan, kind=PlanEvent.Kind.EDITED)
    assert edited.by == cleared_patient.clinician
    assert edited.data["changes"] == {"auto_advance": {"from": False, "to": True}}
    assert AuditEvent.objects.filter(
        object_type="programmes.plan", channel="admin", summary__contains="auto_advance"
    ).exists()


@pytest_db
def test_plan_update_writes_only_the_fields_it_changes(cleared_patient):
    plan = inversion_plan(cleared_patient)
    with CaptureQueriesContext(connection) as queries:
        services.plan_update(
            plan=plan,
            changes={"name": "Evening routine", "auto_advance": False},  # one is unchanged
            by=cleared_patient.clinician,
            channel="admin",
        )
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "programmes_plan"')]
    assert len(updates) == 1
    assert '"name"' in updates[0] and '"updated_at"' in updates[0]
    for untouched in ("inversion_paused", "current_step_id", "status", "auto_advance"):
        assert f'"{untouched}"' not in updates[0]
    locks = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    assert any('"patients_patient"' in sql for sql in locks)
    assert any('"programmes_plan"' in sql for sql in locks)


@pytest_db
def test_patient_update_writes_only_the_fields_it_changes(cleared_patient):
    with CaptureQueriesContext(connection) as queries:
        patient_services.patient_update(
            patient=cleared_patient,
            changes={"phone": "0700", "first_name": cleared_patient.first_name},
            by=cleared_patient.clinician,
            channel="api",
        )
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "patients_patient"')]
    assert len(updates) == 1
    assert '"phone"' in updates[0]
    for untouched in ("current_screening_id", "red_flag_reported_at", "weight_kg", "first_name"):
        assert f'"{untouched}"' not in updates[0]
    assert any("FOR UPDATE" in q["sql"] for q in queries)
    audit = AuditEvent.objects.filter(object_type="patients.patient", channel="api").latest("id")
    assert audit.changes == {"fields": ["phone"]}


@pytest_db
@pytest.mark.parametrize(
    "field",
    [
        "status",
        "current_step",
        "step_started_on",
        "inversion_paused",
        "inversion_pause_cause",
        "pause_reason",
        "proposal_action",
        "patient",
    ],
)
def test_plan_update_refuses_what_only_the_plans_actions_move(cleared_patient, field):
    plan = inversion_plan(cleared_patient)
    stop_symptom_checkin(cleared_patient)
    plan.refresh_from_db()
    with pytest.raises(ValidationError) as refusal:
        services.plan_update(
            plan=plan, changes={field: None}, by=cleared_patient.clinician, channel="admin"
        )
    assert field in refusal.value.message_dict
    response = api(cleared_patient.clinician).patch(
        f"/api/v1/plans/{plan.pk}/", {field: False, "name": "Renamed"}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()
    plan.refresh_from_db()
    assert plan.inversion_paused and plan.name != "Renamed"


@pytest_db
@pytest.mark.parametrize(
    "field", ["current_screening", "red_flag_reported_at", "red_flag_note", "weight_kg", "user"]
)
def test_patient_update_refuses_what_screening_and_intakes_record(cleared_patient, field):
    before = cleared_patient.current_screening_id
    with pytest.raises(ValidationError) as refusal:
        patient_services.patient_update(
            patient=cleared_patient,
            changes={field: None},
            by=cleared_patient.clinician,
            channel="admin",
        )
    assert field in refusal.value.message_dict
    cleared_patient.refresh_from_db()
    assert cleared_patient.current_screening_id == before


@pytest_db
def test_a_running_plans_start_date_moves_by_no_path(client, cleared_patient):
    plan = inversion_plan(cleared_patient)
    earlier = plan.start_date - timedelta(days=20)
    with pytest.raises(ValidationError) as refusal:
        services.plan_update(
            plan=plan,
            changes={"start_date": earlier},
            by=cleared_patient.clinician,
            channel="admin",
        )
    assert "start_date" in refusal.value.message_dict
    response = api(cleared_patient.clinician).patch(
        f"/api/v1/plans/{plan.pk}/", {"start_date": earlier.isoformat()}, format="json"
    )
    assert response.status_code == 400 and "start_date" in response.json()
    otp_login(client, cleared_patient.clinician)
    client.post(
        f"/admin/programmes/plan/{plan.pk}/change/",
        plan_form(plan, start_date=earlier.isoformat()),
    )
    plan.refresh_from_db()
    assert plan.start_date == earlier + timedelta(days=20)


@pytest_db
def test_a_drafts_settings_change_through_the_api_and_are_audited(cleared_patient):
    template = ProgrammeTemplate.objects.get(name=INVERSION_TEMPLATE)
    draft = services.plan_create_from_template(
        patient=cleared_patient, template=template, by=cleared_patient.clinician
    )
    # A ceiling of 50° for a draft whose steps stop at 50° (every step keeps the ceiling).
    draft.inversion_steps.filter(angle_deg__gt=50).delete()
    later = patient_today(cleared_patient) + timedelta(days=3)
    response = api(cleared_patient.clinician).patch(
        f"/api/v1/plans/{draft.pk}/",
        {"start_date": later.isoformat(), "ceiling_deg": 50, "name": "Slow start"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["start_date"] == later.isoformat()
    assert response.json()["ceiling_deg"] == 50
    event = PlanEvent.objects.get(plan=draft, kind=PlanEvent.Kind.EDITED)
    assert set(event.data["changes"]) == {"start_date", "ceiling_deg", "name"}
    too_high = api(cleared_patient.clinician).patch(
        f"/api/v1/plans/{draft.pk}/", {"ceiling_deg": 75}, format="json"
    )
    assert too_high.status_code == 400 and "ceiling_deg" in too_high.json()


# Inversion as an exercise: never added for a patient who may not invert today.


def contraindicated_from_the_start():
    patient = patient_with_portal()
    screen(patient, **CONTRAINDICATED)
    return exercise_only_plan(patient)


def pregnant_mid_plan():
    patient = patient_with_portal()
    screen(patient)
    plan = inversion_plan(patient)
    pregnancy_update(patient)
    return plan


def stopped_by_a_symptom():
    patient = patient_with_portal()
    screen(patient)
    plan = inversion_plan(patient)
    stop_symptom_checkin(patient)
    return plan


STATES = {
    "contraindicated at intake": contraindicated_from_the_start,
    "pregnant since the plan began": pregnant_mid_plan,
    "inversion stopped by a symptom": stopped_by_a_symptom,
}


def inversion_exercise(kind: str, plan: Plan) -> Exercise:
    if kind == "shipped":
        return Exercise.objects.get(slug="inversion-table-session", clinic__isnull=True)
    # A clinic's own inversion exercise with no contraindication tags at all.
    return Exercise.objects.create(
        clinic=plan.clinic,
        name="Our gravity boots",
        slug="gravity-boots",
        category="inversion",
        patient_instructions="Hang gently.",
        contraindication_tags=[],
    )


def add_exercise(path: str, plan: Plan, exercise: Exercise, client):
    """Add the exercise through one path; returns how the path answered."""
    by = plan.patient.clinician
    if path == "service":
        try:
            services.plan_prescription_update(
                plan=plan,
                exercises=services.RowEdits(added=({"exercise": exercise, "order": 9},)),
                by=by,
                channel="admin",
            )
        except ValidationError as refusal:
            return " ".join(refusal.messages)
        return "added"
    if path == "api":
        response = api(by).post(
            f"/api/v1/plans/{plan.pk}/exercises/", {"exercise": exercise.pk}, format="json"
        )
        return response.status_code, response.json()
    otp_login(client, by)
    response = client.post(
        f"/admin/programmes/plan/{plan.pk}/change/",
        plan_form(
            plan,
            **{
                "exercises-TOTAL_FORMS": 1,
                "exercises-0-plan": plan.pk,
                "exercises-0-order": 9,
                "exercises-0-exercise": exercise.pk,
                "exercises-0-sets": 1,
                "exercises-0-times_per_day": 1,
            },
        ),
    )
    return response.status_code, response.content.decode()


@pytest_db
@pytest.mark.parametrize("path", ["admin inline", "api", "service"])
@pytest.mark.parametrize("exercise_kind", ["shipped", "clinic's own with blank tags"])
@pytest.mark.parametrize("state", list(STATES))
def test_an_inversion_exercise_is_never_added_for_a_patient_who_may_not_invert(
    client, path, exercise_kind, state
):
    plan = STATES[state]()
    plan.refresh_from_db()
    exercise = inversion_exercise(exercise_kind, plan)
    answer = add_exercise(path.split()[0], plan, exercise, client)
    if path == "api":
        assert answer[0] == 400
        assert "exercises" in answer[1]
    elif path == "admin inline":
        assert answer[0] == 200  # the form again, with the refusal
        assert "Not allowed for this patient today" in answer[1]
    else:
        assert "Not allowed for this patient today" in answer
    assert not PlanExercise.objects.filter(plan=plan, exercise=exercise).exists()


@pytest_db
@pytest.mark.parametrize("path", ["admin inline", "api", "service"])
def test_an_inversion_exercise_is_added_where_inversion_is_allowed(client, path):
    """The refusals above are the permission's, not a broken path."""
    patient = patient_with_portal()
    screen(patient)
    plan = inversion_plan(patient)
    exercise = inversion_exercise("shipped", plan)
    answer = add_exercise(path.split()[0], plan, exercise, client)
    if path == "api":
        assert answer[0] == 201, answer[1]
    elif path == "admin inline":
        assert answer[0] == 302, answer[1][:2000]
    assert PlanExercise.objects.filter(plan=plan, exercise=exercise).exists()
    assert PlanEvent.objects.filter(plan=plan, kind=PlanEvent.Kind.EDITED).exists()


@pytest_db
def test_a_contraindicated_patient_still_gets_a_stretch_added(client):
    plan = contraindicated_from_the_start()
    stretch = Exercise.objects.filter(clinic__isnull=True, category="stretch").exclude(
        contraindication_tags__contains=[Outcome.CONTRAINDICATED]
    )[0]
    assert add_exercise("api", plan, stretch, client)[0] == 201


@pytest_db
def test_no_inversion_step_is_added_to_a_draft_for_a_contraindicated_patient(client):
    patient = patient_with_portal()
    screen(patient, **CONTRAINDICATED)
    template = ProgrammeTemplate.objects.get(kind="exercise_only", clinic__isnull=True)
    draft = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    otp_login(client, patient.clinician)
    response = client.post(
        f"/admin/programmes/plan/{draft.pk}/change/",
        plan_form(
            draft,
            **{
                "inversion_steps-TOTAL_FORMS": 1,
                "inversion_steps-0-plan": draft.pk,
                "inversion_steps-0-order": 0,
                "inversion_steps-0-angle_deg": 20,
                "inversion_steps-0-hold_seconds": 60,
                "inversion_steps-0-sessions_per_day": 1,
                "inversion_steps-0-days_per_week": 7,
            },
        ),
    )
    assert response.status_code == 200
    assert "no inversion step can be added" in response.content.decode()
    assert not draft.inversion_steps.exists()


# Resuming after a stop symptom: confirmed, with a reason; by the responsible clinician.


@pytest.fixture
def stopped_yesterday(cleared_patient):
    """Inversion stopped by yesterday's symptom: today the clinician may review it."""
    plan = inversion_plan(cleared_patient)
    stop_symptom_checkin(cleared_patient, day=patient_today(cleared_patient) - timedelta(days=1))
    plan.refresh_from_db()
    assert plan.inversion_paused and services.resume_needs(plan) == "confirmation"
    return plan


@pytest_db
def test_admin_resume_after_a_stop_symptom_asks_for_a_reason_and_a_confirmation(
    client, stopped_yesterday
):
    plan = stopped_yesterday
    otp_login(client, plan.patient.clinician)
    page = client.get(f"/admin/programmes/plan/{plan.pk}/change/").content.decode()
    assert "Resume…" in page
    url = f"/admin/programmes/plan/{plan.pk}/do/resume/"
    asked = client.post(url)
    assert asked.status_code == 200
    assert 'name="reason"' in asked.content.decode()
    assert 'name="confirm"' in asked.content.decode()
    unconfirmed = client.post(url, {"reason": "Seen in clinic"})
    assert unconfirmed.status_code == 200 and "errorlist" in unconfirmed.content.decode()
    reasonless = client.post(url, {"reason": " ", "confirm": "on"})
    assert reasonless.status_code == 200
    plan.refresh_from_db()
    assert plan.inversion_paused
    done = client.post(url, {"reason": "Seen in clinic: chest pain was muscular", "confirm": "on"})
    assert done.status_code == 302
    plan.refresh_from_db()
    assert not plan.inversion_paused
    event = PlanEvent.objects.get(plan=plan, kind=PlanEvent.Kind.RESUMED)
    assert event.reason == "Seen in clinic: chest pain was muscular"
    assert event.data == {"confirmed": True}


@pytest_db
def test_api_resume_after_a_stop_symptom_needs_a_reason_and_confirmed(stopped_yesterday):
    plan = stopped_yesterday
    client = api(plan.patient.clinician)
    url = f"/api/v1/plans/{plan.pk}/resume/"
    bare = client.post(url, {}, format="json")
    assert bare.status_code == 400
    assert set(bare.json()) == {"reason", "confirmed"}
    unconfirmed = client.post(url, {"reason": "Seen"}, format="json")
    assert unconfirmed.status_code == 400 and set(unconfirmed.json()) == {"confirmed"}
    plan.refresh_from_db()
    assert plan.inversion_paused
    done = client.post(url, {"reason": "Seen: muscular", "confirmed": True}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["inversion_paused"] is False


@pytest_db
def test_a_clinicians_own_pause_resumes_without_a_confirmation(cleared_patient):
    plan = inversion_plan(cleared_patient)
    services.plan_pause(plan=plan, by=cleared_patient.clinician, reason="Holiday")
    response = api(cleared_patient.clinician).post(f"/api/v1/plans/{plan.pk}/resume/")
    assert response.status_code == 200
    assert response.json()["status"] == "active"


@pytest_db
def test_only_the_responsible_clinician_or_a_clinic_admin_changes_a_plan(client, stopped_yesterday):
    plan = stopped_yesterday
    colleague = clinician(plan.clinic)  # same clinic, not this patient's clinician
    otp_login(client, colleague)
    url = f"/admin/programmes/plan/{plan.pk}/do/resume/"
    assert client.post(url, {"reason": "x", "confirm": "on"}).status_code == 403
    assert (
        client.post(f"/admin/programmes/plan/{plan.pk}/change/", plan_form(plan)).status_code == 403
    )
    assert "Resume" not in client.get(f"/admin/programmes/plan/{plan.pk}/change/").content.decode()
    assert (
        api(colleague)
        .patch(f"/api/v1/plans/{plan.pk}/", {"auto_advance": True}, format="json")
        .status_code
        == 403
    )
    plan.refresh_from_db()
    assert plan.inversion_paused and not plan.auto_advance
    admin = member(Role.CLINIC_ADMIN, plan.clinic)
    client.logout()
    otp_login(client, admin)
    assert client.post(url, {"reason": "Reviewed by phone", "confirm": "on"}).status_code == 302
    plan.refresh_from_db()
    assert not plan.inversion_paused


@pytest_db
def test_the_patient_api_update_leaves_a_newer_screening_alone(cleared_patient):
    """A client that read the record before a health update sends its old values back."""
    plan = inversion_plan(cleared_patient)
    old = api(cleared_patient.clinician).get(f"/api/v1/patients/{cleared_patient.pk}/").json()
    pregnancy_update(cleared_patient)
    old.pop("id")
    old.pop("created_at")
    response = api(cleared_patient.clinician).patch(
        f"/api/v1/patients/{cleared_patient.pk}/", {**old, "phone": "0700"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["screening_outcome"] == Outcome.CONTRAINDICATED
    plan.refresh_from_db()
    assert plan.inversion_paused
