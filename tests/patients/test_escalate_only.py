"""Patients escalate, clinicians clear: a patient's own answers never lower their screening.

Through the services, the API (a patient posting an intake for their own record), the
portal's health update and the admin's confirmation page.
"""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from clinic.models import AuditEvent
from patients import services
from patients.domain.screening import Decision, Outcome, patient_screening_decision
from patients.models import Channel, Screening
from programmes import services as plan_services
from programmes.domain.permission import Level
from programmes.models import ProgrammeTemplate
from programmes.permission import treatment_today
from tests.factories import (
    CONTRAINDICATED,
    REVIEW,
    ClinicFactory,
    clinician,
    otp_login,
    patient_with_portal,
    screen,
)

TODAY = date(2026, 3, 10)
LATER = TODAY + timedelta(days=30)
PAST = TODAY - timedelta(days=1)
C, R, X, U = (
    Outcome.CLEARED,
    Outcome.REVIEW_REQUIRED,
    Outcome.CONTRAINDICATED,
    Outcome.URGENT_REFERRAL,
)


@pytest.mark.parametrize(
    ("new", "current", "valid_until", "decision"),
    [
        pytest.param(C, None, None, Decision.CURRENT, id="unscreened: nothing to lower"),
        pytest.param(U, None, None, Decision.CURRENT, id="unscreened red flag is current"),
        pytest.param(X, C, LATER, Decision.CURRENT, id="cleared to contraindicated escalates"),
        pytest.param(U, X, LATER, Decision.CURRENT, id="contraindicated to urgent escalates"),
        pytest.param(R, C, LATER, Decision.CURRENT, id="cleared to review escalates"),
        pytest.param(C, X, LATER, Decision.AWAITS_CONFIRMATION, id="contraindicated to cleared"),
        pytest.param(C, R, LATER, Decision.AWAITS_CONFIRMATION, id="review to cleared waits"),
        pytest.param(R, X, LATER, Decision.AWAITS_CONFIRMATION, id="adds and lowers: waits"),
        pytest.param(X, U, LATER, Decision.AWAITS_CONFIRMATION, id="urgent to contraindicated"),
        pytest.param(C, C, LATER, Decision.CURRENT, id="same outcome is current at once"),
        pytest.param(R, R, TODAY, Decision.CURRENT, id="same outcome on the last valid day"),
        pytest.param(C, C, PAST, Decision.AWAITS_CONFIRMATION, id="renewing a lapsed one waits"),
        pytest.param(X, C, PAST, Decision.CURRENT, id="escalating a lapsed one is current"),
    ],
)
def test_patient_screening_decision(new, current, valid_until, decision):
    assert (
        patient_screening_decision(
            new=new, current=current, current_valid_until=valid_until, today=TODAY
        )
        is decision
    )


@pytest.mark.parametrize(
    ("new", "current", "dropped", "decision"),
    [
        pytest.param(X, X, {"ci_glaucoma"}, Decision.AWAITS_CONFIRMATION, id="a finding dropped"),
        pytest.param(R, R, {"rv_bp"}, Decision.AWAITS_CONFIRMATION, id="review finding dropped"),
        pytest.param(X, X, set(), Decision.CURRENT, id="same findings, or more"),
        pytest.param(X, R, {"rv_bp"}, Decision.CURRENT, id="escalating is current at once"),
    ],
)
def test_a_patients_answers_that_drop_a_finding_wait_for_a_clinician(
    new, current, dropped, decision
):
    assert (
        patient_screening_decision(
            new=new,
            current=current,
            current_valid_until=LATER,
            today=TODAY,
            dropped_findings=frozenset(dropped),
        )
        is decision
    )


@pytest.fixture
def announced():
    """Every `screening_awaiting_confirmation` the services send, as kwargs."""
    sent = []

    def receive(sender, **kwargs):
        sent.append(kwargs)

    services.screening_awaiting_confirmation.connect(receive, dispatch_uid="test.awaiting")
    yield sent
    services.screening_awaiting_confirmation.disconnect(dispatch_uid="test.awaiting")


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def intake_body(**overrides) -> dict:
    body = {
        "systolic_bp": 122,
        "diastolic_bp": 78,
        "bp_measured_by": "Me, home monitor",
        "bp_measured_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "weight_kg": 80,
        "height_cm": 178,
        "baseline_pain": 4,
        "odi_sections": [1, 1, 1, 1, 1, 1, 1, None, 1, 1],
    }
    body.update(overrides)
    return body


def signed_in(patient) -> Client:
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.django_db
def test_patients_own_answers_that_lower_the_outcome_wait_and_the_current_one_stays(announced):
    patient = patient_with_portal()
    pregnant = screen(patient, **CONTRAINDICATED)
    services.patient_health_update(
        patient=patient, changes={"pregnant": False}, by=patient.user, channel=Channel.PORTAL
    )
    patient.refresh_from_db()
    assert patient.current_screening == pregnant
    waiting = Screening.objects.get(awaiting_confirmation=True)
    assert waiting.outcome == Outcome.CLEARED
    assert services.screening_awaiting(patient) == waiting
    assert treatment_today(patient.pk).permission.level == Level.EXERCISE_ONLY
    (sent,) = announced
    assert sent["screening"] == waiting and sent["current"] == pregnant
    assert sent["dedupe_key"] == f"confirm-screening:{waiting.pk}"
    assert "from contraindicated to cleared" in sent["message"]
    assert "No longer reported: ci_pregnancy" in sent["message"]
    assert AuditEvent.objects.filter(
        object_type="patients.screening", summary__contains="awaiting a clinician"
    ).exists()


@pytest.mark.django_db
def test_patients_answers_that_add_findings_while_lowering_the_outcome_keep_the_current_one(
    announced,
):
    """Not pregnant any more, but diabetic: review_required is lower, so it waits too."""
    patient = patient_with_portal()
    pregnant = screen(patient, **CONTRAINDICATED)
    services.patient_health_update(
        patient=patient,
        changes={"pregnant": False, "conditions": ["diabetes"]},
        by=patient.user,
        channel=Channel.PORTAL,
    )
    patient.refresh_from_db()
    assert patient.current_screening == pregnant
    assert "New findings: rc_diabetes" in announced[0]["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        pytest.param({"pregnant": True}, Outcome.CONTRAINDICATED, id="pregnancy"),
        pytest.param({"conditions": ["glaucoma"]}, Outcome.CONTRAINDICATED, id="new glaucoma"),
        pytest.param(
            {"medications": ["anticoagulant"]}, Outcome.REVIEW_REQUIRED, id="blood thinner"
        ),
    ],
)
def test_patients_own_answers_that_escalate_take_effect_at_once(changes, outcome, announced):
    patient = patient_with_portal()
    screen(patient)
    services.patient_health_update(
        patient=patient, changes=changes, by=patient.user, channel=Channel.PORTAL
    )
    patient.refresh_from_db()
    assert patient.current_screening.outcome == outcome
    assert not patient.current_screening.awaiting_confirmation
    assert announced == []


@pytest.mark.django_db
def test_an_equal_outcome_from_the_patient_is_current_drops_the_override_and_never_extends():
    patient = patient_with_portal()
    reviewed = screen(patient, taken_on=timezone.localdate() - timedelta(days=20), **REVIEW)
    services.screening_override_record(
        screening=reviewed, clinician=patient.clinician, reason="BP fine at GP", channel="admin"
    )
    services.intake_submit(
        patient=patient,
        answers=services.answers_from_json(
            {**patient.intakes.get().answers, "medications": ["daily_aspirin"]}
        ),
        measurements=services.IntakeMeasurements(
            bp_measured_by="Me",
            bp_measured_at=timezone.now() - timedelta(hours=1),
            baseline_pain=4,
            odi_sections=(1,) * 10,
        ),
        by=patient.user,
        channel=Channel.API,
    )
    patient.refresh_from_db()
    now = patient.current_screening
    assert now != reviewed and now.outcome == Outcome.REVIEW_REQUIRED
    assert now.valid_until == reviewed.valid_until  # not 90 days from today
    assert not treatment_today(patient.pk).permission.inversion  # the override was for the old


@pytest.mark.django_db
def test_a_patient_can_not_renew_their_expired_screening_alone():
    patient = patient_with_portal()
    old = screen(patient, taken_on=timezone.localdate() - timedelta(days=100))
    response = api(patient.user).post(
        f"/api/v1/patients/{patient.pk}/intakes/", intake_body(), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["screening"]["awaiting_confirmation"] is True
    patient.refresh_from_db()
    assert patient.current_screening == old


@pytest.mark.django_db
def test_clinicians_answers_lower_the_outcome_at_once():
    patient = patient_with_portal()
    screen(patient, **CONTRAINDICATED)
    cleared = screen(patient)  # recorded by the clinician in the admin
    patient.refresh_from_db()
    assert patient.current_screening == cleared
    assert not Screening.objects.filter(awaiting_confirmation=True).exists()


@pytest.mark.django_db
def test_patient_posting_a_clearing_intake_for_their_own_record_through_the_api_waits():
    patient = patient_with_portal()
    pregnant = screen(patient, **CONTRAINDICATED)
    response = api(patient.user).post(
        f"/api/v1/patients/{patient.pk}/intakes/", intake_body(), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["screening"]["outcome"] == "cleared"
    assert body["screening"]["awaiting_confirmation"] is True
    current = api(patient.user).get(f"/api/v1/patients/{patient.pk}/screening/").json()
    assert (current["id"], current["outcome"]) == (pregnant.pk, "contraindicated")


@pytest.mark.django_db
def test_clinician_posting_the_same_intake_through_the_api_clears_at_once():
    patient = patient_with_portal()
    screen(patient, **CONTRAINDICATED)
    response = api(patient.clinician).post(
        f"/api/v1/patients/{patient.pk}/intakes/", intake_body(), format="json"
    )
    assert response.status_code == 201
    assert response.json()["screening"]["awaiting_confirmation"] is False
    patient.refresh_from_db()
    assert patient.current_screening.outcome == Outcome.CLEARED


# Confirmation by a clinician.


def _awaiting(patient) -> Screening:
    screen(patient, **CONTRAINDICATED)
    services.patient_health_update(
        patient=patient, changes={"pregnant": False}, by=patient.user, channel=Channel.PORTAL
    )
    return Screening.objects.get(patient=patient, awaiting_confirmation=True)


@pytest.mark.django_db
def test_clinician_confirms_the_waiting_screening_it_becomes_current_audited_and_announced():
    patient = patient_with_portal()
    waiting = _awaiting(patient)
    changed = []

    def receive(sender, **kwargs):
        changed.append(kwargs)

    services.screening_changed.connect(receive, dispatch_uid="test.changed")
    try:
        services.screening_confirm(screening=waiting, by=patient.clinician, channel="admin")
    finally:
        services.screening_changed.disconnect(dispatch_uid="test.changed")
    patient.refresh_from_db()
    waiting.refresh_from_db()
    assert patient.current_screening == waiting
    assert (waiting.awaiting_confirmation, waiting.confirmed_by) == (False, patient.clinician)
    assert waiting.confirmed_at is not None
    assert [c["reason"] for c in changed] == ["confirmed"]
    assert AuditEvent.objects.filter(
        object_type="patients.screening", changes__confirmed=True, actor=patient.clinician
    ).exists()


@pytest.mark.django_db
def test_only_a_clinician_of_the_clinic_confirms_and_only_the_newest_waiting_screening():
    patient = patient_with_portal()
    waiting = _awaiting(patient)
    for outsider in (patient.user, clinician(ClinicFactory())):
        with pytest.raises(PermissionDenied):
            services.screening_confirm(screening=waiting, by=outsider, channel="api")
    with pytest.raises(ValidationError, match="not awaiting"):
        services.screening_confirm(
            screening=patient.current_screening, by=patient.clinician, channel="admin"
        )
    screen(patient, **CONTRAINDICATED)  # a newer intake supersedes it
    with pytest.raises(ValidationError, match="newer screening"):
        services.screening_confirm(screening=waiting, by=patient.clinician, channel="admin")
    patient.refresh_from_db()
    assert patient.current_screening.outcome == Outcome.CONTRAINDICATED


@pytest.mark.django_db
def test_confirmation_through_the_api_is_for_clinicians():
    patient = patient_with_portal()
    waiting = _awaiting(patient)
    url = f"/api/v1/screenings/{waiting.pk}/confirm/"
    assert api(patient.user).post(url).status_code == 403
    response = api(patient.clinician).post(url)
    assert response.status_code == 200
    assert response.json()["confirmed_at"] is not None
    assert api(patient.clinician).post(url).status_code == 400  # not awaiting any more


@pytest.mark.django_db
def test_admin_shows_the_waiting_answers_and_confirms_them(client):
    patient = patient_with_portal()
    waiting = _awaiting(patient)
    otp_login(client, patient.clinician)
    page = client.get(f"/admin/patients/patient/{patient.pk}/change/").content.decode()
    assert "answers await confirmation" in page
    assert f"/admin/patients/patient/{patient.pk}/confirm-screening/" in page
    refused = client.post(f"/admin/patients/patient/{patient.pk}/confirm-screening/", {})
    assert refused.status_code == 200  # the box must be ticked
    response = client.post(
        f"/admin/patients/patient/{patient.pk}/confirm-screening/", {"confirm": "on"}
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.current_screening == waiting


@pytest.mark.django_db
def test_portal_health_update_that_would_lower_tells_the_patient_their_clinician_checks_it():
    patient = patient_with_portal()
    template = ProgrammeTemplate.objects.get(kind="exercise_only", clinic__isnull=True)
    screen(patient, **CONTRAINDICATED)
    plan = plan_services.plan_create_from_template(
        patient=patient, template=template, by=patient.clinician
    )
    plan_services.plan_activate(plan=plan, by=patient.clinician)
    response = signed_in(patient).post("/health/", {"pregnant": "no"})
    html = response.content.decode()
    assert response.status_code == 200, html
    assert "Your clinician will check your new answers" in html
    assert "Inversion is not safe for you at the moment" in html  # what still holds
    patient.refresh_from_db()
    assert patient.current_screening.outcome == Outcome.CONTRAINDICATED


@pytest.mark.django_db
def test_a_patients_intake_of_the_same_outcome_cannot_drop_a_clinicians_finding():
    from programmes.models import ClinicianAlert

    patient = patient_with_portal()
    recorded = screen(
        patient,
        by=patient.clinician,
        taken_on=timezone.localdate() - timedelta(days=1),
        conditions={"glaucoma"},
    )
    assert recorded.outcome == X
    # Their own intake: pregnant, and no glaucoma. Still contraindicated, but it drops
    # what the clinician recorded: it waits, and the clinician is asked about glaucoma.
    screen(patient, by=patient.user, conditions=set(), pregnant=True)
    mine = Screening.objects.filter(patient=patient).latest("created_at", "pk")
    patient.refresh_from_db()
    assert mine.awaiting_confirmation
    assert patient.current_screening_id == recorded.pk
    ask = ClinicianAlert.objects.get(patient=patient, kind=ClinicianAlert.Kind.CONFIRM_SCREENING)
    assert "glaucoma" in ask.message.lower()


@pytest.mark.django_db
def test_a_colleague_who_is_not_responsible_cannot_lower_a_screening():
    from clinic.models import Role
    from tests.factories import member

    patient = patient_with_portal()
    review = screen(patient, systolic_bp=145, diastolic_bp=85)
    colleague = member(Role.CLINICIAN, patient.clinic)
    with pytest.raises(PermissionDenied, match="responsible clinician"):
        services.screening_override_record(
            screening=review, clinician=colleague, reason="Looks fine", channel="admin"
        )
    # Their intake that would clear the patient waits for the responsible clinician.
    screen(patient, by=colleague)
    theirs = Screening.objects.filter(patient=patient).latest("created_at", "pk")
    patient.refresh_from_db()
    assert theirs.awaiting_confirmation and patient.current_screening_id == review.pk
    with pytest.raises(PermissionDenied):
        services.screening_confirm(screening=theirs, by=colleague, channel="admin")
    services.screening_confirm(screening=theirs, by=patient.clinician, channel="admin")
    patient.refresh_from_db()
    assert patient.current_screening_id == theirs.pk
