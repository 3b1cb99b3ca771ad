"""State changes for clinics: the table limits screening decides on, and memberships.

A clinic's inversion-table limits are bounded by the shipped rating
(`TABLE_MAX_WEIGHT_KG`, `TABLE_MAX_HEIGHT_CM`; a PostgreSQL check holds it too), and
every change is versioned (`TableLimitsVersion`, refused at commit by PostgreSQL
without one) and audited.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import django.dispatch
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from clinic.audit import audit_change
from clinic.models import (
    TABLE_MAX_HEIGHT_CM,
    TABLE_MAX_WEIGHT_KG,
    Clinic,
    Membership,
    Role,
    TableLimitsVersion,
)
from clinic.roles import actor_of, membership_grant, membership_remove
from clinic.rules import CLINICAL, role_change_refusal

TABLE_MIN_WEIGHT_KG = Decimal("30")
TABLE_MIN_HEIGHT_CM = Decimal("100")

# Sent inside the transaction after a clinic's table limits changed: kwargs clinic,
# limits (the new TableLimitsVersion), by. patients answers it: a patient now above the
# limits becomes contraindicated at once.
table_limits_changed = django.dispatch.Signal()


def _require_clinic_admin(user, clinic: Clinic) -> None:
    if user is not None and user.is_superuser:
        return
    try:
        membership = user.membership
    except (AttributeError, Membership.DoesNotExist):
        raise PermissionDenied("Only this clinic's administrator can change its limits.") from None
    if membership.clinic_id != clinic.pk or membership.role != Role.CLINIC_ADMIN:
        raise PermissionDenied("Only this clinic's administrator can change its limits.")


def _limit(value, *, name: str, low: Decimal, high: Decimal, unit: str, errors: dict) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[name] = f"Give a number of {unit}."
        return Decimal(0)
    if not number.is_finite() or number != number.quantize(Decimal("0.1")):
        errors[name] = f"Give the limit in {unit}, to one decimal place at most."
    elif not low <= number <= high:
        errors[name] = (
            f"The limit must be between {low:g} and {high:g} {unit}: the table is rated "
            f"for at most {high:g} {unit}."
        )
    return number


@transaction.atomic
def clinic_table_limits_change(
    *,
    clinic: Clinic,
    max_weight_kg,
    max_height_cm,
    reason: str,
    by,
    channel: str | None = None,  # None: the request's, task's or command's own
    request=None,
) -> TableLimitsVersion:
    """Set a clinic's table limits, never above the shipped rating: a new version, audited.

    Patients whose intake is now above the limits are re-screened contraindicated in the
    same transaction (`table_limits_changed`).
    """
    _require_clinic_admin(by, clinic)
    errors: dict[str, str] = {}
    weight = _limit(
        max_weight_kg,
        name="max_weight_kg",
        low=TABLE_MIN_WEIGHT_KG,
        high=TABLE_MAX_WEIGHT_KG,
        unit="kg",
        errors=errors,
    )
    height = _limit(
        max_height_cm,
        name="max_height_cm",
        low=TABLE_MIN_HEIGHT_CM,
        high=TABLE_MAX_HEIGHT_CM,
        unit="cm",
        errors=errors,
    )
    if not reason or not reason.strip():
        errors["reason"] = "Give the reason for the change (e.g. the new table's rating)."
    if errors:
        raise ValidationError(errors)
    clinic = Clinic.objects.select_for_update().get(pk=clinic.pk)
    before = (clinic.table_max_weight_kg, clinic.table_max_height_cm)
    if before == (weight, height):
        raise ValidationError("These are already the clinic's table limits.")
    clinic.table_max_weight_kg = weight
    clinic.table_max_height_cm = height
    clinic.table_limits_version += 1
    clinic.save(
        update_fields=["table_max_weight_kg", "table_max_height_cm", "table_limits_version"]
    )
    limits = TableLimitsVersion.objects.create(
        clinic=clinic,
        version=clinic.table_limits_version,
        max_weight_kg=weight,
        max_height_cm=height,
        reason=reason.strip(),
        changed_by=by if getattr(by, "is_authenticated", False) else None,
    )
    audit_change(
        clinic,
        "update",
        f"Table limits v{limits.version}: {weight:g} kg, {height:g} cm",
        by=by,
        channel=channel,
        changes={
            "version": limits.version,
            "max_weight_kg": [str(before[0]), str(weight)],
            "max_height_cm": [str(before[1]), str(height)],
            "reason": limits.reason,
        },
        request=request,
    )
    table_limits_changed.send(sender=Clinic, clinic=clinic, limits=limits, by=by)
    return limits


# Memberships and roles. Every change of who someone is at a clinic comes through here:
# the admin's membership form and actions, and anything else that grants a role.


def _refuse_role_change(by, *, target_user, current: Membership | None, role, clinic_id) -> None:
    refusal = role_change_refusal(
        actor_of(by),
        target_is_superuser=bool(target_user.is_superuser),
        current_role=current.role if current else None,
        current_clinic_id=current.clinic_id if current else None,
        new_role=role,
        new_clinic_id=clinic_id,
    )
    if refusal:
        raise PermissionDenied(refusal)


def _still_responsible(membership: Membership, *, role: str | None, clinic_id: int | None) -> None:
    """A clinician who stays responsible for patients of their clinic keeps a clinician's
    role there (PostgreSQL refuses it too): reassign the patients first."""
    if role in CLINICAL and clinic_id == membership.clinic_id:
        return
    if membership.role not in CLINICAL:
        return
    count = membership.user.patients.filter(clinic_id=membership.clinic_id).count()
    if count:
        raise ValidationError(
            f"{membership.user} is the responsible clinician of {count} patient(s) of this "
            "clinic: a clinic administrator reassigns them first."
        )


def _locked(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "clinic")
        .get(pk=membership.pk)
    )


def _membership_audit(*, by, membership, clinic, summary, changes, channel, request) -> None:
    # `clinic` is named: a move is audited in the clinic left as well as the one joined.
    audit_change(
        membership,
        "update",
        summary,
        by=by,
        channel=channel,
        clinic=clinic,
        changes=changes,
        request=request,
    )


@transaction.atomic
def membership_create(
    *, by, user, clinic: Clinic, role: str, channel: str, request=None
) -> Membership:
    """Give an account without a clinic its place in one: never a role above the giver's,
    never in another clinic than theirs (a superuser may do both). Audited."""
    _refuse_role_change(by, target_user=user, current=None, role=role, clinic_id=clinic.pk)
    if Membership.objects.filter(user=user).exists():
        raise ValidationError("This account already belongs to a clinic: change its membership.")
    membership = membership_grant(user=user, clinic=clinic, role=role)
    audit_change(
        membership,
        "create",
        f"Membership created: {user} as {membership.get_role_display()}",
        by=by,
        channel=channel,
        changes={"user": user.pk, "role": role, "staff_side": user.is_staff},
        request=request,
    )
    return membership


@transaction.atomic
def membership_change(
    *,
    by,
    membership: Membership,
    role: str | None = None,
    clinic: Clinic | None = None,
    channel: str,
    request=None,
) -> Membership:
    """Change someone's role (or, for a superuser only, their clinic), on the locked row.

    Never a role above the changer's own, never a membership of another clinic, never a
    move to another clinic unless by a superuser. The account's staff-side flag, and so
    its second factor, follow the new role at once (the very next request of a session
    signed in with a password only is sent to the code step); its API tokens are revoked.
    Audited in the clinic it belonged to (and the one it moved to).
    """
    fresh = _locked(membership)
    new_role = role or fresh.role
    new_clinic = clinic or fresh.clinic
    _refuse_role_change(
        by, target_user=fresh.user, current=fresh, role=new_role, clinic_id=new_clinic.pk
    )
    if (new_role, new_clinic.pk) == (fresh.role, fresh.clinic_id):
        return fresh
    if new_role not in Role.values:
        raise ValidationError({"role": f"{new_role!r} is not a role."})
    _still_responsible(fresh, role=new_role, clinic_id=new_clinic.pk)
    before = {"role": fresh.role, "clinic": fresh.clinic_id, "staff_side": fresh.user.is_staff}
    try:
        with transaction.atomic():
            updated = membership_grant(user=fresh.user, clinic=new_clinic, role=new_role)
    except IntegrityError as refused:  # the database's own guard (programmes 0013)
        raise ValidationError(f"Refused: {refused}".splitlines()[0]) from None
    changes = {
        "user": fresh.user_id,
        "role": [before["role"], new_role],
        "clinic": [before["clinic"], new_clinic.pk],
        "staff_side": [before["staff_side"], fresh.user.is_staff],
        "tokens_revoked": True,
    }
    summary = f"Role of {fresh.user}: {Role(before['role']).label} to {Role(new_role).label}"
    if new_clinic.pk != before["clinic"]:
        summary = f"{summary}; moved from {fresh.clinic} to {new_clinic}"
    _membership_audit(
        by=by,
        membership=updated,
        clinic=fresh.clinic,
        summary=summary,
        changes=changes,
        channel=channel,
        request=request,
    )
    if new_clinic.pk != before["clinic"]:
        _membership_audit(
            by=by,
            membership=updated,
            clinic=new_clinic,
            summary=summary,
            changes=changes,
            channel=channel,
            request=request,
        )
    return updated


@transaction.atomic
def membership_delete(*, by, membership: Membership, channel: str, request=None) -> None:
    """Remove someone from their clinic: not a clinician still responsible for patients,
    not above the remover's role, not another clinic's. Audited; tokens revoked."""
    fresh = _locked(membership)
    _refuse_role_change(
        by, target_user=fresh.user, current=fresh, role=None, clinic_id=fresh.clinic_id
    )
    _still_responsible(fresh, role=None, clinic_id=None)
    _membership_audit(
        by=by,
        membership=fresh,
        clinic=fresh.clinic,
        summary=f"Membership removed: {fresh.user} ({fresh.get_role_display()})",
        changes={"user": fresh.user_id, "role": [fresh.role, None], "tokens_revoked": True},
        channel=channel,
        request=request,
    )
    try:
        with transaction.atomic():
            membership_remove(membership=fresh)
    except IntegrityError as refused:
        raise ValidationError(f"Refused: {refused}".splitlines()[0]) from None
