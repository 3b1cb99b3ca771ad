"""State changes for patients, one module per topic: the patient's record (`patients`),
intakes (`intake`), screening (`screening`), overrides, referrals, symptoms reported at a
check-in, portal invitations, and the signals they send.

Each service is one transaction. Callers import from here or from the topic's module.
"""

from patients.services.access import lowers_only_with_confirmation, patient_reported
from patients.services.answers import answers_from_json, answers_to_json, health_update_answers
from patients.services.intake import (
    QUESTIONNAIRE_VERSION,
    IntakeMeasurements,
    intake_screening,
    intake_submit,
    patient_health_update,
)
from patients.services.invitations import invitation_accept, invitation_for_token, invitation_send
from patients.services.overrides import screening_override_record, screening_override_revoke
from patients.services.patients import (
    PATIENT_DETAILS,
    PATIENT_RECORDED_ELSEWHERE,
    REMINDER_SETTINGS,
    patient_create,
    patient_local_date,
    patient_reminder_settings_update,
    patient_update,
)
from patients.services.referrals import checkin_referral, referral_record, referral_result_record
from patients.services.screening import (
    BP_REMEASURE,
    rescreen_above_table_limits,
    screening_awaiting,
    screening_confirm,
    screening_expiry_sweep,
    screening_status,
    table_limits_for,
    treatment_permission,
)
from patients.services.signals import (
    screening_awaiting_confirmation,
    screening_changed,
    time_zone_changed,
)
from patients.services.symptoms import (
    patient_checkin_symptoms_held,
    patient_red_flag_report,
    patient_stop_symptom_clear,
    patient_stop_symptom_report,
)

__all__ = [
    "BP_REMEASURE",
    "PATIENT_DETAILS",
    "PATIENT_RECORDED_ELSEWHERE",
    "QUESTIONNAIRE_VERSION",
    "REMINDER_SETTINGS",
    "IntakeMeasurements",
    "answers_from_json",
    "answers_to_json",
    "checkin_referral",
    "health_update_answers",
    "intake_screening",
    "intake_submit",
    "invitation_accept",
    "invitation_for_token",
    "invitation_send",
    "lowers_only_with_confirmation",
    "patient_checkin_symptoms_held",
    "patient_create",
    "patient_health_update",
    "patient_local_date",
    "patient_red_flag_report",
    "patient_reminder_settings_update",
    "patient_reported",
    "patient_stop_symptom_clear",
    "patient_stop_symptom_report",
    "patient_update",
    "referral_record",
    "referral_result_record",
    "rescreen_above_table_limits",
    "screening_awaiting",
    "screening_awaiting_confirmation",
    "screening_changed",
    "screening_confirm",
    "screening_expiry_sweep",
    "screening_override_record",
    "screening_override_revoke",
    "screening_status",
    "table_limits_for",
    "time_zone_changed",
    "treatment_permission",
]
