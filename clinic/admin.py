"""Admin for clinic-wide records, and the clinic scoping every clinical admin uses."""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from clinic.audit import audit_record
from clinic.audit_admin import AuditedReadsAdmin
from clinic.models import (
    TABLE_MAX_HEIGHT_CM,
    TABLE_MAX_WEIGHT_KG,
    ApiToken,
    AuditEvent,
    Clinic,
    Membership,
    Role,
    TableLimitsVersion,
)
from clinic.otp import second_factor_reset
from clinic.roles import clinic_of, role_of
from clinic.services import clinic_table_limits_change
from clinic.tokens import Reason, token_expired, tokens_revoke


class ClinicScopedAdmin(AuditedReadsAdmin, admin.ModelAdmin):
    """Rows of the user's own clinic only; `clinic_lookup` is the path to the clinic.

    Its pages are audited as reads of the patients they show (`AuditedReadsAdmin`).
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


class TableLimitsForm(forms.Form):
    max_weight_kg = forms.DecimalField(
        label="Maximum weight (kg)",
        max_digits=5,
        decimal_places=1,
        min_value=30,
        max_value=TABLE_MAX_WEIGHT_KG,
        help_text=f"At most {TABLE_MAX_WEIGHT_KG:g} kg, the shipped table rating.",
    )
    max_height_cm = forms.DecimalField(
        label="Maximum height (cm)",
        max_digits=5,
        decimal_places=1,
        min_value=100,
        max_value=TABLE_MAX_HEIGHT_CM,
        help_text=f"At most {TABLE_MAX_HEIGHT_CM:g} cm, the shipped table rating.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required, and kept with the new version (e.g. the new table's rating).",
    )


class TableLimitsVersionInline(admin.TabularInline):
    model = TableLimitsVersion
    fields = ["version", "max_weight_kg", "max_height_cm", "reason", "changed_by", "changed_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "Table limits history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "time_zone",
        "emergency_number",
        "table_max_weight_kg",
        "table_max_height_cm",
        "table_limits_version",
    ]
    prepopulated_fields = {"slug": ["name"]}
    # Table limits change only through `clinic_table_limits_change` (versioned, audited).
    readonly_fields = ["table_limits"]
    fields = ["name", "slug", "time_zone", "emergency_number", "table_limits"]
    inlines = [TableLimitsVersionInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic = clinic_of(request.user)
        return queryset.filter(pk=clinic.pk) if clinic else queryset.none()

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            if change:  # never the table limits: they change only by their own page
                obj.save(update_fields=[name for name in form.changed_data if name in self.fields])
            else:
                obj.save()
            audit_record(
                actor=request.user,
                action="update" if change else "create",
                channel=AuditEvent.Channel.ADMIN,
                obj=obj,
                clinic=obj,
                summary="Clinic details changed" if change else "Clinic created",
                changes={
                    name: str(form.cleaned_data[name])
                    for name in form.changed_data
                    if name in ("emergency_number", "time_zone", "name")
                },
                request=request,
            )

    @admin.display(description="Table limits")
    def table_limits(self, clinic: Clinic) -> str:
        if clinic.pk is None:
            return (
                f"{TABLE_MAX_WEIGHT_KG:g} kg and {TABLE_MAX_HEIGHT_CM:g} cm (the shipped "
                "rating); change them once the clinic is saved."
            )
        url = reverse("admin:clinic_clinic_table_limits", args=[clinic.pk])
        return format_html(
            '{} kg, {} cm (version {}) <a class="button" href="{}">Change table limits…</a>',
            f"{clinic.table_max_weight_kg:g}",
            f"{clinic.table_max_height_cm:g}",
            clinic.table_limits_version,
            url,
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/table-limits/",
                self.admin_site.admin_view(self.table_limits_view),
                name="clinic_clinic_table_limits",
            ),
            *super().get_urls(),
        ]

    def table_limits_view(self, request, pk: int):
        if not self.has_change_permission(request):
            raise PermissionDenied
        clinic = self.get_queryset(request).filter(pk=pk).first()
        if clinic is None:
            raise Http404("No such clinic.")
        form = TableLimitsForm(
            request.POST or None,
            initial={
                "max_weight_kg": clinic.table_max_weight_kg,
                "max_height_cm": clinic.table_max_height_cm,
            },
        )
        if request.method == "POST" and form.is_valid():
            try:
                limits = clinic_table_limits_change(
                    clinic=clinic,
                    max_weight_kg=form.cleaned_data["max_weight_kg"],
                    max_height_cm=form.cleaned_data["max_height_cm"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    request=request,
                )
            except (ValidationError, PermissionDenied) as error:
                if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
                    for field, errors in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, getattr(error, "messages", None) or str(error))
            else:
                self.message_user(
                    request, f"Table limits version {limits.version} saved.", messages.SUCCESS
                )
                return redirect("admin:clinic_clinic_change", clinic.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": clinic,
            "title": f"Table limits of {clinic}",
            "form": form,
            "clinic_url": reverse("admin:clinic_clinic_change", args=[clinic.pk]),
        }
        return TemplateResponse(request, "admin/clinic/clinic/table_limits.html", context)


@admin.register(Membership)
class MembershipAdmin(ClinicScopedAdmin):
    audit_patient_field = None  # the staff directory, no health data (changes are audited)
    list_display = ["user", "role", "clinic", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    autocomplete_fields = ["user"]
    actions = ["reset_second_factor"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (request.user.is_superuser or role_of(request.user) == Role.CLINIC_ADMIN):
            actions.pop("reset_second_factor", None)
        return actions

    @admin.action(description="Reset the second factor (lost authenticator)")
    def reset_second_factor(self, request, queryset):
        for membership in queryset.select_related("user", "clinic"):
            second_factor_reset(membership=membership, by=request.user, request=request)
        self.message_user(
            request,
            f"Second factor reset for {queryset.count()} account(s): each sets up a new "
            "authenticator at their next sign-in.",
        )


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicScopedAdmin):
    """The audit trail, searchable by clinic administrators; nobody can change it."""

    list_display = [
        "at",
        "actor",
        "action",
        "channel",
        "object_type",
        "object_id",
        "patient_id",
        "patient_ids",
        "summary",
    ]
    list_filter = ["action", "channel", "object_type"]
    search_fields = ["summary", "object_id", "actor__username", "=patient_id"]
    date_hierarchy = "at"
    list_select_related = ["actor"]

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term.isdigit() and len(term) < 19:  # a patient id: the rows naming them in a list
            found = found | queryset.filter(patient_ids__contains=[int(term)])
        return found, duplicates

    def audit_patient_ids(self, obj: AuditEvent) -> list[int | None]:
        # Reading the trail is audited too: it names patients and what was done to them.
        return [obj.patient_id, *obj.patient_ids]

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or role_of(request.user) == Role.CLINIC_ADMIN

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _clinic_admin_or_superuser(request) -> bool:
    return request.user.is_superuser or role_of(request.user) == Role.CLINIC_ADMIN


class SecurityRecordAdmin(admin.ModelAdmin):
    """Read-only records of the clinic's accounts, for its administrators and superusers."""

    def has_module_permission(self, request):
        return _clinic_admin_or_superuser(request)

    def has_view_permission(self, request, obj=None):
        return _clinic_admin_or_superuser(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(SecurityRecordAdmin):
    """Every API token of the clinic's accounts, live and past; revoke from the list."""

    list_display = ["user", "status", "created_at", "last_used_at", "created_ip"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "revoked_reason"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    fields = [
        "user",
        "status",
        "created_at",
        "created_ip",
        "last_used_at",
        "revoked_at",
        "revoked_reason",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic = clinic_of(request.user)
        if clinic is None:
            return queryset.none()
        return queryset.filter(user__membership__clinic=clinic)

    def get_actions(self, request):
        # Revoking changes nothing the has_change_permission guards: offered to whoever views.
        actions = super().get_actions(request)
        return actions if _clinic_admin_or_superuser(request) else {}

    @admin.display(description="Status")
    def status(self, token: ApiToken) -> str:
        if token.revoked_at is not None:
            return f"Revoked: {token.get_revoked_reason_display()}"
        if token_expired(token, now=timezone.now()):
            return "Expired"
        return "Live"

    @admin.action(description="Revoke the selected API tokens")
    def revoke(self, request, queryset):
        revoked = 0
        with transaction.atomic():
            for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
                revoked += tokens_revoke(
                    user=token.user,
                    reason=Reason.ADMINISTRATOR,
                    by=request.user,
                    channel=AuditEvent.Channel.ADMIN,
                    request=request,
                    tokens=ApiToken.objects.filter(pk=token.pk),
                )
        self.message_user(request, f"{revoked} API token(s) revoked.")


# django-axes' records of sign-ins: failures (kept), lockout counters and successes,
# shown to a clinic administrator for their own clinic's accounts. A user name that
# belongs to no account of theirs (a guess) is the superuser's to see.

admin.site.unregister(AccessAttempt)
admin.site.unregister(AccessLog)
admin.site.unregister(AccessFailureLog)


class ClinicSignInRecordAdmin(SecurityRecordAdmin):
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic = clinic_of(request.user)
        if clinic is None:
            return queryset.none()
        usernames = get_user_model().objects.filter(membership__clinic=clinic)
        return queryset.filter(username__in=usernames.values("username"))


@admin.register(AccessAttempt)
class ScopedAccessAttemptAdmin(ClinicSignInRecordAdmin, AccessAttemptAdmin):
    """Lockout counters; a superuser may delete one to lift a lockout."""

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(AccessFailureLog)
class ScopedAccessFailureLogAdmin(ClinicSignInRecordAdmin, AccessFailureLogAdmin):
    pass


@admin.register(AccessLog)
class ScopedAccessLogAdmin(ClinicSignInRecordAdmin, AccessLogAdmin):
    pass
