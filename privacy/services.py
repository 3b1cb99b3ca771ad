"""Data protection: a patient's subject-access export and erasure, for the clinic's
administrator. Above patients and programmes: it reads and clears rows of both."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_change
from clinic.models import ApiToken, Clinic, Membership, Role
from patients.models import (
    Channel,
    Intake,
    Invitation,
    Patient,
    Referral,
    Screening,
    ScreeningOverride,
)

# Data protection: a patient's subject-access export and erasure (clinic administrators only).

ERASED_FIRST_NAME = "Erased"


def _require_clinic_admin(user, clinic: Clinic) -> None:
    try:
        membership = user.membership
    except (AttributeError, Membership.DoesNotExist):
        raise PermissionDenied("Only this clinic's administrator can do this.") from None
    if membership.clinic_id != clinic.pk or membership.role != Role.CLINIC_ADMIN:
        raise PermissionDenied("Only this clinic's administrator can do this.")


def _as_json(data: Any) -> Any:
    """Plain JSON values only (dates as ISO strings, decimals as strings)."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _grouped(rows, key: str) -> dict[Any, list[dict]]:
    groups: dict[Any, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def patient_export(*, patient: Patient, by, request=None) -> dict[str, Any]:
    """Everything the clinic holds on one patient, as JSON values; audited as an export.

    One query per kind of record, whatever the patient's history: PostgreSQL
    gathers each check-in's exercises with array_agg.
    """
    from django.contrib.postgres.aggregates import ArrayAgg
    from django.db.models import F, Q

    from clinic.models import AuditEvent
    from programmes.models import (
        CheckIn,
        ClinicianAlert,
        Plan,
        PlanEvent,
        PlanExercise,
        PlanInversionStep,
        PortalNotice,
        QuestionnaireResponse,
        ReminderDelivery,
    )

    _require_clinic_admin(by, patient.clinic)
    identity = (
        Patient.objects.filter(pk=patient.pk)
        .values(
            "id",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "email",
            "phone",
            "time_zone",
            "height_cm",
            "weight_kg",
            "reminder_time",
            "remind_by_email",
            "remind_by_sms",
            "remind_in_portal",
            "reminders_opted_out",
            "clinician_id",
            "created_at",
            "updated_at",
        )
        .get()
    )
    account = (
        get_user_model()
        .objects.filter(pk=patient.user_id)
        .values("username", "email", "first_name", "last_name", "is_active", "date_joined")
        .first()
    )
    plan_fields = [
        f.attname for f in Plan._meta.concrete_fields if f.attname not in ("patient_id",)
    ]
    steps = _grouped(
        PlanInversionStep.objects.filter(plan__patient=patient).order_by("plan", "order").values(),
        "plan_id",
    )
    exercises = _grouped(
        PlanExercise.objects.filter(plan__patient=patient)
        .order_by("plan", "order")
        .values(
            "id",
            "plan_id",
            "order",
            "exercise_id",
            "sets",
            "repetitions",
            "hold_seconds",
            "times_per_day",
            exercise_name=F("exercise__name"),
        ),
        "plan_id",
    )
    events = _grouped(
        PlanEvent.objects.filter(plan__patient=patient).order_by("plan", "at", "pk").values(),
        "plan_id",
    )
    plans = []
    for plan in Plan.objects.filter(patient=patient).order_by("created_at").values(*plan_fields):
        plan["inversion_steps"] = steps.get(plan["id"], [])
        plan["exercises"] = exercises.get(plan["id"], [])
        plan["events"] = events.get(plan["id"], [])
        plans.append(plan)
    data = {
        "exported_at": timezone.now(),
        "clinic": patient.clinic.name,
        "patient": identity,
        "portal_account": account,
        "intakes": list(Intake.objects.filter(patient=patient).order_by("number").values()),
        "screenings": list(
            Screening.objects.filter(patient=patient).order_by("created_at").values()
        ),
        "screening_overrides": list(
            ScreeningOverride.objects.filter(screening__patient=patient)
            .order_by("created_at")
            .values()
        ),
        "referrals": list(Referral.objects.filter(patient=patient).order_by("created_at").values()),
        "invitations": list(
            Invitation.objects.filter(patient=patient)
            .order_by("created_at")
            .values("id", "email", "created_at", "expires_at", "used_at")
        ),
        "plans": plans,
        "checkins": list(
            CheckIn.objects.filter(patient=patient)
            .order_by("local_date", "submitted_at")
            .values()
            .annotate(
                exercises_done_ids=ArrayAgg(
                    "exercises_done", filter=Q(exercises_done__isnull=False), default=[]
                )
            )
        ),
        "questionnaires": list(
            QuestionnaireResponse.objects.filter(patient=patient).order_by("taken_on").values()
        ),
        "alerts": list(
            ClinicianAlert.objects.filter(patient=patient).order_by("created_at").values()
        ),
        "reminder_deliveries": list(
            ReminderDelivery.objects.filter(patient=patient)
            .order_by("local_date", "kind", "channel")
            .values()
        ),
        "portal_notices": list(
            PortalNotice.objects.filter(patient=patient).order_by("created_at").values()
        ),
        "audit": list(
            AuditEvent.objects.about_patient(patient.pk)  # list pages that showed them too
            .order_by("at", "pk")
            .values(
                "at",
                "actor_id",
                "action",
                "channel",
                "object_type",
                "object_id",
                "summary",
                "changes",
            )
        ),
    }
    audit_change(
        patient,
        "export",
        "Patient data exported (subject access)",
        by=by,
        channel=Channel.ADMIN,
        request=request,
    )
    return _as_json(data)


def patient_is_erased(patient: Patient) -> bool:
    from clinic.models import AuditEvent

    return AuditEvent.objects.filter(
        patient_id=patient.pk, object_type="patients.patient", changes__erased=True
    ).exists()


@transaction.atomic
def patient_erase(*, patient: Patient, by, reason: str, request=None) -> Patient:
    """Anonymise a patient's identity for good; keep the de-identified clinical record.

    Name, e-mail, phone and free text go; the date of birth keeps its year only
    (1 January), so age bands still count. The portal account is deactivated
    with an unusable password and its second factor and API tokens removed.
    Plans, screenings, check-ins and questionnaires stay for adherence and
    outcome statistics; running plans end. Irreversible, hence the reason.
    """
    from programmes import services as programme_services
    from programmes.models import CheckIn, Plan, PlanStatus, PortalNotice, ReminderDelivery

    _require_clinic_admin(by, patient.clinic)
    if not reason or not reason.strip():
        raise ValidationError({"reason": "Give the reason for erasure (e.g. the request's date)."})
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient_is_erased(patient):
        raise ValidationError("This patient's identity has already been erased.")
    for plan in Plan.objects.filter(
        patient=patient, status__in=[PlanStatus.ACTIVE, PlanStatus.PAUSED, PlanStatus.DRAFT]
    ):
        programme_services.plan_end(plan=plan, by=by, reason="Patient data erased")

    patient.first_name = ERASED_FIRST_NAME
    patient.last_name = f"patient {patient.pk}"
    patient.email = ""
    patient.phone = ""
    patient.date_of_birth = patient.date_of_birth.replace(month=1, day=1)
    patient.remind_by_email = False
    patient.remind_by_sms = False
    patient.remind_in_portal = False
    patient.reminders_opted_out = True
    patient.save()
    Invitation.objects.filter(patient=patient).update(email="")
    CheckIn.objects.filter(patient=patient).exclude(note="").update(note="")
    PortalNotice.objects.filter(patient=patient).delete()
    ReminderDelivery.objects.filter(patient=patient).exclude(last_error="").update(last_error="")

    user = patient.user
    if user is not None:
        from axes.models import AccessAttempt, AccessFailureLog, AccessLog
        from django_otp import devices_for_user

        # Login records name the old username (the patient's e-mail address).
        for model in (AccessAttempt, AccessFailureLog, AccessLog):
            model.objects.filter(username=user.username).delete()
        user.username = f"erased-patient-{patient.pk}"
        user.first_name = ""
        user.last_name = ""
        user.email = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        for device in devices_for_user(user, confirmed=None):
            device.delete()
        ApiToken.objects.filter(user=user).delete()

    audit_change(
        patient,
        "update",
        "Patient identity erased",
        by=by,
        channel=Channel.ADMIN,
        changes={"erased": True, "reason": reason.strip()},
        request=request,
    )
    return patient
