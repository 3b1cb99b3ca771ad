"""API shapes of plans: a plan with its steps, exercises and history, and the bodies
of its changes (create, update, add an exercise, the actions)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.permissions import CLINICAL_ROLES
from clinic.roles import clinic_of
from patients.models import Patient
from patients.serializers import described
from programmes.domain.caps import DEFAULT_CAPS, ceiling_refusal
from programmes.models import (
    Exercise,
    Plan,
    PlanEvent,
    PlanExercise,
    PlanInversionStep,
    ProgrammeTemplate,
)

STEP_TEXTS = described(
    id="The step's id.",
    order="Position in the plan, 0 first.",
    angle_deg="Degrees from horizontal (10–90).",
    hold_seconds="Time inverted per session, seconds.",
    sessions_per_day="Sessions a day (1 or 2).",
    days_per_week="Days a week with a session.",
    cycles="Intermittent mode: number of inverted cycles; null otherwise.",
    cycle_seconds="Intermittent mode: seconds per cycle (20–30); null otherwise.",
)
DOSAGE_TEXTS = described(
    id="The prescription's id.",
    order="Position in the list.",
    exercise="The exercise of the library (id).",
    sets="Sets.",
    repetitions="Repetitions per set; null for a hold.",
    hold_seconds="Seconds to hold; null for repetitions.",
    times_per_day="Times a day.",
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
        extra_kwargs = STEP_TEXTS


class PlanExerciseSerializer(serializers.ModelSerializer):
    name = serializers.CharField(
        source="exercise.name", read_only=True, help_text="The exercise's name."
    )
    dosage = serializers.CharField(
        source="dosage_text", read_only=True, help_text="The dosage in words."
    )

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
        extra_kwargs = DOSAGE_TEXTS


class PlanEventSerializer(serializers.ModelSerializer):
    by = serializers.StringRelatedField(help_text="Who made the change; null for the system.")

    class Meta:
        model = PlanEvent
        fields = ["id", "at", "by", "kind", "from_step", "to_step", "reason"]
        extra_kwargs = described(
            id="The event's id.",
            at="When it happened.",
            kind="What happened: created, activated, paused, advanced, went_back, …",
            from_step="Step order before the change, if it moved the step.",
            to_step="Step order after the change, if it moved the step.",
            reason="Why, in words.",
        )


class ProposalSerializer(serializers.Serializer):
    action = serializers.CharField(help_text="advance, hold, go_back or pause.")
    reason = serializers.CharField(help_text="Why the engine proposes it.")
    at = serializers.DateTimeField(allow_null=True, help_text="When it was proposed.")


class PlanSerializer(serializers.ModelSerializer):
    inversion_steps = InversionStepSerializer(
        many=True,
        read_only=True,
        help_text="The plan's inversion steps in order; empty for a patient whose treatment "
        "permission refuses inversion today.",
    )
    exercises = PlanExerciseSerializer(
        many=True, read_only=True, help_text="The plan's exercises with their dosage."
    )
    current_step = InversionStepSerializer(
        read_only=True,
        allow_null=True,
        help_text="The step done now; null: no inversion, or (for the patient) inversion not "
        "allowed today.",
    )
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
        extra_kwargs = described(
            id="The plan's id.",
            patient="The patient (id).",
            name="The plan's name (from its template).",
            template="The template it was copied from (id); null if deleted.",
            clinician="The clinician who runs it (user id).",
            status="draft, active, paused, completed or ended.",
            start_date="First day of the plan.",
            end_date="Last day, once ended.",
            ceiling_deg="Highest angle any step may reach.",
            full_inversion_allowed="True: steps above 60° are allowed.",
            auto_advance="True: the engine's proposals apply without review.",
            inversion_paused="True: inversion stopped (symptom or screening); exercises go on.",
            pause_reason="Why the plan or its inversion is paused.",
            created_at="When the plan was created.",
        )

    @extend_schema_field(ProposalSerializer(allow_null=True))
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
        max_value=DEFAULT_CAPS.absolute_max_angle_deg,
        default=DEFAULT_CAPS.default_ceiling_deg,
        help_text="Highest angle; above 60 needs full inversion.",
    )
    full_inversion_allowed = serializers.BooleanField(
        default=False, help_text="Allow steps above 60° on this plan."
    )
    auto_advance = serializers.BooleanField(
        default=False, help_text="Apply the progression engine's proposals without review."
    )

    def validate(self, attrs):
        refusal = ceiling_refusal(
            attrs["ceiling_deg"], full_inversion_allowed=attrs["full_inversion_allowed"]
        )
        if refusal:
            raise serializers.ValidationError({"ceiling_deg": refusal})
        return attrs


class PlanUpdateSerializer(serializers.Serializer):
    """A plan's settings a clinician may change. Status, step and pauses move only
    through the plan's actions; a running plan's start date never moves."""

    # Read by clinic.api_schema: the schema sets additionalProperties false, as `validate`
    # refuses a field this body doesn't have.
    refuses_unknown_fields = True

    name = serializers.CharField(required=False, max_length=120, help_text="The plan's name.")
    clinician = serializers.PrimaryKeyRelatedField(
        required=False,
        queryset=get_user_model().objects.none(),
        help_text="The clinician who runs it (user id, of this clinic).",
    )
    start_date = serializers.DateField(
        required=False, help_text="First day of the plan; a draft's only."
    )
    end_date = serializers.DateField(
        required=False, allow_null=True, help_text="Planned last day; null for none."
    )
    ceiling_deg = serializers.IntegerField(
        required=False,
        min_value=15,
        max_value=DEFAULT_CAPS.absolute_max_angle_deg,
        help_text="Highest angle any step may reach; above 60 needs full inversion.",
    )
    full_inversion_allowed = serializers.BooleanField(
        required=False, help_text="Allow steps above 60° on this plan."
    )
    auto_advance = serializers.BooleanField(
        required=False, help_text="Apply the progression engine's proposals without review."
    )

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["clinician"].queryset = get_user_model().objects.filter(
                membership__clinic=clinic_of(request.user), membership__role__in=CLINICAL_ROLES
            )
        return fields

    def validate(self, attrs):
        # A field this body can't change is refused by name, not silently dropped.
        if hasattr(self.initial_data, "keys"):
            unknown = sorted(set(self.initial_data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: "Not a setting that can be changed here: status, step and pauses "
                        "move through the plan's actions."
                        for name in unknown
                    }
                )
        return attrs


class PlanExerciseAddSerializer(serializers.Serializer):
    """An exercise of the library added to a plan, with its dose."""

    exercise = serializers.PrimaryKeyRelatedField(
        queryset=Exercise.objects.none(), help_text="The exercise of the library (id)."
    )
    order = serializers.IntegerField(
        required=False, min_value=0, max_value=1000, help_text="Position in the list."
    )
    sets = serializers.IntegerField(required=False, min_value=1, max_value=10, help_text="Sets.")
    repetitions = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=100,
        help_text="Repetitions per set; null for a hold.",
    )
    hold_seconds = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=600,
        help_text="Seconds to hold; null for repetitions.",
    )
    times_per_day = serializers.IntegerField(
        required=False, min_value=1, max_value=6, help_text="Times a day."
    )


class ResumeSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Why inversion may start again; required after a stop or red-flag symptom.",
    )
    confirmed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="True: the clinician has reviewed the stop or red-flag symptom; required "
        "after one.",
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why; required to pause."
    )


class AdvanceSerializer(ReasonSerializer):
    pace_override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Advancing before the pace allows (3 tolerated sessions on distinct days at "
        "this step): the clinical reason, audited. Without it such an advance is refused; "
        "the caps apply either way.",
    )
