"""Admin for clinic-wide records, and the clinic scoping every clinical admin uses."""

from __future__ import annotations

from django.contrib import admin

from clinic.models import AuditEvent, Clinic, Membership, Role
from clinic.otp import second_factor_reset
from clinic.roles import clinic_of, role_of


class ClinicScopedAdmin(admin.ModelAdmin):
    """Rows of the user's own clinic only; `clinic_lookup` is the path to the clinic."""

    clinic_lookup = "clinic"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic = clinic_of(request.user)
        if clinic is None:
            return queryset.none()
        return queryset.filter(**{self.clinic_lookup: clinic})


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "table_max_weight_kg", "table_max_height_cm"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        clinic = clinic_of(request.user)
        return queryset.filter(pk=clinic.pk) if clinic else queryset.none()


@admin.register(Membership)
class MembershipAdmin(ClinicScopedAdmin):
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
        "summary",
    ]
    list_filter = ["action", "channel", "object_type"]
    search_fields = ["summary", "object_id", "actor__username", "=patient_id"]
    date_hierarchy = "at"
    list_select_related = ["actor"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or role_of(request.user) == Role.CLINIC_ADMIN

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
