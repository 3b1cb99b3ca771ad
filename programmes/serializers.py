"""API shapes for plans and today's prescription."""

from __future__ import annotations

from rest_framework import serializers

from patients.models import Patient
from programmes.models import (
    Exercise,
    Plan,
    PlanEvent,
    PlanExercise,
    PlanInversionStep,
    ProgrammeTemplate,
)


class InversionStepSerializer(serializers.ModelSerializer):
    description = serializers.CharField(source="describe", read_only=True, help_text="In words.")

    class Meta:
        model = PlanInversionStep
        fields = [
            "id",
            "order",
            "angle_deg",
            "hold_seconds",
            "sessions_per_day",
            "days_per_week",
            "cycles",
            "cycle_seconds",
            "description",
        ]


class PlanExerciseSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="exercise.name", read_only=True)
    dosage = serializers.CharField(source="dosage_text", read_only=True)

    class Meta:
        model = PlanExercise
        fields = [
            "id",
            "order",
            "exercise",
            "name",
            "sets",
            "repetitions",
            "hold_seconds",
            "times_per_day",
            "dosage",
        ]


class PlanEventSerializer(serializers.ModelSerializer):
    by = serializers.StringRelatedField(help_text="Who made the change; null for the system.")

    class Meta:
        model = PlanEvent
        fields = ["at", "by", "kind", "from_step", "to_step", "reason"]


class PlanSerializer(serializers.ModelSerializer):
    inversion_steps = InversionStepSerializer(many=True, read_only=True)
    exercises = PlanExerciseSerializer(many=True, read_only=True)
    current_step = InversionStepSerializer(read_only=True, allow_null=True)
    proposal = serializers.SerializerMethodField(
        help_text="The progression engine's latest proposal."
    )

    class Meta:
        model = Plan
        fields = [
            "id",
            "patient",
            "name",
            "template",
            "clinician",
            "status",
            "start_date",
            "end_date",
            "current_step",
            "ceiling_deg",
            "full_inversion_allowed",
            "auto_advance",
            "inversion_paused",
            "pause_reason",
            "proposal",
            "inversion_steps",
            "exercises",
            "created_at",
        ]
        read_only_fields = fields

    def get_proposal(self, plan: Plan) -> dict | None:
        if not plan.proposal_action:
            return None
        return {
            "action": plan.proposal_action,
            "reason": plan.proposal_reason,
            "at": plan.proposal_at,
        }


class PlanCreateSerializer(serializers.Serializer):
    patient = serializers.PrimaryKeyRelatedField(
        queryset=Patient.objects.none(), help_text="The patient (of your clinic)."
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=ProgrammeTemplate.objects.none(), help_text="The template to copy."
    )
    start_date = serializers.DateField(required=False, help_text="Defaults to today.")
    ceiling_deg = serializers.IntegerField(
        min_value=15,
        max_value=90,
        default=60,
        help_text="Highest angle; above 60 needs full inversion.",
    )
    full_inversion_allowed = serializers.BooleanField(default=False)
    auto_advance = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if attrs["ceiling_deg"] > 60 and not attrs["full_inversion_allowed"]:
            raise serializers.ValidationError(
                {"ceiling_deg": "Above 60° only when full inversion is allowed on this plan."}
            )
        return attrs


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why; required to pause."
    )


class TodayExerciseSerializer(serializers.Serializer):
    name = serializers.CharField()
    category = serializers.CharField()
    dosage = serializers.CharField()
    instructions = serializers.CharField()


class TodaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The patient's local date.")
    plan = serializers.IntegerField(source="plan.pk", allow_null=True, default=None)
    inversion = InversionStepSerializer(allow_null=True, help_text="Null: no inversion today.")
    inversion_reason = serializers.CharField(help_text="Why there is no inversion, if none.")
    exit_advice = serializers.CharField(help_text="How to come out of inversion safely.")
    exercises = TodayExerciseSerializer(many=True)
    nothing_reason = serializers.CharField(help_text="Why there is nothing today, if nothing.")


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
