"""State changes for clinics: the table limits screening decides on.

A clinic's inversion-table limits are bounded by the shipped rating
(`TABLE_MAX_WEIGHT_KG`, `TABLE_MAX_HEIGHT_CM`; a PostgreSQL check holds it too), and
every change is versioned (`TableLimitsVersion`, refused at commit by PostgreSQL
without one) and audited.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import django.dispatch
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from clinic.audit import audit_record
from clinic.models import (
    TABLE_MAX_HEIGHT_CM,
    TABLE_MAX_WEIGHT_KG,
    Clinic,
    Membership,
    Role,
    TableLimitsVersion,
)

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
    audit_record(
        actor=by,
        action="update",
        channel=channel,
        obj=clinic,
        clinic=clinic,
        summary=f"Table limits v{limits.version}: {weight:g} kg, {height:g} cm",
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
