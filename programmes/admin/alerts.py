"""Clinician alerts in the admin: read by the clinic's staff, acknowledged by its
clinicians (`programmes.alerts.alerts_acknowledge`)."""

from __future__ import annotations

from django.contrib import admin, messages

from clinic.admin import ClinicScopedAdmin
from clinic.audit import Channel
from programmes.alerts import alerts_acknowledge
from programmes.models import ClinicianAlert


@admin.register(ClinicianAlert)
class ClinicianAlertAdmin(ClinicScopedAdmin):
    list_display = ["created_at", "kind", "patient", "message", "acknowledged_at"]
    list_filter = ["kind", ("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["patient"]
    search_fields = ["patient__first_name", "patient__last_name", "message"]
    readonly_fields = [
        "created_at",
        "kind",
        "patient",
        "plan",
        "message",
        "emailed_at",
        "emailed_to",
        "acknowledged_at",
        "acknowledged_by",
    ]
    fields = readonly_fields
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # Staff may read alerts; acknowledging is a clinician's (the change permission).
    @admin.action(description="Acknowledge (I have looked at it)", permissions=["change"])
    def acknowledge(self, request, queryset):
        count = alerts_acknowledge(
            alerts=queryset, by=request.user, channel=Channel.ADMIN, request=request
        )
        self.message_user(request, f"{count} alert(s) acknowledged.", messages.SUCCESS)
