"""API shapes for plans and today's prescription."""

from __future__ import annotations

from rest_framework import serializers

from patients.models import Patient
from programmes.domain.symptoms import Symptom
from programmes.models import (
    CheckIn,
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


class CheckInSerializer(serializers.ModelSerializer):
    exercises_done = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "plan",
            "local_date",
            "submitted_at",
            "completion",
            "step",
            "inversion_angle_deg",
            "inversion_seconds",
            "exercises_done",
            "pain_before",
            "pain_after",
            "symptoms",
            "note",
        ]
        read_only_fields = fields


class CheckInCreateSerializer(serializers.Serializer):
    idempotency_key = serializers.UUIDField(
        help_text="A new UUID per check-in form; sending it again returns the first check-in."
    )
    completion = serializers.ChoiceField(choices=CheckIn.Completion.choices)
    local_date = serializers.DateField(required=False, help_text="Defaults to today, local time.")
    inversion_angle_deg = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=90,
        help_text="Angle actually held, degrees.",
    )
    inversion_seconds = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=1200,
        help_text="Time actually inverted, seconds.",
    )
    exercise_ids = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        help_text="Ids of the plan's exercises done.",
    )
    pain_before = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=10
    )
    pain_after = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=10
    )
    symptoms = serializers.ListField(
        child=serializers.ChoiceField(choices=list(Symptom.LABELS.items())),
        required=False,
        default=list,
        help_text="Symptoms during or after the session (codes).",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CheckInResultSerializer(serializers.Serializer):
    checkin = CheckInSerializer()
    created = serializers.BooleanField(help_text="False when the key was seen before.")
    inversion_paused = serializers.BooleanField()
    went_back = serializers.BooleanField(help_text="A mild symptom moved the plan one step down.")
    stop_advice = serializers.CharField(source="assessment.stop_advice", allow_null=True)
    urgent_referral_advice = serializers.CharField(
        source="assessment.urgent_referral_advice", allow_null=True
    )


class PainPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    before = serializers.FloatField(allow_null=True)
    after = serializers.FloatField(allow_null=True)


class WeekSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    prescribed = serializers.IntegerField(source="adherence.prescribed")
    completed = serializers.FloatField(source="adherence.completed")
    ratio = serializers.FloatField(source="adherence.ratio", allow_null=True)


class ProgressSerializer(serializers.Serializer):
    adherence_7_days = serializers.FloatField(allow_null=True)
    adherence_30_days = serializers.FloatField(allow_null=True)
    band_30_days = serializers.CharField()
    pain = PainPointSerializer(many=True)
    weeks = WeekSerializer(many=True)
    current_step = InversionStepSerializer(allow_null=True)
    next_step = InversionStepSerializer(allow_null=True)
