"""Clinician alerts: raised once (a unique key), e-mailed once after commit with a link."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from programmes.models import ClinicianAlert, Plan


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


def alert_send_email(*, alert_id: int) -> bool:
    """Send the alert to the patient's clinician unless it was already sent. True if sent."""
    with transaction.atomic():
        alert = (
            ClinicianAlert.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("patient__clinician")
            .filter(pk=alert_id, emailed_at__isnull=True)
            .first()
        )
        if alert is None:  # already sent, or another worker has it
            return False
        clinician = alert.patient.clinician
        # An absolute link: the e-mail is read outside the site.
        admin_path = settings.PORTAL_BASE_URL.rstrip("/") + reverse(
            "admin:patients_patient_change", args=[alert.patient_id]
        )
        if clinician.email:
            send_mail(
                subject=f"[Inverto] {alert.get_kind_display()}: {alert.patient}",
                message=(
                    f"{alert.message}\n\nPatient: {alert.patient}\n"
                    f"Open in the admin: {admin_path}\n"
                ),
                from_email=None,
                recipient_list=[clinician.email],
            )
        alert.emailed_at = timezone.now()
        alert.save(update_fields=["emailed_at"])
    return True
