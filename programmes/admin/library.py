"""The exercise library and the programme templates in the admin.

A clinic sees the shipped library (no clinic) and its own rows, and edits only its own;
saves go through `programmes.services.library`. A template's steps keep every cap at
the default ceiling (`programmes.domain.progression.template_problems`).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms.models import BaseInlineFormSet

from clinic.admin import ClinicScopedChoices, ClinicScopedInline
from clinic.roles import clinic_of
from programmes.domain.progression import InversionStep, template_problems
from programmes.models import (
    Exercise,
    ProgrammeTemplate,
    TemplateExercise,
    TemplateInversionStep,
    TemplateKind,
)
from programmes.services import library as library_services
from programmes.services.prescription_edits import DOSE_FIELDS, STEP_FIELDS


def shared_or_own(queryset, request):
    """The shipped rows (no clinic) and the user's clinic's own; a superuser's: all."""
    if request.user.is_superuser:
        return queryset
    return queryset.filter(Q(clinic__isnull=True) | Q(clinic=clinic_of(request.user)))


class LibraryAdmin(ClinicScopedChoices, admin.ModelAdmin):
    """A kind of row of the library: the shipped ones and the clinic's own."""

    def get_queryset(self, request):
        return shared_or_own(super().get_queryset(request), request)

    def has_change_permission(self, request, obj=None):
        # The shipped library belongs to no clinic: only a superuser edits it.
        if obj is not None and obj.clinic_id is None and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)


class ExerciseForm(forms.ModelForm):
    class Meta:
        model = Exercise
        fields = [
            "clinic",
            "name",
            "slug",
            "category",
            "patient_instructions",
            "clinician_notes",
            "default_sets",
            "default_repetitions",
            "default_hold_seconds",
            "default_times_per_day",
            "contraindication_tags",
        ]

    def clean(self):
        cleaned = super().clean()
        changes = {name: cleaned.get(name) for name in self.changed_data}
        for field, message in library_services.exercise_change_problems(
            self.instance, changes
        ).items():
            self.add_error(field, message)
        return cleaned


@admin.register(Exercise)
class ExerciseAdmin(LibraryAdmin):
    form = ExerciseForm
    list_display = ["name", "category", "default_dosage", "contraindication_tags"]
    list_filter = ["category"]
    search_fields = ["name", "patient_instructions"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="Default dosage")
    def default_dosage(self, exercise: Exercise) -> str:
        return exercise.dosage_text()

    def save_model(self, request, obj, form, change):
        library_services.exercise_save(exercise=obj, by=request.user)


def steps_from_formset(formset) -> list[InversionStep]:
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE") or data.get("angle_deg") is None:
            continue
        rows.append(data)
    rows.sort(key=lambda row: row.get("order") or 0)
    steps = []
    for row in rows:
        try:
            steps.append(
                InversionStep(
                    angle_deg=row["angle_deg"],
                    hold_seconds=row["hold_seconds"],
                    sessions_per_day=row.get("sessions_per_day") or 1,
                    days_per_week=row.get("days_per_week") or 7,
                    cycles=row.get("cycles"),
                    cycle_seconds=row.get("cycle_seconds"),
                )
            )
        except (ValueError, KeyError) as error:
            raise ValidationError(str(error)) from None
    return steps


class TemplateStepFormSet(BaseInlineFormSet):
    """A template's steps must keep every cap of CLINICAL.md section 3 at the default ceiling."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        problems = template_problems(
            steps_from_formset(self),
            exercise_only=self.instance.kind == TemplateKind.EXERCISE_ONLY,
        )
        if problems:
            raise ValidationError(list(problems))


class TemplateStepInline(ClinicScopedInline):
    model = TemplateInversionStep
    formset = TemplateStepFormSet
    extra = 0
    fields = list(STEP_FIELDS)


class TemplateExerciseInline(ClinicScopedInline):
    model = TemplateExercise
    extra = 0
    fields = list(DOSE_FIELDS)


@admin.register(ProgrammeTemplate)
class ProgrammeTemplateAdmin(LibraryAdmin):
    list_display = ["name", "kind", "step_summary", "is_active"]
    list_filter = ["kind", "is_active"]
    inlines = [TemplateStepInline, TemplateExerciseInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("inversion_steps")

    @admin.display(description="Inversion steps")
    def step_summary(self, template: ProgrammeTemplate) -> str:
        steps = list(template.inversion_steps.all())
        return (
            " → ".join(f"{s.angle_deg}°/{s.hold_seconds // 60 or s.hold_seconds}" for s in steps)
            or "—"
        )

    def save_model(self, request, obj, form, change):
        library_services.template_save(template=obj, by=request.user)
