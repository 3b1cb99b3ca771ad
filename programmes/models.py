"""Patients' plans, their history and check-ins (the library of exercises and programme
templates they are copied from is `programmes.library`).

A plan is a copy of a template: editing the template never changes a running
plan. Which inversion step is current is changed only by
`programmes.services`, and PostgreSQL (migration 0011) refuses at commit any
state in which a patient whose record forbids inversion has an inversion-active
plan, or a step breaks the caps, whatever path the write came by.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from clinic.models import Clinic
from patients.models import Patient
from programmes.domain.permission import PauseCause
from programmes.domain.symptoms import Symptom
from programmes.library import (  # noqa: F401
    # The library's models: imported here, Django registers them with this app and
    # callers keep finding them in `programmes.models`.
    Category,
    Exercise,
    PrescriptionFields,
    ProgrammeTemplate,
    StepFields,
    TemplateExercise,
    TemplateInversionStep,
    TemplateKind,
    dose_constraints,
    step_constraints,
)
from programmes.querysets import CheckInQuerySet, PlanQuerySet


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    ENDED = "ended", "Ended"


class Plan(models.Model):
    """A patient's programme: a copy of a template, run by one clinician."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="plans")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="plans")
    template = models.ForeignKey(
        ProgrammeTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="plans"
    )
    name = models.CharField(max_length=120)
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    current_step = models.ForeignKey(
        "PlanInversionStep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The inversion step the patient does now; empty means no inversion.",
    )
    ceiling_deg = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(15), MaxValueValidator(90)]
    )
    full_inversion_allowed = models.BooleanField(
        default=False, help_text="Tick to allow steps above 60° (up to 90°) on this plan."
    )
    auto_advance = models.BooleanField(
        default=False, help_text="Apply the progression engine's proposals without review."
    )
    inversion_paused = models.BooleanField(
        default=False, help_text="Inversion stopped (symptom or screening); exercises go on."
    )
    pause_reason = models.TextField(blank=True)
    inversion_pause_cause = models.CharField(
        max_length=20,
        blank=True,
        choices=[(c.value, c.name.replace("_", " ").capitalize()) for c in PauseCause if c.value],
        help_text="Why inversion is paused: a resume must answer it.",
    )
    # The progression engine's latest proposal, shown to the clinician.
    proposal_action = models.CharField(max_length=10, blank=True)
    proposal_reason = models.TextField(blank=True)
    proposal_target = models.ForeignKey(
        "PlanInversionStep", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposal_at = models.DateTimeField(null=True, blank=True)
    step_started_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One running plan per patient: a second would double the prescription.
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(status__in=["active", "paused"]),
                name="plan_one_running_per_patient",
            ),
            models.CheckConstraint(
                condition=models.Q(ceiling_deg__lte=60) | models.Q(full_inversion_allowed=True),
                name="plan_ceiling_above_60_needs_full_inversion",
            ),
            models.CheckConstraint(
                condition=models.Q(ceiling_deg__lte=90), name="plan_ceiling_max_90"
            ),
        ]
        indexes = [models.Index(fields=["clinic", "status"], name="plan_clinic_status_idx")]

    def __str__(self) -> str:
        return f"{self.name} — {self.patient}"

    @property
    def is_running(self) -> bool:
        return self.status in (PlanStatus.ACTIVE, PlanStatus.PAUSED)

    @property
    def inversion_active(self) -> bool:
        return (
            self.status == PlanStatus.ACTIVE
            and self.current_step_id is not None
            and not self.inversion_paused
        )


class PlanInversionStep(StepFields):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="inversion_steps")

    class Meta(StepFields.Meta):
        constraints = [
            models.UniqueConstraint(fields=["plan", "order"], name="plan_step_order_unique"),
            *step_constraints("plan_step"),
        ]

    def __str__(self) -> str:
        return f"Step {self.order + 1}: {self.describe()}"


class PlanExercise(PrescriptionFields):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="exercises")

    class Meta(PrescriptionFields.Meta):
        constraints = dose_constraints("plan_exercise")


class PlanEvent(models.Model):
    """One change to a plan: who, when, what, why. The plan's timeline."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        EDITED = "edited", "Edited"
        ACTIVATED = "activated", "Activated"
        PAUSED = "paused", "Paused"
        RESUMED = "resumed", "Resumed"
        ADVANCED = "advanced", "Advanced a step"
        WENT_BACK = "went_back", "Went back a step"
        INVERSION_PAUSED = "inversion_paused", "Inversion paused"
        PROPOSAL = "proposal", "Progression proposal"
        ENDED = "ended", "Ended"
        COMPLETED = "completed", "Completed"
        REFUSED = "refused", "Refused"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_step = models.PositiveSmallIntegerField(null=True, blank=True)
    to_step = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["plan", "-at"], name="planevent_plan_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class CheckIn(models.Model):
    """A patient's report of one session: what was done, pain before and after, symptoms."""

    class Completion(models.TextChoices):
        DONE = "done", "Done"
        PARTIAL = "partial", "Partly done"
        NOT_DONE = "not_done", "Not done"

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="checkins")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="checkins")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.UUIDField(
        help_text="One per form: a double submit is not a second check-in."
    )
    local_date = models.DateField(help_text="The patient's local date of the session.")
    submitted_at = models.DateTimeField(auto_now_add=True)
    completion = models.CharField(max_length=10, choices=Completion.choices)
    step = models.ForeignKey(
        PlanInversionStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inversion_angle_deg = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(90)]
    )
    inversion_seconds = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(1200)]
    )
    exercises_done = models.ManyToManyField(PlanExercise, blank=True, related_name="+")
    pain_before = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    pain_after = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    symptoms = ArrayField(
        models.CharField(max_length=40, choices=list(Symptom.LABELS.items())),
        default=list,
        blank=True,
    )
    note = models.TextField(blank=True, max_length=2000)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        ordering = ["-local_date", "-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "idempotency_key"], name="checkin_idempotency_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(pain_before__lte=10) & models.Q(pain_after__lte=10),
                name="checkin_pain_0_10",
            ),
            models.CheckConstraint(
                condition=models.Q(inversion_angle_deg__lte=90), name="checkin_angle_max_90"
            ),
        ]
        indexes = [
            models.Index(fields=["plan", "local_date"], name="checkin_plan_day_idx"),
            models.Index(fields=["patient", "-submitted_at"], name="checkin_patient_recent_idx"),
            models.Index(fields=["clinic", "local_date"], name="checkin_clinic_day_idx"),
            # Staff reports: "a stop symptom in the last 7 days" per patient.
            models.Index(
                fields=["patient", "local_date"],
                condition=~models.Q(symptoms=[]),
                name="checkin_symptom_day_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} {self.local_date} {self.get_completion_display()}"


class ClinicianAlert(models.Model):
    """Something a clinician must look at. `dedupe_key` makes each alert happen once."""

    class Kind(models.TextChoices):
        STOP_SYMPTOM = "stop_symptom", "Stop symptom reported"
        RED_FLAG = "red_flag", "Red-flag symptom reported"
        URGENT_REFERRAL = "urgent_referral", "Intake: urgent referral"
        REVIEW_REQUIRED = "review_required", "Intake: review required"
        SCREENING_PAUSE = "screening_pause", "Health update paused inversion"
        CONTRAINDICATED = "contraindicated", "Screening: newly contraindicated"
        CONFIRM_SCREENING = "confirm_screening", "Patient's answers await confirmation"
        MILD_REPEATED = "mild_repeated", "Mild symptoms twice in 7 days"
        HIGH_PAIN = "high_pain", "Pain 7 or more"
        NO_CHECKIN = "no_checkin", "No check-in for 49 hours"
        LOW_ADHERENCE = "low_adherence", "7-day adherence below 50%"
        STALLED = "stalled", "Stalled: 14 days without a check-in"
        DROPPED = "dropped", "Dropped: 21 days without a check-in"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="alerts")
    plan = models.ForeignKey(
        Plan, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField()
    dedupe_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Who the e-mail went to: the responsible clinician, or the clinic's other clinicians.
    emailed_to = models.TextField(blank=True, default="", db_default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["clinic", "-created_at"],
                condition=models.Q(acknowledged_at__isnull=True),
                name="alert_open_by_clinic_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.patient}"


class QuestionnaireResponse(models.Model):
    """Pain NRS and ODI follow-ups during a plan and at discharge (CLINICAL.md s.5)."""

    class Kind(models.TextChoices):
        FOLLOW_UP = "follow_up", "Two-weekly follow-up"
        DISCHARGE = "discharge", "Discharge"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="questionnaires")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="questionnaires")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FOLLOW_UP)
    taken_on = models.DateField()
    pain = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    odi_sections = models.JSONField()
    odi_percent = models.DecimalField(max_digits=4, decimal_places=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "taken_on"], name="questionnaire_one_per_plan_day"
            ),
            models.CheckConstraint(
                condition=models.Q(pain__lte=10), name="questionnaire_pain_0_10"
            ),
        ]
        # Staff reports: each patient's latest ODI.
        indexes = [
            models.Index(fields=["patient", "-taken_on"], name="questionnaire_patient_day_idx")
        ]

    def __str__(self) -> str:
        return f"{self.patient} {self.taken_on}: ODI {self.odi_percent}%"


class ReminderDelivery(models.Model):
    """The delivery ledger: one row per (patient, local date, kind, channel), inserted before
    sending. The unique key is what makes a retry, a redelivered task, a second beat or a
    restarted worker harmless."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class ChannelName(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        PORTAL = "portal", "In-portal notice"
        CONSOLE = "console", "Console"

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="reminders")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    local_date = models.DateField()
    kind = models.CharField(max_length=10)
    channel = models.CharField(max_length=10, choices=ChannelName.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "local_date", "kind", "channel"],
                name="reminder_once_per_day_kind_channel",
            )
        ]
        indexes = [
            models.Index(
                fields=["enqueued_at"],
                condition=models.Q(status="pending"),
                name="reminder_pending_idx",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status="sending"),
                name="reminder_sending_claimed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.patient_id} by {self.channel} on {self.local_date}"

    @property
    def idempotency_key(self) -> str:
        return f"inverto-{self.patient_id}-{self.local_date}-{self.kind}-{self.channel}"


class PortalNotice(models.Model):
    """A message shown in the patient's portal (the in-portal reminder channel)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="notices")
    delivery = models.OneToOneField(
        ReminderDelivery, null=True, blank=True, on_delete=models.CASCADE, related_name="notice"
    )
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.message[:60]


class ReportExport(models.Model):
    """A staff report exported in the background; its CSV is kept as ordered chunks."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        PATIENTS = "patients", "Adherence per patient"
        AT_RISK = "at_risk", "Patients at risk"
        CLINICIANS = "clinicians", "Per clinician"
        TEMPLATES = "templates", "Per programme template"

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    filters = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="reportexport_clinic_idx")]

    def __str__(self) -> str:
        return f"{self.kind} export {self.pk} ({self.get_status_display()})"


class ReportExportChunk(models.Model):
    export = models.ForeignKey(ReportExport, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["export", "seq"], name="reportexportchunk_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.export_id}#{self.seq}"


# Kept by PostgreSQL, read by the adherence figures (see the module).
from programmes.adherence_models import DayCredit, PlanDays  # noqa: E402, F401
