"""Roles as Django groups with model permissions, kept in step after every migrate.

Permissions say what a role may do to a kind of record; which records it may
touch is decided by clinic scoping on the querysets (`for_user`).
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from clinic.models import ROLE_GROUP_NAMES, Clinic, Membership, Role
from clinic.rules import Actor, is_staff_side

# (app_label, model) -> actions, per role. Models that don't exist yet are skipped.
_ALL = ("view", "add", "change", "delete")
_RW = ("view", "add", "change")
ROLE_PERMISSIONS: dict[str, dict[tuple[str, str], tuple[str, ...]]] = {
    Role.CLINIC_ADMIN: {
        ("clinic", "clinic"): ("view", "change"),
        ("clinic", "membership"): _ALL,
        ("clinic", "auditevent"): ("view",),
        ("patients", "patient"): _ALL,
        ("patients", "intake"): ("view", "add"),
        ("patients", "screening"): ("view",),
        ("patients", "screeningoverride"): ("view", "add"),
        ("patients", "referral"): _RW,
        ("programmes", "exercise"): _ALL,
        ("programmes", "programmetemplate"): _ALL,
        ("programmes", "templateinversionstep"): _ALL,
        ("programmes", "templateexercise"): _ALL,
        ("programmes", "plan"): _RW,
        ("programmes", "planinversionstep"): _RW,
        ("programmes", "planexercise"): _RW,
        ("programmes", "planevent"): ("view",),
        ("programmes", "checkin"): ("view",),
        ("programmes", "clinicianalert"): ("view", "change"),
    },
    Role.CLINICIAN: {
        ("clinic", "clinic"): ("view",),
        ("patients", "patient"): _RW,
        ("patients", "intake"): ("view", "add"),
        ("patients", "screening"): ("view",),
        ("patients", "screeningoverride"): ("view", "add"),
        ("patients", "referral"): _RW,
        ("programmes", "exercise"): ("view",),
        ("programmes", "programmetemplate"): ("view",),
        ("programmes", "templateinversionstep"): ("view",),
        ("programmes", "templateexercise"): ("view",),
        ("programmes", "plan"): _RW,
        ("programmes", "planinversionstep"): _RW,
        ("programmes", "planexercise"): _RW,
        ("programmes", "planevent"): ("view",),
        ("programmes", "checkin"): ("view",),
        ("programmes", "clinicianalert"): ("view", "change"),
    },
    Role.STAFF: {
        ("patients", "patient"): ("view",),
        ("programmes", "plan"): ("view",),
        ("programmes", "checkin"): ("view",),
        ("programmes", "clinicianalert"): ("view",),
    },
    Role.PATIENT: {},
}

STAFF_SIDE_ROLES = (Role.CLINIC_ADMIN, Role.CLINICIAN, Role.STAFF)


def sync_role_groups(**_kwargs) -> None:
    """Create the role groups and set exactly the permissions in ROLE_PERMISSIONS."""
    for role, table in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=ROLE_GROUP_NAMES[role])
        wanted = []
        for (app_label, model), actions in table.items():
            codenames = [f"{action}_{model}" for action in actions]
            wanted.extend(
                Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                ).values_list("pk", flat=True)
            )
        group.permissions.set(wanted)


@transaction.atomic
def membership_grant(*, user, clinic: Clinic, role: str) -> Membership:
    """Give a user one role at one clinic, with the matching group and admin access.

    The primitive under `clinic.services.membership_change` (which decides who may) and
    the invitation: the account is staff-side, so always asked for a second factor, exactly
    when its role is; a changed role or clinic revokes its API tokens.
    """
    from clinic.tokens import Reason, tokens_revoke

    before = Membership.objects.select_for_update().filter(user=user).first()
    membership, _ = Membership.objects.update_or_create(
        user=user, defaults={"clinic": clinic, "role": role}
    )
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUP_NAMES.values()))
    user.groups.add(Group.objects.get(name=ROLE_GROUP_NAMES[role]))
    user.is_staff = is_staff_side(role) or user.is_superuser
    user.save(update_fields=["is_staff"])
    if before is not None and (before.role, before.clinic_id) != (role, clinic.pk):
        tokens_revoke(user=user, reason=Reason.ROLE_CHANGED)
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Take a user's place in their clinic away: no role, no admin access, no tokens."""
    user = membership.user
    membership.delete()
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUP_NAMES.values()))
    from clinic.tokens import Reason, tokens_revoke

    user.is_staff = user.is_superuser
    user.save(update_fields=["is_staff"])
    tokens_revoke(user=user, reason=Reason.ROLE_CHANGED)


def clinic_of(user) -> Clinic | None:
    """The user's clinic, or None: a user with no membership sees nothing."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = getattr(user, "membership", None)
    return membership.clinic if membership else None


def actor_of(user) -> Actor:
    """The user as `clinic.rules` sees them (anonymous: an actor with no role)."""
    if not getattr(user, "is_authenticated", False):
        return Actor(user_id=None)
    try:
        membership = user.membership
    except Membership.DoesNotExist:
        membership = None
    return Actor(
        user_id=user.pk,
        role=membership.role if membership else None,
        clinic_id=membership.clinic_id if membership else None,
        is_superuser=user.is_superuser,
    )


def role_of(user) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership.role
    except Membership.DoesNotExist:
        return None
