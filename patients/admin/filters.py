"""The patient list's filters: screening outcome and validity, responsible clinician."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from clinic.admin import OfferedChoiceFilter
from clinic.permissions import CLINICAL_ROLES
from clinic.roles import clinic_of
from patients.models import Outcome


class OutcomeFilter(OfferedChoiceFilter):
    title = "screening outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return [*Outcome.choices, ("none", "Not screened")]

    def queryset(self, request, queryset):
        if self.value() == "none":
            return queryset.filter(current_screening__isnull=True)
        if self.value() in Outcome.values:
            return queryset.filter(current_screening__outcome=self.value())
        return queryset


class ExpiringFilter(OfferedChoiceFilter):
    title = "screening validity"
    parameter_name = "validity"

    def lookups(self, request, model_admin):
        return [("soon", "Expiring within 14 days"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "soon":
            return queryset.screening_expiring_within(today, 14)
        if self.value() == "expired":
            return queryset.filter(current_screening__valid_until__lt=today)
        return queryset


class ClinicianFilter(OfferedChoiceFilter):
    title = "clinician"
    parameter_name = "clinician"

    def lookups(self, request, model_admin):
        clinicians = get_user_model().objects.filter(
            membership__clinic=clinic_of(request.user), membership__role__in=CLINICAL_ROLES
        )
        return [(str(user.pk), user.get_full_name() or user.username) for user in clinicians]

    def queryset(self, request, queryset):
        return queryset.filter(clinician_id=self.value()) if self.value() else queryset
