"""API shapes for patients, intakes and screenings. Shape only; rules live in the domain."""

from __future__ import annotations

import re

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinic.roles import clinic_of
from patients.domain.answers import (
    DIASTOLIC_RANGE,
    HEIGHT_RANGE_CM,
    SYSTOLIC_RANGE,
    WEIGHT_RANGE_KG,
    Condition,
    IntakeAnswers,
    Medication,
    answer_errors,
    bp_measured_recently,
    bp_too_old_message,
)
from patients.models import Intake, Outcome, Patient, Screening, ScreeningOverride

# Every answer field with the question a patient or clinician is asked.
ANSWER_QUESTIONS: dict[str, str] = {
    "bladder_bowel_change": (
        "New or worsening bladder or bowel disturbance (retention, incontinence)?"
    ),
    "bladder_bowel_change_date": "When did the bladder or bowel change start?",
    "saddle_numbness": "Numbness around the back passage or genitals (saddle area)?",
    "both_legs_symptoms": "Pain, numbness or tingling in both legs?",
    "new_sexual_dysfunction": "New problems with sexual function?",
    "progressive_leg_weakness": "Leg weakness that is getting worse?",
    "foot_drop": "Foot drop (the front of the foot drags or slaps when walking)?",
    "night_pain": "Pain at night that does not ease with rest or changing position?",
    "unexplained_weight_loss": "Weight loss you cannot explain?",
    "no_improvement_after_month_of_care": "No improvement after a month of treatment?",
    "fever": "Fever or feeling hot and shivery with the back pain?",
    "intravenous_drug_use": "Injecting drugs, now or in the past?",
    "significant_trauma": "A significant fall, accident or injury before the pain began?",
    "new_back_pain": "Is this back pain a new episode (started in the last 6 weeks)?",
    "pregnant": "Pregnant, or could be pregnant?",
    "eye_surgery": "Eye surgery in the past?",
    "eye_surgery_date": "Date of the most recent eye surgery.",
    "heart_attack": "A heart attack in the past?",
    "heart_attack_date": "Date of the most recent heart attack.",
    "fracture": "A broken bone in the past?",
    "fracture_date": "Date of the most recent fracture.",
    "surgery": "Any operation in the past?",
    "surgery_date": "Date of the most recent operation.",
}


def described(**texts: str) -> dict[str, dict[str, str]]:
    """`extra_kwargs` giving each named model field its description in the API schema."""
    return {name: {"help_text": text} for name, text in texts.items()}


# A clock time as the schema states it and the API takes it: no 24:00, no 09:95, no offset,
# no fraction, ASCII digits only.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


@extend_schema_field({"type": "string", "pattern": LOCAL_TIME_PATTERN, "example": "18:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in the patient's own zone: HH:MM[:SS], no offset.

    DRF's own parsing also takes "9:5", offsets and fractions, which the schema forbids."""

    def to_internal_value(self, value):
        if not isinstance(value, str) or not re.fullmatch(LOCAL_TIME_PATTERN, value):
            self.fail("invalid", format="hh:mm[:ss]")
        return super().to_internal_value(value)


_YES_NO = [name for name in ANSWER_QUESTIONS if not name.endswith("_date")]
_DATES = [name for name in ANSWER_QUESTIONS if name.endswith("_date")]


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Rule code, stable across rule-set versions.")
    tier = serializers.ChoiceField(
        choices=Outcome.values,
        help_text="The outcome tier this rule gives.",
    )
    evidence = serializers.CharField(help_text="The answer or measurement that triggered it.")
    message = serializers.CharField(
        source="clinician_message", help_text="What it means for the clinician."
    )
    patient_message = serializers.CharField(help_text="Plain-language message for the patient.")


class OverrideSerializer(serializers.ModelSerializer):
    clinician = serializers.StringRelatedField(help_text="Who recorded the override.")

    class Meta:
        model = ScreeningOverride
        fields = [
            "scope",
            "reason",
            "clinician",
            "created_at",
            "expires_on",
            "revoked_at",
            "revoke_reason",
        ]
        extra_kwargs = described(
            scope="What the override allows: inversion despite review_required findings.",
            reason="The clinician's documented reason.",
            created_at="When the override was recorded.",
            expires_on="The last day it holds: it expires with the intake.",
            revoked_at="When a clinician revoked it; null while it holds.",
            revoke_reason="Why it was revoked; empty while it holds.",
        )


class ScreeningSerializer(serializers.ModelSerializer):
    findings = FindingSerializer(many=True, help_text="Findings, most severe first.")
    override = serializers.SerializerMethodField(help_text="The clinician's override, if any.")
    expired = serializers.SerializerMethodField(help_text="True once the intake is past 90 days.")

    class Meta:
        model = Screening
        fields = [
            "id",
            "patient",
            "intake",
            "outcome",
            "rule_set_version",
            "findings",
            "screened_on",
            "valid_until",
            "expired",
            "override",
            "awaiting_confirmation",
            "confirmed_at",
        ]
        read_only_fields = fields
        extra_kwargs = described(
            awaiting_confirmation="True: the patient's own answers would lower the outcome, "
            "so this screening waits for a clinician's confirmation and is not current.",
            confirmed_at="When a clinician confirmed the patient's answers; null otherwise.",
            id="The screening's id.",
            patient="The screened patient (id).",
            intake="The intake this screening judged (id).",
            outcome="cleared, review_required, contraindicated or urgent_referral.",
            rule_set_version="Version of the screening rules that produced it.",
            screened_on="The day it was screened.",
            valid_until="The last day it holds; a new intake is needed after it.",
        )

    @extend_schema_field(OverrideSerializer(allow_null=True))
    def get_override(self, screening: Screening) -> dict | None:
        override = getattr(screening, "override", None)
        return OverrideSerializer(override).data if override else None

    def get_expired(self, screening: Screening) -> bool:
        return screening.is_expired(timezone.localdate())


def _within(bounds: tuple, message: str) -> dict:
    """A number field's bounds, refused with the domain's own message."""
    low, high = bounds
    text = message.format(low=low, high=high)
    return {
        "min_value": low,
        "max_value": high,
        "error_messages": {"min_value": text, "max_value": text},
    }


class IntakeAnswersSerializer(serializers.Serializer):
    """The intake questionnaire: CLINICAL.md section 2 as structured answers."""

    # The plausible ranges answer_errors holds, stated here so the schema states them too.
    systolic_bp = serializers.IntegerField(
        **_within(SYSTOLIC_RANGE, "Systolic pressure must be between {low} and {high} mmHg."),
        help_text="Systolic blood pressure at intake, mmHg.",
    )
    diastolic_bp = serializers.IntegerField(
        **_within(DIASTOLIC_RANGE, "Diastolic pressure must be between {low} and {high} mmHg."),
        help_text="Diastolic blood pressure at intake, mmHg.",
    )
    bp_measured_by = serializers.CharField(
        max_length=120, help_text="Who measured the blood pressure (name or 'self')."
    )
    bp_measured_at = serializers.DateTimeField(
        help_text="When the blood pressure was measured: within the last 30 days."
    )
    weight_kg = serializers.FloatField(
        **_within(WEIGHT_RANGE_KG, "Weight must be between {low:g} and {high:g} kg."),
        help_text="Body weight in kilograms.",
    )
    height_cm = serializers.FloatField(
        **_within(HEIGHT_RANGE_CM, "Height must be between {low:g} and {high:g} cm."),
        help_text="Height in centimetres.",
    )
    baseline_pain = serializers.IntegerField(
        min_value=0, max_value=10, help_text="Pain now, 0 (none) to 10 (worst imaginable)."
    )
    odi_sections = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=5, allow_null=True),
        min_length=10,
        max_length=10,
        help_text="Oswestry Disability Index 2.1a: ten section scores 0–5, null if unanswered. "
        "At least one is needed, unless the answers report a red flag.",
    )
    conditions = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(Condition.LABELS.items())),
        required=False,
        default=list,
        help_text="Conditions the patient has or has had (codes).",
    )
    medications = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(Medication.LABELS.items())),
        required=False,
        default=list,
        help_text="Medicines the patient takes (codes).",
    )

    def get_fields(self):
        fields = super().get_fields()
        for name in _YES_NO:
            fields[name] = serializers.BooleanField(
                required=False, default=False, help_text=ANSWER_QUESTIONS[name]
            )
        for name in _DATES:
            fields[name] = serializers.DateField(
                required=False, allow_null=True, default=None, help_text=ANSWER_QUESTIONS[name]
            )
        return fields

    def validate(self, attrs):
        patient: Patient = self.context["patient"]
        today = timezone.localtime(timezone.now(), patient.zone).date()
        answers = answers_from_validated(attrs, patient=patient, today=today)
        errors = answer_errors(answers, today=today)
        measured_on = timezone.localtime(attrs["bp_measured_at"], patient.zone).date()
        if attrs["bp_measured_at"] > timezone.now():
            errors["bp_measured_at"] = "The measurement time is in the future."
        elif not bp_measured_recently(measured_on, today=today):
            errors["bp_measured_at"] = bp_too_old_message(measured_on)
        if errors:
            raise serializers.ValidationError(errors)
        attrs["answers"] = answers
        return attrs


def answers_from_validated(attrs: dict, *, patient: Patient, today) -> IntakeAnswers:
    return IntakeAnswers(
        age_years=patient.age_on(today),
        systolic_bp=attrs["systolic_bp"],
        diastolic_bp=attrs["diastolic_bp"],
        weight_kg=attrs["weight_kg"],
        height_cm=attrs["height_cm"],
        conditions=frozenset(attrs.get("conditions") or ()),
        medications=frozenset(attrs.get("medications") or ()),
        **{name: attrs.get(name, False) for name in _YES_NO},
        **{name: attrs.get(name) for name in _DATES},
    )


class IntakeSerializer(serializers.ModelSerializer):
    screening = serializers.SerializerMethodField(help_text="The screening of this intake.")

    class Meta:
        model = Intake
        fields = [
            "id",
            "patient",
            "number",
            "questionnaire_version",
            "taken_on",
            "answers",
            "systolic_bp",
            "diastolic_bp",
            "bp_measured_by",
            "bp_measured_at",
            "weight_kg",
            "height_cm",
            "baseline_pain",
            "odi_sections",
            "odi_percent",
            "reason",
            "channel",
            "screening",
        ]
        read_only_fields = fields
        extra_kwargs = described(
            id="The intake's id.",
            patient="The patient (id).",
            questionnaire_version="Version of the intake questionnaire.",
            taken_on="The day of the intake.",
            systolic_bp="Systolic blood pressure, mmHg.",
            diastolic_bp="Diastolic blood pressure, mmHg.",
            bp_measured_by="Who measured the blood pressure.",
            bp_measured_at="When the blood pressure was measured.",
            weight_kg="Body weight, kg.",
            height_cm="Height, cm.",
            baseline_pain="Pain at intake, 0–10.",
            odi_percent="Oswestry Disability Index, percent; null when no section was answered "
            "(a red-flag intake).",
            reason="intake, or health_update when a reported change re-screened the patient.",
            channel="Where it was entered: portal, admin, api or system.",
        )

    @extend_schema_field(ScreeningSerializer(allow_null=True))
    def get_screening(self, intake: Intake) -> dict | None:
        # Newest first (Screening.Meta.ordering); uses a prefetch when the list view made one.
        screening = next(iter(intake.screenings.all()), None)
        return ScreeningSerializer(screening).data if screening else None


class PatientSerializer(serializers.ModelSerializer):
    reminder_time = LocalTimeField(required=False, help_text="Local time of the daily reminder.")
    emergency_phone = serializers.CharField(
        read_only=True,
        help_text="The number the patient's emergency advice names: their own, else the clinic's.",
    )
    # A method, not `source="current_screening.outcome"` with a default: DRF skips such a
    # field in a partial update's answer when there is no screening yet (PATCH answered
    # without it, though the schema requires it).
    screening_outcome = serializers.SerializerMethodField(
        help_text="Outcome of the current screening; null until the first intake."
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "email",
            "phone",
            "time_zone",
            "height_cm",
            "weight_kg",
            "clinician",
            "reminder_time",
            "remind_by_email",
            "remind_by_sms",
            "remind_in_portal",
            "reminders_opted_out",
            "emergency_number",
            "emergency_phone",
            "screening_outcome",
            "created_at",
        ]
        read_only_fields = ["height_cm", "weight_kg", "created_at"]
        extra_kwargs = described(
            id="The patient's id.",
            first_name="Given name.",
            last_name="Family name.",
            date_of_birth="Date of birth (in the past).",
            sex="female, male, intersex or not_stated.",
            email="E-mail address for invitations and reminders.",
            phone="Mobile number for SMS reminders.",
            time_zone="IANA time zone, e.g. Europe/London: days and reminders follow it.",
            height_cm="Height, cm, from the latest intake.",
            weight_kg="Weight, kg, from the latest intake.",
            clinician="The responsible clinician (user id, of this clinic).",
            reminder_time="Local time of the daily reminder.",
            remind_by_email="Send reminders by e-mail.",
            remind_by_sms="Send reminders by SMS.",
            remind_in_portal="Show reminders in the portal.",
            reminders_opted_out="True: no reminders at all.",
            emergency_number="The patient's own emergency number (999, 112, 911 or 000); "
            "empty: the clinic's.",
            created_at="When the record was created.",
        )

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        clinic = clinic_of(request.user) if request else None
        if "clinician" in fields and not fields["clinician"].read_only:
            from django.contrib.auth import get_user_model

            from clinic.permissions import CLINICAL_ROLES

            fields["clinician"].queryset = get_user_model().objects.filter(
                membership__clinic=clinic, membership__role__in=CLINICAL_ROLES
            )
        return fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_screening_outcome(self, patient: Patient) -> str | None:
        screening = patient.current_screening
        return screening.outcome if screening is not None else None

    def validate_date_of_birth(self, value):
        if value >= timezone.localdate():
            raise serializers.ValidationError("The date of birth must be in the past.")
        return value

    def create(self, validated_data):
        raise NotImplementedError("Create a patient with patients.services.patient_create.")

    def update(self, instance, validated_data):
        # A whole-row save would write back the screening this instance was read with.
        raise NotImplementedError("Change a patient with patients.services.patient_update.")


class OverrideCreateSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text="The clinical reason inversion is acceptable despite the findings."
    )


class OverrideRevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(
        help_text="The clinical reason the override no longer holds; inversion pauses."
    )


class ReminderPreferencesSerializer(serializers.ModelSerializer):
    """A patient's own reminder settings (CLINICAL.md section 7)."""

    reminder_time = LocalTimeField(
        required=False, help_text="Local time of the daily reminder (never 21:00–08:00)."
    )

    class Meta:
        model = Patient
        fields = [
            "reminder_time",
            "time_zone",
            "remind_by_email",
            "remind_by_sms",
            "remind_in_portal",
            "reminders_opted_out",
        ]
        extra_kwargs = described(
            reminder_time="Local time of the daily reminder (never 21:00–08:00).",
            time_zone="IANA time zone, e.g. Europe/London.",
            remind_by_email="Send reminders by e-mail.",
            remind_by_sms="Send reminders by SMS (needs a phone number on file).",
            remind_in_portal="Show reminders in the portal.",
            reminders_opted_out="True: stop every reminder at once.",
        )
