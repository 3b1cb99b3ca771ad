"""State changes for plans, one module per topic; every path that makes an inversion step
current comes through them.

- `lifecycle`: a plan given from a template, activated, paused, resumed, ended; inversion
  paused at once by a symptom or the screening
- `progression`: the steps up and down, and the engine's proposal
- `plan_edits`: a plan's settings (`plan_update`)
- `prescription_edits`: a plan's steps and exercises (`plan_prescription_update`)
- `today`: today's prescription for a patient
- `library`: the exercise library and the templates
- `receivers`: what programmes does when patients announce a change
- `gate`: the one guarded place a step becomes current (`make_step_current`), which asks
  the screening gate and the progression caps and refuses with a ValidationError the
  admin, API and tasks show as they are; the database guard of migration 0011 stands
  behind it
- `events`: the plan's timeline and the audit trail, one row each per change

Callers import from here; the names below are the package's public ones.
"""

from programmes.services.gate import exercises_refused, plan_day
from programmes.services.library import (
    EXERCISE_PRESCRIBING_FIELDS,
    exercise_change_problems,
    exercise_save,
    template_check,
    template_save,
)
from programmes.services.lifecycle import (
    plan_activate,
    plan_assignment_problems,
    plan_check_exercises,
    plan_check_steps,
    plan_create_from_template,
    plan_end,
    plan_pause,
    plan_pause_inversion,
    plan_pause_inversion_held,
    plan_resume,
    resume_needs,
)
from programmes.services.plan_edits import (
    PLAN_EDITABLE,
    PLAN_MOVED_BY_ACTIONS,
    START_DATE_FIXED,
    plan_start_date_change_refused,
    plan_update,
)
from programmes.services.prescription_edits import (
    DOSE_FIELDS,
    STEP_FIELDS,
    RowEdits,
    plan_prescription_problems,
    plan_prescription_update,
    prescribing_permission,
)
from programmes.services.progression import (
    RECENT_CHECKIN_DAYS,
    plan_advance,
    plan_go_back,
    plan_state,
    progression_evaluate,
    recent_checkin_records,
)
from programmes.services.receivers import (
    pause_when_screening_forbids,
    restart_step_count_on_zone_change,
)
from programmes.services.today import (
    TodayExercise,
    TodayPrescription,
    prescription_for,
    prescription_from,
)

__all__ = [
    "DOSE_FIELDS",
    "EXERCISE_PRESCRIBING_FIELDS",
    "PLAN_EDITABLE",
    "PLAN_MOVED_BY_ACTIONS",
    "RECENT_CHECKIN_DAYS",
    "START_DATE_FIXED",
    "STEP_FIELDS",
    "RowEdits",
    "TodayExercise",
    "TodayPrescription",
    "exercise_change_problems",
    "exercise_save",
    "exercises_refused",
    "pause_when_screening_forbids",
    "plan_activate",
    "plan_advance",
    "plan_assignment_problems",
    "plan_check_exercises",
    "plan_check_steps",
    "plan_create_from_template",
    "plan_day",
    "plan_end",
    "plan_go_back",
    "plan_pause",
    "plan_pause_inversion",
    "plan_pause_inversion_held",
    "plan_prescription_problems",
    "plan_prescription_update",
    "plan_resume",
    "plan_start_date_change_refused",
    "plan_state",
    "plan_update",
    "prescribing_permission",
    "prescription_for",
    "prescription_from",
    "progression_evaluate",
    "recent_checkin_records",
    "restart_step_count_on_zone_change",
    "resume_needs",
    "template_check",
    "template_save",
]
