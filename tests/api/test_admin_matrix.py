"""The admin rows of the authorization matrix: add, change, delete and action pages crossed
with every role, every model admin's choices limited to the user's clinic, and crafted
POSTs naming another clinic's rows refused as form errors (nothing saved).

Each request runs in a savepoint that is rolled back, as in `test_authorization_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django import forms
from django.contrib import admin
from django.db import transaction
from django.test import RequestFactory

from clinic.models import Membership, Role
from patients.models import Patient
from programmes import services
from programmes.models import (
    ClinicianAlert,
    Exercise,
    Plan,
    PlanStatus,
    ProgrammeTemplate,
)
from tests.api.conftest import ROLES
from tests.api.test_authorization_matrix import page_client
from tests.factories import PatientFactory, clinician, member, screen

pytestmark = pytest.mark.django_db

APPS = ("clinic", "patients", "programmes")


def expect(anon, pa, pb, ca, cx, staff, admin_) -> dict[str, int]:
    return dict(zip(ROLES, (anon, pa, pb, ca, cx, staff, admin_), strict=True))


@dataclass
class Elsewhere:
    """Another clinic's rows: none may be offered to, or accepted from, clinic A's users."""

    clinic: object
    clinician: object
    patient: Patient
    plan: Plan
    exercise: Exercise
    template: ProgrammeTemplate
    membership: Membership
    alert: ClinicianAlert

    def rows(self) -> dict[type, set[int]]:
        user_model = type(self.clinician)
        return {
            type(self.clinic): {self.clinic.pk},
            user_model: {self.clinician.pk, self.patient.user_id or self.clinician.pk},
            Patient: {self.patient.pk},
            Plan: {self.plan.pk},
            Exercise: {self.exercise.pk},
            ProgrammeTemplate: {self.template.pk},
            Membership: {self.membership.pk},
            ClinicianAlert: {self.alert.pk},
        }


@pytest.fixture
def elsewhere(world) -> Elsewhere:
    clinic = world.users["clinician_other_clinic"].membership.clinic
    patient = PatientFactory(clinic=clinic, clinician=world.users["clinician_other_clinic"])
    screen(patient)
    plan = services.plan_create_from_template(
        patient=patient, template=world.template, by=patient.clinician
    )
    return Elsewhere(
        clinic=clinic,
        clinician=patient.clinician,
        patient=patient,
        plan=plan,
        exercise=Exercise.objects.create(
            clinic=clinic, name="Theirs", slug="theirs", category="core", patient_instructions="x"
        ),
        template=ProgrammeTemplate.objects.create(clinic=clinic, name="Theirs", kind="inversion"),
        membership=member(Role.STAFF, clinic).membership,
        alert=ClinicianAlert.objects.create(
            clinic=clinic, patient=patient, plan=plan, kind="high_pain", message="x", dedupe_key="e"
        ),
    )


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _choice_fields(form_class) -> dict[str, forms.ModelChoiceField]:
    return {
        name: field
        for name, field in form_class.base_fields.items()
        if isinstance(field, forms.ModelChoiceField)
    }


def _own_object(model_admin, request):
    return model_admin.get_queryset(request).order_by("pk").first()


@pytest.mark.parametrize("role", ["clinic_admin", "clinician_a"])
def test_every_model_admin_and_inline_offers_only_the_users_clinic(world, elsewhere, role):
    """For every model admin of the three apps, on its add form and on the change form of
    one of the user's own rows (inlines included): no choice is another clinic's row."""
    request = _request(world.users[role])
    foreign = elsewhere.rows()
    leaks, seen = [], set()
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in APPS:
            continue
        targets = []
        if model_admin.has_add_permission(request):
            targets.append(None)
        own = _own_object(model_admin, request)
        if own is not None and model_admin.has_view_or_change_permission(request, own):
            targets.append(own)
        for obj in targets:
            forms_ = [model_admin.get_form(request, obj, change=obj is not None)]
            forms_ += [
                formset.form
                for formset, _inline in model_admin.get_formsets_with_inlines(request, obj)
            ]
            for form_class in forms_:
                for name, field in _choice_fields(form_class).items():
                    seen.add((model.__name__, name))
                    offered = set(field.queryset.values_list("pk", flat=True))
                    wrong = offered & foreign.get(field.queryset.model, set())
                    if wrong:
                        leaks.append((model.__name__, "add" if obj is None else "change", name))
    assert leaks == []
    # The scoping reached the forms that have choices at all.
    if role == "clinic_admin":
        assert {("Membership", "clinic"), ("Patient", "clinician"), ("Plan", "patient")} <= seen
        assert {("Exercise", "clinic"), ("ProgrammeTemplate", "clinic")} <= seen
        assert {("Plan", "exercise"), ("ProgrammeTemplate", "exercise")} <= seen


def _post(client, url, data):
    with transaction.atomic():
        response = client.post(url, data)
        transaction.set_rollback(True)
    return response


def _template_formsets(steps=0, exercises=0):
    return {
        "inversion_steps-TOTAL_FORMS": steps,
        "inversion_steps-INITIAL_FORMS": 0,
        "exercises-TOTAL_FORMS": exercises,
        "exercises-INITIAL_FORMS": 0,
    }


CRAFTED = {
    "patient add naming another clinic's clinician": (
        lambda w, e: "/admin/patients/patient/add/",
        lambda w, e: {
            "first_name": "Ada",
            "last_name": "Lane",
            "date_of_birth": "1970-02-03",
            "sex": "not_stated",
            "time_zone": "Europe/London",
            "clinician": e.clinician.pk,
            "reminder_time": "18:00",
            "intakes-TOTAL_FORMS": 0,
            "intakes-INITIAL_FORMS": 0,
        },
        lambda w, e: not Patient.objects.filter(last_name="Lane").exists(),
    ),
    "patient reassigned to another clinic's clinician": (
        lambda w, e: f"/admin/patients/patient/{w.patient_a.pk}/change/",
        lambda w, e: {
            "first_name": w.patient_a.first_name,
            "last_name": w.patient_a.last_name,
            "date_of_birth": "1975-06-15",
            "sex": "not_stated",
            "time_zone": "Europe/London",
            "clinician": e.clinician.pk,
            "reminder_time": "18:00",
            "intakes-TOTAL_FORMS": 0,
            "intakes-INITIAL_FORMS": 0,
        },
        lambda w, e: (
            Patient.objects.get(pk=w.patient_a.pk).clinician_id == w.patient_a.clinician_id
        ),
    ),
    "plan for another clinic's patient": (
        lambda w, e: "/admin/programmes/plan/add/",
        lambda w, e: {
            "patient": e.patient.pk,
            "template": w.template.pk,
            "start_date": "2030-01-01",
            "ceiling_deg": 60,
        },
        lambda w, e: Plan.objects.filter(patient=e.patient).count() == 1,
    ),
    "plan from another clinic's template": (
        lambda w, e: "/admin/programmes/plan/add/",
        lambda w, e: {
            "patient": w.patient_b.pk,
            "template": e.template.pk,
            "start_date": "2030-01-01",
            "ceiling_deg": 60,
        },
        lambda w, e: not Plan.objects.filter(template=e.template).exists(),
    ),
    "exercise added to another clinic": (
        lambda w, e: "/admin/programmes/exercise/add/",
        lambda w, e: {
            "clinic": e.clinic.pk,
            "name": "Sneaky",
            "slug": "sneaky",
            "category": "core",
            "patient_instructions": "x",
            "default_sets": 1,
            "default_times_per_day": 1,
        },
        lambda w, e: not Exercise.objects.filter(slug="sneaky").exists(),
    ),
    "exercise added to the shipped library (no clinic)": (
        lambda w, e: "/admin/programmes/exercise/add/",
        lambda w, e: {
            "clinic": "",
            "name": "Sneaky",
            "slug": "sneaky",
            "category": "core",
            "patient_instructions": "x",
            "default_sets": 1,
            "default_times_per_day": 1,
        },
        lambda w, e: not Exercise.objects.filter(slug="sneaky").exists(),
    ),
    "template added to another clinic": (
        lambda w, e: "/admin/programmes/programmetemplate/add/",
        lambda w, e: {
            "clinic": e.clinic.pk,
            "name": "Sneaky",
            "kind": "exercise_only",
            "is_active": "on",
            **_template_formsets(),
        },
        lambda w, e: not ProgrammeTemplate.objects.filter(name="Sneaky").exists(),
    ),
    "template using another clinic's exercise": (
        lambda w, e: "/admin/programmes/programmetemplate/add/",
        lambda w, e: {
            "clinic": w.patient_a.clinic_id,
            "name": "Sneaky",
            "kind": "exercise_only",
            "is_active": "on",
            **_template_formsets(exercises=1),
            "exercises-0-order": 0,
            "exercises-0-exercise": e.exercise.pk,
            "exercises-0-sets": 1,
            "exercises-0-times_per_day": 1,
        },
        lambda w, e: not ProgrammeTemplate.objects.filter(name="Sneaky").exists(),
    ),
    "membership moved to another clinic": (
        lambda w, e: f"/admin/clinic/membership/{w.users['staff'].membership.pk}/change/",
        lambda w, e: {"clinic": e.clinic.pk, "role": Role.STAFF},
        lambda w, e: (
            Membership.objects.get(user=w.users["staff"]).clinic_id == w.patient_a.clinic_id
        ),
    ),
}


@pytest.mark.parametrize("case", list(CRAFTED), ids=list(CRAFTED))
def test_a_crafted_admin_post_naming_another_clinics_row_is_a_form_error(world, elsewhere, case):
    url, data, unchanged = CRAFTED[case]
    client = page_client(world.users["clinic_admin"])
    response = client.post(url(world, elsewhere), {**data(world, elsewhere), "_save": "Save"})
    assert response.status_code == 200, response.get("Location")
    errors = response.context["adminform"].form.errors or [
        inline.formset.errors
        for inline in response.context["inline_admin_formsets"]
        if any(inline.formset.errors)
    ]
    assert errors
    shown = response.content.decode()
    assert "Select a valid choice" in shown or "This field is required" in shown
    assert unchanged(world, elsewhere)


def _pause_a(w, e):
    return f"/admin/programmes/plan/{w.plan_a.pk}/do/pause/", {"reason": "Holiday"}


def _ack_alert(w, e):
    return "/admin/programmes/clinicianalert/", {
        "action": "acknowledge",
        "_selected_action": [w.alert_a.pk],
    }


def _ack_elsewhere(w, e):
    return "/admin/programmes/clinicianalert/", {
        "action": "acknowledge",
        "_selected_action": [e.alert.pk],
    }


def _delete_staff(w, e):
    return f"/admin/clinic/membership/{w.users['staff'].membership.pk}/delete/", {"post": "yes"}


def _delete_elsewhere(w, e):
    return f"/admin/clinic/membership/{e.membership.pk}/delete/", {"post": "yes"}


def _end_a(w, e):
    return f"/admin/programmes/plan/{w.plan_a.pk}/do/end/", {"reason": "Done"}


def _patient_phone(w, e):
    return f"/admin/patients/patient/{w.patient_a.pk}/change/", {
        "first_name": w.patient_a.first_name,
        "last_name": w.patient_a.last_name,
        "date_of_birth": "1975-06-15",
        "sex": "not_stated",
        "time_zone": "Europe/London",
        "phone": "0700",
        "clinician": w.patient_a.clinician_id,
        "reminder_time": "18:00",
        "intakes-TOTAL_FORMS": 0,
        "intakes-INITIAL_FORMS": 0,
        "_save": "Save",
    }


# Admin pages: patients are sent to the admin's sign-in (302); another clinic's row is
# "not found" (Django's admin: 302 to the index, or 404 on our own views).
ADMIN_GET = {
    "/admin/patients/patient/add/": expect(302, 302, 302, 200, 200, 403, 200),
    "/admin/patients/patient/{patient}/change/": expect(302, 302, 302, 200, 302, 200, 200),
    "/admin/programmes/plan/add/": expect(302, 302, 302, 200, 200, 403, 200),
    "/admin/programmes/plan/{plan}/change/": expect(302, 302, 302, 200, 302, 200, 200),
    "/admin/programmes/exercise/add/": expect(302, 302, 302, 403, 403, 403, 200),
    "/admin/programmes/programmetemplate/add/": expect(302, 302, 302, 403, 403, 403, 200),
    "/admin/clinic/membership/{membership}/change/": expect(302, 302, 302, 403, 403, 403, 200),
    "/admin/clinic/membership/add/": expect(302, 302, 302, 403, 403, 403, 403),
}
ADMIN_POST = {
    "change: a patient's phone": (_patient_phone, expect(302, 302, 302, 302, 302, 403, 302)),
    "action: pause plan A": (_pause_a, expect(302, 302, 302, 302, 404, 404, 302)),
    "action: end plan A": (_end_a, expect(302, 302, 302, 302, 404, 404, 302)),
    "action: acknowledge alert A": (_ack_alert, expect(302, 302, 302, 302, 302, 200, 302)),
    "delete: the staff member's membership": (
        _delete_staff,
        expect(302, 302, 302, 403, 403, 403, 302),
    ),
    "delete: another clinic's membership": (
        _delete_elsewhere,
        expect(302, 302, 302, 403, 403, 403, 302),
    ),
}


def test_admin_pages_answer_each_role_as_expected(world, elsewhere):
    ids = {
        "patient": world.patient_a.pk,
        "plan": world.plan_a.pk,
        "membership": world.users["staff"].membership.pk,
    }
    wrong = {}
    for path, statuses in ADMIN_GET.items():
        got = {
            role: page_client(world.users[role]).get(path.format(**ids)).status_code
            for role in ROLES
        }
        if got != statuses:
            wrong[path] = got
    for name, (make, statuses) in ADMIN_POST.items():
        got = {}
        for role in ROLES:
            url, data = make(world, elsewhere)
            got[role] = _post(page_client(world.users[role]), url, data).status_code
        if got != statuses:
            wrong[name] = got
    assert wrong == {}


@pytest.mark.parametrize("role", [r for r in ROLES if r != "clinician_other_clinic"])
def test_no_admin_write_reaches_another_clinics_rows(world, elsewhere, role):
    """Whatever the role of clinic A: the other clinic's alert stays open, its membership stays, and
    its plan is never paused through clinic A's admin pages."""
    client = page_client(world.users[role])
    for make in (_ack_elsewhere, _delete_elsewhere):
        client.post(*make(world, elsewhere))
    client.post(f"/admin/programmes/plan/{elsewhere.plan.pk}/do/end/", {"reason": "x"})
    elsewhere.alert.refresh_from_db()
    assert elsewhere.alert.acknowledged_at is None
    assert Membership.objects.filter(pk=elsewhere.membership.pk).exists()
    assert Plan.objects.get(pk=elsewhere.plan.pk).status == PlanStatus.DRAFT


# The responsible clinician's rule, through the admin as through the API.


def test_a_colleague_cannot_pause_end_or_edit_a_plan_through_the_admin(world):
    colleague = clinician(world.patient_a.clinic)
    client = page_client(colleague)
    for name in ("pause", "end"):
        response = client.post(
            f"/admin/programmes/plan/{world.plan_a.pk}/do/{name}/", {"reason": "Mine now"}
        )
        assert response.status_code == 403, name
    page = client.get(f"/admin/programmes/plan/{world.plan_a.pk}/change/")
    assert page.status_code == 200
    assert "/do/pause/" not in page.content.decode()  # read-only: no action buttons
    world.plan_a.refresh_from_db()
    assert world.plan_a.status == PlanStatus.ACTIVE and not world.plan_a.inversion_paused
    assert not page.context["has_change_permission"]


def test_a_colleague_is_offered_only_their_own_patients_for_a_plan(world):
    colleague = clinician(world.patient_a.clinic)
    mine = PatientFactory(clinic=world.patient_a.clinic, clinician=colleague)
    form = page_client(colleague).get("/admin/programmes/plan/add/").context["adminform"].form
    assert list(form.fields["patient"].queryset) == [mine]


def test_a_colleague_cannot_change_a_patient_they_are_not_responsible_for(world):
    colleague = clinician(world.patient_a.clinic)
    url, data = _patient_phone(world, None)
    response = page_client(colleague).post(url, data)
    assert response.status_code == 403
    world.patient_a.refresh_from_db()
    assert world.patient_a.phone != "0700"


def test_only_the_clinic_administrator_reassigns_a_patient_in_the_admin(world):
    url, data = _patient_phone(world, None)
    colleague = clinician(world.patient_a.clinic)
    # The responsible clinician sees the clinician read-only; a posted one is ignored.
    page = page_client(world.users["clinician_a"]).get(url)
    assert "clinician" not in page.context["adminform"].form.fields
    page_client(world.users["clinician_a"]).post(url, {**data, "clinician": colleague.pk})
    world.patient_a.refresh_from_db()
    assert world.patient_a.clinician_id == world.users["clinician_a"].pk
    # The administrator reassigns, audited with both ids.
    from clinic.models import AuditEvent

    response = page_client(world.users["clinic_admin"]).post(
        url, {**data, "clinician": colleague.pk}
    )
    assert response.status_code == 302
    world.patient_a.refresh_from_db()
    assert world.patient_a.clinician_id == colleague.pk
    audit = AuditEvent.objects.filter(patient_id=world.patient_a.pk, action="update").latest("id")
    assert audit.changes["clinician"] == [world.users["clinician_a"].pk, colleague.pk]
    assert (audit.actor_id, audit.channel) == (world.users["clinic_admin"].pk, "admin")
