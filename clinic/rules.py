"""Who may do what to whom in a clinic: pure rules, no Django, no I/O.

Three questions, each answered in one place and asked by every path (admin, API,
portal, services):

- `may_change_care`: may this user change this patient's record or plan? The
  patient's responsible clinician and the clinic's administrators, in that clinic.
- `may_reassign_clinician`: may this user name another responsible clinician? A clinic
  administrator of that clinic only.
- `role_change_refusal`: may this user give this membership that role, in that clinic?
  Never a role above their own, never in another clinic (only a superuser moves anyone).

Roles are ranked patient < staff < clinician < clinic_admin, a superuser above all.
"""

from __future__ import annotations

from dataclasses import dataclass

PATIENT, STAFF, CLINICIAN, CLINIC_ADMIN = "patient", "staff", "clinician", "clinic_admin"
ROLE_RANK: dict[str, int] = {PATIENT: 0, STAFF: 1, CLINICIAN: 2, CLINIC_ADMIN: 3}
SUPERUSER_RANK = 4
CLINICAL = (CLINICIAN, CLINIC_ADMIN)
STAFF_SIDE = (STAFF, CLINICIAN, CLINIC_ADMIN)


@dataclass(frozen=True)
class Actor:
    """The signed-in user as the rules see them."""

    user_id: int | None
    role: str | None = None
    clinic_id: int | None = None
    is_superuser: bool = False

    @property
    def rank(self) -> int:
        if self.is_superuser:
            return SUPERUSER_RANK
        return ROLE_RANK.get(self.role, -1) if self.role else -1


def may_change_care(
    actor: Actor, *, clinic_id: int | None, responsible_clinician_id: int | None
) -> bool:
    """The patient's responsible clinician or a clinic administrator, of the patient's clinic."""
    if actor.is_superuser:
        return True
    if actor.user_id is None or clinic_id is None or actor.clinic_id != clinic_id:
        return False
    if actor.role == CLINIC_ADMIN:
        return True
    return actor.role == CLINICIAN and actor.user_id == responsible_clinician_id


def may_reassign_clinician(actor: Actor, *, clinic_id: int | None) -> bool:
    """Naming a patient's responsible clinician is the clinic administrator's decision."""
    if actor.is_superuser:
        return True
    return actor.role == CLINIC_ADMIN and clinic_id is not None and actor.clinic_id == clinic_id


def is_staff_side(role: str | None) -> bool:
    """Staff-side roles use the admin and always need a second factor."""
    return role in STAFF_SIDE


def role_change_refusal(
    actor: Actor,
    *,
    target_is_superuser: bool = False,
    current_role: str | None,
    current_clinic_id: int | None,
    new_role: str | None,
    new_clinic_id: int | None,
) -> str:
    """Why `actor` may not make this membership (`current_*`: none for a new one) into
    `new_role` at `new_clinic_id` (None role: remove it); an empty string when they may."""
    if actor.is_superuser:
        return ""
    if actor.role != CLINIC_ADMIN or actor.clinic_id is None:
        return "Only a clinic administrator can change roles and memberships."
    if target_is_superuser:
        return "Only a superuser can change a superuser's membership."
    if current_clinic_id is not None and current_clinic_id != actor.clinic_id:
        return "This membership belongs to another clinic."
    if new_clinic_id != (current_clinic_id if current_clinic_id is not None else actor.clinic_id):
        return "Only a superuser can move anyone to another clinic."
    if new_role is not None and new_role not in ROLE_RANK:
        return f"{new_role!r} is not a role."
    if current_role is not None and ROLE_RANK.get(current_role, SUPERUSER_RANK) > actor.rank:
        return "You can't change the membership of someone whose role is above yours."
    if new_role is not None and ROLE_RANK[new_role] > actor.rank:
        return "You can't grant a role above your own."
    return ""


def second_factor_reset_refusal(
    actor: Actor, *, target_role: str, target_is_superuser: bool, target_clinic_id: int
) -> str:
    """Why `actor` may not reset this account's second factor ("" if they may).

    A reset lets the next sign-in enrol a new authenticator with the password alone: it is
    a clinic administrator's for the roles below theirs in their clinic, and a superuser's
    for clinic administrators and superusers.
    """
    if actor.is_superuser:
        return ""
    if actor.role != CLINIC_ADMIN or actor.clinic_id != target_clinic_id:
        return "Only a clinic administrator of this clinic can do this."
    if target_is_superuser or ROLE_RANK.get(target_role, SUPERUSER_RANK) >= actor.rank:
        return "A clinic administrator's second factor is reset by a superuser."
    return ""
