"""Clinician alerts by e-mail: sent once, marked after sending."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from programmes.models import ClinicianAlert


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
        admin_path = reverse("admin:patients_patient_change", args=[alert.patient_id])
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
