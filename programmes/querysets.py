"""Reads of plans and check-ins, always scoped to the asking user."""

from __future__ import annotations

from datetime import date

from django.db import models

from clinic.models import Role


def _scope(queryset: models.QuerySet, user, *, patient_path: str) -> models.QuerySet:
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if user.is_superuser:
        return queryset
    membership = getattr(user, "membership", None)
    if membership is None:
        return queryset.none()
    if membership.role == Role.PATIENT:
        return queryset.filter(**{f"{patient_path}__user": user, "clinic_id": membership.clinic_id})
    return queryset.filter(clinic_id=membership.clinic_id)


class PlanQuerySet(models.QuerySet):
    def for_user(self, user) -> PlanQuerySet:
        return _scope(self, user, patient_path="patient")

    def running(self) -> PlanQuerySet:
        return self.filter(status__in=["active", "paused"])

    def running_for(self, patient) -> PlanQuerySet:
        """The patient's plan that is active or paused (one at most: PostgreSQL holds it)."""
        return self.running().filter(patient=patient)

    def in_use(self) -> PlanQuerySet:
        """Plans given or to be given: drafts, and the active and paused ones."""
        return self.filter(status__in=["draft", "active", "paused"])

    def active_on(self, day: date) -> PlanQuerySet:
        return self.filter(status="active", start_date__lte=day).filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__gte=day)
        )


class CheckInQuerySet(models.QuerySet):
    def for_user(self, user) -> CheckInQuerySet:
        return _scope(self, user, patient_path="patient")
