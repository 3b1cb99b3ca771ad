"""Patients' plans in the admin.

Plans change only through `programmes.services`: the change form calls `plan_update`
and its inlines `plan_prescription_update` (each locks the plan and writes only what
changed), and the buttons on a plan's page post to small views that call one service
and show its refusal as a message. Only the patient's responsible clinician (or the
plan's) and clinic administrators change a plan, as in the API.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from clinic.admin import ClinicScopedAdmin
from clinic.permissions import may_change_patient
from clinic.roles import clinic_of
from patients.admin import outcome_badge
from patients.models import Channel
from programmes import services
from programmes.admin.library import shared_or_own
from programmes.admin.plan_forms import (
    PlanAddForm,
    PlanChangeForm,
    PlanExerciseInline,
    PlanStepInline,
    ReasonForm,
    ResumeForm,
    plan_responsible,
    row_edits,
)
from programmes.models import (
    Plan,
    PlanExercise,
    PlanInversionStep,
    PlanStatus,
    ProgrammeTemplate,
)


@admin.register(Plan)
class PlanAdmin(ClinicScopedAdmin):
    list_display = [
        "patient",
        "name",
        "status",
        "current_step_text",
        "proposal_text",
        "start_date",
        "clinician",
    ]
    list_filter = ["status", "auto_advance", "inversion_paused"]
    search_fields = ["patient__first_name", "patient__last_name", "name"]
    list_select_related = ["patient", "current_step", "clinician"]
    readonly_fields = [
        "patient_panel",
        "status",
        "current_step_text",
        "proposal_text",
        "pause_reason",
        "timeline",
    ]
    change_form_template = "admin/programmes/plan/change_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = PlanChangeForm if obj is not None else PlanAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            form.base_fields["template"].queryset = shared_or_own(
                ProgrammeTemplate.objects.filter(is_active=True), request
            )
            # Only patients whose care this user may change (the clinic's, by the rule).
            scoped = form.base_fields["patient"].queryset
            mine = scoped.only("pk", "clinic", "clinician")
            form.base_fields["patient"].queryset = scoped.filter(
                pk__in=[p.pk for p in mine if may_change_patient(request.user, p)]
            )
            form.base_fields["start_date"].initial = timezone.localdate()
            patient_id = request.GET.get("patient")
            if patient_id:
                form.base_fields["patient"].initial = patient_id
        return form

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (
                    None,
                    {
                        "fields": [
                            "patient",
                            "template",
                            "start_date",
                            "ceiling_deg",
                            "full_inversion_allowed",
                            "auto_advance",
                        ]
                    },
                )
            ]
        return [
            (
                None,
                {
                    "fields": [
                        "patient_panel",
                        "name",
                        "status",
                        "current_step_text",
                        "proposal_text",
                        "pause_reason",
                    ]
                },
            ),
            (
                "Settings",
                {"fields": ["start_date", "ceiling_deg", "full_inversion_allowed", "auto_advance"]},
            ),
            ("History", {"fields": ["timeline"]}),
        ]

    def get_inlines(self, request, obj):
        return [PlanStepInline, PlanExerciseInline] if obj is not None else []

    def get_readonly_fields(self, request, obj=None):
        # A running plan's start date never moves: it would lift the first weeks' limits.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != PlanStatus.DRAFT:
            fields.append("start_date")
        return fields

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or plan_responsible(request.user, obj)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "patient__current_screening", "current_step", "proposal_target", "clinician"
            )
        )

    def save_model(self, request, obj, form, change):
        if change:
            # Only what this form changed, on the locked row: never a whole-row save that
            # would write back a pause or a step read before a concurrent check-in.
            services.plan_update(
                plan=obj,
                changes={name: form.cleaned_data[name] for name in form.changed_data},
                by=request.user,
                channel=Channel.ADMIN,
                request=request,
            )
            return
        plan = services.plan_create_from_template(
            patient=form.cleaned_data["patient"],
            template=form.cleaned_data["template"],
            by=request.user,
            start_date=form.cleaned_data["start_date"],
            ceiling_deg=form.cleaned_data["ceiling_deg"],
            full_inversion_allowed=form.cleaned_data["full_inversion_allowed"],
            auto_advance=form.cleaned_data["auto_advance"],
        )
        obj.pk = plan.pk
        obj.__dict__.update({k: v for k, v in plan.__dict__.items() if not k.startswith("_")})

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as refusal:
            # The service refused (screening, exercises): say why and keep what was typed.
            for message in refusal.messages:
                self.message_user(request, message, messages.ERROR)
            return redirect(f"{reverse('admin:programmes_plan_add')}?{request.GET.urlencode()}")

    def save_related(self, request, form, formsets, change):
        if not change:  # a new plan's rows were copied from its template by the service
            return
        edits = {}
        for formset in formsets:
            if formset.model is PlanInversionStep:
                edits["steps"] = row_edits(formset, services.STEP_FIELDS)
            elif formset.model is PlanExercise:
                edits["exercises"] = row_edits(formset, services.DOSE_FIELDS)
            # The service saves the rows (and the plan's timeline names them); the admin's
            # log entry reads these lists a saved form set would have.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        services.plan_prescription_update(
            plan=form.instance, **edits, by=request.user, channel=Channel.ADMIN, request=request
        )

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            "Plan created as a draft: check the steps and exercises, then Activate.",
            messages.SUCCESS,
        )
        return redirect("admin:programmes_plan_change", obj.pk)

    # Read-only panels.

    @admin.display(description="Patient")
    def patient_panel(self, plan: Plan) -> str:
        url = reverse("admin:patients_patient_change", args=[plan.patient_id])
        return format_html(
            '<a href="{}">{}</a> {}',
            url,
            plan.patient,
            outcome_badge(plan.patient.current_screening),
        )

    @admin.display(description="Current step")
    def current_step_text(self, plan: Plan) -> str:
        if plan.current_step is None:
            return (
                "Exercise only"
                if not plan.pk or not plan.inversion_steps.exists()
                else "Not started"
            )
        text = f"Step {plan.current_step.order + 1}: {plan.current_step.describe()}"
        return f"{text} (inversion paused)" if plan.inversion_paused else text

    @admin.display(description="Proposal")
    def proposal_text(self, plan: Plan) -> str:
        if not plan.proposal_action:
            return "—"
        return format_html(
            "<strong>{}</strong>: {}", plan.proposal_action.replace("_", " "), plan.proposal_reason
        )

    @admin.display(description="Timeline")
    def timeline(self, plan: Plan) -> str:
        events = plan.events.select_related("by")[:100]
        return format_html(
            '<ol class="inv-timeline">{}</ol>',
            format_html_join(
                "",
                "<li><time>{}</time> · <strong>{}</strong> · {} — {}</li>",
                (
                    (
                        timezone.localtime(e.at).strftime("%d %b %Y %H:%M"),
                        e.get_kind_display(),
                        (e.by.get_full_name() or e.by.username) if e.by else "system",
                        e.reason or "",
                    )
                    for e in events
                ),
            ),
        )

    # Action buttons.

    ACTIONS = {
        "activate": ("Activate", False),
        "pause": ("Pause…", True),
        "resume": ("Resume", False),
        "advance": ("Advance a step", False),
        # Sooner than the engine's pace: the clinician's reason is recorded and audited.
        "advance_override": ("Advance before the pace allows…", True),
        "go_back": ("Go back a step", False),
        "end": ("End…", True),
    }

    REASON_HELP = {
        "advance_override": "The clinical reason for advancing before 3 tolerated sessions "
        "on distinct days at this step. Recorded in the plan's history and the audit trail "
        "with your name. The caps still apply.",
    }

    def available_actions(self, plan: Plan) -> list[tuple[str, str]]:
        names = []
        if plan.status == PlanStatus.DRAFT:
            names = ["activate", "end"]
        elif plan.status == PlanStatus.ACTIVE:
            names = ["pause", "advance", "advance_override", "go_back", "end"]
            if plan.inversion_paused:
                names.insert(0, "resume")
        elif plan.status == PlanStatus.PAUSED:
            names = ["resume", "go_back", "end"]
        if plan.current_step_id is None:
            names = [n for n in names if n not in ("advance", "advance_override", "go_back")]
        return [
            (name, "Resume…" if name == "resume" and services.resume_needs(plan) else label)
            for name, label in ((name, self.ACTIONS[name][0]) for name in names)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        plan = self.get_object(request, object_id)
        if plan is not None and plan_responsible(request.user, plan):
            extra_context["plan_actions"] = [
                (reverse("admin:programmes_plan_action", args=[plan.pk, name]), label)
                for name, label in self.available_actions(plan)
            ]
        try:
            return super().change_view(request, object_id, form_url, extra_context)
        except ValidationError as refusal:
            # The service refused under the plan's lock (the plan changed since the page
            # was read, say): nothing was saved; say why.
            for message in refusal.messages:
                self.message_user(request, f"Not saved: {message}", messages.ERROR)
            return redirect("admin:programmes_plan_change", object_id)

    def get_urls(self):
        return [
            path(
                "<int:pk>/do/<str:name>/",
                self.admin_site.admin_view(self.action_view),
                name="programmes_plan_action",
            ),
            *super().get_urls(),
        ]

    def action_view(self, request, pk: int, name: str):
        if name not in self.ACTIONS or not self.has_change_permission(request):
            raise Http404
        if clinic_of(request.user) is None and not request.user.is_superuser:
            raise PermissionDenied
        try:
            plan = self.get_queryset(request).get(pk=pk)
        except Plan.DoesNotExist:
            raise Http404 from None
        if not plan_responsible(request.user, plan):
            raise PermissionDenied
        label, needs_reason = self.ACTIONS[name]
        form_class, intro = (ReasonForm if needs_reason else None), ""
        if name == "resume" and services.resume_needs(plan):
            # After a stop or red-flag symptom: confirm the review and give the reason.
            form_class = ResumeForm
            intro = (
                f"Inversion was stopped: {plan.pause_reason or 'a symptom was reported'}. "
                "Resume only after reviewing it with the patient."
            )
        confirmed = False
        if form_class is not None:
            posted = request.method == "POST" and "reason" in request.POST
            form = form_class(request.POST if posted else None)
            if name in self.REASON_HELP:
                form.fields["reason"].help_text = self.REASON_HELP[name]
            if not form.is_valid():
                return TemplateResponse(
                    request,
                    "admin/programmes/plan/reason_form.html",
                    {
                        **self.admin_site.each_context(request),
                        "opts": self.model._meta,
                        "original": plan,
                        "title": f"{label.rstrip('…')} — {plan}",
                        "action_url": request.path,
                        "form": form,
                        "intro": intro,
                    },
                )
            reason = form.cleaned_data["reason"].strip()
            confirmed = bool(form.cleaned_data.get("confirm"))
        elif request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        else:
            reason = request.POST.get("reason", "").strip()
        calls = {
            "activate": lambda: services.plan_activate(plan=plan, by=request.user),
            "pause": lambda: services.plan_pause(plan=plan, by=request.user, reason=reason),
            "resume": lambda: services.plan_resume(
                plan=plan, by=request.user, reason=reason, confirmed=confirmed
            ),
            "advance": lambda: services.plan_advance(plan=plan, by=request.user, reason=reason),
            "advance_override": lambda: services.plan_advance(
                plan=plan, by=request.user, pace_override_reason=reason
            ),
            "go_back": lambda: services.plan_go_back(plan=plan, by=request.user, reason=reason),
            "end": lambda: services.plan_end(plan=plan, by=request.user, reason=reason),
        }
        try:
            calls[name]()
        except ValidationError as refusal:
            self.message_user(
                request,
                f"{label.rstrip('…')} refused: {' '.join(refusal.messages)}",
                messages.ERROR,
            )
        else:
            self.message_user(request, f"{label.rstrip('…')}: done.", messages.SUCCESS)
        return redirect("admin:programmes_plan_change", plan.pk)
