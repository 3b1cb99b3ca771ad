"""API shapes, one module per resource: plans, check-ins, the patient's progress, the
library and templates, alerts. Callers import them from here."""

from programmes.serializers.alerts import AlertSerializer
from programmes.serializers.checkins import (
    CheckInCreateSerializer,
    CheckInResultSerializer,
    CheckInSerializer,
)
from programmes.serializers.library import (
    ExerciseSerializer,
    TemplateExerciseSerializer,
    TemplateSerializer,
    TemplateStepSerializer,
)
from programmes.serializers.plans import (
    DOSAGE_TEXTS,
    STEP_TEXTS,
    AdvanceSerializer,
    InversionStepSerializer,
    PlanCreateSerializer,
    PlanEventSerializer,
    PlanExerciseAddSerializer,
    PlanExerciseSerializer,
    PlanSerializer,
    PlanUpdateSerializer,
    ProposalSerializer,
    ReasonSerializer,
    ResumeSerializer,
)
from programmes.serializers.progress import (
    AdherenceSerializer,
    AdherenceWeekSerializer,
    PainPointSerializer,
    ProgressSerializer,
    TodayExerciseSerializer,
    TodaySerializer,
)

__all__ = [
    "DOSAGE_TEXTS",
    "STEP_TEXTS",
    "AdherenceSerializer",
    "AdherenceWeekSerializer",
    "AdvanceSerializer",
    "AlertSerializer",
    "CheckInCreateSerializer",
    "CheckInResultSerializer",
    "CheckInSerializer",
    "ExerciseSerializer",
    "InversionStepSerializer",
    "PainPointSerializer",
    "PlanCreateSerializer",
    "PlanEventSerializer",
    "PlanExerciseAddSerializer",
    "PlanExerciseSerializer",
    "PlanSerializer",
    "PlanUpdateSerializer",
    "ProgressSerializer",
    "ProposalSerializer",
    "ReasonSerializer",
    "ResumeSerializer",
    "TemplateExerciseSerializer",
    "TemplateSerializer",
    "TemplateStepSerializer",
    "TodayExerciseSerializer",
    "TodaySerializer",
]
