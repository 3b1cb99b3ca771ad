"""Query filters for the patients API (django-filter); every parameter is described."""

from __future__ import annotations

import django_filters

from clinic.filters import FilterSet, IdFilter
from patients.models import Intake, Outcome, Patient, Screening


class PatientFilter(FilterSet):
    clinician = IdFilter(
        field_name="clinician_id",
        help_text="Only patients of this responsible clinician (user id).",
    )
    screening_outcome = django_filters.ChoiceFilter(
        field_name="current_screening__outcome",
        choices=Outcome.choices,
        help_text="Only patients whose current screening has this outcome.",
    )

    class Meta:
        model = Patient
        fields = ["clinician", "screening_outcome"]


class IntakeFilter(FilterSet):
    patient = IdFilter(
        field_name="patient_id", help_text="Only this patient's intakes (patient id)."
    )
    taken_from = django_filters.DateFilter(
        field_name="taken_on", lookup_expr="gte", help_text="Taken on or after this date."
    )
    taken_to = django_filters.DateFilter(
        field_name="taken_on", lookup_expr="lte", help_text="Taken on or before this date."
    )

    class Meta:
        model = Intake
        fields = ["patient", "taken_from", "taken_to"]


class ScreeningFilter(FilterSet):
    patient = IdFilter(
        field_name="patient_id", help_text="Only this patient's screenings (patient id)."
    )
    outcome = django_filters.ChoiceFilter(
        choices=Outcome.choices, help_text="Only screenings with this outcome."
    )

    class Meta:
        model = Screening
        fields = ["patient", "outcome"]
