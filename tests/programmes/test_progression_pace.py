"""Progression keeps CLINICAL.md's pace and caps on every path (issue 11, item 3).

Same-day, backdated and future check-ins, repeated manual advances and start-date edits:
none moves a plan faster than 3 tolerated sessions on distinct days at a step, or past
the caps.
"""

import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from clinic.models import AuditEvent
from programmes import checkins, services
from programmes.admin import PlanChangeForm
from programmes.models import (
    CheckIn,
    Plan,
    PlanEvent,
    PlanStatus,
    ProgrammeTemplate,
)
from programmes.permission import patient_today
from tests.factories import PatientFactory, otp_login, screen

pytestmark = pytest.mark.django_db


def running_plan(*, days_ago: int = 0, auto_advance: bool = False, twice_a_day_from=None):
    """An active plan of the default ladder (20° 1 min, 30° 2 min, ... once a day),
    started `days_ago` days ago in the patient's own time zone.

    `twice_a_day_from`: the step order from which the clinician prescribed two sessions a
    day (so a later step breaks the first two weeks' 5 minutes a day)."""
    patient = PatientFactory()
    today = patient_today(patient)
    screen(patient, taken_on=today - timedelta(days=days_ago + 5))
    start = today - timedelta(days=days_ago)
    plan = services.plan_create_from_template(
        patient=patient,
        template=ProgrammeTemplate.objects.get(name="Progressive inversion (default)"),
        by=patient.clinician,
        start_date=start,
        auto_advance=auto_advance,
    )
    if twice_a_day_from is not None:
        plan.inversion_steps.filter(order__gte=twice_a_day_from).update(sessions_per_day=2)
    return services.plan_activate(plan=plan, by=patient.clinician, today=start)


def check_in(plan: Plan, *, days_ago: int = 0, pain_after: int = 4) -> CheckIn:
    """A tolerated session through the check-in service, as the patient would send it."""
    today = patient_today(plan.patient)
    result = checkins.checkin_submit(
        patient=plan.patient,
        data=checkins.CheckInInput(
            idempotency_key=uuid.uuid4(),
            completion="done",
            inversion_angle_deg=20,
            inversion_seconds=60,
            pain_before=4,
            pain_after=pain_after,
            local_date=today - timedelta(days=days_ago),
        ),
        channel="portal",
    )
    return result.checkin


def step_order(plan: Plan) -> int:
    plan.refresh_from_db()
    return plan.current_step.order


def advances(plan: Plan) -> int:
    return plan.events.filter(kind=PlanEvent.Kind.ADVANCED).count()


# Automatic advance counts what CLINICAL.md counts.


@pytest.mark.parametrize("count", [3, 6], ids=["three check-ins", "six check-ins"])
def test_same_day_check_ins_never_auto_advance_however_many(count):
    """The worker runs after every check-in; all on one day, the plan stays where it is."""
    plan = running_plan(days_ago=20, auto_advance=True)
    for _ in range(count):
        check_in(plan)
        proposal = services.progression_evaluate(plan_id=plan.pk)
        assert proposal.action == "hold", proposal.reason
    assert "2 more needed" in proposal.reason
    assert step_order(plan) == 0
    assert advances(plan) == 0


def test_three_distinct_days_auto_advance_one_step_and_the_next_step_starts_counting_again():
    plan = running_plan(days_ago=20, auto_advance=True)
    for days_ago in (2, 1, 0):
        check_in(plan, days_ago=days_ago)
    assert services.progression_evaluate(plan_id=plan.pk).action == "advance"
    assert step_order(plan) == 1
    assert plan.step_started_on == patient_today(plan.patient)

    check_in(plan)  # a fourth session today, at the new step
    proposal = services.progression_evaluate(plan_id=plan.pk)
    assert proposal.action == "hold"
    assert step_order(plan) == 1


def test_check_ins_dated_before_the_plan_started_never_count():
    """Backdated to before the start (the service allows the last 7 days), they count nothing."""
    plan = running_plan(days_ago=1, auto_advance=True)
    for days_ago in (4, 3, 2):
        check_in(plan, days_ago=days_ago)
    check_in(plan, days_ago=1)  # the plan's first day: counts
    check_in(plan)  # today: counts
    proposal = services.progression_evaluate(plan_id=plan.pk)
    assert proposal.action == "hold"
    assert "1 more needed" in proposal.reason
    assert step_order(plan) == 0


def test_check_ins_backdated_to_before_the_current_step_began_never_count():
    """A backdated check-in is stored at today's step; it still counts only from the day
    that step became current."""
    plan = running_plan(days_ago=20)
    for days_ago in (5, 4, 3):
        check_in(plan, days_ago=days_ago)
    services.plan_advance(plan=plan, by=plan.patient.clinician)  # the pace allows it
    assert step_order(plan) == 1
    for days_ago in (3, 2, 1):  # backdated, recorded at step 2
        check_in(plan, days_ago=days_ago)
    assert set(
        plan.checkins.filter(local_date__lt=patient_today(plan.patient)).values_list(
            "step__order", flat=True
        )
    ) == {0, 1}
    with pytest.raises(ValidationError, match="3 more needed"):
        services.plan_advance(plan=plan, by=plan.patient.clinician)
    assert step_order(plan) == 1


def test_the_check_in_service_refuses_a_future_date():
    plan = running_plan(days_ago=20)
    with pytest.raises(ValidationError, match="future"):
        check_in(plan, days_ago=-1)
    assert not plan.checkins.exists()


def test_future_dated_check_ins_written_directly_never_count():
    """Rows the service would refuse, inserted directly, are ignored by the engine."""
    plan = running_plan(days_ago=20, auto_advance=True)
    today = patient_today(plan.patient)
    for days_ahead in (0, 1, 2):
        CheckIn.objects.create(
            plan=plan,
            patient=plan.patient,
            clinic=plan.clinic,
            idempotency_key=uuid.uuid4(),
            local_date=today + timedelta(days=days_ahead),
            completion="done",
            step=plan.current_step,
            pain_before=4,
            pain_after=4,
        )
    proposal = services.progression_evaluate(plan_id=plan.pk)
    assert proposal.action == "hold"
    assert "2 more needed" in proposal.reason
    assert step_order(plan) == 0


def test_a_pain_rise_of_two_is_not_a_tolerated_session():
    plan = running_plan(days_ago=20, auto_advance=True)
    check_in(plan, days_ago=2, pain_after=6)  # 4 -> 6
    check_in(plan, days_ago=1)
    check_in(plan)
    assert services.progression_evaluate(plan_id=plan.pk).action == "hold"
    assert step_order(plan) == 0


# A clinician's manual advance keeps the same pace, unless they record why.


def test_repeated_manual_advances_without_check_ins_are_refused():
    plan = running_plan(days_ago=20)
    for _ in range(3):
        with pytest.raises(ValidationError) as refusal:
            services.plan_advance(plan=plan, by=plan.patient.clinician, reason="Doing well")
        assert "pace" in refusal.value.message_dict
    assert step_order(plan) == 0
    assert advances(plan) == 0


def test_a_manual_advance_at_the_pace_is_allowed_once_and_the_next_waits_for_the_new_step():
    plan = running_plan(days_ago=20)
    for days_ago in (2, 1, 0):
        check_in(plan, days_ago=days_ago)
    services.plan_advance(plan=plan, by=plan.patient.clinician)
    assert step_order(plan) == 1
    with pytest.raises(ValidationError, match="pace"):
        services.plan_advance(plan=plan, by=plan.patient.clinician)
    assert step_order(plan) == 1
    event = plan.events.get(kind=PlanEvent.Kind.ADVANCED)
    assert event.data == {}  # at the pace: nothing overridden


def test_a_pace_override_is_recorded_with_its_reason_and_audited():
    plan = running_plan(days_ago=20)
    clinician = plan.patient.clinician
    services.plan_advance(
        plan=plan, by=clinician, pace_override_reason="Tolerated 30° in clinic today"
    )
    assert step_order(plan) == 1
    event = plan.events.get(kind=PlanEvent.Kind.ADVANCED)
    assert event.data["pace_overridden"] is True
    assert event.data["pace_override_reason"] == "Tolerated 30° in clinic today"
    assert "3 more needed" in event.data["pace"]
    assert event.by == clinician
    audit = AuditEvent.objects.filter(object_id=str(plan.pk), actor=clinician).latest("pk")
    assert "Pace overridden: Tolerated 30° in clinic today" in audit.summary


def test_a_blank_pace_override_reason_is_no_reason():
    plan = running_plan(days_ago=20)
    with pytest.raises(ValidationError, match="pace"):
        services.plan_advance(plan=plan, by=plan.patient.clinician, pace_override_reason="   ")
    assert step_order(plan) == 0


def test_a_pace_override_never_passes_the_first_two_weeks_daily_limit():
    """Plan day 0: step 2 is 2 x 2 min (4 min a day), step 3 is 2 x 3 min (6 min a day)."""
    plan = running_plan(days_ago=0, twice_a_day_from=1)
    clinician = plan.patient.clinician
    services.plan_advance(plan=plan, by=clinician, pace_override_reason="Seen in clinic")
    assert step_order(plan) == 1
    with pytest.raises(ValidationError, match="first 14 days"):
        services.plan_advance(plan=plan, by=clinician, pace_override_reason="Seen in clinic")
    assert step_order(plan) == 1
    assert advances(plan) == 1


# The admin's and the API's advance.


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_advance_is_refused_at_the_pace_without_a_reason_and_allowed_with_one():
    plan = running_plan(days_ago=20)
    client = api(plan.patient.clinician)
    refused = client.post(f"/api/v1/plans/{plan.pk}/advance/", {}, format="json")
    assert refused.status_code == 400
    assert "pace" in refused.json()
    assert step_order(plan) == 0

    allowed = client.post(
        f"/api/v1/plans/{plan.pk}/advance/",
        {"pace_override_reason": "Tolerated 30° in clinic"},
        format="json",
    )
    assert allowed.status_code == 200
    assert step_order(plan) == 1
    event = plan.events.get(kind=PlanEvent.Kind.ADVANCED)
    assert event.data["pace_override_reason"] == "Tolerated 30° in clinic"


def test_admin_advance_shows_the_pace_refusal(client):
    plan = running_plan(days_ago=20)
    otp_login(client, plan.patient.clinician)
    response = client.post(f"/admin/programmes/plan/{plan.pk}/do/advance/", follow=True)
    html = response.content.decode()
    assert "Advance a step refused" in html
    assert "3 more needed" in html
    assert step_order(plan) == 0


def test_admin_advance_before_the_pace_asks_for_a_reason_and_records_it(client):
    plan = running_plan(days_ago=20)
    otp_login(client, plan.patient.clinician)
    url = f"/admin/programmes/plan/{plan.pk}/do/advance_override/"
    form = client.get(url)
    assert form.status_code == 200
    assert "The caps still apply" in form.content.decode()
    client.post(url, {"reason": "Seen in clinic, tolerated 30°"})
    assert step_order(plan) == 1
    event = plan.events.get(kind=PlanEvent.Kind.ADVANCED)
    assert event.data["pace_override_reason"] == "Seen in clinic, tolerated 30°"


# A running plan's start date stays.


@pytest.mark.parametrize(
    ("status", "refused"),
    [
        pytest.param(PlanStatus.DRAFT, False, id="a draft's start date may change"),
        pytest.param(PlanStatus.ACTIVE, True, id="an active plan's start date may not"),
        pytest.param(PlanStatus.PAUSED, True, id="a paused plan's start date may not"),
    ],
)
def test_service_refuses_a_running_plans_start_date_change(status, refused):
    plan = running_plan(days_ago=3)
    Plan.objects.filter(pk=plan.pk).update(status=status)
    plan.refresh_from_db()
    earlier = plan.start_date - timedelta(days=14)
    assert bool(services.plan_start_date_change_refused(plan, earlier)) is refused
    assert services.plan_start_date_change_refused(plan, plan.start_date) == ""


def test_admin_change_form_keeps_a_running_plans_start_date():
    plan = running_plan(days_ago=3)
    earlier = plan.start_date - timedelta(days=14)
    form = PlanChangeForm(
        data={
            "name": plan.name,
            "start_date": earlier.isoformat(),
            "ceiling_deg": plan.ceiling_deg,
        },
        instance=plan,
    )
    assert not form.is_valid()
    assert "start_date" in form.errors
    plan.refresh_from_db()
    assert plan.start_date == earlier + timedelta(days=14)


def _change_form_data(response) -> dict:
    """What the admin change page would post back unchanged: its form and inlines."""
    data = {}

    def put(form, name):
        value = form[name].value()
        if value is None or value is False:
            return
        data[form.add_prefix(name)] = "on" if value is True else str(getattr(value, "pk", value))

    main = response.context["adminform"].form
    for name in main.fields:
        put(main, name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            for name in form.fields:
                put(form, name)
    return data


def test_admin_post_of_an_earlier_start_date_leaves_a_running_plan_unchanged(client):
    plan = running_plan(days_ago=3)
    start = plan.start_date
    otp_login(client, plan.patient.clinician)
    url = f"/admin/programmes/plan/{plan.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = _change_form_data(page)
    data["start_date"] = (start - timedelta(days=14)).isoformat()
    response = client.post(url, data)
    assert response.status_code == 302  # saved: the other settings still change
    plan.refresh_from_db()
    assert plan.start_date == start


def test_the_api_changes_no_running_plans_start_date():
    plan = running_plan(days_ago=3)
    start = plan.start_date
    client = api(plan.patient.clinician)
    for method in (client.patch, client.put):
        response = method(
            f"/api/v1/plans/{plan.pk}/",
            {"start_date": (start - timedelta(days=14)).isoformat()},
            format="json",
        )
        # PATCH refuses the field (400); PUT is not offered (405).
        assert response.status_code in (400, 405), response.content
    plan.refresh_from_db()
    assert plan.start_date == start
