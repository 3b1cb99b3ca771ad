"""No path gives a patient who must not invert an inversion step."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from patients import services as patient_services
from programmes import services
from programmes.models import (
    CheckIn,
    Plan,
    PlanEvent,
    PlanInversionStep,
    PlanStatus,
    ProgrammeTemplate,
    TemplateInversionStep,
)
from programmes.permission import patient_today
from tests.factories import (
    CONTRAINDICATED,
    REVIEW,
    URGENT,
    ClinicFactory,
    PatientFactory,
    clinician,
    otp_login,
    patient_with_portal,
    screen,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def inversion_template():
    return ProgrammeTemplate.objects.get(name="Progressive inversion (default)")


@pytest.fixture
def exercise_template():
    return ProgrammeTemplate.objects.get(kind="exercise_only", clinic__isnull=True)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def active_inversion_plan(patient, template, *, auto_advance=False, days_ago=0):
    start = timezone.localdate() - timedelta(days=days_ago)
    plan = services.plan_create_from_template(
        patient=patient,
        template=template,
        by=patient.clinician,
        start_date=start,
        auto_advance=auto_advance,
    )
    return services.plan_activate(plan=plan, by=patient.clinician, today=start)


def test_starter_library_ships_at_least_twelve_exercises_and_both_templates(inversion_template):
    from programmes.models import Exercise

    assert Exercise.objects.filter(clinic__isnull=True).count() >= 12
    assert [s.angle_deg for s in inversion_template.inversion_steps.order_by("order")] == [
        20,
        30,
        40,
        50,
        60,
    ]
    assert ProgrammeTemplate.objects.filter(kind="exercise_only").exists()


@pytest.mark.parametrize("answers", [CONTRAINDICATED, URGENT], ids=["contraindicated", "red flag"])
def test_service_refuses_inversion_template_for_patient_who_must_not_invert(
    answers, inversion_template
):
    patient = PatientFactory()
    screen(patient, **answers)
    with pytest.raises(ValidationError):
        services.plan_create_from_template(
            patient=patient, template=inversion_template, by=patient.clinician
        )
    assert not Plan.objects.exists()


def test_unscreened_patient_gets_no_plan_at_all(inversion_template, exercise_template):
    patient = PatientFactory()
    for template in (inversion_template, exercise_template):
        with pytest.raises(ValidationError, match="not been screened"):
            services.plan_create_from_template(
                patient=patient, template=template, by=patient.clinician
            )


def test_contraindicated_patient_gets_exercise_only_plan_without_a_step(exercise_template):
    patient = PatientFactory()
    screen(patient, **CONTRAINDICATED)
    plan = services.plan_create_from_template(
        patient=patient, template=exercise_template, by=patient.clinician
    )
    services.plan_activate(plan=plan, by=patient.clinician)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE
    assert plan.current_step is None
    today = services.prescription_for(patient)
    assert today.inversion is None and len(today.exercises) == 7


def test_review_required_needs_override_before_an_inversion_plan_is_assigned(inversion_template):
    """Assigning is giving: no inversion template without the override."""
    patient = PatientFactory()
    screening = screen(patient, **REVIEW)
    with pytest.raises(ValidationError, match="override"):
        services.plan_create_from_template(
            patient=patient, template=inversion_template, by=patient.clinician
        )
    assert not Plan.objects.exists()
    patient_services.screening_override_record(
        screening=screening, clinician=patient.clinician, reason="GP approved", channel="admin"
    )
    plan = services.plan_create_from_template(
        patient=patient, template=inversion_template, by=patient.clinician
    )
    services.plan_activate(plan=plan, by=patient.clinician)
    plan.refresh_from_db()
    assert plan.current_step.angle_deg == 20


def test_a_draft_made_while_cleared_is_not_activated_once_review_is_required(
    inversion_template,
):
    patient = PatientFactory()
    screen(patient)
    plan = services.plan_create_from_template(
        patient=patient, template=inversion_template, by=patient.clinician
    )
    screen(patient, **REVIEW)
    with pytest.raises(ValidationError, match="override"):
        services.plan_activate(plan=plan, by=patient.clinician)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


def test_api_refuses_inversion_plan_for_contraindicated_patient(inversion_template):
    patient = PatientFactory()
    screen(patient, **CONTRAINDICATED)
    response = api(patient.clinician).post(
        "/api/v1/plans/", {"patient": patient.pk, "template": inversion_template.pk}, format="json"
    )
    assert response.status_code == 400
    assert "template" in response.json()


def test_api_activate_refused_for_review_required_without_override(inversion_template):
    patient = PatientFactory()
    screen(patient)
    client = api(patient.clinician)
    created = client.post(
        "/api/v1/plans/", {"patient": patient.pk, "template": inversion_template.pk}, format="json"
    )
    assert created.status_code == 201, created.json()
    screen(patient, **REVIEW)
    response = client.post(f"/api/v1/plans/{created.json()['id']}/activate/")
    assert response.status_code == 400
    assert Plan.objects.get().status == PlanStatus.DRAFT
    refused = client.post(
        "/api/v1/plans/", {"patient": patient.pk, "template": inversion_template.pk}, format="json"
    )
    assert refused.status_code == 400
    assert "template" in refused.json()


def test_admin_assignment_form_shows_refusal_for_contraindicated_patient(
    client, inversion_template
):
    patient = PatientFactory()
    screen(patient, **CONTRAINDICATED)
    otp_login(client, patient.clinician)
    response = client.post(
        "/admin/programmes/plan/add/",
        {
            "patient": patient.pk,
            "template": inversion_template.pk,
            "start_date": timezone.localdate().isoformat(),
            "ceiling_deg": 60,
        },
    )
    assert response.status_code == 200
    assert "choose an exercise-only template" in response.content.decode()
    assert not Plan.objects.exists()


def test_admin_activate_button_shows_refusal_and_keeps_draft(client, inversion_template):
    patient = PatientFactory()
    screen(patient)
    plan = services.plan_create_from_template(
        patient=patient, template=inversion_template, by=patient.clinician
    )
    screen(patient, **REVIEW)
    otp_login(client, patient.clinician)
    response = client.post(f"/admin/programmes/plan/{plan.pk}/do/activate/", follow=True)
    assert "Activate refused" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


@pytest.mark.django_db(transaction=True)
def test_database_refuses_direct_write_making_inversion_current(inversion_template):
    patient = PatientFactory()
    screen(patient, **CONTRAINDICATED)
    plan = Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        name="bypass",
        clinician=patient.clinician,
        start_date=timezone.localdate(),
    )
    step = PlanInversionStep.objects.create(plan=plan, order=0, angle_deg=20, hold_seconds=60)
    with pytest.raises(IntegrityError, match="inversion refused"), transaction.atomic():
        Plan.objects.filter(pk=plan.pk).update(status="active", current_step=step)


def test_fixture_load_cannot_make_inversion_current_for_contraindicated_patient(tmp_path):
    patient = PatientFactory()
    screen(patient, **CONTRAINDICATED)
    plan = Plan.objects.create(
        patient=patient,
        clinic=patient.clinic,
        name="import",
        clinician=patient.clinician,
        start_date=timezone.localdate(),
    )
    step = PlanInversionStep.objects.create(plan=plan, order=0, angle_deg=20, hold_seconds=60)
    fixture = tmp_path / "plan.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "programmes.plan",
                    "pk": plan.pk,
                    "fields": {
                        "patient": patient.pk,
                        "clinic": patient.clinic.pk,
                        "name": "import",
                        "clinician": patient.clinician.pk,
                        "start_date": str(timezone.localdate()),
                        "status": "active",
                        "current_step": step.pk,
                        "ceiling_deg": 60,
                        "created_at": timezone.now().isoformat(),
                        "updated_at": timezone.now().isoformat(),
                    },
                }
            ]
        )
    )
    with pytest.raises(IntegrityError, match="inversion refused"), transaction.atomic():
        call_command("loaddata", str(fixture), verbosity=0)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


@pytest.mark.django_db(transaction=True)
def test_database_refuses_step_above_plan_ceiling(inversion_template):
    patient = PatientFactory()
    screen(patient)
    plan = services.plan_create_from_template(
        patient=patient,
        template=inversion_template,
        by=patient.clinician,
        ceiling_deg=65,
        full_inversion_allowed=True,
    )
    plan = services.plan_activate(plan=plan, by=patient.clinician)
    # A step at 70° (10° above the last), above the plan's 65° ceiling, made current.
    with pytest.raises(IntegrityError, match="above the plan ceiling"), transaction.atomic():
        high = PlanInversionStep.objects.create(plan=plan, order=9, angle_deg=70, hold_seconds=60)
        Plan.objects.filter(pk=plan.pk).update(current_step=high)
    plan.refresh_from_db()
    assert plan.current_step.angle_deg == 20


def test_health_update_that_contraindicates_pauses_inversion_in_same_transaction(
    inversion_template,
):
    patient = PatientFactory()
    screen(patient)
    plan = active_inversion_plan(patient, inversion_template)
    patient_services.patient_health_update(
        patient=patient, changes={"pregnant": True}, by=patient.clinician, channel="portal"
    )
    plan.refresh_from_db()
    assert plan.inversion_paused
    assert "Screening" in plan.pause_reason
    assert services.prescription_for(patient).inversion is None
    with pytest.raises(ValidationError):
        services.plan_resume(plan=plan, by=patient.clinician)


def test_expired_screening_pauses_inversion_through_the_sweep(inversion_template):
    patient = PatientFactory()
    screen(patient, taken_on=timezone.localdate() - timedelta(days=85))
    plan = active_inversion_plan(patient, inversion_template)
    later = timezone.localdate() + timedelta(days=10)
    assert patient_services.screening_expiry_sweep(now=timezone.now() + timedelta(days=10)) == 1
    plan.refresh_from_db()
    assert plan.inversion_paused
    assert services.prescription_for(patient, later).inversion is None


@pytest.fixture
def lapse_screening(monkeypatch):
    """Lapse a patient's screening: it ran out yesterday (their local date), no sweep yet.

    A screening is never edited (PostgreSQL refuses it), so the clock moves instead, to the
    day after the screening's last valid day. The database keeps its own clock, by which
    the running plan it holds is still allowed.
    """

    def lapse(patient) -> None:
        ahead = patient.current_screening.valid_until - patient_today(patient) + timedelta(days=1)
        real_now = timezone.now
        monkeypatch.setattr(timezone, "now", lambda: real_now() + ahead)

    return lapse


def test_a_progression_run_after_the_screening_lapsed_pauses_inversion_instead_of_failing(
    inversion_template, lapse_screening
):
    """Between a screening's expiry and the hourly sweep, a progression run pauses first."""
    patient = PatientFactory()
    screen(patient, taken_on=timezone.localdate() - timedelta(days=85))
    plan = active_inversion_plan(patient, inversion_template, auto_advance=True)
    lapse_screening(patient)
    proposal = services.progression_evaluate(plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.inversion_paused
    assert plan.pause_reason.startswith("Screening (lapsed)")
    assert proposal is None or proposal.action in {"hold", "pause"}


def test_progression_never_advances_a_patient_whose_screening_turned_contraindicated(
    inversion_template,
):
    patient = PatientFactory()
    screen(patient)
    plan = active_inversion_plan(patient, inversion_template, auto_advance=True)
    for day in range(3):
        CheckIn.objects.create(
            plan=plan,
            patient=patient,
            clinic=patient.clinic,
            idempotency_key=f"{day:032x}",
            local_date=timezone.localdate() - timedelta(days=day),
            completion="done",
            step=plan.current_step,
            pain_before=5,
            pain_after=4,
        )
    patient_services.patient_health_update(
        patient=patient,
        changes={"conditions": ["glaucoma"]},
        by=patient.clinician,
        channel="admin",
    )
    services.progression_evaluate(plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.current_step.order == 0
    assert plan.inversion_paused


def test_auto_advance_applies_proposal_after_three_tolerated_sessions(inversion_template):
    patient = PatientFactory()
    screen(patient, taken_on=timezone.localdate() - timedelta(days=20))
    plan = active_inversion_plan(patient, inversion_template, auto_advance=True, days_ago=15)
    for day in range(3):
        CheckIn.objects.create(
            plan=plan,
            patient=patient,
            clinic=patient.clinic,
            idempotency_key=f"{day:032x}",
            local_date=timezone.localdate() - timedelta(days=day),
            completion="done",
            step=plan.current_step,
            pain_before=5,
            pain_after=4,
        )
    proposal = services.progression_evaluate(plan_id=plan.pk)
    plan.refresh_from_db()
    assert proposal.action == "advance"
    assert plan.current_step.angle_deg == 30
    kinds = list(plan.events.values_list("kind", flat=True))
    assert PlanEvent.Kind.ADVANCED in kinds and PlanEvent.Kind.PROPOSAL in kinds


def test_manual_advance_refused_beyond_first_two_weeks_daily_limit(inversion_template):
    patient = PatientFactory()
    screen(patient)
    plan = services.plan_create_from_template(
        patient=patient, template=inversion_template, by=patient.clinician
    )
    # The clinician adds a sixth step: 60° for 6 minutes, +1 minute on the fifth.
    PlanInversionStep.objects.create(plan=plan, order=5, angle_deg=60, hold_seconds=360)
    services.plan_activate(plan=plan, by=patient.clinician)
    # No check-ins: each advance overrides the pace with a reason; the caps still hold.
    overridden = {"pace_override_reason": "Tolerated a longer hold in clinic"}
    for _ in range(4):  # up to 60° for 5 minutes: within 5 minutes a day
        services.plan_advance(plan=plan, by=patient.clinician, **overridden)
    with pytest.raises(ValidationError, match="first 14 days"):
        services.plan_advance(plan=plan, by=patient.clinician, **overridden)
    plan.refresh_from_db()
    assert plan.current_step.hold_seconds == 300


def test_editing_a_template_never_changes_a_running_plan(inversion_template):
    patient = PatientFactory()
    screen(patient)
    plan = active_inversion_plan(patient, inversion_template)
    TemplateInversionStep.objects.filter(template=inversion_template, order=0).update(angle_deg=15)
    plan.refresh_from_db()
    assert plan.current_step.angle_deg == 20


def test_template_admin_refuses_steps_beyond_the_caps(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "r@example.invalid", "pw")
    otp_login(client, admin_user)
    template = ProgrammeTemplate.objects.create(name="Aggressive", kind="inversion")
    prefix = "inversion_steps"
    data = {
        "name": "Aggressive",
        "kind": "inversion",
        "is_active": "on",
        f"{prefix}-TOTAL_FORMS": 2,
        f"{prefix}-INITIAL_FORMS": 0,
        f"{prefix}-0-order": 0,
        f"{prefix}-0-angle_deg": 20,
        f"{prefix}-0-hold_seconds": 60,
        f"{prefix}-0-sessions_per_day": 1,
        f"{prefix}-0-days_per_week": 7,
        f"{prefix}-1-order": 1,
        f"{prefix}-1-angle_deg": 45,
        f"{prefix}-1-hold_seconds": 60,
        f"{prefix}-1-sessions_per_day": 1,
        f"{prefix}-1-days_per_week": 7,
        "exercises-TOTAL_FORMS": 0,
        "exercises-INITIAL_FORMS": 0,
    }
    response = client.post(f"/admin/programmes/programmetemplate/{template.pk}/change/", data)
    assert response.status_code == 200
    assert "+25" in response.content.decode() or "10°" in response.content.decode()
    assert not template.inversion_steps.exists()


def test_today_api_shows_inversion_only_when_allowed():
    from programmes.models import ProgrammeTemplate as Template

    cleared = patient_with_portal()
    screen(cleared)
    active_inversion_plan(cleared, Template.objects.get(name="Progressive inversion (default)"))
    body = api(cleared.user).get("/api/v1/me/today/").json()
    assert body["inversion"]["angle_deg"] == 20
    assert "30 seconds" in body["exit_advice"]
    contra = patient_with_portal(cleared.clinic)
    screen(contra, **CONTRAINDICATED)
    body = api(contra.user).get("/api/v1/me/today/").json()
    assert body["inversion"] is None
    assert body["nothing_reason"]


def test_clinician_of_another_clinic_gets_404_on_plan_actions(inversion_template):
    patient = PatientFactory()
    screen(patient)
    plan = active_inversion_plan(patient, inversion_template)
    outsider = api(clinician(ClinicFactory()))
    assert outsider.get(f"/api/v1/plans/{plan.pk}/").status_code == 404
    assert outsider.post(f"/api/v1/plans/{plan.pk}/advance/").status_code == 404


def test_progress_api_names_no_inversion_step_once_the_screening_has_lapsed(
    inversion_template, lapse_screening
):
    patient = patient_with_portal()
    screen(patient)
    plan = active_inversion_plan(patient, inversion_template)
    before = api(patient.user).get("/api/v1/me/progress/").json()
    assert before["current_step"]["angle_deg"] == 20 and before["next_step"]["angle_deg"] == 30
    lapse_screening(patient)
    plan.refresh_from_db()
    assert plan.inversion_active  # only today's gate stands between the patient and the step
    assert api(patient.user).get("/api/v1/me/today/").json()["inversion"] is None
    progress = api(patient.user).get("/api/v1/me/progress/").json()
    assert progress["current_step"] is None and progress["next_step"] is None


def test_plans_api_shows_a_patient_no_inversion_step_while_today_refuses_it(
    inversion_template, lapse_screening
):
    patient = patient_with_portal()
    screen(patient)
    plan = active_inversion_plan(patient, inversion_template)
    listed = api(patient.user).get("/api/v1/plans/").json()["results"]
    assert listed[0]["current_step"]["angle_deg"] == 20
    lapse_screening(patient)
    listed = api(patient.user).get("/api/v1/plans/").json()["results"]
    detail = api(patient.user).get(f"/api/v1/plans/{plan.pk}/").json()
    for shown in (listed[0], detail):
        assert shown["current_step"] is None
        assert shown["inversion_steps"] == []
    # The clinician still sees the plan's step, to review it.
    seen = api(patient.clinician).get(f"/api/v1/plans/{plan.pk}/").json()
    assert seen["current_step"]["angle_deg"] == 20
    assert len(seen["inversion_steps"]) == 5
