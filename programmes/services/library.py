"""The exercise library and the programme templates: saving them, and what a change to
one would do to the plans that prescribe it."""

from __future__ import annotations

from django.db import transaction

from clinic.roles import clinic_of
from programmes.domain.permission import INVERSION_CATEGORY
from programmes.domain.progression import template_problems
from programmes.models import Exercise, Plan, ProgrammeTemplate, TemplateKind

# What an exercise of the library is, as a prescription counts it: its category, its
# default hold (a plan's blank hold), and the screening outcomes it must not be given to.
EXERCISE_PRESCRIBING_FIELDS = ("category", "default_hold_seconds", "contraindication_tags")


def exercise_change_problems(exercise: Exercise, changes: dict) -> dict[str, str]:
    """Why this change to a library exercise (field: new value) can't be saved (empty: it can).

    Its category and default hold are what plans in use prescribe (an inversion exercise
    is inversion; a blank hold on a plan is the library's): a change would rewrite those
    prescriptions past every check, so it waits until no plan in use holds it.
    """
    if exercise.pk is None:
        return {}
    stored = Exercise.objects.filter(pk=exercise.pk).values(*EXERCISE_PRESCRIBING_FIELDS).get()
    fields = [
        name
        for name, value in changes.items()
        if name in EXERCISE_PRESCRIBING_FIELDS and _differs_stored(value, stored[name])
    ]
    inversion = INVERSION_CATEGORY in (stored["category"], changes.get("category"))
    if not fields or (fields == ["default_hold_seconds"] and not inversion):
        return {}  # a default hold of a non-inversion exercise is only a default
    in_use = Plan.objects.in_use().filter(exercises__exercise_id=exercise.pk).distinct().count()
    if not in_use:
        return {}
    message = (
        f"On {in_use} plan{'s' if in_use != 1 else ''} in use: this would change what "
        "they prescribe. Add a new exercise instead."
    )
    return {name: message for name in fields}


def _differs_stored(value, stored) -> bool:
    if isinstance(stored, list):  # tags: only one taken away loosens a prescription
        return bool(set(stored) - set(value or ()))
    return value != stored


def _owned_by_adder(row: Exercise | ProgrammeTemplate, by) -> None:
    # A new row is the clinic's of whoever adds it; a superuser chooses (none: shipped).
    if row.pk is None and not by.is_superuser:
        row.clinic = clinic_of(by)


@transaction.atomic
def exercise_save(*, exercise: Exercise, by) -> Exercise:
    """Save an exercise of the library (its form has asked `exercise_change_problems`)."""
    _owned_by_adder(exercise, by)
    exercise.save()
    return exercise


@transaction.atomic
def template_save(*, template: ProgrammeTemplate, by) -> ProgrammeTemplate:
    """Save a programme template's own fields (its steps' form set keeps them within
    `template_problems`)."""
    _owned_by_adder(template, by)
    template.save()
    return template


def template_check(template: ProgrammeTemplate) -> tuple[str, ...]:
    """Cap problems of a template's steps (default ceiling), for the template admin."""
    steps = [s.as_domain() for s in template.inversion_steps.order_by("order")]
    return template_problems(steps, exercise_only=template.kind == TemplateKind.EXERCISE_ONLY)
