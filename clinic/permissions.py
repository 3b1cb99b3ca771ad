"""API permissions by role. Which rows a user may touch is decided by `for_user` querysets."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from clinic.models import Role
from clinic.roles import role_of

CLINICAL_ROLES = (Role.CLINICIAN, Role.CLINIC_ADMIN)


def has_role(user, *roles: str) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return role_of(user) in roles


class ClinicalWriteElseRead(BasePermission):
    """Anyone scoped may read; only clinicians and clinic administrators may write."""

    message = "Only a clinician of this clinic can change this."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return True
        return has_role(request.user, *CLINICAL_ROLES)


class IsPatient(BasePermission):
    message = "This is for patients' own portal accounts."

    def has_permission(self, request, view) -> bool:
        return bool(
            request.user and request.user.is_authenticated and has_role(request.user, Role.PATIENT)
        )
