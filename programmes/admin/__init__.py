"""Clinicians' admin for the exercise library, templates, patients' plans and alerts.

One module per page family (`library`, `plans` with its forms in `plan_forms`,
`alerts`); importing this package registers them all.
"""

from programmes.admin import alerts, library, plans
from programmes.admin.alerts import ClinicianAlertAdmin
from programmes.admin.library import ExerciseAdmin, ExerciseForm, ProgrammeTemplateAdmin
from programmes.admin.plan_forms import (
    PlanAddForm,
    PlanChangeForm,
    PlanExerciseFormSet,
    PlanStepFormSet,
    ReasonForm,
    ResumeForm,
    plan_responsible,
    row_edits,
)
from programmes.admin.plans import PlanAdmin

__all__ = [
    "ClinicianAlertAdmin",
    "ExerciseAdmin",
    "ExerciseForm",
    "PlanAddForm",
    "PlanAdmin",
    "PlanChangeForm",
    "PlanExerciseFormSet",
    "PlanStepFormSet",
    "ProgrammeTemplateAdmin",
    "ReasonForm",
    "ResumeForm",
    "alerts",
    "library",
    "plan_responsible",
    "plans",
    "row_edits",
]
