"""Patients, their intakes, the screenings those produce, overrides and referrals.

Intakes and screenings are never edited: a new intake supersedes the old one,
and every screening keeps the rule-set version that produced it.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from clinic.models import Clinic, EmergencyNumber
from patients.domain.screening import Outcome as ScreeningOutcome
from patients.querysets import PatientQuerySet, ScreeningQuerySet


def validate_time_zone(value: str) -> None:
    # ZoneInfo opens a file named by the key: an over-long key, a directory ("Europe")
    # or a NUL raises OSError or ValueError, never a clean "not found".
    try:
        if len(value) > 64:
            raise ValueError(value)
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        shown = value if len(value) <= 64 else f"{value[:64]}…"
        raise ValidationError(f"{shown!r} is not an IANA time zone, e.g. Europe/London.") from None


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"
    NOT_STATED = "not_stated", "Prefer not to say"


# The screening outcome has one enumeration, the domain's: these are its choices.
Outcome = models.TextChoices(
    "Outcome",
    [(outcome.name, (outcome.value, outcome.label)) for outcome in ScreeningOutcome],
    module=__name__,
)


class Channel(models.TextChoices):
    PORTAL = "portal", "Patient portal"
    ADMIN = "admin", "Clinician (admin)"
    API = "api", "API"
    SYSTEM = "system", "System"


class Patient(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="patients",
        help_text="The responsible clinician.",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient",
        help_text="Portal account, created when the patient accepts an invitation.",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=12, choices=Sex.choices, default=Sex.NOT_STATED)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    time_zone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    height_cm = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    weight_kg = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    # Reminder preferences (CLINICAL.md section 7).
    reminder_time = models.TimeField(default=time(18, 0))
    remind_by_email = models.BooleanField(default=True)
    remind_by_sms = models.BooleanField(default=False)
    remind_in_portal = models.BooleanField(default=True)
    reminders_opted_out = models.BooleanField(default=False)
    emergency_number = models.CharField(
        max_length=4,
        blank=True,
        choices=EmergencyNumber.choices,
        help_text="Empty: the clinic's emergency number.",
    )
    # A red-flag symptom reported at a check-in: urgent referral until a clinician records
    # a referral whose outcome excludes serious pathology (CLINICAL.md s.4).
    red_flag_reported_at = models.DateTimeField(null=True, blank=True)
    red_flag_note = models.TextField(blank=True)
    # A stop symptom reported at a check-in: no inversion, on any plan, until a clinician
    # reviews it and resumes with a reason (programmes' plan_resume clears it).
    stop_symptom_reported_at = models.DateTimeField(null=True, blank=True)
    stop_symptom_note = models.TextField(blank=True, default="", db_default="")
    current_screening = models.OneToOneField(
        "Screening", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["clinic", "clinician"], name="patient_clinic_clin_idx")]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("admin:patients_patient_change", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            # Only an unsaved bad value (a form re-shown with its error) gets here: the
            # field's validator keeps one out of the database.
            return zoneinfo.ZoneInfo("UTC")

    @property
    def emergency_phone(self) -> str:
        """The emergency number the patient is told to call: their own, else the clinic's."""
        return self.emergency_number or self.clinic.emergency_number

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class Intake(models.Model):
    """One completed intake questionnaire. Never overwritten; the newest is current."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="intakes")
    number = models.PositiveIntegerField(help_text="1 for the first intake, then 2, 3, …")
    questionnaire_version = models.CharField(max_length=20)
    taken_on = models.DateField()
    answers = models.JSONField(help_text="Structured answers (IntakeAnswers), codes for lists.")
    systolic_bp = models.PositiveSmallIntegerField()
    diastolic_bp = models.PositiveSmallIntegerField()
    bp_measured_by = models.CharField(max_length=120)
    bp_measured_at = models.DateTimeField()
    weight_kg = models.DecimalField(max_digits=4, decimal_places=1)
    height_cm = models.DecimalField(max_digits=4, decimal_places=1)
    baseline_pain = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    odi_sections = models.JSONField(help_text="Ten ODI 2.1a section scores, 0–5 or null.")
    # Empty only when no section was answered: a red-flag intake is never held back by
    # the questionnaire.
    odi_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    reason = models.CharField(
        max_length=20,
        choices=[("intake", "Intake"), ("health_update", "Health update")],
        default="intake",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["patient", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "number"], name="intake_number_unique"),
            models.CheckConstraint(
                condition=models.Q(diastolic_bp__lt=models.F("systolic_bp")),
                name="intake_diastolic_below_systolic",
            ),
            models.CheckConstraint(
                condition=models.Q(baseline_pain__gte=0, baseline_pain__lte=10),
                name="intake_baseline_pain_0_10",
            ),
        ]

    def __str__(self) -> str:
        return f"Intake {self.number} of {self.patient} ({self.taken_on})"


class Screening(models.Model):
    """The engine's verdict on one intake, as of one day, with its rule-set version."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="screenings")
    intake = models.ForeignKey(Intake, on_delete=models.PROTECT, related_name="screenings")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    findings = models.JSONField(default=list)
    rule_set_version = models.CharField(max_length=20)
    screened_on = models.DateField()
    valid_until = models.DateField()
    # A patient's own answers that would lower the outcome a clinician recorded wait
    # here, not current, until a clinician confirms them.
    awaiting_confirmation = models.BooleanField(default=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScreeningQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Target of the override's composite foreign key: an override can only
            # point at a screening whose outcome is review_required.
            models.UniqueConstraint(fields=["id", "outcome"], name="screening_id_outcome_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.screened_on}, rules {self.rule_set_version})"

    def is_expired(self, today: date) -> bool:
        return today > self.valid_until


class ScreeningOverride(models.Model):
    """A clinician's documented approval of inversion despite review_required findings.

    PostgreSQL enforces what the service checks: the reason is not blank, and
    (screening_id, screening_outcome) must match a review_required screening.
    """

    screening = models.OneToOneField(Screening, on_delete=models.PROTECT, related_name="override")
    screening_outcome = models.CharField(max_length=20, default=Outcome.REVIEW_REQUIRED)
    scope = models.CharField(
        max_length=20, choices=[("inversion", "Inversion")], default="inversion"
    )
    reason = models.TextField()
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_on = models.DateField(help_text="Expires with the intake.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason__regex=r"^\s*$"), name="override_reason_required"
            ),
            models.CheckConstraint(
                condition=models.Q(screening_outcome=Outcome.REVIEW_REQUIRED),
                name="override_only_review_required",
            ),
        ]

    def __str__(self) -> str:
        return f"Override of {self.screening_id} by {self.clinician} until {self.expires_on}"


class Referral(models.Model):
    """The urgent referral a red flag demands, and what came of it."""

    class Result(models.TextChoices):
        PENDING = "pending", "Awaiting result"
        PATHOLOGY_EXCLUDED = "excluded", "Serious pathology excluded: may return to care"
        SPECIALIST_CARE = "specialist", "Under specialist care: no programme"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="referrals")
    # The red-flag screening it answers; empty: it answers a red flag reported at a check-in.
    screening = models.OneToOneField(
        Screening, null=True, blank=True, on_delete=models.PROTECT, related_name="referral"
    )
    referred_to = models.CharField(max_length=200)
    referred_on = models.DateField()
    result = models.CharField(max_length=12, choices=Result.choices, default=Result.PENDING)
    result_notes = models.TextField(blank=True)
    result_recorded_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Referral to {self.referred_to} on {self.referred_on} ({self.get_result_display()})"


class Invitation(models.Model):
    """A one-time link to the portal: 7 days, single use; only the token's hash is stored."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.patient} ({'used' if self.used_at else 'open'})"
