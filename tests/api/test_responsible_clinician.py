"""Through the API, as through the admin: only the responsible clinician or a clinic
administrator changes a patient or their plan; only the administrator names another
responsible clinician, audited, and only a clinician of the patient's clinic."""

from __future__ import annotations

import pytest

from clinic.models import AuditEvent
from tests.factories import clinician

pytestmark = pytest.mark.django_db
V1 = "/api/v1"


def test_a_colleague_cannot_make_themselves_responsible_for_a_patient(world):
    colleague = clinician(world.patient_a.clinic)
    world.users["colleague"] = colleague
    response = world.client("colleague").patch(
        f"{V1}/patients/{world.patient_a.pk}/", {"clinician": colleague.pk}, format="json"
    )
    assert response.status_code == 403
    world.patient_a.refresh_from_db()
    assert world.patient_a.clinician_id == world.users["clinician_a"].pk


def test_a_colleague_cannot_change_the_patients_details_or_pause_their_plan(world):
    colleague = clinician(world.patient_a.clinic)
    world.users["colleague"] = colleague
    client = world.client("colleague")
    assert (
        client.patch(
            f"{V1}/patients/{world.patient_a.pk}/", {"phone": "0700"}, format="json"
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"{V1}/plans/{world.plan_a.pk}/pause/", {"reason": "x"}, format="json"
        ).status_code
        == 403
    )


def test_the_responsible_clinician_cannot_hand_their_patient_to_a_colleague(world):
    colleague = clinician(world.patient_a.clinic)
    response = world.client("clinician_a").patch(
        f"{V1}/patients/{world.patient_a.pk}/", {"clinician": colleague.pk}, format="json"
    )
    assert response.status_code == 403
    world.patient_a.refresh_from_db()
    assert world.patient_a.clinician_id == world.users["clinician_a"].pk


def test_the_clinic_administrator_reassigns_audited_with_channel_and_address(world):
    colleague = clinician(world.patient_a.clinic)
    response = world.client("clinic_admin").patch(
        f"{V1}/patients/{world.patient_a.pk}/", {"clinician": colleague.pk}, format="json"
    )
    assert response.status_code == 200
    world.patient_a.refresh_from_db()
    assert world.patient_a.clinician_id == colleague.pk
    audit = AuditEvent.objects.filter(patient_id=world.patient_a.pk, action="update").latest("id")
    assert audit.changes["clinician"] == [world.users["clinician_a"].pk, colleague.pk]
    assert (audit.actor_id, audit.channel, audit.ip_address) == (
        world.users["clinic_admin"].pk,
        "api",
        "127.0.0.1",
    )
    # The new responsible clinician now runs the patient's plan; the former one doesn't.
    world.users["colleague"] = colleague
    assert (
        world.client("colleague")
        .post(f"{V1}/plans/{world.plan_a.pk}/pause/", {"reason": "Holiday"}, format="json")
        .status_code
        == 200
    )


def test_the_administrator_cannot_name_another_clinics_clinician(world):
    response = world.client("clinic_admin").patch(
        f"{V1}/patients/{world.patient_a.pk}/",
        {"clinician": world.users["clinician_other_clinic"].pk},
        format="json",
    )
    assert response.status_code == 400
    world.patient_a.refresh_from_db()
    assert world.patient_a.clinician_id == world.users["clinician_a"].pk
