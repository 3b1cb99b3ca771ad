"""Check-ins and what follows from them: the session report and its safety stops
(`submission`), the two-weekly questionnaires (`questionnaires`), and the reads for
History and Progress (`history`). The names are re-exported here for callers of
`programmes.checkins`.
"""

from programmes.checkins.history import CalendarDay, PainPoint, checkin_calendar, pain_series
from programmes.checkins.questionnaires import (
    QUESTIONNAIRE_EVERY_DAYS,
    questionnaire_due,
    questionnaire_submit,
)
from programmes.checkins.submission import (
    INVERSION_NOT_PERMITTED,
    MAX_INVERSION_SECONDS,
    NO_PROGRAMME,
    CheckInInput,
    CheckInResult,
    checkin_errors,
    checkin_submit,
    exercises_done_ids_known,
    running_plan,
)

__all__ = [
    "INVERSION_NOT_PERMITTED",
    "MAX_INVERSION_SECONDS",
    "NO_PROGRAMME",
    "QUESTIONNAIRE_EVERY_DAYS",
    "CalendarDay",
    "CheckInInput",
    "CheckInResult",
    "PainPoint",
    "checkin_calendar",
    "checkin_errors",
    "checkin_submit",
    "exercises_done_ids_known",
    "pain_series",
    "questionnaire_due",
    "questionnaire_submit",
    "running_plan",
]
