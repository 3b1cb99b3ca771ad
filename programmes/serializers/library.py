"""API shapes of the exercise library and the programme templates."""

from __future__ import annotations

from rest_framework import serializers

from patients.serializers import described
from programmes.models import (
    Exercise,
    ProgrammeTemplate,
    TemplateExercise,
    TemplateInversionStep,
)
from programmes.serializers.plans import InversionStepSerializer, PlanExerciseSerializer


class ExerciseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Exercise
        fields = [
            "id",
            "name",
            "category",
            "patient_instructions",
            "default_sets",
            "default_repetitions",
            "default_hold_seconds",
            "default_times_per_day",
            "contraindication_tags",
        ]
        read_only_fields = fields
        extra_kwargs = described(
            id="The exercise's id.",
            name="Its name.",
            category="inversion, stretch, core, mobility or aerobic.",
            patient_instructions="How to do it, as the patient reads it.",
            default_sets="Sets, unless a plan says otherwise.",
            default_repetitions="Repetitions per set, unless a plan says otherwise.",
            default_hold_seconds="Seconds to hold, unless a plan says otherwise.",
            default_times_per_day="Times a day, unless a plan says otherwise.",
        )


class TemplateStepSerializer(InversionStepSerializer):
    class Meta(InversionStepSerializer.Meta):
        model = TemplateInversionStep
        read_only_fields = InversionStepSerializer.Meta.fields


class TemplateExerciseSerializer(PlanExerciseSerializer):
    class Meta(PlanExerciseSerializer.Meta):
        model = TemplateExercise
        read_only_fields = PlanExerciseSerializer.Meta.fields


class TemplateSerializer(serializers.ModelSerializer):
    inversion_steps = TemplateStepSerializer(
        many=True, read_only=True, help_text="Inversion steps in order."
    )
    exercises = TemplateExerciseSerializer(
        many=True, read_only=True, help_text="Exercises with their dosage."
    )
    shared = serializers.SerializerMethodField(
        help_text="True for the shipped templates every clinic sees."
    )

    class Meta:
        model = ProgrammeTemplate
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "is_active",
            "shared",
            "inversion_steps",
            "exercises",
        ]
        read_only_fields = fields
        extra_kwargs = described(
            id="The template's id.",
            name="Its name.",
            kind="inversion (progressive inversion and exercise) or exercise_only.",
            description="What it is for.",
            is_active="False: kept for history, not offered for new plans.",
        )

    def get_shared(self, template: ProgrammeTemplate) -> bool:
        return template.clinic_id is None
