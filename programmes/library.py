"""The library: exercises and programme templates, and the step and dose fields a plan
copies from them. `programmes.models` imports these, so Django finds them there."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Cast
from django.db.models.lookups import LessThanOrEqual

from clinic.models import Clinic
from patients.models import Outcome
from programmes.domain.progression import InversionStep


class Category(models.TextChoices):
    INVERSION = "inversion", "Inversion"
    STRETCH = "stretch", "Stretch"
    CORE = "core", "Core"
    MOBILITY = "mobility", "Mobility"
    AEROBIC = "aerobic", "Aerobic"


class Exercise(models.Model):
    """An exercise of the library. `clinic` empty: the shipped library every clinic sees."""

    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.CASCADE, related_name="exercises"
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120)
    category = models.CharField(max_length=12, choices=Category.choices)
    patient_instructions = models.TextField()
    clinician_notes = models.TextField(blank=True)
    default_sets = models.PositiveSmallIntegerField(default=1)
    default_repetitions = models.PositiveSmallIntegerField(null=True, blank=True)
    default_hold_seconds = models.PositiveSmallIntegerField(null=True, blank=True)
    default_times_per_day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(6)]
    )
    contraindication_tags = ArrayField(
        models.CharField(max_length=20, choices=Outcome.choices),
        default=list,
        blank=True,
        help_text="Screening outcomes for which this exercise must not be assigned.",
    )

    class Meta:
        ordering = ["category", "name"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "slug"], name="exercise_clinic_slug_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def dosage_text(
        self, *, sets=None, repetitions=None, hold_seconds=None, times_per_day=None
    ) -> str:
        sets = sets or self.default_sets
        repetitions = repetitions if repetitions is not None else self.default_repetitions
        hold_seconds = hold_seconds if hold_seconds is not None else self.default_hold_seconds
        times_per_day = times_per_day or self.default_times_per_day
        parts = []
        if repetitions:
            parts.append(
                f"{sets} × {repetitions} repetitions" if sets > 1 else f"{repetitions} repetitions"
            )
        elif sets > 1:
            parts.append(f"{sets} sets")
        if hold_seconds:
            parts.append(
                f"hold {hold_seconds} s" if hold_seconds < 120 else f"{hold_seconds // 60} min"
            )
        parts.append("once a day" if times_per_day == 1 else f"{times_per_day} times a day")
        return ", ".join(parts)


class TemplateKind(models.TextChoices):
    INVERSION = "inversion", "Progressive inversion and exercise"
    EXERCISE_ONLY = "exercise_only", "Exercise only"


class StepFields(models.Model):
    """The shape of an inversion step, shared by templates and plans."""

    order = models.PositiveSmallIntegerField()
    angle_deg = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(10), MaxValueValidator(90)],
        help_text="Degrees from horizontal.",
    )
    hold_seconds = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(10), MaxValueValidator(600)],
        help_text="Time inverted per session (ignored in intermittent mode).",
    )
    sessions_per_day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(2)]
    )
    days_per_week = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(7)]
    )
    cycles = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Intermittent mode: number of inverted cycles."
    )
    cycle_seconds = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(20), MaxValueValidator(30)],
        help_text="Intermittent mode: seconds inverted per cycle (20–30).",
    )

    class Meta:
        abstract = True
        ordering = ["order"]

    def prescription(self) -> dict[str, Any]:
        """The step's own values, to copy it from a template onto a plan or another template."""
        return {f.attname: getattr(self, f.attname) for f in StepFields._meta.local_fields}

    def as_domain(self) -> InversionStep:
        return InversionStep(
            angle_deg=self.angle_deg,
            hold_seconds=self.hold_seconds,
            sessions_per_day=self.sessions_per_day,
            days_per_week=self.days_per_week,
            cycles=self.cycles,
            cycle_seconds=self.cycle_seconds,
        )

    def describe(self) -> str:
        if self.cycles:
            body = f"{self.cycles} cycles of {self.cycle_seconds} s inverted"
        else:
            minutes, seconds = divmod(self.hold_seconds, 60)
            body = f"hold {minutes} min" + (f" {seconds} s" if seconds else "")
        times = "once a day" if self.sessions_per_day == 1 else "twice a day"
        return f"{self.angle_deg}°, {body}, {times}"


def step_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(
            condition=models.Q(angle_deg__gte=10, angle_deg__lte=90), name=f"{prefix}_angle_10_90"
        ),
        models.CheckConstraint(
            condition=models.Q(hold_seconds__gte=10, hold_seconds__lte=600),
            name=f"{prefix}_hold_max_10_min",
        ),
        models.CheckConstraint(
            condition=models.Q(sessions_per_day__gte=1, sessions_per_day__lte=2),
            name=f"{prefix}_sessions_1_2",
        ),
        # Intermittent mode needs both numbers, each cycle 20-30 s inverted, and a
        # session's inverted time (cycles x cycle) at most 10 minutes like a hold.
        models.CheckConstraint(
            condition=models.Q(cycles__isnull=True, cycle_seconds__isnull=True)
            | models.Q(
                cycles__isnull=False,
                cycle_seconds__isnull=False,
                cycles__gte=1,
                cycle_seconds__gte=20,
                cycle_seconds__lte=30,
            ),
            name=f"{prefix}_intermittent_cycles_20_30",
        ),
        models.CheckConstraint(
            condition=models.Q(cycles__isnull=True)
            | models.Q(
                LessThanOrEqual(
                    Cast("cycles", models.IntegerField()) * models.F("cycle_seconds"), 600
                )
            ),
            name=f"{prefix}_session_max_10_min",
        ),
    ]


class ProgrammeTemplate(models.Model):
    clinic = models.ForeignKey(
        Clinic, null=True, blank=True, on_delete=models.CASCADE, related_name="templates"
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=14, choices=TemplateKind.choices)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TemplateInversionStep(StepFields):
    template = models.ForeignKey(
        ProgrammeTemplate, on_delete=models.CASCADE, related_name="inversion_steps"
    )

    class Meta(StepFields.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["template", "order"], name="template_step_order_unique"
            ),
            *step_constraints("template_step"),
            # A template has no plan to allow full inversion on: the default ceiling holds.
            models.CheckConstraint(
                condition=models.Q(angle_deg__lte=60), name="template_step_angle_max_60"
            ),
        ]

    def __str__(self) -> str:
        return f"Step {self.order + 1}: {self.describe()}"


def dose_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(condition=models.Q(sets__lte=10), name=f"{prefix}_sets_max_10"),
        models.CheckConstraint(
            condition=models.Q(repetitions__lte=100), name=f"{prefix}_repetitions_max_100"
        ),
        models.CheckConstraint(
            condition=models.Q(hold_seconds__lte=600), name=f"{prefix}_hold_max_10_min"
        ),
        models.CheckConstraint(
            condition=models.Q(times_per_day__gte=1, times_per_day__lte=6),
            name=f"{prefix}_times_per_day_1_6",
        ),
    ]


class PrescriptionFields(models.Model):
    order = models.PositiveSmallIntegerField(default=0)
    exercise = models.ForeignKey(Exercise, on_delete=models.PROTECT, related_name="+")
    sets = models.PositiveSmallIntegerField(default=1, validators=[MaxValueValidator(10)])
    repetitions = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    hold_seconds = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(600)]
    )
    times_per_day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(6)]
    )

    class Meta:
        abstract = True
        ordering = ["order"]

    def __str__(self) -> str:
        return f"{self.exercise}: {self.dosage_text()}"

    def prescription(self) -> dict[str, Any]:
        """The exercise and dose, to copy them from a template onto a plan or another template."""
        return {f.attname: getattr(self, f.attname) for f in PrescriptionFields._meta.local_fields}

    def dosage_text(self) -> str:
        return self.exercise.dosage_text(
            sets=self.sets,
            repetitions=self.repetitions,
            hold_seconds=self.hold_seconds,
            times_per_day=self.times_per_day,
        )


class TemplateExercise(PrescriptionFields):
    template = models.ForeignKey(
        ProgrammeTemplate, on_delete=models.CASCADE, related_name="exercises"
    )

    class Meta(PrescriptionFields.Meta):
        constraints = dose_constraints("template_exercise")
