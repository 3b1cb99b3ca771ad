"""The staff reports' filters: GET parameters checked for shape, so a shared URL is safe.

A bad value (a date that isn't one, a clinician of another clinic, a tampered
page link) is a form error shown to the user, never a 500.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model

from clinic.models import Clinic, Role
from programmes.domain.adherence import AdherenceBand
from programmes.models import ProgrammeTemplate
from reports.cursors import BadCursor, decode_cursor
from reports.risk import AT_RISK_REASONS, AT_RISK_SORTS
from reports.scope import Filters

DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 366
# No record is older; it keeps the reports' date arithmetic (the default start, the
# data-days window before the end) inside the calendar, where year 1 would overflow.
EARLIEST_DAY = date(1900, 1, 1)
BAND_CHOICES = [
    ("", "All bands"),
    *((band, AdherenceBand.LABELS[band]) for band in ("adherent", "partial", "low")),
]


def clinician_choices(clinic: Clinic) -> list[tuple[int, str]]:
    users = (
        get_user_model()
        .objects.filter(
            membership__clinic=clinic, membership__role__in=[Role.CLINICIAN, Role.CLINIC_ADMIN]
        )
        .order_by("last_name", "first_name", "pk")
        .values_list("pk", "first_name", "last_name", "username")
    )
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in users]


def template_choices(clinic: Clinic) -> list[tuple[int, str]]:
    templates = ProgrammeTemplate.objects.filter(
        clinic__isnull=True
    ) | ProgrammeTemplate.objects.filter(clinic=clinic)
    return list(templates.order_by("name", "pk").values_list("pk", "name"))


class PeriodForm(forms.Form):
    """A period ending today by default; both ends inclusive."""

    start = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))

    def __init__(self, data, *, today: date, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.today = today

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in ("start", "end"):
            day = cleaned.get(name)
            if day is not None and day < EARLIEST_DAY:
                self.add_error(name, f"The records hold nothing before {EARLIEST_DAY.year}.")
        if self.errors:
            return cleaned
        end = cleaned.get("end") or self.today
        start = cleaned.get("start") or end - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        if end > self.today:
            self.add_error("end", "The period can't end after today.")
        elif start > end:
            self.add_error("start", "The start of the period must be on or before its end.")
        elif (end - start).days + 1 > MAX_PERIOD_DAYS:
            self.add_error("start", f"A period can be at most {MAX_PERIOD_DAYS} days long.")
        cleaned["start"], cleaned["end"] = start, end
        # Show the dates the report covers, defaults included, in the date inputs.
        self.data = self.data.copy()
        self.data["start"], self.data["end"] = start.isoformat(), end.isoformat()
        return cleaned


class ReportFilterForm(PeriodForm):
    clinician = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    template = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Programme template"
    )
    band = forms.ChoiceField(choices=BAND_CHOICES, required=False, label="Adherence band")
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data, *, clinic: Clinic, today: date, **kwargs) -> None:
        super().__init__(data, today=today, **kwargs)
        self.clinic = clinic
        self.fields["clinician"].choices = [("", "All clinicians"), *clinician_choices(clinic)]
        self.fields["template"].choices = [("", "All templates"), *template_choices(clinic)]

    def clean_after(self) -> str | None:
        token = self.cleaned_data.get("after") or None
        if token:
            try:
                decode_cursor(token)
            except BadCursor as error:
                raise forms.ValidationError(str(error)) from error
        return token

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            clinic_id=self.clinic.pk,
            start=data["start"],
            end=data["end"],
            clinician_id=data.get("clinician"),
            template_id=data.get("template"),
            band=data.get("band") or None,
        )


class AtRiskForm(ReportFilterForm):
    sort = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[(key, key) for name in AT_RISK_SORTS for key in (name, f"-{name}")],
    )
    reason = forms.ChoiceField(
        required=False, choices=[("", "Any reason"), *AT_RISK_REASONS.items()], label="Reason"
    )

    def __init__(self, data, **kwargs) -> None:
        super().__init__(data, **kwargs)
        # At risk is as of now: the period and the band don't apply.
        for name in ("start", "end", "band"):
            del self.fields[name]

    def clean_sort(self) -> str:
        return self.cleaned_data.get("sort") or "adherence"
