"""API shapes of check-ins: a stored one, a new one's body, and the answer to it."""

from __future__ import annotations

from rest_framework import serializers

from patients.serializers import described
from programmes.domain.symptoms import Symptom
from programmes.models import CheckIn


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
