"""The patient's admin: the list with screening badges, the change form (through
`patients.services`), the screening panel with its actions, and portal invitations."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from clinic.admin import ClinicScopedAdmin, ClinicScopedInline
from clinic.permissions import may_change_patient, may_reassign_patient
from clinic.roles import clinic_of
from patients import services
from patients.admin.display import (
    findings_table,
    outcome_badge,
    outcome_badge_for_tier,
    staff_name,
)
from patients.admin.filters import ClinicianFilter, ExpiringFilter, OutcomeFilter
from patients.admin.pages import PatientActionPages
from patients.models import Channel, Intake, Outcome, Patient


class IntakeInline(ClinicScopedInline):
    model = Intake
    fields = ["number", "taken_on", "reason", "channel", "baseline_pain", "odi_percent", "link"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    @admin.display(description="")
    def link(self, intake: Intake) -> str:
        url = reverse("admin:patients_intake_change", args=[intake.pk])
        return format_html('<a href="{}">Answers and findings</a>', url)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Patient)
class PatientAdmin(PatientActionPages, ClinicScopedAdmin):
    audit_patient_field = "pk"
    view_on_site = False
    list_display = ["full_name", "date_of_birth", "clinician_name", "badge", "valid_until"]
    list_filter = [OutcomeFilter, ClinicianFilter, ExpiringFilter]
    search_fields = ["first_name", "last_name", "email", "phone"]
    list_select_related = ["clinician", "current_screening__override"]
    readonly_fields = ["screening_panel", "user", "height_cm", "weight_kg"]
    inlines = [IntakeInline]
    actions = ["send_invitation"]
    fieldsets = [
        ("Screening", {"fields": ["screening_panel"]}),
        (
            "Identity and contact",
            {"fields": ["first_name", "last_name", "date_of_birth", "sex", "email", "phone"]},
        ),
        (
            "Care",
            {
                "fields": [
                    "clinician",
                    "time_zone",
                    "emergency_number",
                    "height_cm",
                    "weight_kg",
                    "user",
                ]
            },
        ),
        (
            "Reminders",
            {
                "fields": [
                    "reminder_time",
                    "remind_by_email",
                    "remind_by_sms",
                    "remind_in_portal",
                    "reminders_opted_out",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "clinic",
                "current_screening__override__clinician",
                "current_screening__override__revoked_by",
                "current_screening__referral",
                "clinician",
            )
        )

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # nothing to screen yet on the add page
            return self.fieldsets[1:]
        return self.fieldsets

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # The choices are the clinic's clinicians (`ClinicScopedChoices`).
        if db_field.name == "clinician":
            kwargs.setdefault("initial", request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        # Naming another responsible clinician is the clinic administrator's decision.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not may_reassign_patient(request.user, obj):
            fields.append("clinician")
        return fields

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or may_change_patient(request.user, obj)

    def save_model(self, request, obj, form, change):
        if change:
            # Only what this form changed, on the locked row: a whole-row save would write
            # back the screening it read, undoing a health update that re-screened meanwhile.
            services.patient_update(
                patient=obj,
                changes={name: form.cleaned_data[name] for name in form.changed_data},
                by=request.user,
                channel=Channel.ADMIN,
                request=request,
            )
            return
        clinic = clinic_of(request.user)
        if clinic is None:
            raise PermissionDenied("Your account belongs to no clinic.")
        created = services.patient_create(
            clinic=clinic,
            # What the form put on `obj` (a field it leaves out keeps the model's default).
            details={name: getattr(obj, name) for name in form.cleaned_data},
            by=request.user,
            channel=Channel.ADMIN,
            request=request,
            audited_fields=form.changed_data,
        )
        # The admin goes on with the object it built (its log entry, the redirect).
        obj.pk = created.pk

    def change_view(self, request, object_id, form_url="", extra_context=None):
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        except ValidationError as refusal:
            # The service refused on the locked row: nothing was saved; say why.
            for message in refusal.messages:
                self.message_user(request, f"Not saved: {message}", messages.ERROR)
            return redirect("admin:patients_patient_change", object_id)

    def response_add(self, request, obj, post_url_continue=None):
        messages.success(request, f"{obj} added. Record the intake to screen them.")
        return redirect("admin:patients_patient_intake", obj.pk)

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, patient: Patient) -> str:
        return patient.full_name

    @admin.display(description="Clinician", ordering="clinician__last_name")
    def clinician_name(self, patient: Patient) -> str:
        return patient.clinician.get_full_name() or patient.clinician.username

    @admin.display(description="Screening")
    def badge(self, patient: Patient) -> str:
        return outcome_badge(patient.current_screening)

    @admin.display(description="Valid until", ordering="current_screening__valid_until")
    def valid_until(self, patient: Patient):
        return patient.current_screening.valid_until if patient.current_screening else "—"

    @admin.display(description="Current screening")
    def screening_panel(self, patient: Patient) -> str:
        screening = patient.current_screening
        intake_url = reverse("admin:patients_patient_intake", args=[patient.pk])
        told = format_html(
            "<p><small>Emergency advice names <strong>{}</strong>.</small></p>",
            patient.emergency_phone,
        )
        if screening is None:
            return format_html(
                '{} <a class="button" href="{}">Record intake</a>{}{}',
                outcome_badge(None),
                intake_url,
                self._awaiting_panel(patient),
                told,
            )
        permission = services.treatment_permission(patient)
        actions = [format_html('<a class="button" href="{}">Record new intake</a>', intake_url)]
        if permission.programme:
            assign_url = f"{reverse('admin:programmes_plan_add')}?patient={patient.pk}"
            actions.insert(
                0, format_html('<a class="button" href="{}">Assign a programme…</a>', assign_url)
            )
        override = getattr(screening, "override", None)
        if screening.outcome == Outcome.REVIEW_REQUIRED and override is None:
            url = reverse("admin:patients_patient_override", args=[patient.pk])
            actions.append(
                format_html('<a class="button" href="{}">Override for inversion…</a>', url)
            )
        if override is not None and override.revoked_at is None:
            url = reverse("admin:patients_patient_override_revoke", args=[patient.pk])
            actions.append(format_html('<a class="button" href="{}">Revoke override…</a>', url))
        if screening.outcome == Outcome.URGENT_REFERRAL:
            referral = getattr(screening, "referral", None)
            actions.append(self._referral_button(patient, referral, kind="screening"))
        if override is None:
            override_text = ""
        elif override.revoked_at is not None:
            override_text = format_html(
                "<p><strong>Override revoked</strong> by {} on {}: {}</p>",
                staff_name(override.revoked_by),
                f"{timezone.localtime(override.revoked_at):%d %b %Y}",
                override.revoke_reason,
            )
        else:
            override_text = format_html(
                "<p><strong>Override</strong> by {} on {}, until {}: {}</p>",
                staff_name(override.clinician),
                f"{timezone.localtime(override.created_at):%d %b %Y}",
                f"{override.expires_on:%d %b %Y}",
                override.reason,
            )
        return format_html(
            "{}<div>{} <small>rules {} · screened {} · valid until {}</small></div>"
            "<p><strong>{}</strong></p>{}{}<p>{}</p>{}{}",
            self._red_flag_panel(patient),
            outcome_badge(screening),
            screening.rule_set_version,
            f"{screening.screened_on:%d %b %Y}",
            f"{screening.valid_until:%d %b %Y}",
            permission.reason,
            findings_table(screening.findings),
            override_text,
            format_html_join(" ", "{}", ((action,) for action in actions)),
            self._awaiting_panel(patient),
            told,
        )

    def _referral_button(self, patient: Patient, referral, *, kind: str) -> str:
        name = (
            "patients_patient_referral" if referral is None else "patients_patient_referral_result"
        )
        label = "Record urgent referral…" if referral is None else "Record referral result…"
        url = f"{reverse(f'admin:{name}', args=[patient.pk])}?for={kind}"
        return format_html('<a class="button" href="{}">{}</a>', url, label)

    def _red_flag_panel(self, patient: Patient) -> str:
        """A red flag reported at a check-in: urgent referral, whatever the screening says."""
        if patient.red_flag_reported_at is None:
            return ""
        referral = services.checkin_referral(patient)
        state = (
            "No referral recorded yet."
            if referral is None
            else f"Referred to {referral.referred_to} on {referral.referred_on:%d %b %Y}: "
            f"{referral.get_result_display()}."
        )
        return format_html(
            '<div class="inv-red-flag">{} <strong>Red flag reported at a check-in on {}</strong>'
            "<p>{}</p><p>{}</p><p>{}</p></div>",
            outcome_badge_for_tier(Outcome.URGENT_REFERRAL),
            f"{timezone.localtime(patient.red_flag_reported_at):%d %b %Y %H:%M}",
            patient.red_flag_note or "",
            state,
            self._referral_button(patient, referral, kind="checkin"),
        )

    def _awaiting_panel(self, patient: Patient) -> str:
        """The patient's own answers that would lower the screening, for confirmation."""
        awaiting = services.screening_awaiting(patient)
        if awaiting is None:
            return ""
        url = reverse("admin:patients_patient_confirm_screening", args=[patient.pk])
        return format_html(
            '<div class="inv-awaiting"><h3>The patient\'s answers await confirmation</h3>'
            "<p>{} <small>screened {} from intake {} · valid until {}</small></p>{}"
            '<p><a class="button" href="{}">Confirm this screening…</a></p></div>',
            outcome_badge(awaiting),
            f"{awaiting.screened_on:%d %b %Y}",
            awaiting.intake.number,
            f"{awaiting.valid_until:%d %b %Y}",
            findings_table(awaiting.findings),
            url,
        )

    @admin.action(description="Send portal invitation (one-time link, 7 days)")
    def send_invitation(self, request, queryset):
        sent = 0
        for patient in queryset.select_related("clinic"):
            try:
                services.invitation_send(
                    patient=patient,
                    by=request.user,
                    base_url=request.build_absolute_uri("/"),
                    request=request,
                )
            except (ValidationError, PermissionDenied) as refusal:
                messages_ = getattr(refusal, "messages", [str(refusal)])
                self.message_user(request, f"{patient}: {' '.join(messages_)}", messages.ERROR)
            else:
                sent += 1
        if sent:
            self.message_user(request, f"Invitation sent to {sent} patient(s).", messages.SUCCESS)
