"""Clinicians' admin for patients: screening badges, intake, override and referral actions.

Every change goes through `patients.services` (the change form through `patient_update`,
which writes only the fields it changed); the admin only collects input and shows the
service's refusal as a message.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from clinic.admin import ClinicScopedAdmin, ClinicScopedInline, OfferedChoiceFilter
from clinic.audit import audit_record
from clinic.permissions import CLINICAL_ROLES, may_change_patient, may_reassign_patient
from clinic.roles import clinic_of
from patients import services
from patients.domain.answers import Condition, Medication
from patients.forms import (
    INTAKE_STEPS,
    IntakeForm,
    OverrideForm,
    OverrideRevokeForm,
    ReferralForm,
    ReferralResultForm,
    ScreeningConfirmForm,
)
from patients.models import Channel, Intake, Outcome, Patient, Referral, Screening
from patients.serializers import ANSWER_QUESTIONS

BADGE_COLOURS = {
    Outcome.CLEARED: ("#1b5e20", "#e8f5e9"),
    Outcome.REVIEW_REQUIRED: ("#7a4f01", "#fff4d6"),
    Outcome.CONTRAINDICATED: ("#8b1a1a", "#fde8e8"),
    Outcome.URGENT_REFERRAL: ("#ffffff", "#b3261e"),
}


def outcome_badge(screening: Screening | None, *, today=None) -> str:
    today = today or timezone.localdate()
    if screening is None:
        return format_html(
            '<span class="inv-badge" style="{}">Not screened</span>', _style("#444", "#eee")
        )
    label = screening.get_outcome_display()
    if screening.is_expired(today):
        return format_html(
            '<span class="inv-badge" style="{}">{} — expired</span>', _style("#444", "#eee"), label
        )
    fg, bg = BADGE_COLOURS[screening.outcome]
    override = getattr(screening, "override", None)
    suffix = (
        ""
        if override is None
        else " (override revoked)"
        if override.revoked_at is not None
        else " (override)"
    )
    return format_html(
        '<span class="inv-badge" style="{}">{}{}</span>', _style(fg, bg), label, suffix
    )


def _style(fg: str, bg: str) -> str:
    return (
        f"color:{fg};background:{bg};padding:2px 8px;border-radius:10px;font-weight:600;"
        "white-space:nowrap;display:inline-block"
    )


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
class PatientAdmin(ClinicScopedAdmin):
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
        with transaction.atomic():
            obj.clinic = clinic_of(request.user)
            if obj.clinic is None:
                raise PermissionDenied("Your account belongs to no clinic.")
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action="create",
                channel=Channel.ADMIN,
                obj=obj,
                clinic=obj.clinic,
                patient_id=obj.pk,
                summary="Patient created",
                changes={"fields": sorted(form.changed_data)},
                request=request,
            )

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
                _name(override.revoked_by),
                f"{timezone.localtime(override.revoked_at):%d %b %Y}",
                override.revoke_reason,
            )
        else:
            override_text = format_html(
                "<p><strong>Override</strong> by {} on {}, until {}: {}</p>",
                _name(override.clinician),
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

    # Custom pages: explicit actions with their own forms.

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/intake/", wrap(self.intake_view), name="patients_patient_intake"),
            path("<int:pk>/override/", wrap(self.override_view), name="patients_patient_override"),
            path(
                "<int:pk>/override-revoke/",
                wrap(self.override_revoke_view),
                name="patients_patient_override_revoke",
            ),
            path(
                "<int:pk>/confirm-screening/",
                wrap(self.confirm_screening_view),
                name="patients_patient_confirm_screening",
            ),
            path("<int:pk>/referral/", wrap(self.referral_view), name="patients_patient_referral"),
            path(
                "<int:pk>/referral-result/",
                wrap(self.referral_result_view),
                name="patients_patient_referral_result",
            ),
            *super().get_urls(),
        ]

    def _patient_or_404(self, request, pk: int) -> Patient:
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            return self.get_queryset(request).get(pk=pk)
        except Patient.DoesNotExist:
            raise Http404("No such patient in your clinic.") from None

    def _render(self, request, patient: Patient, *, title: str, form, intro: str = "", steps=None):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": patient,
            "title": title,
            "form": form,
            "intro": intro,
            "steps": steps,
            "patient_url": reverse("admin:patients_patient_change", args=[patient.pk]),
        }
        return TemplateResponse(request, "admin/patients/patient/action_form.html", context)

    def intake_view(self, request, pk: int):
        patient = self._patient_or_404(request, pk)
        form = IntakeForm(request.POST or None, patient=patient)
        if request.method == "POST" and form.is_valid():
            try:
                services.intake_submit(
                    patient=patient,
                    answers=form.answers(today=services.patient_local_date(patient)),
                    measurements=services.IntakeMeasurements(
                        bp_measured_by=form.cleaned_data["bp_measured_by"],
                        bp_measured_at=form.cleaned_data["bp_measured_at"],
                        baseline_pain=form.cleaned_data["baseline_pain"],
                        odi_sections=form.odi_sections(),
                    ),
                    by=request.user,
                    channel=Channel.ADMIN,
                    request=request,
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                patient.refresh_from_db()
                screening = patient.current_screening
                level = (
                    messages.SUCCESS if screening.outcome == Outcome.CLEARED else messages.WARNING
                )
                self.message_user(
                    request,
                    f"Intake recorded. Screening: {screening.get_outcome_display()}.",
                    level,
                )
                return redirect("admin:patients_patient_change", patient.pk)
        steps = [(title, [form[name] for name in names]) for title, names in INTAKE_STEPS]
        return self._render(request, patient, title=f"Intake for {patient}", form=form, steps=steps)

    def override_view(self, request, pk: int):
        patient = self._patient_or_404(request, pk)
        form = OverrideForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.screening_override_record(
                    screening=patient.current_screening,
                    clinician=request.user,
                    reason=form.cleaned_data["reason"],
                    channel=Channel.ADMIN,
                    request=request,
                )
            except (ValidationError, PermissionDenied) as error:
                _add_errors(form, error)
            else:
                self.message_user(
                    request, "Override recorded: inversion may be planned.", messages.SUCCESS
                )
                return redirect("admin:patients_patient_change", patient.pk)
        screening = patient.current_screening
        intro = (
            "Only a review-required screening can be overridden."
            if screening is None or screening.outcome != Outcome.REVIEW_REQUIRED
            else "Findings: " + "; ".join(f["evidence"] for f in screening.findings)
        )
        return self._render(
            request, patient, title=f"Override for {patient}", form=form, intro=intro
        )

    def override_revoke_view(self, request, pk: int):
        patient = self._patient_or_404(request, pk)
        override = getattr(patient.current_screening, "override", None)
        if override is None or override.revoked_at is not None:
            self.message_user(request, "There is no override to revoke.", messages.WARNING)
            return redirect("admin:patients_patient_change", patient.pk)
        form = OverrideRevokeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.screening_override_revoke(
                    override=override,
                    by=request.user,
                    reason=form.cleaned_data["reason"],
                    channel=Channel.ADMIN,
                    request=request,
                )
            except (ValidationError, PermissionDenied) as error:
                _add_errors(form, error)
            else:
                self.message_user(
                    request, "Override revoked: inversion is paused.", messages.SUCCESS
                )
                return redirect("admin:patients_patient_change", patient.pk)
        intro = f"Override by {_name(override.clinician)}: {override.reason}"
        return self._render(
            request, patient, title=f"Revoke the override for {patient}", form=form, intro=intro
        )

    def confirm_screening_view(self, request, pk: int):
        patient = self._patient_or_404(request, pk)
        awaiting = services.screening_awaiting(patient)
        if awaiting is None:
            self.message_user(request, "No screening awaits confirmation.", messages.WARNING)
            return redirect("admin:patients_patient_change", patient.pk)
        form = ScreeningConfirmForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.screening_confirm(
                    screening=awaiting, by=request.user, channel=Channel.ADMIN, request=request
                )
            except (ValidationError, PermissionDenied) as error:
                _add_errors(form, error)
            else:
                self.message_user(
                    request,
                    f"Screening confirmed: {awaiting.get_outcome_display()}.",
                    messages.SUCCESS,
                )
                return redirect("admin:patients_patient_change", patient.pk)
        current = patient.current_screening
        intro = (
            f"Current: {current.get_outcome_display() if current else 'not screened'}. "
            f"The patient's answers (intake {awaiting.intake.number}): "
            f"{awaiting.get_outcome_display()}. Findings: "
            + ("; ".join(f["evidence"] for f in awaiting.findings) or "none")
        )
        return self._render(
            request, patient, title=f"Confirm the screening of {patient}", form=form, intro=intro
        )

    def _referral_target(self, request, patient: Patient):
        """Which red flag a referral page answers: the urgent screening's, or (?for=checkin,
        or no urgent screening) the one reported at a check-in. (screening or None, referral)."""
        screening = patient.current_screening
        urgent = screening is not None and screening.outcome == Outcome.URGENT_REFERRAL
        wants_checkin = request.GET.get("for") == "checkin" or not urgent
        if wants_checkin and patient.red_flag_reported_at is not None:
            return None, services.checkin_referral(patient)
        return screening, Referral.objects.filter(screening=screening).first()

    def referral_view(self, request, pk: int):
        patient = self._patient_or_404(request, pk)
        screening, _ = self._referral_target(request, patient)
        form = ReferralForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.referral_record(
                    patient=patient,
                    screening=screening,
                    by=request.user,
                    referred_to=form.cleaned_data["referred_to"],
                    referred_on=form.cleaned_data["referred_on"],
                    channel=Channel.ADMIN,
                    request=request,
                )
            except (ValidationError, PermissionDenied) as error:
                _add_errors(form, error)
            else:
                self.message_user(request, "Urgent referral recorded.", messages.SUCCESS)
                return redirect("admin:patients_patient_change", patient.pk)
        intro = (
            f"For the red flag reported at a check-in: {patient.red_flag_note}"
            if screening is None
            else "For the urgent-referral screening."
        )
        return self._render(
            request, patient, title=f"Urgent referral for {patient}", form=form, intro=intro
        )

    def referral_result_view(self, request, pk: int):
        patient = self._patient_or_404(request, pk)
        screening, referral = self._referral_target(request, patient)
        if referral is None:
            url = reverse("admin:patients_patient_referral", args=[patient.pk])
            return redirect(f"{url}?for={'screening' if screening else 'checkin'}")
        form = ReferralResultForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.referral_result_record(
                    referral=referral,
                    by=request.user,
                    result=form.cleaned_data["result"],
                    notes=form.cleaned_data["result_notes"],
                    channel=Channel.ADMIN,
                    request=request,
                )
            except (ValidationError, PermissionDenied) as error:
                _add_errors(form, error)
            else:
                self.message_user(request, "Referral result recorded.", messages.SUCCESS)
                return redirect("admin:patients_patient_change", patient.pk)
        intro = f"Referred to {referral.referred_to} on {referral.referred_on:%d %b %Y}."
        return self._render(
            request, patient, title=f"Referral result for {patient}", form=form, intro=intro
        )


def _name(user) -> str:
    return user.get_full_name() or user.username if user is not None else "—"


def findings_table(findings: list[dict]) -> str:
    if not findings:
        return mark_safe("<p>No findings.</p>")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
        (
            (outcome_badge_for_tier(f["tier"]), f["code"], f["evidence"], f["clinician_message"])
            for f in findings
        ),
    )
    return format_html(
        '<table class="inv-findings"><thead><tr><th>Tier</th><th>Rule</th>'
        "<th>Evidence</th><th>For the clinician</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


def outcome_badge_for_tier(tier: str) -> str:
    if tier == Outcome.CLEARED:  # a note that does not change the outcome
        return format_html('<span style="{}">Note</span>', _style("#444", "#eee"))
    fg, bg = BADGE_COLOURS.get(tier, ("#444", "#eee"))
    return format_html('<span style="{}">{}</span>', _style(fg, bg), Outcome(tier).label)


def _add_errors(form, error) -> None:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, getattr(error, "messages", None) or str(error))


@admin.register(Intake)
class IntakeAdmin(ClinicScopedAdmin):
    """An intake and its findings, readable on one page. Intakes are never edited."""

    clinic_lookup = "patient__clinic"
    list_display = ["patient", "number", "taken_on", "reason", "channel"]
    list_select_related = ["patient"]
    fields = [
        "patient",
        "number",
        "taken_on",
        "reason",
        "channel",
        "recorded_by",
        "measurements",
        "answers_table",
        "findings_table",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Measurements")
    def measurements(self, intake: Intake) -> str:
        return format_html(
            "Blood pressure {}/{} mmHg (by {}, {}) · {} kg · {} cm · pain {}/10 · ODI {}",
            intake.systolic_bp,
            intake.diastolic_bp,
            intake.bp_measured_by,
            f"{timezone.localtime(intake.bp_measured_at):%d %b %Y %H:%M}",
            intake.weight_kg,
            intake.height_cm,
            intake.baseline_pain,
            "not answered" if intake.odi_percent is None else f"{intake.odi_percent}%",
        )

    @admin.display(description="Answers")
    def answers_table(self, intake: Intake) -> str:
        answers = intake.answers
        rows = []
        for name, question in ANSWER_QUESTIONS.items():
            value = answers.get(name)
            if name.endswith("_date"):
                if value:
                    rows.append((question, value))
                continue
            rows.append((question, "Yes" if value else "No"))
        conditions = [Condition.LABELS.get(code, code) for code in answers.get("conditions", [])]
        medications = [Medication.LABELS.get(code, code) for code in answers.get("medications", [])]
        rows.append(("Conditions", ", ".join(conditions) or "None"))
        rows.append(("Medications", ", ".join(medications) or "None"))
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows)
        )

    @admin.display(description="Findings")
    def findings_table(self, intake: Intake) -> str:
        screening = intake.screenings.order_by("-created_at").first()
        if screening is None or not screening.findings:
            return "No findings (cleared)." if screening else "Not screened."
        return format_html(
            "<p>{} (rules {})</p><table>{}</table>",
            outcome_badge(screening),
            screening.rule_set_version,
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        outcome_badge_for_tier(f["tier"]),
                        f["code"],
                        f["evidence"],
                        f["clinician_message"],
                    )
                    for f in screening.findings
                ),
            ),
        )
