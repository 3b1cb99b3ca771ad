"""Clinic-wide models: the clinic, who works or is treated there, and the audit trail."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models


class Role(models.TextChoices):
    CLINIC_ADMIN = "clinic_admin", "Clinic administrator"
    CLINICIAN = "clinician", "Clinician"
    STAFF = "staff", "Staff (reports)"
    PATIENT = "patient", "Patient"


# Each role is also a Django group carrying its model permissions (see clinic/roles.py).
ROLE_GROUP_NAMES: dict[str, str] = {role.value: role.label for role in Role}


class Clinic(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    time_zone = models.CharField(max_length=64, default="Europe/London")
    # The inversion table's rating; screening blocks patients above it (CLINICAL.md s.2).
    table_max_weight_kg = models.DecimalField(
        max_digits=5, decimal_places=1, default=Decimal("136.0"), validators=[MinValueValidator(1)]
    )
    table_max_height_cm = models.DecimalField(
        max_digits=5, decimal_places=1, default=Decimal("198.0"), validators=[MinValueValidator(1)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet):
    def clinicians(self) -> MembershipQuerySet:
        return self.filter(role__in=[Role.CLINICIAN, Role.CLINIC_ADMIN])


class Membership(models.Model):
    """A user's place in one clinic. One membership per user: scoping fails closed."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["clinic", "role"], name="membership_clinic_role_idx")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.clinic}"


class AuditEvent(models.Model):
    """Append-only record of who read or changed health data.

    PostgreSQL refuses UPDATE and DELETE on this table (trigger in migration
    0002), so the trail can't be rewritten by the application.
    """

    class Action(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        READ = "read"
        DELETE = "delete"
        EXPORT = "export"

    class Channel(models.TextChoices):
        ADMIN = "admin"
        PORTAL = "portal"
        API = "api"
        EXPORT = "export"
        SYSTEM = "system"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clinic = models.ForeignKey(Clinic, null=True, on_delete=models.PROTECT, related_name="+")
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["clinic", "-at"], name="audit_clinic_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.object_type}"
