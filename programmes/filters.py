"""Query filters for the programmes API (django-filter); every parameter is described."""

from __future__ import annotations

import django_filters

from clinic.filters import BooleanFilter, FilterSet, IdFilter
from programmes.models import (
    Category,
    CheckIn,
    ClinicianAlert,
    Exercise,
    Plan,
    PlanStatus,
    ProgrammeTemplate,
    TemplateKind,
)


class PlanFilter(FilterSet):
    patient = IdFilter(field_name="patient_id", help_text="Only this patient's plans (patient id).")
    status = django_filters.ChoiceFilter(
        choices=PlanStatus.choices, help_text="Only plans with this status."
    )
    clinician = IdFilter(
        field_name="clinician_id", help_text="Only plans run by this clinician (user id)."
    )

    class Meta:
        model = Plan
        fields = ["patient", "status", "clinician"]


class CheckInFilter(FilterSet):
    patient = IdFilter(
        field_name="patient_id", help_text="Only this patient's check-ins (patient id)."
    )
    plan = IdFilter(field_name="plan_id", help_text="Only check-ins of this plan (plan id).")
    completion = django_filters.ChoiceFilter(
        choices=CheckIn.Completion.choices, help_text="Only check-ins with this completion."
    )
    date_from = django_filters.DateFilter(
        field_name="local_date", lookup_expr="gte", help_text="Sessions on or after this day."
    )
    date_to = django_filters.DateFilter(
        field_name="local_date", lookup_expr="lte", help_text="Sessions on or before this day."
    )

    class Meta:
        model = CheckIn
        fields = ["patient", "plan", "completion", "date_from", "date_to"]


class AlertFilter(FilterSet):
    patient = IdFilter(
        field_name="patient_id", help_text="Only this patient's alerts (patient id)."
    )
    kind = django_filters.ChoiceFilter(
        choices=ClinicianAlert.Kind.choices, help_text="Only alerts of this kind."
    )
    open = BooleanFilter(
        field_name="acknowledged_at",
        lookup_expr="isnull",
        help_text="true: only alerts nobody has acknowledged; false: only acknowledged ones.",
    )

    class Meta:
        model = ClinicianAlert
        fields = ["patient", "kind", "open"]


class ExerciseFilter(FilterSet):
    category = django_filters.ChoiceFilter(
        choices=Category.choices, help_text="Only exercises of this category."
    )

    class Meta:
        model = Exercise
        fields = ["category"]


class TemplateFilter(FilterSet):
    kind = django_filters.ChoiceFilter(
        choices=TemplateKind.choices, help_text="Only templates of this kind."
    )

    class Meta:
        model = ProgrammeTemplate
        fields = ["kind"]
