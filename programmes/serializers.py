"""API shapes for plans and today's prescription."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.permissions import CLINICAL_ROLES
from clinic.roles import clinic_of
from patients.models import Patient
from patients.serializers import described
from programmes.domain.symptoms import Symptom
from programmes.models import (
    CheckIn,
    ClinicianAlert,
    Exercise,
    Plan,
    PlanEvent,
    PlanExercise,
    PlanInversionStep,
    ProgrammeTemplate,
    TemplateExercise,
    TemplateInversionStep,
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
        max_value=90,
        default=60,
        help_text="Highest angle; above 60 needs full inversion.",
    )
    full_inversion_allowed = serializers.BooleanField(
        default=False, help_text="Allow steps above 60° on this plan."
    )
    auto_advance = serializers.BooleanField(
        default=False, help_text="Apply the progression engine's proposals without review."
    )

    def validate(self, attrs):
        if attrs["ceiling_deg"] > 60 and not attrs["full_inversion_allowed"]:
            raise serializers.ValidationError(
                {"ceiling_deg": "Above 60° only when full inversion is allowed on this plan."}
            )
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
        max_value=90,
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


class TodayExerciseSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The exercise's name.")
    category = serializers.CharField(help_text="Stretch, core, mobility, …")
    dosage = serializers.CharField(help_text="How much, in words.")
    instructions = serializers.CharField(help_text="How to do it, for the patient.")


class TodaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The patient's local date.")
    plan = serializers.IntegerField(
        source="plan.pk", allow_null=True, default=None, help_text="The running plan (id), if any."
    )
    inversion = InversionStepSerializer(allow_null=True, help_text="Null: no inversion today.")
    inversion_reason = serializers.CharField(help_text="Why there is no inversion, if none.")
    exit_advice = serializers.CharField(help_text="How to come out of inversion safely.")
    exercises = TodayExerciseSerializer(many=True, help_text="Today's exercises.")
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


class CheckInSerializer(serializers.ModelSerializer):
    exercises_done = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="The plan's exercises done (ids)."
    )

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "patient",
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
        extra_kwargs = described(
            id="The check-in's id.",
            patient="The patient (id).",
            plan="The plan checked in to (id).",
            submitted_at="When it was sent.",
            completion="done, partial or not_done.",
            step="The inversion step prescribed that day (id); null: none.",
            inversion_angle_deg="Angle actually held, degrees.",
            inversion_seconds="Time actually inverted, seconds.",
            pain_before="Pain before the session, 0–10.",
            pain_after="Pain after the session, 0–10.",
            symptoms="Symptoms reported (codes).",
            note="The patient's note.",
        )


class CheckInCreateSerializer(serializers.Serializer):
    idempotency_key = serializers.UUIDField(
        help_text="A new UUID per check-in form; sending it again returns the first check-in."
    )
    completion = serializers.ChoiceField(
        choices=CheckIn.Completion.choices, help_text="done, partial or not_done."
    )
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
        required=False, allow_null=True, min_value=0, max_value=10, help_text="Pain before, 0–10."
    )
    pain_after = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=10, help_text="Pain after, 0–10."
    )
    symptoms = serializers.ListField(
        child=serializers.ChoiceField(choices=list(Symptom.LABELS.items())),
        required=False,
        default=list,
        help_text="Symptoms during or after the session (codes).",
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Anything to tell the clinician.",
    )


class CheckInResultSerializer(serializers.Serializer):
    checkin = CheckInSerializer(
        allow_null=True,
        help_text="The stored check-in; null when a stop symptom was acted on with no "
        "programme to store it in.",
    )
    created = serializers.BooleanField(help_text="False when the key was seen before.")
    clinician_alerted = serializers.BooleanField(
        help_text="The clinician has been alerted to what this check-in reported."
    )
    inversion_paused = serializers.BooleanField(
        help_text="A stop symptom paused inversion in this request."
    )
    went_back = serializers.BooleanField(help_text="A mild symptom moved the plan one step down.")
    stop_advice = serializers.CharField(
        source="assessment.stop_advice",
        allow_null=True,
        help_text="What to do now after a stop symptom; null if none.",
    )
    urgent_referral_advice = serializers.CharField(
        source="assessment.urgent_referral_advice",
        allow_null=True,
        help_text="Urgent referral advice after a red flag; null if none.",
    )


class PainPointSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The local day.")
    before = serializers.FloatField(allow_null=True, help_text="Average pain before, 0–10.")
    after = serializers.FloatField(allow_null=True, help_text="Average pain after, 0–10.")


class AdherenceWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="Monday of the week.")
    prescribed = serializers.IntegerField(
        source="adherence.prescribed", help_text="Sessions prescribed that week."
    )
    completed = serializers.FloatField(
        source="adherence.completed", help_text="Sessions done (a partial one counts half)."
    )
    ratio = serializers.FloatField(
        source="adherence.ratio", allow_null=True, help_text="completed ÷ prescribed; null if 0."
    )


class AdherenceSerializer(serializers.Serializer):
    patient = serializers.IntegerField(help_text="The patient (id).")
    day = serializers.DateField(
        help_text="The patient's local date the figures end on: today once the patient has "
        "checked in today, else yesterday (an unfinished day is not a missed one)."
    )
    adherence_7_days = serializers.FloatField(
        allow_null=True, help_text="Last 7 days: completed ÷ prescribed; null if none prescribed."
    )
    adherence_30_days = serializers.FloatField(
        allow_null=True, help_text="Last 30 days: completed ÷ prescribed; null if none prescribed."
    )
    band_30_days = serializers.CharField(
        help_text="adherent (80% or more), partial (50–79%), low, or no_data."
    )
    weeks = AdherenceWeekSerializer(many=True, help_text="The last 12 weeks, oldest first.")


class ProgressSerializer(serializers.Serializer):
    adherence_7_days = serializers.FloatField(
        allow_null=True,
        help_text="Last 7 days, through today once checked in today, else through yesterday; "
        "null if nothing was prescribed.",
    )
    adherence_30_days = serializers.FloatField(
        allow_null=True,
        help_text="Last 30 days, counted like the 7 days; null if nothing was prescribed.",
    )
    band_30_days = serializers.CharField(help_text="adherent, partial, low or no_data.")
    pain = PainPointSerializer(many=True, help_text="Pain per day, last 90 days, oldest first.")
    weeks = AdherenceWeekSerializer(many=True, help_text="Adherence per week, last 12 weeks.")
    current_step = InversionStepSerializer(
        allow_null=True, help_text="The step done now; null when today has no inversion."
    )
    next_step = InversionStepSerializer(
        allow_null=True, help_text="The step after it; null when today has no inversion."
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


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClinicianAlert
        fields = [
            "id",
            "patient",
            "plan",
            "kind",
            "message",
            "created_at",
            "emailed_at",
            "emailed_to",
            "acknowledged_at",
            "acknowledged_by",
        ]
        read_only_fields = fields
        extra_kwargs = described(
            id="The alert's id.",
            patient="The patient (id).",
            plan="The plan it concerns (id), if any.",
            kind="What happened: stop_symptom, red_flag, high_pain, no_checkin, …",
            message="What happened, in words.",
            created_at="When it was raised.",
            emailed_at="When the clinic was e-mailed; null until sent.",
            emailed_to="Who was e-mailed: the responsible clinician, else the clinic's others.",
            acknowledged_at="When a clinician acknowledged it; null while open.",
            acknowledged_by="Who acknowledged it (user id).",
        )
