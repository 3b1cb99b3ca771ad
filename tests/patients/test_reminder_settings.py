"""Reminder settings: one service behind the portal page and the API, with one rule set."""

from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from clinic.models import AuditEvent
from patients.models import Channel
from patients.services import patient_reminder_settings_update
from tests.factories import patient_with_portal

pytestmark = pytest.mark.django_db

NO_PHONE = "There is no mobile number on file"


def test_service_saves_only_the_changes_and_audits_them():
    patient = patient_with_portal(phone="+447700900123")
    patient_reminder_settings_update(
        patient=patient,
        changes={"reminder_time": time(7, 30), "remind_by_sms": True},
        by=patient.user,
        channel=Channel.API,
    )
    patient.refresh_from_db()
    assert (patient.reminder_time, patient.remind_by_sms) == (time(7, 30), True)
    audit = AuditEvent.objects.get(summary="Reminder settings changed")
    assert (audit.channel, audit.patient_id, audit.actor_id) == (
        "api",
        patient.pk,
        patient.user_id,
    )
    assert audit.changes == {"reminder_time": "07:30:00", "remind_by_sms": "True"}


def test_service_refuses_sms_without_a_phone_number_and_changes_nothing():
    patient = patient_with_portal(phone="", remind_by_sms=False)
    with pytest.raises(ValidationError) as refusal:
        patient_reminder_settings_update(
            patient=patient, changes={"remind_by_sms": True}, by=patient.user, channel="portal"
        )
    assert NO_PHONE in refusal.value.message_dict["remind_by_sms"][0]
    patient.refresh_from_db()
    assert patient.remind_by_sms is False
    assert not AuditEvent.objects.filter(summary="Reminder settings changed").exists()


def test_service_refuses_fields_that_are_not_reminder_settings():
    patient = patient_with_portal()
    with pytest.raises(ValueError, match="clinician"):
        patient_reminder_settings_update(
            patient=patient, changes={"clinician": None}, by=patient.user, channel="api"
        )


def test_api_refuses_sms_without_a_phone_number_with_a_field_error():
    patient = patient_with_portal(phone="")
    client = APIClient()
    client.force_authenticate(patient.user)
    response = client.patch(
        "/api/v1/me/reminder-preferences/", {"remind_by_sms": True}, format="json"
    )
    assert response.status_code == 400
    assert NO_PHONE in response.json()["remind_by_sms"][0]


def test_portal_refuses_sms_without_a_phone_number_next_to_the_field():
    patient = patient_with_portal(phone="", time_zone="Europe/London")
    client = Client()
    client.force_login(patient.user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post(
        "/settings/",
        {"reminder_time": "18:00", "time_zone": "Europe/London", "remind_by_sms": "on"},
    )
    assert response.status_code == 200
    assert NO_PHONE in response.content.decode()
    patient.refresh_from_db()
    assert patient.remind_by_sms is False
