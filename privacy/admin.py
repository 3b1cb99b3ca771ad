"""Data protection in the admin: the patient list's export and erasure actions, for the
clinic's administrator. The patients app's PatientAdmin, extended from above."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.template.response import TemplateResponse

from clinic.models import Role
from clinic.roles import role_of
from patients import admin as patients_admin
from patients.models import Patient
from privacy import services as privacy_services


class ErasureForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why, and on whose request (e.g. the patient's written request of 3 March).",
    )
    confirm = forms.BooleanField(
        label="I understand the name, contact details and portal account can't be restored.",
    )


admin.site.unregister(Patient)


@admin.register(Patient)
class PatientAdmin(patients_admin.PatientAdmin):
    actions = [*patients_admin.PatientAdmin.actions, "export_data", "erase_identity"]

    def has_data_protection_permission(self, request) -> bool:
        return role_of(request.user) == Role.CLINIC_ADMIN

    @admin.action(
        description="Export all data held on the patient (JSON)",
        permissions=["data_protection"],
    )
    def export_data(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one patient to export.", messages.ERROR)
            return None
        data = privacy_services.patient_export(
            patient=queryset.get(), by=request.user, request=request
        )
        response = JsonResponse(data, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = (
            f'attachment; filename="patient-{data["patient"]["id"]}-export.json"'
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(
        description="Erase the patient's identity (irreversible)…",
        permissions=["data_protection"],
    )
    def erase_identity(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one patient to erase.", messages.ERROR)
            return None
        patient = queryset.get()
        form = ErasureForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_valid():
            try:
                privacy_services.patient_erase(
                    patient=patient,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except (ValidationError, PermissionDenied) as refusal:
                messages_ = getattr(refusal, "messages", [str(refusal)])
                self.message_user(request, " ".join(messages_), messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"Patient {patient.pk}: identity erased; the portal account is closed.",
                    messages.SUCCESS,
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Erase a patient's identity",
            "patient": patient,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/privacy/erase_confirmation.html", context)
