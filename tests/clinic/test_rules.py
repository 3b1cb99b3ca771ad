"""Who may change whose care and roles: the pure rules every path asks (no database)."""

from __future__ import annotations

import itertools

import pytest

from clinic.rules import (
    CLINIC_ADMIN,
    CLINICIAN,
    PATIENT,
    ROLE_RANK,
    STAFF,
    Actor,
    is_staff_side,
    may_change_care,
    may_reassign_clinician,
    role_change_refusal,
    second_factor_reset_refusal,
)

HOME, OTHER = 1, 2
ME, COLLEAGUE = 10, 11


def actor(role, clinic=HOME, user=ME, superuser=False) -> Actor:
    return Actor(user_id=user, role=role, clinic_id=clinic, is_superuser=superuser)


@pytest.mark.parametrize(
    ("who", "responsible", "clinic", "allowed"),
    [
        (actor(CLINICIAN), ME, HOME, True),
        (actor(CLINICIAN), COLLEAGUE, HOME, False),
        (actor(CLINICIAN, clinic=OTHER), ME, HOME, False),
        (actor(CLINIC_ADMIN), COLLEAGUE, HOME, True),
        (actor(CLINIC_ADMIN, clinic=OTHER), COLLEAGUE, HOME, False),
        (actor(STAFF), ME, HOME, False),
        (actor(PATIENT), ME, HOME, False),
        (actor(None, clinic=None), ME, HOME, False),
        (Actor(user_id=None), None, HOME, False),
        (actor(None, clinic=None, superuser=True), COLLEAGUE, HOME, True),
        (actor(CLINIC_ADMIN), COLLEAGUE, None, False),
    ],
    ids=[
        "the responsible clinician may",
        "a colleague of the same clinic may not",
        "the same user id in another clinic may not",
        "the clinic administrator may",
        "another clinic's administrator may not",
        "staff may not",
        "a patient may not",
        "an account with no clinic may not",
        "anonymous may not",
        "a superuser may",
        "a row of no clinic is nobody's",
    ],
)
def test_may_change_care(who, responsible, clinic, allowed):
    assert may_change_care(who, clinic_id=clinic, responsible_clinician_id=responsible) is allowed


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (actor(CLINIC_ADMIN), True),
        (actor(CLINIC_ADMIN, clinic=OTHER), False),
        (actor(CLINICIAN), False),
        (actor(STAFF), False),
        (actor(PATIENT), False),
        (actor(None, clinic=None, superuser=True), True),
    ],
    ids=[
        "the clinic administrator reassigns",
        "another clinic's administrator does not",
        "the responsible clinician does not (a colleague's decision is the administrator's)",
        "staff do not",
        "patients do not",
        "a superuser does",
    ],
)
def test_only_a_clinic_administrator_reassigns_the_responsible_clinician(who, allowed):
    assert may_reassign_clinician(who, clinic_id=HOME) is allowed


@pytest.mark.parametrize(
    ("role", "staff_side"),
    [(PATIENT, False), (STAFF, True), (CLINICIAN, True), (CLINIC_ADMIN, True), (None, False)],
)
def test_staff_side_roles(role, staff_side):
    assert is_staff_side(role) is staff_side


ROLES = (PATIENT, STAFF, CLINICIAN, CLINIC_ADMIN)


@pytest.mark.parametrize(
    ("mine", "theirs", "new"),
    list(itertools.product(ROLES, ROLES, ROLES)),
    ids=lambda role: role,
)
def test_role_escalation_matrix_same_clinic(mine, theirs, new):
    """Only a clinic administrator changes roles, never to or from a role above their own."""
    refusal = role_change_refusal(
        actor(mine),
        current_role=theirs,
        current_clinic_id=HOME,
        new_role=new,
        new_clinic_id=HOME,
    )
    allowed = mine == CLINIC_ADMIN and ROLE_RANK[new] <= ROLE_RANK[mine]
    assert (refusal == "") is allowed, refusal


@pytest.mark.parametrize("mine", ROLES)
@pytest.mark.parametrize("theirs", ROLES)
def test_no_role_moves_anyone_to_another_clinic(mine, theirs):
    assert role_change_refusal(
        actor(mine),
        current_role=theirs,
        current_clinic_id=HOME,
        new_role=theirs,
        new_clinic_id=OTHER,
    )


@pytest.mark.parametrize("mine", ROLES)
def test_no_role_moves_themselves_to_another_clinic(mine):
    me = actor(mine)
    refusal = role_change_refusal(
        me, current_role=mine, current_clinic_id=HOME, new_role=mine, new_clinic_id=OTHER
    )
    assert "another clinic" in refusal or "Only a clinic administrator" in refusal


@pytest.mark.parametrize(
    ("current_clinic", "new_clinic"),
    [(OTHER, OTHER), (None, OTHER)],
    ids=["another clinic's membership", "a new membership in another clinic"],
)
def test_an_administrator_touches_only_their_own_clinic(current_clinic, new_clinic):
    assert role_change_refusal(
        actor(CLINIC_ADMIN),
        current_role=STAFF if current_clinic else None,
        current_clinic_id=current_clinic,
        new_role=STAFF,
        new_clinic_id=new_clinic,
    )


def test_an_administrator_never_changes_a_superusers_membership():
    assert role_change_refusal(
        actor(CLINIC_ADMIN),
        target_is_superuser=True,
        current_role=CLINIC_ADMIN,
        current_clinic_id=HOME,
        new_role=STAFF,
        new_clinic_id=HOME,
    )


@pytest.mark.parametrize("new_clinic", [HOME, OTHER])
def test_a_superuser_grants_any_role_anywhere(new_clinic):
    assert (
        role_change_refusal(
            actor(None, clinic=None, superuser=True),
            current_role=PATIENT,
            current_clinic_id=HOME,
            new_role=CLINIC_ADMIN,
            new_clinic_id=new_clinic,
        )
        == ""
    )


def test_removing_a_membership_is_a_change_of_the_same_rule():
    assert (
        role_change_refusal(
            actor(CLINIC_ADMIN),
            current_role=CLINICIAN,
            current_clinic_id=HOME,
            new_role=None,
            new_clinic_id=HOME,
        )
        == ""
    )
    assert role_change_refusal(
        actor(CLINICIAN),
        current_role=STAFF,
        current_clinic_id=HOME,
        new_role=None,
        new_clinic_id=HOME,
    )


@pytest.mark.parametrize(
    ("actor", "target_role", "target_superuser", "refused"),
    [
        (Actor(user_id=1, role="clinic_admin", clinic_id=1), "clinician", False, False),
        (Actor(user_id=1, role="clinic_admin", clinic_id=1), "staff", False, False),
        (Actor(user_id=1, role="clinic_admin", clinic_id=1), "clinic_admin", False, True),
        (Actor(user_id=1, role="clinic_admin", clinic_id=1), "clinician", True, True),
        (Actor(user_id=1, role="clinic_admin", clinic_id=2), "clinician", False, True),
        (Actor(user_id=1, role="clinician", clinic_id=1), "staff", False, True),
        (Actor(user_id=1, is_superuser=True), "clinic_admin", True, False),
    ],
)
def test_who_may_reset_a_second_factor(actor, target_role, target_superuser, refused):
    answer = second_factor_reset_refusal(
        actor, target_role=target_role, target_is_superuser=target_superuser, target_clinic_id=1
    )
    assert bool(answer) is refused
