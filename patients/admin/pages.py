"""The patient's action pages in the admin: intake, override and its revocation,
confirming a screening, a referral and its result. Each collects input, calls one
service, and shows the service's refusal on the form."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from patients import services
from patients.admin.display import staff_name
from patients.forms import (
    INTAKE_STEPS,
    IntakeForm,
    OverrideForm,
    OverrideRevokeForm,
    ReferralForm,
    ReferralResultForm,
    ScreeningConfirmForm,
)
from patients.models import Channel, Outcome, Patient, Referral


class PatientActionPages:
    """Mixin for `PatientAdmin`: explicit actions with their own forms."""

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
        intro = f"Override by {staff_name(override.clinician)}: {override.reason}"
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


def _add_errors(form, error) -> None:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, getattr(error, "messages", None) or str(error))
