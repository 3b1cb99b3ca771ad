"""Clinic-wide models: the clinic, who works or is treated there, and the audit trail."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# The shipped table rating (CLINICAL.md s.2: 300 lb, 6'6"): a clinic may lower its limits,
# never raise them past these (a PostgreSQL check holds it too).
TABLE_MAX_WEIGHT_KG = Decimal("136.0")
TABLE_MAX_HEIGHT_CM = Decimal("198.0")


class EmergencyNumber(models.TextChoices):
    UK = "999", "999 (United Kingdom)"
    EU = "112", "112 (European Union and most of the world)"
    NORTH_AMERICA = "911", "911 (United States and Canada)"
    AUSTRALIA = "000", "000 (Australia)"


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
        max_digits=5,
        decimal_places=1,
        default=TABLE_MAX_WEIGHT_KG,
        validators=[MinValueValidator(30), MaxValueValidator(TABLE_MAX_WEIGHT_KG)],
    )
    table_max_height_cm = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        default=TABLE_MAX_HEIGHT_CM,
        validators=[MinValueValidator(100), MaxValueValidator(TABLE_MAX_HEIGHT_CM)],
    )
    table_limits_version = models.PositiveIntegerField(default=1)
    emergency_number = models.CharField(
        max_length=4,
        choices=EmergencyNumber.choices,
        default=EmergencyNumber.UK,
        help_text="Told to patients in stop and red-flag advice (each patient may have their own).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(table_max_weight_kg__gte=30, table_max_weight_kg__lte=136),
                name="clinic_table_weight_within_rating",
            ),
            models.CheckConstraint(
                condition=models.Q(table_max_height_cm__gte=100, table_max_height_cm__lte=198),
                name="clinic_table_height_within_rating",
            ),
        ]

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


class AuditEventQuerySet(models.QuerySet):
    def about_patient(self, patient_id: int) -> AuditEventQuerySet:
        """Every row that names the patient (rows before `patient_ids` carry `patient_id`)."""
        return self.filter(
            models.Q(patient_id=patient_id) | models.Q(patient_ids__contains=[patient_id])
        )


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
        LOGIN = "login"
        LOGIN_FAILED = "login_fail"
        LOGOUT = "logout"

    class Channel(models.TextChoices):
        ADMIN = "admin"
        PORTAL = "portal"
        API = "api"
        EXPORT = "export"
        SYSTEM = "system"
        TASK = "task"
        COMMAND = "command"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clinic = models.ForeignKey(Clinic, null=True, on_delete=models.PROTECT, related_name="+")
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # Every patient whose data the event showed or changed (a list page: all it listed),
    # so one request is one row however many patients it showed.
    patient_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["clinic", "-at"], name="audit_clinic_at_idx"),
            GinIndex(fields=["patient_ids"], name="audit_patient_ids_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.object_type}"


class TableLimitsVersion(models.Model):
    """Every version of a clinic's table limits: who set them, when and why."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="table_limits")
    version = models.PositiveIntegerField()
    max_weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    max_height_cm = models.DecimalField(max_digits=5, decimal_places=1)
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["clinic", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "version"], name="tablelimits_clinic_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clinic} table limits v{self.version}"


class ApiToken(models.Model):
    """An API sign-in. The key is shown once, at sign-in; only its SHA-256 digest is kept.

    Each sign-in issues a new token and revokes the account's earlier ones; a token
    unused for `API_TOKEN_IDLE_DAYS`, or older than `API_TOKEN_MAX_AGE_DAYS`, no longer
    signs anyone in. Revoked tokens stay as the account's token history.
    """

    class RevokeReason(models.TextChoices):
        ROTATED = "rotated", "Replaced at a new sign-in"
        SIGNED_OUT = "signed_out", "Revoked by its holder"
        EXPIRED = "expired", "Expired"
        PASSWORD_CHANGED = "password_changed", "Password changed or reset"
        SECOND_FACTOR_CHANGED = "second_factor_changed", "Second factor reset or changed"
        ROLE_CHANGED = "role_changed", "Role or clinic changed"
        DEACTIVATED = "deactivated", "Account deactivated"
        ADMINISTRATOR = "administrator", "Revoked by an administrator"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_ip = models.GenericIPAddressField(null=True, blank=True)
    last_used_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=30, choices=RevokeReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        indexes = [
            models.Index(
                fields=["user"],
                condition=models.Q(revoked_at__isnull=True),
                name="apitoken_user_live_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True, revoked_reason="")
                | (models.Q(revoked_at__isnull=False) & ~models.Q(revoked_reason="")),
                name="apitoken_revoked_with_reason",
            )
        ]

    def __str__(self) -> str:
        return f"API token of {self.user} from {self.created_at:%Y-%m-%d %H:%M}"


class PasswordResetRequest(models.Model):
    """One password-reset request, or one reset e-mail sent: what the rate limits count."""

    requested_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The account e-mailed; empty for a request that sent nothing.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["ip_address", "requested_at"], name="pwreset_address_at_idx"),
            models.Index(fields=["user", "requested_at"], name="pwreset_user_at_idx"),
        ]

    def __str__(self) -> str:
        return f"Password reset {self.requested_at:%Y-%m-%d %H:%M} from {self.ip_address}"
