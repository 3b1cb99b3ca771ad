"""API shapes of what a patient reads of their programme: today's prescription, their
progress, and adherence."""

from __future__ import annotations

from rest_framework import serializers

from programmes.serializers.plans import InversionStepSerializer


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
