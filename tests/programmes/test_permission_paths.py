"""Every forbidding state crossed with every path: no inversion step or inversion exercise is
shown, sent, assigned, activated or advanced.

Each state is reached as it happens in the clinic (a health update, a new intake, a stop
symptom at check-in) or, for the windows the hourly sweep has not yet closed (a lapsed
screening, an expired or revoked override), by changing the row underneath the plan, so
the paths are shown to ask today's permission rather than trust the plan's own flags.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from patients import services as patient_services
from programmes import checkins, services
from programmes.models import (
    CheckIn,
    Exercise,
    Plan,
    PlanExercise,
    PlanStatus,
    PortalNotice,
    ProgrammeTemplate,
    ReminderDelivery,
    TemplateExercise,
)
from programmes.permission import patient_today, treatment_today
from programmes.reminders import reminder_send_batch
from tests.factories import REVIEW, URGENT, otp_login, patient_with_portal, screen

pytestmark = pytest.mark.django_db

STEP_TEXT = "20°"  # step 1 of the default inversion template
CLINIC_INVERSION = "Home inversion chair"  # a clinic's own inversion exercise, blank tags
SHIPPED_INVERSION = "Inversion table session"


@pytest.fixture
def inversion_template():
    return ProgrammeTemplate.objects.get(name="Progressive inversion (default)")


def running_inversion_plan(patient, template, *, days_in: int = 0, own: bool = False) -> Plan:
    """An active plan at step 1 with an inversion exercise: the shipped one, or (`own`) a
    clinic's own with blank tags. One: with the step, two sessions a day, the most."""
    plan = services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    if own:
        exercise = Exercise.objects.create(
            clinic=patient.clinic,
            name=CLINIC_INVERSION,
            slug="home-inversion-chair",
            category="inversion",
            patient_instructions="Sit back slowly.",
            default_hold_seconds=60,
        )
    else:
        exercise = Exercise.objects.get(slug="inversion-table-session")
    PlanExercise.objects.create(plan=plan, exercise=exercise, order=90)
    if not days_in:
        return services.plan_activate(plan=plan, by=patient.clinician)
    # A plan activated `days_in` days ago (a running plan's start date never moves, so it
    # is made active with its start already in the past).
    started = patient_today(patient) - timedelta(days=days_in)
    Plan.objects.filter(pk=plan.pk).update(
        status=PlanStatus.ACTIVE,
        start_date=started,
        step_started_on=started,
        current_step=plan.inversion_steps.order_by("order").first(),
        auto_advance=True,
    )
    plan.refresh_from_db()
    return plan


def _yesterday(patient):
    return patient_today(patient) - timedelta(days=1)


def contraindicated(patient, monkeypatch):
    patient_services.patient_health_update(
        patient=patient, changes={"pregnant": True}, by=patient.user, channel="portal"
    )


def review_without_override(patient, monkeypatch):
    screen(patient, **REVIEW)


def _move_clock_past_valid_until(patient, monkeypatch):
    """Time passes to the day after the screening's (and its override's) last valid day.
    A screening is never edited (PostgreSQL refuses it), so the clock moves instead; the
    hourly sweep has not yet run."""
    ahead = patient.current_screening.valid_until - patient_today(patient) + timedelta(days=1)
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + ahead)


def override_expired(patient, monkeypatch):
    _move_clock_past_valid_until(patient, monkeypatch)


def override_revoked(patient, monkeypatch):
    patient_services.screening_override_revoke(
        override=patient.current_screening.override,
        by=patient.clinician,
        reason="GP withdrew the approval",
        channel="admin",
    )


def urgent_referral(patient, monkeypatch):
    screen(patient, **URGENT)


def screening_lapsed(patient, monkeypatch):
    _move_clock_past_valid_until(patient, monkeypatch)


def _checkin(patient, code):
    checkins.checkin_submit(
        patient=patient,
        data=checkins.CheckInInput(
            idempotency_key=uuid.uuid4(), completion="done", symptoms=(code,)
        ),
        channel="portal",
    )


def stop_paused(patient, monkeypatch):
    _checkin(patient, "chest_pain")


def red_flag_at_checkin(patient, monkeypatch):
    _checkin(patient, "saddle_numbness")


STATES: dict[str, Callable] = {
    "contraindicated (health update)": contraindicated,
    "review required without override": review_without_override,
    "override expired": override_expired,
    "override revoked": override_revoked,
    "urgent referral": urgent_referral,
    "screening lapsed": screening_lapsed,
    "stop-paused": stop_paused,
    "red flag at check-in": red_flag_at_checkin,
}
NEEDS_OVERRIDE = {"override expired", "override revoked"}


@pytest.fixture(params=list(STATES), ids=list(STATES))
def forbidden(request, inversion_template, monkeypatch):
    """A patient on a running inversion plan, then put in one forbidding state."""
    patient = patient_with_portal()
    screening = screen(patient, **(REVIEW if request.param in NEEDS_OVERRIDE else {}))
    if request.param in NEEDS_OVERRIDE:
        patient_services.screening_override_record(
            screening=screening, clinician=patient.clinician, reason="GP agreed", channel="admin"
        )
    # Half the states carry the shipped inversion exercise, half a clinic's own.
    own = list(STATES).index(request.param) % 2 == 1
    plan = ready_to_advance(patient, inversion_template, own=own)
    patient.refresh_from_db()
    STATES[request.param](patient, monkeypatch)
    patient.refresh_from_db()
    return patient, Plan.objects.get(pk=plan.pk)


def ready_to_advance(patient, template, *, own: bool = False) -> Plan:
    """Ten days in, automatic advance on, and tolerated sessions on four distinct days:
    everything progression needs to advance, but the permission."""
    plan = running_inversion_plan(patient, template, days_in=10, own=own)
    _tolerated_days(patient, plan)
    return plan


def test_control_a_cleared_patient_in_the_same_set_up_does_advance(inversion_template):
    """The set-up is enough to advance: the refusals below are the permission's."""
    patient = patient_with_portal()
    screen(patient)
    plan = ready_to_advance(patient, inversion_template)
    services.progression_evaluate(plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.current_step.order == 1


def portal(patient) -> Client:
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def assert_no_inversion_in(text: str) -> None:
    assert STEP_TEXT not in text
    assert CLINIC_INVERSION not in text
    assert SHIPPED_INVERSION not in text


# Shown.


def test_portal_today_shows_no_inversion(forbidden):
    patient, _ = forbidden
    assert_no_inversion_in(portal(patient).get("/").content.decode())


def test_portal_checkin_form_offers_no_inversion(forbidden):
    patient, _ = forbidden
    html = portal(patient).get("/checkin/").content.decode()
    assert 'name="inversion_angle_deg"' not in html
    assert_no_inversion_in(html)


def test_portal_progress_names_no_inversion_step(forbidden):
    patient, _ = forbidden
    html = portal(patient).get("/progress/").content.decode()
    assert STEP_TEXT not in html and "Next:" not in html


def test_api_today_has_no_inversion(forbidden):
    patient, _ = forbidden
    today = api(patient.user).get("/api/v1/me/today/").json()
    assert today["inversion"] is None
    assert_no_inversion_in(str(today["exercises"]))


def test_api_progress_names_no_step(forbidden):
    patient, _ = forbidden
    progress = api(patient.user).get("/api/v1/me/progress/").json()
    assert progress["current_step"] is None and progress["next_step"] is None


def test_api_plans_read_by_the_patient_show_no_inversion(forbidden):
    patient, plan = forbidden
    client = api(patient.user)
    listed = client.get("/api/v1/plans/").json()["results"]
    one = client.get(f"/api/v1/plans/{plan.pk}/").json()
    for shown in [*listed, one]:
        assert shown["current_step"] is None
        assert shown["inversion_steps"] == []
        assert_no_inversion_in(str(shown["exercises"]))


# Recorded.


def test_api_checkin_with_inversion_fields_is_refused_and_records_no_step(forbidden):
    patient, _ = forbidden
    with_step = CheckIn.objects.filter(patient=patient, step__isnull=False).count()
    response = api(patient.user).post(
        "/api/v1/me/checkins/",
        {
            "idempotency_key": str(uuid.uuid4()),
            "completion": "done",
            "inversion_angle_deg": 20,
            "inversion_seconds": 60,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "inversion_angle_deg" in response.json()
    assert CheckIn.objects.filter(patient=patient, step__isnull=False).count() == with_step


# Advanced.


def _tolerated_days(patient, plan, days: int = 4) -> None:
    """Tolerated sessions at the current step on distinct past days (as if recorded then)."""
    today = patient_today(patient)
    for n in range(1, days + 1):
        CheckIn.objects.create(
            plan=plan,
            patient=patient,
            clinic=patient.clinic,
            idempotency_key=uuid.uuid4(),
            local_date=today - timedelta(days=n),
            completion="done",
            step=plan.current_step,
            inversion_angle_deg=20,
            inversion_seconds=60,
            pain_before=4,
            pain_after=3,
        )


def test_automatic_progression_advances_nothing(forbidden):
    patient, plan = forbidden
    services.progression_evaluate(plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.current_step.order == 0
    assert treatment_today(patient.pk).inversion_step is None


def test_manual_advance_is_refused(forbidden):
    patient, plan = forbidden
    with pytest.raises(ValidationError):
        services.plan_advance(plan=plan, by=patient.clinician, reason="Doing well")
    plan.refresh_from_db()
    assert plan.current_step.order == 0


def test_admin_advance_action_changes_no_step(forbidden, client):
    patient, plan = forbidden
    otp_login(client, patient.clinician)
    client.post(f"/admin/programmes/plan/{plan.pk}/do/advance/", {"reason": "Doing well"})
    plan.refresh_from_db()
    assert plan.current_step.order == 0


def test_resume_does_not_bring_inversion_back(forbidden):
    patient, plan = forbidden
    with contextlib.suppress(ValidationError):
        services.plan_resume(plan=plan, by=patient.clinician, reason="Reviewed", confirmed=True)
    assert treatment_today(patient.pk).inversion_step is None


# Activated and assigned.


def test_activating_a_draft_makes_no_inversion_current(forbidden, inversion_template):
    patient, plan = forbidden
    draft = Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        template=inversion_template,
        name="Second",
        clinician=patient.clinician,
        start_date=patient_today(patient),
    )
    for step in plan.inversion_steps.all():
        step.pk, step.plan = None, draft
        step.save()
    services.plan_end(plan=plan, by=patient.clinician, reason="Replaced")
    with pytest.raises(ValidationError):
        services.plan_activate(plan=draft, by=patient.clinician)
    draft.refresh_from_db()
    assert draft.status == PlanStatus.DRAFT and draft.current_step_id is None


def test_an_inversion_template_is_not_assigned(forbidden, inversion_template):
    patient, _ = forbidden
    with pytest.raises(ValidationError):
        services.plan_create_from_template(
            patient=patient, template=inversion_template, by=patient.clinician
        )


def test_an_exercise_only_template_with_an_inversion_exercise_is_not_assigned(forbidden):
    patient, _ = forbidden
    template = ProgrammeTemplate.objects.create(
        clinic=patient.clinic, name="Home routine", kind="exercise_only"
    )
    TemplateExercise.objects.create(
        template=template, exercise=Exercise.objects.get(slug="inversion-table-session")
    )
    with pytest.raises(ValidationError):
        services.plan_create_from_template(patient=patient, template=template, by=patient.clinician)


def test_api_assignment_of_an_inversion_template_answers_400(forbidden, inversion_template):
    patient, _ = forbidden
    response = api(patient.clinician).post(
        "/api/v1/plans/", {"patient": patient.pk, "template": inversion_template.pk}, format="json"
    )
    assert response.status_code == 400


# Sent.


def test_a_reminder_sent_now_names_no_inversion(forbidden):
    patient, _ = forbidden
    row = ReminderDelivery.objects.create(
        patient=patient,
        clinic=patient.clinic,
        local_date=patient_today(patient),
        kind="reminder",
        channel="portal",
    )
    reminder_send_batch([row.pk])
    for notice in PortalNotice.objects.filter(patient=patient):
        assert_no_inversion_in(notice.message)


def test_a_reminder_row_of_yesterday_sent_late_names_no_inversion(forbidden):
    patient, _ = forbidden
    row = ReminderDelivery.objects.create(
        patient=patient,
        clinic=patient.clinic,
        local_date=_yesterday(patient),
        kind="reminder",
        channel="portal",
    )
    reminder_send_batch([row.pk])
    for notice in PortalNotice.objects.filter(patient=patient):
        assert_no_inversion_in(notice.message)


# The sweep closes the window the reads already refused.


@pytest.mark.parametrize("state", ["screening lapsed", "override expired"])
def test_the_expiry_sweep_pauses_inversion_in_the_patients_own_date(state, inversion_template):
    patient = patient_with_portal(time_zone="America/New_York")
    screening = screen(patient, **(REVIEW if state in NEEDS_OVERRIDE else {}))
    if state in NEEDS_OVERRIDE:
        patient_services.screening_override_record(
            screening=screening, clinician=patient.clinician, reason="GP agreed", channel="admin"
        )
    plan = running_inversion_plan(patient, inversion_template)
    patient.refresh_from_db()
    # The sweep runs at the first instant of the day after the last valid day, New York time.
    last_day = screening.valid_until
    assert (
        patient_services.screening_expiry_sweep(
            now=timezone.make_aware(datetime.combine(last_day, time(23, 59)), patient.zone)
        )
        == 0
    )
    patient_services.screening_expiry_sweep(
        now=timezone.make_aware(
            datetime.combine(last_day + timedelta(days=1), time(0, 1)), patient.zone
        )
    )
    plan.refresh_from_db()
    assert plan.inversion_paused


def test_an_unscreened_patient_is_assigned_nothing_and_shown_nothing(inversion_template):
    """Unscreened with a running plan can't be: PostgreSQL refuses it (test_database_guard)."""
    patient = patient_with_portal()
    with pytest.raises(ValidationError):
        services.plan_create_from_template(
            patient=patient, template=inversion_template, by=patient.clinician
        )
    assert_no_inversion_in(portal(patient).get("/").content.decode())
    assert api(patient.user).get("/api/v1/me/today/").json()["inversion"] is None
