"""Forms for the intake, overrides and referrals: shape checks, then the domain's checks."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from patients.domain.answers import (
    Condition,
    IntakeAnswers,
    Medication,
    answer_errors,
    bp_measured_recently,
    bp_too_old_message,
)
from patients.domain.screening import questionnaire_required
from patients.models import Patient, Referral
from patients.serializers import ANSWER_QUESTIONS
from patients.services import patient_local_date

ODI_SECTION_NAMES = (
    "Pain intensity",
    "Personal care",
    "Lifting",
    "Walking",
    "Sitting",
    "Standing",
    "Sleeping",
    "Sex life",
    "Social life",
    "Travelling",
)
ODI_CHOICES = [("", "Not answered")] + [(str(n), f"{n}") for n in range(6)]

# The questionnaire in the order it is shown, in steps (the portal shows one step a page).
INTAKE_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Measurements",
        (
            "systolic_bp",
            "diastolic_bp",
            "bp_measured_by",
            "bp_measured_at",
            "weight_kg",
            "height_cm",
            "baseline_pain",
        ),
    ),
    (
        "Warning signs",
        (
            "bladder_bowel_change",
            "bladder_bowel_change_date",
            "saddle_numbness",
            "both_legs_symptoms",
            "new_sexual_dysfunction",
            "progressive_leg_weakness",
            "foot_drop",
            "night_pain",
            "unexplained_weight_loss",
            "no_improvement_after_month_of_care",
            "fever",
            "intravenous_drug_use",
            "significant_trauma",
            "new_back_pain",
        ),
    ),
    (
        "Health history",
        (
            "pregnant",
            "eye_surgery",
            "eye_surgery_date",
            "heart_attack",
            "heart_attack_date",
            "fracture",
            "fracture_date",
            "surgery",
            "surgery_date",
            "conditions",
            "medications",
        ),
    ),
    ("Daily activities (Oswestry)", tuple(f"odi_{index}" for index in range(10))),
)


class IntakeForm(forms.Form):
    systolic_bp = forms.IntegerField(label="Blood pressure: systolic (top number), mmHg")
    diastolic_bp = forms.IntegerField(label="Blood pressure: diastolic (bottom number), mmHg")
    bp_measured_by = forms.CharField(label="Blood pressure measured by", max_length=120)
    bp_measured_at = forms.DateTimeField(
        label="Measured at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    weight_kg = forms.FloatField(label="Weight (kg)")
    height_cm = forms.FloatField(label="Height (cm)")
    baseline_pain = forms.IntegerField(
        label="Pain now, 0 (none) to 10 (worst imaginable)", min_value=0, max_value=10
    )
    conditions = forms.MultipleChoiceField(
        label="Conditions you have or have had",
        choices=sorted(Condition.LABELS.items(), key=lambda item: item[1]),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    medications = forms.MultipleChoiceField(
        label="Medicines you take",
        choices=sorted(Medication.LABELS.items(), key=lambda item: item[1]),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, patient: Patient, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        for name, question in ANSWER_QUESTIONS.items():
            if name.endswith("_date"):
                self.fields[name] = forms.DateField(
                    label=question, required=False, widget=forms.DateInput(attrs={"type": "date"})
                )
            else:
                self.fields[name] = forms.BooleanField(label=question, required=False)
        for index, section in enumerate(ODI_SECTION_NAMES):
            self.fields[f"odi_{index}"] = forms.TypedChoiceField(
                label=f"ODI {index + 1}. {section} (0–5)",
                choices=ODI_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,
            )
        self.order_fields([name for _, names in INTAKE_STEPS for name in names])

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        today = patient_local_date(self.patient)
        answers = self.answers(cleaned, today=today)
        for field, message in answer_errors(answers, today=today).items():
            self.add_error(field if field in self.fields else None, message)
        measured_on = timezone.localtime(cleaned["bp_measured_at"]).date()
        if cleaned["bp_measured_at"] > timezone.now():
            self.add_error("bp_measured_at", "The measurement time is in the future.")
        elif not bp_measured_recently(measured_on, today=today):
            self.add_error("bp_measured_at", bp_too_old_message(measured_on))
        # A red flag is screened at once, the questionnaire answered or not.
        if all(cleaned.get(f"odi_{index}") is None for index in range(10)) and (
            questionnaire_required(answers, today=today)
        ):
            self.add_error("odi_0", "Answer at least one section of the Oswestry questionnaire.")
        return cleaned

    def answers(self, cleaned: dict | None = None, *, today) -> IntakeAnswers:
        cleaned = cleaned if cleaned is not None else self.cleaned_data
        return IntakeAnswers(
            age_years=self.patient.age_on(today),
            systolic_bp=cleaned["systolic_bp"],
            diastolic_bp=cleaned["diastolic_bp"],
            weight_kg=cleaned["weight_kg"],
            height_cm=cleaned["height_cm"],
            conditions=frozenset(cleaned.get("conditions") or ()),
            medications=frozenset(cleaned.get("medications") or ()),
            **{
                name: cleaned.get(name) if name.endswith("_date") else bool(cleaned.get(name))
                for name in ANSWER_QUESTIONS
            },
        )

    def odi_sections(self) -> tuple[int | None, ...]:
        return tuple(self.cleaned_data.get(f"odi_{index}") for index in range(10))


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label="Clinical reason for allowing inversion",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required. Recorded with your name; the override expires with the intake.",
    )


class OverrideRevokeForm(forms.Form):
    reason = forms.CharField(
        label="Clinical reason for revoking the override",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Required. Recorded with your name; inversion pauses at once.",
    )


class ScreeningConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label="I have reviewed the patient's new answers and confirm this screening.",
        help_text="It becomes the current screening, with what it allows.",
    )


class ReferralForm(forms.Form):
    referred_to = forms.CharField(label="Referred to", max_length=200)
    referred_on = forms.DateField(
        label="Referred on", widget=forms.DateInput(attrs={"type": "date"})
    )


class ReferralResultForm(forms.Form):
    result = forms.ChoiceField(
        choices=[
            (Referral.Result.PATHOLOGY_EXCLUDED, Referral.Result.PATHOLOGY_EXCLUDED.label),
            (Referral.Result.SPECIALIST_CARE, Referral.Result.SPECIALIST_CARE.label),
        ]
    )
    result_notes = forms.CharField(
        label="Notes", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
