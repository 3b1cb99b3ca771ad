"""The forms of a plan's admin pages: its settings, its inline steps and exercises, and
the reasons its actions ask for. They check shape and ask the services' questions; the
services decide again under the plan's lock when the page is saved."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from clinic.admin import ClinicScopedInline
from clinic.permissions import may_change_plan
from programmes import services
from programmes.admin.library import steps_from_formset
from programmes.domain.caps import above_ceiling, ceiling_refusal
from programmes.domain.progression import template_violations
from programmes.models import (
    Plan,
    PlanExercise,
    PlanInversionStep,
    PlanStatus,
    ProgrammeTemplate,
)


def row_edits(formset, fields: tuple[str, ...]) -> services.RowEdits:
    """What a valid inline form set adds, changes (only the changed fields) and deletes."""
    added, changed, deleted = [], {}, []
    doomed = formset.deleted_forms if formset.can_delete else []
    for form in formset.forms:
        if any(form is gone for gone in doomed):
            if form.instance.pk is not None:
                deleted.append(form.instance.pk)
            continue
        # A view-only inline's forms never report a change (InlineModelAdmin.get_formset).
        if not form.has_changed():
            continue
        data = form.cleaned_data
        if form.instance._state.adding:
            added.append({name: data[name] for name in fields if name in data})
        else:
            changed[form.instance.pk] = {
                name: data[name] for name in form.changed_data if name in fields
            }
    return services.RowEdits(added=tuple(added), changed=changed, deleted=tuple(deleted))


def _refuse(problems: dict[str, list[str]]) -> None:
    if problems:
        raise ValidationError([message for found in problems.values() for message in found])


class PlanStepFormSet(BaseInlineFormSet):
    """A draft plan's steps keep the caps at the plan's own ceiling, and none is added or
    changed for a patient whose permission today refuses inversion."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        plan = self.instance
        steps = steps_from_formset(self)
        problems = template_violations(
            steps, ceiling_deg=plan.ceiling_deg, full_inversion_allowed=plan.full_inversion_allowed
        )
        if problems:
            raise ValidationError(list(problems))
        edits = row_edits(self, services.STEP_FIELDS)
        if edits:
            _refuse(services.plan_prescription_problems(plan=plan, steps=edits))


class PlanExerciseFormSet(BaseInlineFormSet):
    """No exercise today's permission refuses: an inversion-category one (whatever its
    tags) only where inversion is allowed, none tagged with the patient's outcome."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        edits = row_edits(self, services.DOSE_FIELDS)
        if edits:
            _refuse(services.plan_prescription_problems(plan=self.instance, exercises=edits))


def plan_responsible(user, plan: Plan) -> bool:
    """The one rule the API and portal ask too (`clinic.permissions.may_change_plan`)."""
    return may_change_plan(user, plan)


class PlanRowsInline(ClinicScopedInline):
    """A plan's rows, changed only by those responsible for it and while `_editable`."""

    extra = 0

    def _editable(self, request, obj) -> bool:
        raise NotImplementedError

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj) and super().has_delete_permission(request, obj)


class PlanStepInline(PlanRowsInline):
    model = PlanInversionStep
    formset = PlanStepFormSet
    fields = list(services.STEP_FIELDS)

    def _editable(self, request, obj) -> bool:
        return (
            obj is not None
            and obj.status == PlanStatus.DRAFT
            and plan_responsible(request.user, obj)
        )


class PlanExerciseInline(PlanRowsInline):
    model = PlanExercise
    formset = PlanExerciseFormSet
    fields = list(services.DOSE_FIELDS)

    def _editable(self, request, obj) -> bool:
        return (
            obj is not None
            and obj.status not in (PlanStatus.ENDED, PlanStatus.COMPLETED)
            and plan_responsible(request.user, obj)
        )


def _refuse_ceiling(form: forms.ModelForm, cleaned: dict) -> int:
    """Add the ceiling rule's refusal to `form`; the ceiling asked for (0: none valid)."""
    ceiling = cleaned.get("ceiling_deg") or 0
    refusal = ceiling_refusal(
        ceiling, full_inversion_allowed=bool(cleaned.get("full_inversion_allowed"))
    )
    if refusal:
        form.add_error("ceiling_deg", refusal)
    return ceiling


class PlanAddForm(forms.ModelForm):
    """Assignment: pick the patient and the template; the service copies it."""

    template = forms.ModelChoiceField(queryset=ProgrammeTemplate.objects.none(), required=True)

    class Meta:
        model = Plan
        fields = [
            "patient",
            "template",
            "start_date",
            "ceiling_deg",
            "full_inversion_allowed",
            "auto_advance",
        ]

    def clean(self):
        cleaned = super().clean()
        _refuse_ceiling(self, cleaned)
        if cleaned.get("patient") and cleaned.get("template"):
            for field, message in services.plan_assignment_problems(
                patient=cleaned["patient"], template=cleaned["template"]
            ).items():
                self.add_error(field, message)
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="Recorded in the plan's history with your name.",
    )


class ResumeForm(forms.Form):
    """Resuming inversion after a stop or red-flag symptom: a reason and a confirmation."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="The clinical reason inversion may start again; recorded in the plan's "
        "history and the audit trail with your name.",
    )
    confirm = forms.BooleanField(
        label="I have reviewed the symptom that stopped inversion, and inversion may resume.",
    )


class PlanChangeForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = ["name", "start_date", "ceiling_deg", "full_inversion_allowed", "auto_advance"]

    def clean(self):
        cleaned = super().clean()
        # A running plan shows its start date read-only (`get_readonly_fields`); the
        # service refuses a moved one whatever arrives.
        if "start_date" in self.fields:
            refused = services.plan_start_date_change_refused(
                self.instance, cleaned.get("start_date")
            )
            if refused:
                self.add_error("start_date", refused)
        ceiling = _refuse_ceiling(self, cleaned)
        step = self.instance.current_step
        if (
            step is not None
            and ceiling
            and above_ceiling(
                step.angle_deg,
                ceiling_deg=ceiling,
                full_inversion_allowed=bool(cleaned.get("full_inversion_allowed")),
            )
        ):
            self.add_error(
                "ceiling_deg", f"The current step is at {step.angle_deg}°: go back a step first."
            )
        return cleaned
