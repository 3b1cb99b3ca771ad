"""The clinic scoping every clinical admin uses: rows, choices and filters of the user's
own clinic only."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q

from clinic.audit_admin import AuditedReadsAdmin
from clinic.models import Clinic
from clinic.roles import clinic_of
from clinic.rules import CLINICAL

OWNER_FIELD_NAMES = ("patient", "plan", "template")


def clinic_lookup_of(model) -> tuple[str, bool] | None:
    """The lookup from `model` to the clinic its rows belong to, and whether a row with no
    clinic is shared by every clinic (the shipped library); None: no path, nothing offered.

    Found from the model's own foreign keys (never through a user, whose clinic isn't the
    row's), nearest first: `clinic`, else `patient__clinic`, `plan__clinic`, ...
    """
    user_model = get_user_model()
    if model is Clinic:
        return "pk", False
    if model is user_model:
        return "membership__clinic", False
    frontier: list[tuple[type, str]] = [(model, "")]
    for _depth in range(4):
        following = []
        for current, prefix in frontier:
            fields = sorted(
                (
                    f
                    for f in current._meta.get_fields()
                    if f.is_relation and (f.many_to_one or f.one_to_one) and f.concrete
                ),
                # A row belongs where its owner does: a dose's plan, not its exercise.
                key=lambda f: f.name not in OWNER_FIELD_NAMES,
            )
            for field in fields:
                if field.related_model is Clinic:
                    return f"{prefix}{field.name}", field.null
            following.extend(
                (field.related_model, f"{prefix}{field.name}__")
                for field in fields
                if field.related_model not in (user_model, current)
            )
        frontier = following
    return None


# A user chosen as a clinician is one of the clinic's clinicians, not any member.
CLINICIAN_FIELD_NAMES = frozenset({"clinician"})


def clinic_choices(queryset, user, *, field_name: str = ""):
    """The rows of `queryset` the user's clinic may choose: its own (and the shared library)."""
    if user.is_superuser:
        return queryset
    clinic = clinic_of(user)
    found = clinic_lookup_of(queryset.model)
    if clinic is None or found is None:
        return queryset.none()
    lookup, shared = found
    allowed = Q(**{lookup: clinic.pk})
    if shared:
        allowed |= Q(**{f"{lookup}__isnull": True})
    queryset = queryset.filter(allowed)
    if queryset.model is get_user_model() and field_name in CLINICIAN_FIELD_NAMES:
        queryset = queryset.filter(membership__role__in=CLINICAL)
    return queryset


class ClinicScopedChoices:
    """Every foreign key and many-to-many field of the form offers only the user's clinic's
    rows, so a crafted POST naming another clinic's id fails validation (a form error).
    A `clinic` field is required and offers only the user's own clinic. Superusers see all.
    """

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            kwargs["queryset"] = clinic_choices(
                self._choice_base(db_field, request, kwargs), request.user, field_name=db_field.name
            )
            if db_field.related_model is Clinic:
                kwargs["required"] = True
                kwargs.setdefault("initial", getattr(clinic_of(request.user), "pk", None))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            kwargs["queryset"] = clinic_choices(
                self._choice_base(db_field, request, kwargs), request.user, field_name=db_field.name
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def _choice_base(self, db_field, request, kwargs):
        if kwargs.get("queryset") is not None:
            return kwargs["queryset"]
        ordered = self.get_field_queryset(None, db_field, request)
        if ordered is not None:
            return ordered
        return db_field.remote_field.model._default_manager.all()


class ClinicScopedInline(ClinicScopedChoices, admin.TabularInline):
    """An inline whose choices are the user's clinic's, as its admin's are."""


class ClinicScopedAdmin(AuditedReadsAdmin, ClinicScopedChoices, admin.ModelAdmin):
    """Rows of the user's own clinic only; `clinic_lookup` is the path to the clinic.
    Every choice its forms offer is the clinic's too (`ClinicScopedChoices`), and its pages
    are audited as reads of the patients they show (`AuditedReadsAdmin`).
    """

    clinic_lookup = "clinic"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic = clinic_of(request.user)
        if clinic is None:
            return queryset.none()
        return queryset.filter(**{self.clinic_lookup: clinic})


class OfferedChoiceFilter(admin.SimpleListFilter):
    """A list filter that acts only on a value it offered: anything else in the query
    string (`?clinician=abc`, another clinic's id) is ignored, never passed to a query."""

    def value(self):
        value = super().value()
        offered = {str(choice) for choice, _label in self.lookup_choices}
        return value if value in offered else None
