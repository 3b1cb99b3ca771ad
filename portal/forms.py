"""Forms of the patient portal: shape and range checks only; the services decide the rest.

Every field renders with a <label> (or a <legend> for a group), and Django ties its
errors to it with aria-describedby and aria-invalid.
"""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from patients.domain.answers import Condition, IntakeAnswers, Medication
from patients.forms import ODI_SECTION_NAMES, IntakeForm
from patients.models import Patient
from programmes.checkins.submission import MAX_INVERSION_SECONDS, CheckInInput
from programmes.domain.symptoms import (
    MILD_SYMPTOMS,
    STOP_SYMPTOMS,
    Symptom,
    known_symptom_codes,
    pain_needs_alert,
)
from programmes.models import CheckIn, PlanExercise

PAIN_MESSAGE = "Pain is rated from 0 (none) to 10 (worst imaginable)."
PAIN_CHOICES = [(str(n), str(n)) for n in range(11)]
ODI_CHOICES = [
    ("", "Not answered"),
    ("0", "0 – no problem"),
    *((str(n), str(n)) for n in range(1, 5)),
    ("5", "5 – the worst"),
]


def _pain_field(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=PAIN_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect(attrs={"class": "scale-input"}),
        help_text="0 = no pain, 10 = the worst pain you can imagine.",
        error_messages={"invalid_choice": PAIN_MESSAGE},
    )


def _number(label: str, *, low: int, high: int, message: str, **kwargs) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
        error_messages={"min_value": message, "max_value": message, "invalid": message},
        **kwargs,
    )


class PlanExerciseChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: PlanExercise) -> str:
        return obj.exercise.name


class CheckInForm(forms.Form):
    """A session report. Inversion fields exist only on a day with inversion."""

    key_was_missing = False

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    completion = forms.ChoiceField(
        label="Did you do today's session?",
        choices=[
            (CheckIn.Completion.DONE, "Yes, all of it"),
            (CheckIn.Completion.PARTIAL, "Partly"),
            (CheckIn.Completion.NOT_DONE, "No, not today"),
        ],
        widget=forms.RadioSelect(attrs={"class": "choices"}),
        error_messages={"required": "Say whether you did the session, partly or not at all."},
    )
    inversion_angle_deg = _number(
        "Angle you held (degrees)",
        low=0,
        high=90,
        message="The angle is between 0° (flat) and 90° (fully upside down).",
    )
    held_minutes = _number(
        "Minutes",
        low=0,
        high=MAX_INVERSION_SECONDS // 60,
        message="Time inverted is between 0 and 20 minutes.",
    )
    held_seconds = _number(
        "Seconds",
        low=0,
        high=MAX_INVERSION_SECONDS,
        message="Seconds are between 0 and 59 (or up to 1200 on their own).",
    )
    exercises = PlanExerciseChoice(
        label="Exercises you did",
        queryset=PlanExercise.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choices"}),
        error_messages={"invalid_choice": "Choose exercises from your own programme."},
    )
    pain_before = _pain_field("Pain before the session")
    pain_after = _pain_field("Pain after the session")
    symptoms = forms.MultipleChoiceField(
        label="Symptoms",
        choices=list(Symptom.LABELS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose symptoms from the list."},
    )
    note = forms.CharField(
        label="Anything else to tell your clinician? (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "Keep the note under 2000 characters."},
    )

    def __init__(self, *args, plan_exercises, inversion_step=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.inversion_step = inversion_step
        self.fields["exercises"].queryset = plan_exercises
        if inversion_step is None:
            for name in ("inversion_angle_deg", "held_minutes", "held_seconds"):
                del self.fields[name]
        elif not self.is_bound:
            minutes, seconds = divmod(inversion_step.hold_seconds, 60)
            self.initial.setdefault("inversion_angle_deg", inversion_step.angle_deg)
            self.initial.setdefault("held_minutes", minutes)
            self.initial.setdefault("held_seconds", seconds)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())
        elif not _is_uuid(self.data.get("idempotency_key")):
            # Keep a fresh key on the re-rendered form, so the next send can be stored.
            self.data = self.data.copy()
            self.data["idempotency_key"] = str(uuid.uuid4())
            self.key_was_missing = True

    @property
    def has_inversion(self) -> bool:
        return "inversion_angle_deg" in self.fields

    def symptom_group(self, codes: frozenset[str]) -> list:
        return [option for option in self["symptoms"] if option.data["value"] in codes]

    @property
    def stop_symptoms(self) -> list:
        return self.symptom_group(STOP_SYMPTOMS)

    @property
    def mild_symptoms(self) -> list:
        return self.symptom_group(MILD_SYMPTOMS)

    @property
    def time_errors(self) -> list[str]:
        return [*self.errors.get("held_minutes", []), *self.errors.get("held_seconds", [])]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.key_was_missing:
            raise ValidationError(
                "The form was incomplete when it arrived: check your answers and send it again."
            )
        if self.has_inversion and not {"held_minutes", "held_seconds"} & set(self.errors):
            minutes, seconds = cleaned.get("held_minutes"), cleaned.get("held_seconds")
            total = (
                None
                if minutes is None and seconds is None
                else (minutes or 0) * 60 + (seconds or 0)
            )
            if total is not None and total > MAX_INVERSION_SECONDS:
                self.add_error("held_minutes", "Time inverted is between 0 and 20 minutes.")
            cleaned["inversion_seconds"] = total
        return cleaned

    def safety_symptoms(self) -> tuple[str, ...]:
        """The stop and red-flag symptoms ticked, read from the raw post: never lost to
        another answer's error."""
        ticked = known_symptom_codes(self.data.getlist("symptoms") if self.is_bound else [])
        return tuple(code for code in ticked if code in STOP_SYMPTOMS)

    def safety_signal(self) -> bool:
        """Anything the clinic acts on even when another answer is wrong: a stop or mild
        symptom, or pain of 7 or more in an answer that could be read."""
        ticked = known_symptom_codes(self.data.getlist("symptoms") if self.is_bound else [])
        if any(code in STOP_SYMPTOMS or code in MILD_SYMPTOMS for code in ticked):
            return True
        cleaned = getattr(self, "cleaned_data", {})
        return pain_needs_alert(cleaned.get("pain_before"), cleaned.get("pain_after"))

    def refused(self) -> dict[str, str]:
        """The answers that could not be read, by the service's field names."""
        names = {form_name: name for name, form_name in CHECKIN_SERVICE_FIELDS.items()}
        names["held_seconds"] = "inversion_seconds"
        return {
            names.get(field, field): " ".join(messages) for field, messages in self.errors.items()
        }

    def to_input(self) -> CheckInInput:
        """The answers that could be read (all of them, once the form is valid)."""
        cleaned = getattr(self, "cleaned_data", {})
        symptoms = cleaned.get("symptoms")
        if symptoms is None:
            symptoms = known_symptom_codes(self.data.getlist("symptoms"))
        return CheckInInput(
            idempotency_key=cleaned.get("idempotency_key"),
            completion=cleaned.get("completion"),
            inversion_angle_deg=cleaned.get("inversion_angle_deg"),
            inversion_seconds=cleaned.get("inversion_seconds"),
            exercise_ids=tuple(exercise.pk for exercise in cleaned.get("exercises") or ()),
            pain_before=cleaned.get("pain_before"),
            pain_after=cleaned.get("pain_after"),
            symptoms=tuple(symptoms),
            note=cleaned.get("note") or "",
        )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# Service field name -> form field name; None is a message for the whole form.
CHECKIN_SERVICE_FIELDS: dict[str, str | None] = {
    "inversion_angle_deg": "inversion_angle_deg",
    "inversion_seconds": "held_minutes",
    "pain_before": "pain_before",
    "pain_after": "pain_after",
    "symptoms": "symptoms",
    "completion": "completion",
    "note": "note",
    "exercise_ids": "exercises",
}


def add_service_errors(
    form: forms.Form, error: ValidationError, mapping: dict[str, str | None] | None = None
) -> None:
    """Put a service's ValidationError next to the matching fields (the rest on top)."""
    mapping = mapping or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        field = mapping.get(name, name)
        form.add_error(field if field in form.fields else None, messages)


class QuestionnaireForm(forms.Form):
    pain = forms.TypedChoiceField(
        label="Your pain now",
        choices=PAIN_CHOICES,
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "scale-input"}),
        help_text="0 = no pain, 10 = the worst pain you can imagine.",
        error_messages={"invalid_choice": PAIN_MESSAGE, "required": "Choose your pain now."},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for index, section in enumerate(ODI_SECTION_NAMES):
            self.fields[f"odi_{index}"] = forms.TypedChoiceField(
                label=f"{index + 1}. {section}",
                choices=ODI_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,
                error_messages={"invalid_choice": "Choose 0 to 5, or leave it not answered."},
            )

    @property
    def odi_fields(self) -> list:
        return [self[f"odi_{index}"] for index in range(len(ODI_SECTION_NAMES))]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and all(
            cleaned.get(f"odi_{index}") is None for index in range(len(ODI_SECTION_NAMES))
        ):
            self.add_error("odi_0", "Answer at least one of the ten sections.")
        return cleaned

    def odi_sections(self) -> tuple[int | None, ...]:
        return tuple(self.cleaned_data[f"odi_{index}"] for index in range(len(ODI_SECTION_NAMES)))


# Health update: yes/no events that need the date they happened.
HEALTH_EVENTS: tuple[tuple[str, str, str], ...] = (
    ("surgery", "I have had an operation since my last update", "Date of the operation"),
    ("eye_surgery", "I have had eye surgery", "Date of the eye surgery"),
    ("heart_attack", "I have had a heart attack", "Date of the heart attack"),
    ("fracture", "I have broken a bone", "Date of the fracture"),
)


class HealthUpdateForm(forms.Form):
    """What is new since the last intake. Lists only grow; only changes are sent."""

    conditions = forms.MultipleChoiceField(
        label="New conditions",
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choices"}),
    )
    medications = forms.MultipleChoiceField(
        label="New medicines",
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choices"}),
    )
    pregnant = forms.ChoiceField(
        label="Are you pregnant, or could you be?",
        choices=[("no", "No"), ("yes", "Yes")],
        widget=forms.RadioSelect(attrs={"class": "choices"}),
    )

    def __init__(self, *args, previous: IntakeAnswers, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.previous = previous
        self.today = today
        self.fields["conditions"].choices = sorted(
            (
                (code, label)
                for code, label in Condition.LABELS.items()
                if code not in previous.conditions
            ),
            key=lambda item: item[1],
        )
        self.fields["medications"].choices = sorted(
            (
                (code, label)
                for code, label in Medication.LABELS.items()
                if code not in previous.medications
            ),
            key=lambda item: item[1],
        )
        self.fields["pregnant"].initial = "yes" if previous.pregnant else "no"
        for name, question, date_label in HEALTH_EVENTS:
            self.fields[name] = forms.BooleanField(label=question, required=False)
            self.fields[f"{name}_date"] = forms.DateField(
                label=date_label,
                required=False,
                widget=forms.DateInput(attrs={"type": "date", "max": today.isoformat()}),
                help_text="An estimate is fine.",
            )

    @property
    def known_conditions(self) -> list[str]:
        return sorted(Condition.LABELS.get(c, c) for c in self.previous.conditions)

    @property
    def known_medications(self) -> list[str]:
        return sorted(Medication.LABELS.get(m, m) for m in self.previous.medications)

    @property
    def events(self) -> list[tuple]:
        return [(self[name], self[f"{name}_date"]) for name, _, _ in HEALTH_EVENTS]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, _, _ in HEALTH_EVENTS:
            when = cleaned.get(f"{name}_date")
            if cleaned.get(name) and when is None and f"{name}_date" not in self.errors:
                self.add_error(f"{name}_date", "Give the date (an estimate is fine).")
            elif when is not None and when > self.today:
                self.add_error(f"{name}_date", "This date is in the future.")
            elif when is not None and not cleaned.get(name):
                self.add_error(name, "Tick this box if it happened, or clear the date.")
        if not self.errors and not self.changes():
            raise ValidationError(
                "Nothing has changed yet: tick what is new, or change your answer about pregnancy."
            )
        return cleaned

    def changes(self) -> dict[str, Any]:
        """Only what differs from the last intake, in IntakeAnswers' terms."""
        cleaned = self.cleaned_data
        changes: dict[str, Any] = {}
        for key in ("conditions", "medications"):
            if cleaned.get(key):
                changes[key] = sorted(cleaned[key])
        pregnant = cleaned.get("pregnant") == "yes"
        if "pregnant" in cleaned and pregnant != self.previous.pregnant:
            changes["pregnant"] = pregnant
        for name, _, _ in HEALTH_EVENTS:
            if cleaned.get(name):
                changes[name] = True
                changes[f"{name}_date"] = cleaned[f"{name}_date"]
        return changes


class PortalIntakeForm(IntakeForm):
    """The intake form with inputs a phone fills in well."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # datetime-local wants "2026-03-01T09:30".
        self.fields["bp_measured_at"].widget.format = "%Y-%m-%dT%H:%M"
        self.fields[
            "bp_measured_by"
        ].help_text = (
            "Your own name if you measured it yourself, or the name of the nurse or pharmacist."
        )
        for name in ("systolic_bp", "diastolic_bp", "baseline_pain"):
            self.fields[name].widget.attrs.update({"inputmode": "numeric"})
        for name in ("weight_kg", "height_cm"):
            self.fields[name].widget.attrs.update({"inputmode": "decimal", "step": "0.1"})
        for name in ("conditions", "medications"):
            self.fields[name].widget.attrs.update({"class": "choices"})
        for name, field in self.fields.items():
            if name.endswith("_date"):
                field.help_text = "Only if you answered yes. An estimate is fine."


def intake_raw_values(form: forms.Form, data, names: tuple[str, ...]) -> dict[str, Any]:
    """What the patient typed into these fields, as JSON-safe values (dates stay ISO text)."""
    values: dict[str, Any] = {}
    for name in names:
        widget = form.fields[name].widget
        value = widget.value_from_datadict(data, {}, form.add_prefix(name))
        values[name] = value
    return values


class ReminderSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label="Your time zone",
        help_text="Reminders come at your chosen time in this zone.",
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
        labels = {
            "reminder_time": "Remind me at",
            "remind_by_email": "By e-mail",
            "remind_by_sms": "By text message (SMS)",
            "remind_in_portal": "In the portal",
            "reminders_opted_out": "Stop all reminders",
        }
        help_texts = {
            "reminder_time": "Only on days with a session, and only if you have not checked in "
            "yet. Never between 9 pm and 8 am.",
            "reminders_opted_out": "Tick to stop every reminder at once. Your clinician may "
            "still contact you.",
        }
        widgets = {"reminder_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            (name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())
        ]
