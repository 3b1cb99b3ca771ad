"""Clinicians' admin for patients: screening badges, intake, override and referral actions.

Every change goes through `patients.services` (the add form through `patient_create`, the
change form through `patient_update`, which writes only the fields it changed); the admin
only collects input and shows the service's refusal as a message. Importing this package
registers `PatientAdmin` and `IntakeAdmin`.
"""

from patients.admin.display import (
    BADGE_COLOURS,
    findings_table,
    outcome_badge,
    outcome_badge_for_tier,
)
from patients.admin.filters import ClinicianFilter, ExpiringFilter, OutcomeFilter
from patients.admin.intake import IntakeAdmin
from patients.admin.patient import IntakeInline, PatientAdmin

__all__ = [
    "BADGE_COLOURS",
    "ClinicianFilter",
    "ExpiringFilter",
    "IntakeAdmin",
    "IntakeInline",
    "OutcomeFilter",
    "PatientAdmin",
    "findings_table",
    "outcome_badge",
    "outcome_badge_for_tier",
]
