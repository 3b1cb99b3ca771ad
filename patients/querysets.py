"""Reads of patients and screenings, always scoped to the asking user."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import models

from clinic.models import Role


class PatientQuerySet(models.QuerySet):
    def for_user(self, user) -> PatientQuerySet:
        """The patients this user may see: their clinic's, or only themself. Fails closed."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            return self
        membership = getattr(user, "membership", None)
        if membership is None:
            return self.none()
        if membership.role == Role.PATIENT:
            return self.filter(user=user, clinic_id=membership.clinic_id)
        return self.filter(clinic_id=membership.clinic_id)

    def own(self, user) -> PatientQuerySet:
        """The signed-in user's own patient record (none for staff-side accounts)."""
        return self.for_user(user).filter(user=user)

    def with_screening(self) -> PatientQuerySet:
        return self.select_related("current_screening", "clinician", "clinic")

    def screening_expiring_by(self, day: date) -> PatientQuerySet:
        return self.filter(current_screening__valid_until__lte=day)

    def screening_expiring_within(self, today: date, days: int) -> PatientQuerySet:
        return self.filter(
            current_screening__valid_until__gte=today,
            current_screening__valid_until__lte=today + timedelta(days=days),
        )


class ScreeningQuerySet(models.QuerySet):
    def current(self) -> ScreeningQuerySet:
        return self.filter(patient__current_screening=models.F("pk"))
