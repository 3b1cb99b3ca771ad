"""Roles change only through `clinic.services`: never above the changer's own role, never
into another clinic; the account's staff-side flag and second factor follow at once, its
API tokens are revoked, and every change is audited with its channel and address."""

from __future__ import annotations

import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from rest_framework.test import APIClient

from clinic.models import ApiToken, AuditEvent, Membership, Role
from clinic.otp import second_factor_required
from clinic.rules import ROLE_RANK
from clinic.services import membership_change, membership_create, membership_delete
from tests.factories import ClinicFactory, PatientFactory, UserFactory, api_token, member, otp_login

pytestmark = pytest.mark.django_db

ROLES = (Role.PATIENT, Role.STAFF, Role.CLINICIAN, Role.CLINIC_ADMIN)
CHANGE = "/admin/clinic/membership/{}/change/"


def _state(user) -> tuple:
    user.refresh_from_db()
    membership = Membership.objects.get(user=user)
    return membership.role, membership.clinic_id, user.is_staff


@pytest.mark.parametrize(
    ("mine", "theirs", "new"),
    list(itertools.product(ROLES, ROLES, ROLES)),
    ids=lambda role: str(role),
)
def test_role_escalation_matrix_through_the_service(mine, theirs, new):
    """No role grants a role above its own; only a clinic administrator changes roles."""
    clinic = ClinicFactory()
    by = member(mine, clinic)
    target = member(theirs, clinic)
    before = _state(target)
    allowed = mine == Role.CLINIC_ADMIN and ROLE_RANK[new] <= ROLE_RANK[mine]
    call = lambda: membership_change(  # noqa: E731
        by=by, membership=target.membership, role=new, channel="admin"
    )
    if allowed:
        call()
        assert _state(target) == (new, clinic.pk, new != Role.PATIENT)
    else:
        with pytest.raises(PermissionDenied):
            call()
        assert _state(target) == before


@pytest.mark.parametrize("mine", ROLES)
@pytest.mark.parametrize("theirs", [*ROLES, "themselves"])
def test_no_role_moves_anyone_or_themselves_to_another_clinic(mine, theirs):
    clinic, elsewhere = ClinicFactory(), ClinicFactory()
    by = member(mine, clinic)
    target = by if theirs == "themselves" else member(theirs, clinic)
    before = _state(target)
    with pytest.raises(PermissionDenied):
        membership_change(by=by, membership=target.membership, clinic=elsewhere, channel="admin")
    assert _state(target) == before
    assert not AuditEvent.objects.filter(object_type="clinic.membership").exists()


def test_an_administrator_cannot_change_another_clinics_membership():
    by = member(Role.CLINIC_ADMIN, ClinicFactory())
    target = member(Role.STAFF, ClinicFactory())
    with pytest.raises(PermissionDenied):
        membership_change(by=by, membership=target.membership, role=Role.PATIENT, channel="api")
    with pytest.raises(PermissionDenied):
        membership_delete(by=by, membership=target.membership, channel="api")
    assert Membership.objects.filter(user=target).exists()


def test_an_administrator_cannot_give_an_account_a_place_in_another_clinic():
    by = member(Role.CLINIC_ADMIN, ClinicFactory())
    loner = UserFactory()
    with pytest.raises(PermissionDenied):
        membership_create(
            by=by, user=loner, clinic=ClinicFactory(), role=Role.STAFF, channel="admin"
        )
    assert not Membership.objects.filter(user=loner).exists()


def test_a_superuser_moves_a_member_and_both_clinics_audit_it(django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.invalid", "pw")
    clinic, elsewhere = ClinicFactory(), ClinicFactory()
    staff = member(Role.STAFF, clinic)
    membership_change(by=root, membership=staff.membership, clinic=elsewhere, channel="admin")
    assert _state(staff) == (Role.STAFF, elsewhere.pk, True)
    audited = AuditEvent.objects.filter(object_type="clinic.membership", actor=root)
    assert set(audited.values_list("clinic_id", flat=True)) == {clinic.pk, elsewhere.pk}


def test_a_clinician_still_responsible_for_patients_keeps_their_role_until_reassigned():
    clinic = ClinicFactory()
    admin_user = member(Role.CLINIC_ADMIN, clinic)
    patient = PatientFactory(clinic=clinic)
    with pytest.raises(ValidationError, match="reassign"):
        membership_change(
            by=admin_user, membership=patient.clinician.membership, role=Role.STAFF, channel="admin"
        )
    with pytest.raises(ValidationError, match="reassign"):
        membership_delete(by=admin_user, membership=patient.clinician.membership, channel="admin")
    assert _state(patient.clinician)[0] == Role.CLINICIAN


def test_removing_a_membership_takes_admin_access_and_tokens_away():
    clinic = ClinicFactory()
    admin_user = member(Role.CLINIC_ADMIN, clinic)
    staff = member(Role.STAFF, clinic)
    api_token(staff)
    membership_delete(by=admin_user, membership=staff.membership, channel="admin")
    staff.refresh_from_db()
    assert not staff.is_staff
    assert not staff.groups.exists()
    assert not ApiToken.objects.filter(user=staff, revoked_at__isnull=True).exists()
    assert AuditEvent.objects.filter(summary__startswith="Membership removed").exists()


# Through the admin.


def admin_client(user) -> Client:
    client = Client()
    otp_login(client, user)
    return client


def test_patient_turned_staff_side_in_the_admin_is_asked_for_a_second_factor_at_once():
    """Their open password-only session is sent to the code step on the very next
    request; their API token is revoked; the change is audited with the address."""
    clinic = ClinicFactory()
    admin_user = member(Role.CLINIC_ADMIN, clinic)
    patient_user = member(Role.PATIENT, clinic)
    assert not second_factor_required(patient_user)
    token = api_token(patient_user)
    theirs = Client()
    theirs.force_login(patient_user, backend="django.contrib.auth.backends.ModelBackend")
    assert theirs.get("/admin/").status_code == 302  # not staff: the admin's own sign-in
    response = admin_client(admin_user).post(
        CHANGE.format(patient_user.membership.pk),
        {"clinic": clinic.pk, "role": Role.CLINIC_ADMIN, "_save": "Save"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    patient_user.refresh_from_db()
    assert patient_user.is_staff and second_factor_required(patient_user)
    for page in ("/admin/", "/admin/patients/patient/", "/reports/"):
        answer = theirs.get(page)
        assert answer.status_code == 302 and answer["Location"].startswith("/accounts/otp/"), page
    session_api = theirs.get("/api/v1/patients/")
    assert session_api.status_code == 403
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/patients/").status_code == 401
    audit = AuditEvent.objects.get(object_type="clinic.membership", action="update")
    assert (audit.actor_id, audit.clinic_id, audit.channel, audit.ip_address) == (
        admin_user.pk,
        clinic.pk,
        "admin",
        "127.0.0.1",
    )
    assert audit.changes["role"] == [Role.PATIENT, Role.CLINIC_ADMIN]


def test_membership_form_offers_only_the_administrators_clinic():
    clinic, elsewhere = ClinicFactory(), ClinicFactory()
    admin_user = member(Role.CLINIC_ADMIN, clinic)
    staff = member(Role.STAFF, clinic)
    page = admin_client(admin_user).get(CHANGE.format(staff.membership.pk))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert list(form.fields["clinic"].queryset) == [clinic]
    assert elsewhere.name not in page.content.decode()


@pytest.mark.parametrize(
    "crafted",
    [
        lambda clinic, elsewhere: {"clinic": elsewhere.pk, "role": Role.STAFF},
        lambda clinic, elsewhere: {"clinic": clinic.pk, "role": "superuser"},
    ],
    ids=["another clinic's id", "a role that doesn't exist"],
)
def test_a_crafted_membership_post_is_a_form_error_and_nothing_changes(crafted):
    clinic, elsewhere = ClinicFactory(), ClinicFactory()
    admin_user = member(Role.CLINIC_ADMIN, clinic)
    staff = member(Role.STAFF, clinic)
    response = admin_client(admin_user).post(
        CHANGE.format(staff.membership.pk), {**crafted(clinic, elsewhere), "_save": "Save"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert _state(staff) == (Role.STAFF, clinic.pk, True)
    assert not AuditEvent.objects.filter(object_type="clinic.membership").exists()


def test_an_administrator_moving_their_own_membership_is_refused():
    clinic, elsewhere = ClinicFactory(), ClinicFactory()
    admin_user = member(Role.CLINIC_ADMIN, clinic)
    response = admin_client(admin_user).post(
        CHANGE.format(admin_user.membership.pk),
        {"clinic": elsewhere.pk, "role": Role.CLINIC_ADMIN, "_save": "Save"},
    )
    assert response.status_code == 200
    assert _state(admin_user)[1] == clinic.pk


def test_another_clinics_membership_is_not_found_in_the_admin():
    admin_user = member(Role.CLINIC_ADMIN, ClinicFactory())
    stranger = member(Role.STAFF, ClinicFactory())
    client = admin_client(admin_user)
    response = client.post(
        CHANGE.format(stranger.membership.pk),
        {"clinic": admin_user.membership.clinic_id, "role": Role.PATIENT, "_save": "Save"},
    )
    assert response.status_code == 302  # Django's admin: "doesn't exist", to the index
    assert _state(stranger)[0] == Role.STAFF


def test_only_a_superuser_adds_memberships_in_the_admin():
    admin_user = member(Role.CLINIC_ADMIN, ClinicFactory())
    assert admin_client(admin_user).get("/admin/clinic/membership/add/").status_code == 403


def test_demoting_a_responsible_clinician_in_the_admin_says_why_and_saves_nothing():
    clinic = ClinicFactory()
    admin_user = member(Role.CLINIC_ADMIN, clinic)
    patient = PatientFactory(clinic=clinic)
    response = admin_client(admin_user).post(
        CHANGE.format(patient.clinician.membership.pk),
        {"clinic": clinic.pk, "role": Role.STAFF, "_save": "Save"},
        follow=True,
    )
    assert response.status_code == 200
    assert "reassign" in response.content.decode()
    assert _state(patient.clinician)[0] == Role.CLINICIAN


def test_removing_a_membership_in_the_admin_goes_through_the_service():
    clinic = ClinicFactory()
    admin_user = member(Role.CLINIC_ADMIN, clinic)
    staff = member(Role.STAFF, clinic)
    response = admin_client(admin_user).post(
        f"/admin/clinic/membership/{staff.membership.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert not staff.is_staff
    assert AuditEvent.objects.filter(
        summary__startswith="Membership removed", channel="admin", ip_address="127.0.0.1"
    ).exists()
