"""The patient portal: thin views over services and user-scoped querysets.

Each view finds the signed-in patient (`patient_view`), parses input with a form
from `portal.forms`, calls one service, and renders. Service
ValidationErrors are shown next to the fields they name, never as a 500.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django_htmx.http import HttpResponseClientRedirect

from clinic.audit import audit_read
from patients.domain.answers import RED_FLAG_QUESTIONS
from patients.forms import INTAKE_STEPS
from patients.models import Channel, Patient
from patients.services import (
    IntakeMeasurements,
    answers_from_json,
    intake_screening,
    intake_submit,
    patient_health_update,
    patient_local_date,
    patient_reminder_settings_update,
)
from portal.forms import (
    CHECKIN_SERVICE_FIELDS,
    CheckInForm,
    HealthUpdateForm,
    PortalIntakeForm,
    QuestionnaireForm,
    ReminderSettingsForm,
    add_service_errors,
    intake_raw_values,
)
from programmes import services
from programmes.adherence import recent_adherence, weekly_adherence
from programmes.checkins import (
    checkin_calendar,
    checkin_submit,
    pain_series,
    questionnaire_due,
    questionnaire_submit,
    running_plan,
)
from programmes.domain.adherence import AdherenceBand
from programmes.domain.symptoms import pain_needs_alert
from programmes.models import CheckIn, PlanExercise, QuestionnaireResponse
from programmes.permission import patient_today

INTAKE_DRAFT = "intake_draft"
HISTORY_PAGE_SIZE = 20
PROGRESS_DAYS = 90
ADHERENCE_WEEKS = 8

PortalView = Callable[..., HttpResponse]


# What each page's `read` audit row says, and the record a detail page's `pk` names.
PAGE_READS: dict[str, tuple[str, str]] = {
    "home": ("Today read", "patients.patient"),
    "checkin": ("Check-in page read", "patients.patient"),
    "history": ("History read", "patients.patient"),
    "checkin_detail": ("Check-in read", "programmes.checkin"),
    "progress": ("Progress read", "patients.patient"),
    "health_update": ("Health read", "patients.patient"),
    "intake": ("Intake read", "patients.patient"),
    "settings": ("Reminder settings read", "patients.patient"),
    "questionnaire": ("Questionnaire read", "patients.patient"),
}


def patient_view(view: PortalView) -> PortalView:
    """Pass the signed-in user's own patient record; staff go to the admin, others 404.

    Every page it answers (200) leaves one `read` audit row naming the patient: all of the
    portal shows a patient's own health data, so no page can forget its row.
    """
    summary, object_type = PAGE_READS.get(view.__name__, (f"{view.__name__} read", ""))

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        patient = (
            Patient.objects.own(request.user).select_related("clinic", "current_screening").first()
        )
        if patient is None:
            if request.user.is_staff:
                return redirect("admin:index")
            raise Http404("This account has no patient record.")
        with timezone.override(patient.zone):  # dates and times in the patient's own zone
            response = view(request, patient, *args, **kwargs)
        if response.status_code == 200:
            detail = object_type != "patients.patient" and "pk" in kwargs
            audit_read(
                request,
                object_type=object_type or "patients.patient",
                object_id=str(kwargs["pk"] if detail else patient.pk),
                clinic_id=patient.clinic_id,
                patient_ids=[patient.pk],
                channel=Channel.PORTAL,
                summary=summary,
            )
        return response

    return wrapper


def _render(
    request: HttpRequest, patient: Patient, template: str, context: dict | None = None
) -> HttpResponse:
    context = {
        "patient": patient,
        "needs_intake": not patient.intakes.exists(),
        **(context or {}),
    }
    return render(request, f"portal/{template}", context)


# 1. Today.


@login_required
@patient_view
def home(request: HttpRequest, patient: Patient) -> HttpResponse:
    prescription = services.prescription_for(patient)
    plan = prescription.plan
    return _render(
        request,
        patient,
        "today.html",
        {
            "prescription": prescription,
            "step": prescription.inversion,
            "plan": plan,
            "questionnaire_due": questionnaire_due(patient, plan, prescription.day),
            "todays_checkins": CheckIn.objects.for_user(request.user).filter(
                patient=patient, local_date=prescription.day
            ),
        },
    )


# 2. Check in.


@login_required
@patient_view
@never_cache
def checkin(request: HttpRequest, patient: Patient) -> HttpResponse:
    prescription = services.prescription_for(patient)
    plan = prescription.plan
    template = "_checkin_panel.html" if request.htmx else "checkin.html"
    nothing = {"nothing_reason": prescription.nothing_reason}
    if plan is None and request.method != "POST":
        return _render(request, patient, template, nothing)
    form = CheckInForm(
        request.POST if request.method == "POST" else None,
        # Only what today's permission allows (never an inversion exercise it refuses).
        plan_exercises=PlanExercise.objects.filter(
            pk__in=[exercise.id for exercise in prescription.exercises]
        ).select_related("exercise"),
        inversion_step=prescription.inversion,
    )
    context = {"form": form, "prescription": prescription, "step": prescription.inversion}
    if request.method != "POST":
        return _render(request, patient, template, context)
    valid = form.is_valid()
    if plan is None and not form.safety_symptoms():
        # The plan ended while the form was open: nothing to store, and nothing to act on.
        return _render(request, patient, template, nothing)
    # A stop symptom is acted on even when another answer is wrong (CLINICAL.md s.4).
    if valid or form.safety_signal():
        try:
            result = checkin_submit(
                patient=patient,
                data=form.to_input(),
                refused=form.refused(),
                channel=Channel.PORTAL,
                request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error, CHECKIN_SERVICE_FIELDS)
        else:
            checkin = result.checkin
            if result.assessment.stop or result.went_back or result.refused:
                plan_now = result.plan  # as the check-in left it, with no second read
                context.update(
                    result=result,
                    inversion_paused=result.inversion_paused
                    or bool(plan_now and plan_now.inversion_paused),
                    current_step=plan_now.current_step if plan_now else None,
                )
                return _render(request, patient, template, context)
            messages.success(request, _checkin_thanks(checkin, result))
            url = reverse("portal:history")
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return _render(request, patient, template, context)


def _checkin_thanks(checkin: CheckIn, result) -> str:
    if not result.created:
        return "That check-in was already saved: it is not counted twice."
    day = checkin.local_date
    text = f"Check-in saved for {day:%A} {day.day} {day:%B}. Thank you."
    if pain_needs_alert(checkin.pain_before, checkin.pain_after):
        # Told only when an alert stands for it (not when today's was already handled).
        text += (
            " Your pain score is 7 or more, so your clinician has been told."
            if result.clinician_alerted
            else " Your pain score is 7 or more: your clinician will see it."
        )
    if checkin.symptoms:
        text += " Your clinician will see the symptoms you reported."
    return text


# 3. History.


# No record is older; the month before year 1's January would overflow `date`.
EARLIEST_MONTH = date(1900, 1, 1)


def _month_from(value: str | None, today: date) -> date:
    this_month = today.replace(day=1)
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        chosen = date(year, month, 1)
    except ValueError:
        return this_month
    if chosen < EARLIEST_MONTH:
        return this_month
    return min(chosen, this_month)


def _shift_month(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@login_required
@patient_view
def history(request: HttpRequest, patient: Patient) -> HttpResponse:
    today = patient_today(patient)
    month = _month_from(request.GET.get("month"), today)
    last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    days = checkin_calendar(patient, start=month, end=last_day, today=today)
    counts = Counter(day.status for day in days)
    checkins = (
        CheckIn.objects.for_user(request.user)
        .filter(patient=patient)
        .select_related("step")
        .order_by("-local_date", "-submitted_at")
    )
    next_month = _shift_month(month, 1)
    return _render(
        request,
        patient,
        "history.html",
        {
            "month": month,
            "days": days,
            "leading_blanks": range(month.weekday()),
            "counts": counts,
            "today": today,
            "previous_month": _shift_month(month, -1),
            "next_month": next_month if next_month <= today else None,
            "page": Paginator(checkins, HISTORY_PAGE_SIZE).get_page(request.GET.get("page")),
        },
    )


@login_required
@patient_view
def checkin_detail(request: HttpRequest, patient: Patient, pk: int) -> HttpResponse:
    checkin = get_object_or_404(
        CheckIn.objects.for_user(request.user)
        .filter(patient=patient)
        .select_related("step", "plan")
        .prefetch_related("exercises_done__exercise"),
        pk=pk,
    )
    return _render(
        request,
        patient,
        "checkin_detail.html",
        {
            "checkin": checkin,
            "submitted_at": timezone.localtime(checkin.submitted_at, patient.zone),
        },
    )


# 4. Progress.


@login_required
@patient_view
def progress(request: HttpRequest, patient: Patient) -> HttpResponse:
    today = patient_today(patient)
    recent = recent_adherence(patient.pk, today=today)
    end = recent.through
    first_week = today - timedelta(days=today.weekday() + 7 * (ADHERENCE_WEEKS - 1))
    # The steps are shown only when today's prescription includes inversion: the same
    # gate as Today (plan paused, inversion paused, screening or override lapsed).
    prescription = services.prescription_for(patient, today)
    plan = prescription.plan
    current = prescription.inversion
    steps = list(plan.inversion_steps.order_by("order")) if current else []
    upcoming = [s for s in steps if s.order > current.order]
    # The start is the first intake (as the staff reports count ODI change), not a health
    # update's re-screen, which carries the same scores under a later date.
    intake = patient.intakes.order_by("number").first()
    return _render(
        request,
        patient,
        "progress.html",
        {
            "pain_points": pain_series(patient, since=today - timedelta(days=PROGRESS_DAYS - 1)),
            "weeks": weekly_adherence(patient.pk, start=first_week, end=end)
            if end >= first_week
            else [],
            "last_30": recent.last_30_days,
            "band_labels": AdherenceBand.LABELS,
            "plan": plan,
            "steps": steps,
            "current_step": current,
            "next_step": upcoming[0] if upcoming else None,
            "has_inversion": plan is not None and plan.current_step_id is not None,
            "inversion_reason": prescription.inversion_reason or prescription.nothing_reason,
            "intake": intake,
            "questionnaires": [
                (response, _odi_change(response.odi_percent, intake))
                for response in QuestionnaireResponse.objects.filter(patient=patient).order_by(
                    "taken_on"
                )
            ],
        },
    )


def _odi_change(percent, intake) -> str | None:
    if intake is None or intake.odi_percent is None:
        return None
    change = percent - intake.odi_percent
    return f"{change:+.1f} points".replace("-", "−")


# 5. Health update.


@login_required
@patient_view
def health_update(request: HttpRequest, patient: Patient) -> HttpResponse:
    intake = patient.intakes.order_by("-number").first()
    if intake is None:
        return _render(request, patient, "health_update.html", {"form": None})
    form = HealthUpdateForm(
        request.POST if request.method == "POST" else None,
        previous=answers_from_json(intake.answers),
        today=patient_local_date(patient),
    )
    if request.method == "POST" and form.is_valid():
        try:
            update = patient_health_update(
                patient=patient,
                changes=form.changes(),
                by=request.user,
                channel=Channel.PORTAL,
                request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            patient.refresh_from_db()
            plan = running_plan(patient)
            return _render(
                request,
                patient,
                "health_update_done.html",
                {
                    **_screening_context(patient, update),
                    "plan": plan,
                    "inversion_paused": bool(plan and plan.inversion_paused),
                },
            )
    return _render(request, patient, "health_update.html", {"form": form})


# 6. Intake, one step a page; what was typed is kept in the session between steps.


def _intake_step(request: HttpRequest) -> int:
    try:
        step = int(request.GET.get("step") or request.POST.get("step") or 1)
    except ValueError:
        step = 1
    return min(max(step, 1), len(INTAKE_STEPS))


@login_required
@patient_view
@never_cache
def intake(request: HttpRequest, patient: Patient) -> HttpResponse:
    if patient.intakes.exists():
        messages.info(request, "You have already sent your intake. Tell us about changes here.")
        return redirect("portal:health_update")
    step = _intake_step(request)
    draft = dict(request.session.get(INTAKE_DRAFT, {}))
    if request.method != "POST":
        form = PortalIntakeForm(initial=draft, patient=patient)
        return _intake_page(request, patient, form, step)

    names = INTAKE_STEPS[step - 1][1]
    draft.update(intake_raw_values(PortalIntakeForm(patient=patient), request.POST, names))
    request.session[INTAKE_DRAFT] = draft
    action = request.POST.get("action", "next")
    if action == "back":
        return redirect(f"{reverse('portal:intake')}?step={max(step - 1, 1)}")

    form = PortalIntakeForm(data=draft, patient=patient)
    form.is_valid()
    if any(name in form.errors for name in names):
        return _intake_page(request, patient, form, step)
    if step < len(INTAKE_STEPS):
        return redirect(f"{reverse('portal:intake')}?step={step + 1}")
    if form.errors:  # an earlier step went wrong (an old draft): show the first one
        return _intake_page(request, patient, form, _first_step_with_errors(form))
    today = patient_local_date(patient)  # the intake is dated in the patient's own day
    cleaned = form.cleaned_data
    try:
        sent = intake_submit(
            patient=patient,
            answers=form.answers(today=today),
            measurements=IntakeMeasurements(
                bp_measured_by=cleaned["bp_measured_by"],
                bp_measured_at=cleaned["bp_measured_at"],
                baseline_pain=cleaned["baseline_pain"],
                odi_sections=form.odi_sections(),
            ),
            by=request.user,
            channel=Channel.PORTAL,
            taken_on=today,
            request=request,
        )
    except ValidationError as error:
        add_service_errors(form, error, {"odi_sections": "odi_0"})
        return _intake_page(request, patient, form, _first_step_with_errors(form))
    request.session.pop(INTAKE_DRAFT, None)
    patient.refresh_from_db()
    return _render(request, patient, "intake_done.html", _screening_context(patient, sent))


def _screening_context(patient: Patient, intake) -> dict:
    """What the patient is told after sending answers: the screening that holds now,
    whether their new answers wait for their clinician (they never loosen it alone), and
    whether a clinician alert was raised (the page says "your clinician has been told"
    only then)."""
    from programmes.screening_alerts import screening_told

    new = intake_screening(intake)
    awaiting = new if new is not None and new.awaiting_confirmation else None
    told = screening_told(awaiting or patient.current_screening)
    return {"screening": patient.current_screening, "awaiting": awaiting, "clinician_told": told}


def _first_step_with_errors(form: PortalIntakeForm) -> int:
    for index, (_, names) in enumerate(INTAKE_STEPS, start=1):
        if any(name in form.errors for name in names):
            return index
    return len(INTAKE_STEPS)


def _intake_page(
    request: HttpRequest, patient: Patient, form: PortalIntakeForm, step: int
) -> HttpResponse:
    title, names = INTAKE_STEPS[step - 1]
    return _render(
        request,
        patient,
        "intake.html",
        {
            "form": form,
            "step": step,
            "step_title": title,
            "step_fields": [form[name] for name in names],
            "step_errors": [form[name] for name in names if name in form.errors],
            "steps": [(index, label) for index, (label, _) in enumerate(INTAKE_STEPS, start=1)],
            "step_count": len(INTAKE_STEPS),
            "is_odi_step": names[0].startswith("odi_"),
            # A warning sign is screened at once: the questionnaire may stay unanswered.
            "odi_optional": any(
                (form.data if form.is_bound else form.initial).get(question) in (True, "on")
                for question in RED_FLAG_QUESTIONS
            ),
        },
    )


# 7. Reminder settings.


@login_required
@patient_view
def settings(request: HttpRequest, patient: Patient) -> HttpResponse:
    form = ReminderSettingsForm(
        request.POST if request.method == "POST" else None, instance=patient
    )
    if request.method == "POST" and form.is_valid():
        try:
            patient_reminder_settings_update(
                patient=patient,
                changes={name: form.cleaned_data[name] for name in form.changed_data},
                by=request.user,
                channel=Channel.PORTAL,
                request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Your reminder settings are saved.")
            return redirect("portal:settings")
    return _render(request, patient, "settings.html", {"form": form})


# 8. Questionnaire.


@login_required
@patient_view
def questionnaire(request: HttpRequest, patient: Patient) -> HttpResponse:
    plan = running_plan(patient)
    form = QuestionnaireForm(request.POST if request.method == "POST" else None)
    if plan is not None and request.method == "POST" and form.is_valid():
        try:
            response = questionnaire_submit(
                patient=patient,
                pain=form.cleaned_data["pain"],
                odi_sections=form.odi_sections(),
                request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error, {"odi_sections": "odi_0", "plan": None})
        else:
            messages.success(
                request,
                f"Thank you: your questionnaire is saved. Your Oswestry score is "
                f"{response.odi_percent}%.",
            )
            return redirect("portal:progress")
    return _render(request, patient, "questionnaire.html", {"form": form, "plan": plan})
