"""A patient's own record: created, their details and reminder settings changed, audited.

Only the details are written here; the screening, a check-in's red flag, an intake's
measurements and the portal account each change through their own service.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_change
from clinic.models import Clinic, Role
from clinic.permissions import may_change_patient, may_reassign_patient
from patients.models import Patient
from patients.services.signals import time_zone_changed


def patient_local_date(patient: Patient) -> date:
    """The patient's own local date: intakes, screenings and referrals are dated in it."""
    return timezone.localtime(timezone.now(), patient.zone).date()


# Reminder settings (CLINICAL.md section 7), changed by the patient in the portal or the API.

REMINDER_SETTINGS = (
    "reminder_time",
    "time_zone",
    "remind_by_email",
    "remind_by_sms",
    "remind_in_portal",
    "reminders_opted_out",
)


@transaction.atomic
def patient_reminder_settings_update(
    *, patient: Patient, changes: dict[str, Any], by, channel: str, request=None
) -> Patient:
    """Change some of a patient's reminder settings, audited; an opt-out holds at once."""
    unknown = set(changes) - set(REMINDER_SETTINGS)
    if unknown:
        raise ValueError(f"Not reminder settings: {sorted(unknown)}")
    if changes.get("remind_by_sms") and not patient.phone:
        raise ValidationError(
            {"remind_by_sms": "There is no mobile number on file: ask the clinic to add one."}
        )
    locked = Patient.objects.select_for_update(of=("self",)).get(pk=patient.pk)
    previous = locked.time_zone
    for name, value in changes.items():
        setattr(patient, name, value)
        setattr(locked, name, value)
    # Only the settings are written, on the locked row: nothing else can be put back.
    locked.save(update_fields=[*changes, "updated_at"])
    if locked.time_zone != previous:
        time_zone_changed.send(sender=Patient, patient=locked, previous=previous)
    audit_change(
        patient,
        "update",
        "Reminder settings changed",
        by=by,
        channel=channel,
        changes={name: str(value) for name, value in changes.items()},
        request=request,
    )
    return patient


# A patient's details, changed by a clinician in the admin or the API.

PATIENT_DETAILS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "email",
    "phone",
    "time_zone",
    "clinician",
    "emergency_number",
    *REMINDER_SETTINGS,
)
# Each is written by its own service only: intake and screening, a check-in's red flag,
# the measurements an intake records, the portal account an invitation creates.
PATIENT_RECORDED_ELSEWHERE = (
    "current_screening",
    "red_flag_reported_at",
    "red_flag_note",
    "stop_symptom_reported_at",
    "stop_symptom_note",
    "weight_kg",
    "height_cm",
    "user",
    "clinic",
)


def _detail_differs(patient: Patient, name: str, value) -> bool:
    if name == "clinician":
        return patient.clinician_id != getattr(value, "pk", value)
    return getattr(patient, name) != value


def _refuse_other_than_details(names: Iterable[str]) -> None:
    refused = {
        name: "Recorded only through its own service (intake, screening, check-in, invitation)."
        if name in PATIENT_RECORDED_ELSEWHERE
        else "Not a detail of the patient that can be changed."
        for name in names
        if name not in PATIENT_DETAILS
    }
    if refused:
        raise ValidationError(refused)


@transaction.atomic
def patient_create(
    *,
    clinic: Clinic,
    details: dict[str, Any],
    by,
    channel: str,
    request=None,
    audited_fields: Iterable[str] | None = None,
) -> Patient:
    """A new patient of `clinic` with these details (identity, contact, care, reminders),
    audited. Nothing else of the patient's is set here: see `PATIENT_RECORDED_ELSEWHERE`.

    `audited_fields` are the field names the audit row lists (the admin's form names the
    ones it filled in); no value goes there, as the trail outlives an erasure.
    """
    _refuse_other_than_details(details)
    patient = Patient.objects.create(clinic=clinic, **details)
    audit_change(
        patient,
        "create",
        "Patient created",
        by=by,
        channel=channel,
        changes={"fields": sorted(audited_fields)} if audited_fields is not None else None,
        request=request,
    )
    return patient


@transaction.atomic
def patient_update(
    *, patient: Patient, changes: dict[str, Any], by, channel: str, request=None
) -> Patient:
    """Change a patient's identity, contact, care or reminder details, audited.

    Locks the patient's row and writes only the fields whose value differs from it: the
    current screening, a red flag and an intake's measurements are never written here,
    so a save that overlaps a health update can't put back the screening it replaced.
    """
    _refuse_other_than_details(changes)
    fresh = Patient.objects.select_for_update().select_related("clinic").get(pk=patient.pk)
    changed = {
        name: value for name, value in changes.items() if _detail_differs(fresh, name, value)
    }
    if not changed:
        return fresh
    if not may_change_patient(by, fresh):
        raise PermissionDenied(
            "Only the patient's responsible clinician or a clinic administrator can change "
            "this patient."
        )
    if "clinician" in changed and not may_reassign_patient(by, fresh):
        raise PermissionDenied(
            "Only a clinic administrator can name another responsible clinician."
        )
    previous_zone = fresh.time_zone
    errors: dict[str, str] = {}
    if "clinician" in changed:
        membership = getattr(changed["clinician"], "membership", None)
        if membership is None or (
            membership.clinic_id != fresh.clinic_id
            or membership.role not in (Role.CLINICIAN, Role.CLINIC_ADMIN)
        ):
            errors["clinician"] = "Choose a clinician of the patient's clinic."
    if (
        changed.get("date_of_birth") is not None
        and changed["date_of_birth"] >= timezone.localdate()
    ):
        errors["date_of_birth"] = "The date of birth must be in the past."
    sms = changed.get("remind_by_sms", fresh.remind_by_sms)
    phone = changed.get("phone", fresh.phone)
    if sms and not phone and {"remind_by_sms", "phone"} & set(changed):
        errors["remind_by_sms"] = "There is no mobile number on file for SMS reminders."
    before_clinician_id = fresh.clinician_id
    for name, value in changed.items():
        setattr(fresh, name, value)
    try:
        others = [f.name for f in Patient._meta.concrete_fields if f.name not in changed]
        fresh.clean_fields(exclude=others)
    except ValidationError as invalid:
        errors.update({name: " ".join(found) for name, found in invalid.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    fresh.save(update_fields=[*changed, "updated_at"])
    if "time_zone" in changed:
        time_zone_changed.send(sender=Patient, patient=fresh, previous=previous_zone)
    if "date_of_birth" in changed:
        # Age is a screening answer (a red flag over 50): a corrected date of birth is
        # screened again at once, from the last intake's answers. (Deferred: the intake
        # service builds on this module.)
        from patients.services.intake import patient_rescreen

        patient_rescreen(patient=fresh, by=by, channel=channel, request=request)
    audit_change(
        fresh,
        "update",
        f"Patient details changed: {', '.join(changed)}",
        by=by,
        channel=channel,
        # Field names (and staff ids) only: the audit trail outlives an erasure, so it holds
        # no identity.
        changes={
            "fields": sorted(changed),
            **(
                {"clinician": [before_clinician_id, fresh.clinician_id]}
                if "clinician" in changed
                else {}
            ),
        },
        request=request,
    )
    return fresh
