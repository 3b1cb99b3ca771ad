"""Clinician alerts: raised once (a unique key), e-mailed once after commit with a link,
acknowledged once (audited)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from clinic.audit import audit_change
from clinic.models import Membership
from patients.models import Patient
from programmes.models import ClinicianAlert, Plan

logger = logging.getLogger(__name__)

# Alerts about the patient's safety: they head the at-risk report until acknowledged.
SAFETY_KINDS: tuple[str, ...] = (
    ClinicianAlert.Kind.URGENT_REFERRAL,
    ClinicianAlert.Kind.RED_FLAG,
    ClinicianAlert.Kind.STOP_SYMPTOM,
    ClinicianAlert.Kind.SCREENING_PAUSE,
    ClinicianAlert.Kind.CONTRAINDICATED,
    ClinicianAlert.Kind.REVIEW_REQUIRED,
    ClinicianAlert.Kind.CONFIRM_SCREENING,
)


def alert_raise(
    *, patient: Patient, plan: Plan | None, kind: str, message: str, dedupe_key: str
) -> bool:
    """Record an alert once (the unique key); e-mail it after commit. True if new."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO programmes_clinicianalert
                (clinic_id, patient_id, plan_id, kind, message, dedupe_key, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (dedupe_key) DO NOTHING
            RETURNING id
            """,
            [patient.clinic_id, patient.pk, plan.pk if plan else None, kind, message, dedupe_key],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    from programmes.tasks import alert_email

    alert_id = row[0]
    transaction.on_commit(lambda: alert_email.delay(alert_id))
    return True


def _absolute(path: str) -> str:
    # The e-mail is read outside the site: every link carries the site's address.
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def alert_email_text(alert: ClinicianAlert) -> tuple[str, str]:
    """Subject and body of an alert's e-mail: what happened, who, how to reach them."""
    patient = alert.patient
    record = _absolute(reverse("admin:patients_patient_change", args=[patient.pk]))
    body = (
        f"{alert.message}\n\n"
        f"Patient: {patient}\n"
        f"Phone: {patient.phone or 'none on file'}\n"
        f"Open the patient: {record}\n"
        f"At-risk list: {_absolute(reverse('reports:at_risk'))}\n"
    )
    return f"[Inverto] {alert.get_kind_display()}: {patient}", body


def alert_recipients(patient: Patient) -> list[str]:
    """Who is e-mailed: the responsible clinician; failing an active one with an address,
    every active clinician and clinic administrator of the clinic who has one."""
    clinician = patient.clinician
    if clinician.is_active and clinician.email:
        return [clinician.email]
    emails = (
        Membership.objects.clinicians()
        .filter(clinic_id=patient.clinic_id, user__is_active=True)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
        .distinct()
    )
    return list(emails)


def alert_send_email(*, alert_id: int) -> bool:
    """Send the alert to the clinic unless it was already sent. True if sent.

    The alert is marked sent only once a message has gone to at least one person; when
    nobody at the clinic has an address it stays unsent, and the alert sweep tries again.
    """
    with transaction.atomic():
        alert = (
            ClinicianAlert.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("patient__clinician")
            .filter(pk=alert_id, emailed_at__isnull=True)
            .first()
        )
        if alert is None:  # already sent, or another worker has it
            return False
        recipients = alert_recipients(alert.patient)
        if not recipients:
            logger.error(
                "Alert %s for patient %s: no clinician of clinic %s has an e-mail address",
                alert.pk,
                alert.patient_id,
                alert.clinic_id,
            )
            return False
        subject, body = alert_email_text(alert)
        send_mail(subject=subject, message=body, from_email=None, recipient_list=recipients)
        alert.emailed_at = timezone.now()
        alert.emailed_to = ", ".join(recipients)
        alert.save(update_fields=["emailed_at", "emailed_to"])
    return True


def alerts_unsent(*, now, within: timedelta = timedelta(days=2)) -> list[int]:
    """Alerts whose e-mail hasn't gone (no recipient then, or the task was lost)."""
    return list(
        ClinicianAlert.objects.filter(
            emailed_at__isnull=True,
            acknowledged_at__isnull=True,
            created_at__gte=now - within,
            created_at__lt=now - timedelta(minutes=5),
        ).values_list("pk", flat=True)
    )


def _acknowledge_open(alerts: QuerySet, *, by, channel: str, request) -> int:
    """The one path an alert is acknowledged: each open one of `alerts`, locked in id
    order, stamped once and audited. How many were open."""
    count = 0
    for alert in (
        ClinicianAlert.objects.filter(pk__in=alerts.values("pk"), acknowledged_at__isnull=True)
        .select_for_update()
        .order_by("pk")
    ):
        ClinicianAlert.objects.filter(pk=alert.pk).update(
            acknowledged_at=timezone.now(), acknowledged_by=by
        )
        audit_change(
            alert,
            "update",
            f"Alert acknowledged: {alert.get_kind_display()}",
            by=by,
            channel=channel,
            request=request,
        )
        count += 1
    return count


@transaction.atomic
def alert_acknowledge(*, alert: ClinicianAlert, by, channel: str, request=None) -> bool:
    """A clinician has looked at the alert: stamp it once, audited. True if it was open.

    Callers scope `alert` to the user's clinic (admin queryset, API `get_object`).
    """
    return bool(
        _acknowledge_open(
            ClinicianAlert.objects.filter(pk=alert.pk), by=by, channel=channel, request=request
        )
    )


@transaction.atomic
def alerts_acknowledge(*, alerts: QuerySet, by, channel: str, request=None) -> int:
    """A clinician has looked at these alerts (scoped by the caller): each open one is
    stamped and audited as `alert_acknowledge` does. How many were open."""
    return _acknowledge_open(alerts, by=by, channel=channel, request=request)


@transaction.atomic
def alert_acknowledge_safety(*, patient: Patient, by, channel: str, request=None) -> int:
    """A clinician has acted on the patient: close every open safety alert. How many.

    A check-in red flag stands on the at-risk report until an urgent alert is acknowledged
    after it; were its alert missing, one is recorded (not e-mailed) to be acknowledged.
    """
    urgent = (ClinicianAlert.Kind.RED_FLAG, ClinicianAlert.Kind.URGENT_REFERRAL)
    alerts = ClinicianAlert.objects.filter(patient=patient, acknowledged_at__isnull=True)
    reported = patient.red_flag_reported_at
    if (
        reported is not None
        and not alerts.filter(kind__in=urgent).exists()
        and not ClinicianAlert.objects.filter(
            patient=patient, kind__in=urgent, acknowledged_at__gte=reported
        ).exists()
    ):
        ClinicianAlert.objects.get_or_create(
            dedupe_key=f"red-flag:{patient.pk}:{reported.isoformat()}",
            defaults={
                "clinic_id": patient.clinic_id,
                "patient": patient,
                "kind": ClinicianAlert.Kind.RED_FLAG,
                "message": patient.red_flag_note or "Red flag reported at a check-in.",
                "emailed_at": timezone.now(),
            },
        )
    return _acknowledge_open(
        alerts.filter(kind__in=SAFETY_KINDS), by=by, channel=channel, request=request
    )
