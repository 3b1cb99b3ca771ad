"""API permissions by role. Which rows a user may touch is decided by `for_user` querysets."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.permissions import SAFE_METHODS, BasePermission

from clinic.models import Role
from clinic.roles import actor_of, role_of
from clinic.rules import may_change_care, may_reassign_clinician

CLINICAL_ROLES = (Role.CLINICIAN, Role.CLINIC_ADMIN)

# The API's access policy. Each resource declares who may read and who may write it;
# which rows exist for the caller is decided first by its `for_user`-scoped queryset,
# so anything outside the caller's scope answers 404 before any role is looked at.

PATIENT_ROLES = (Role.PATIENT,)
READ_ROLES = (Role.PATIENT, Role.CLINICIAN, Role.CLINIC_ADMIN, Role.STAFF)
CLINIC_READ_ROLES = (Role.CLINICIAN, Role.CLINIC_ADMIN, Role.STAFF)
CLINICAL_OR_PATIENT = (Role.PATIENT, Role.CLINICIAN, Role.CLINIC_ADMIN)


@dataclass(frozen=True)
class Access:
    """Who may read (safe methods) and who may write one resource or action."""

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    # Clinicians change only the records of patients they are responsible for;
    # clinic administrators change any record of their clinic (`may_change_patient`).
    own_patients_only: bool = False


def _role(user) -> str | None:
    if getattr(user, "is_superuser", False):
        return Role.CLINIC_ADMIN
    return role_of(user)


def may_change_patient(user, patient) -> bool:
    """The one rule (`clinic.rules.may_change_care`): the patient's responsible clinician
    or a clinic administrator of the patient's clinic. Admin, API and portal ask it."""
    return may_change_care(
        actor_of(user),
        clinic_id=patient.clinic_id,
        responsible_clinician_id=patient.clinician_id,
    )


def may_change_plan(user, plan) -> bool:
    """A plan is changed by whoever may change its patient's care, in the plan's clinic."""
    return plan.clinic_id == plan.patient.clinic_id and may_change_patient(user, plan.patient)


def may_reassign_patient(user, patient) -> bool:
    """Only a clinic administrator of the patient's clinic names their clinician."""
    return may_reassign_clinician(actor_of(user), clinic_id=patient.clinic_id)


class RoleAccess(BasePermission):
    """Reads `view.access` (or `view.action_access[view.action]`) and fails closed.

    On a list or create route the role is checked at once (403). On a detail
    route the object is looked up in the caller's scoped queryset first, so a
    record of another patient or clinic answers 404 whatever the role, and only
    then is the role checked (403). A view without a policy refuses everyone.
    """

    message = "Your role does not allow this."

    @staticmethod
    def policy(view) -> Access:
        specific = getattr(view, "action_access", {}).get(getattr(view, "action", None))
        return specific or getattr(view, "access", None) or Access()

    @staticmethod
    def allowed(user, request, policy: Access) -> bool:
        roles = policy.read if request.method in SAFE_METHODS else policy.write
        return _role(user) in roles

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", "pk")
        if lookup in getattr(view, "kwargs", {}):
            # Detail route: scope first (404), role in has_object_permission (403).
            return _role(user) is not None
        return self.allowed(user, request, self.policy(view))

    def has_object_permission(self, request, view, obj) -> bool:
        policy = self.policy(view)
        if not self.allowed(request.user, request, policy):
            return False
        if request.method in SAFE_METHODS or not policy.own_patients_only:
            return True
        check = getattr(view, "responsible_for", None)
        return bool(check and check(request.user, obj))
