"""Follow-up questionnaires: pain and ODI every two weeks of a running plan (CLINICAL.md s.5)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinic.audit import audit_change
from patients.domain.outcomes import score_odi
from patients.models import Patient
from programmes.checkins.submission import running_plan
from programmes.models import Plan, PlanStatus, QuestionnaireResponse

QUESTIONNAIRE_EVERY_DAYS = 14


def questionnaire_due(patient: Patient, plan: Plan | None, today: date) -> bool:
    """A follow-up is due every 2 weeks of a running plan (CLINICAL.md s.5)."""
    if plan is None or plan.status != PlanStatus.ACTIVE:
        return False
    if (today - plan.start_date).days < QUESTIONNAIRE_EVERY_DAYS:
        return False
    last = plan.questionnaires.order_by("-taken_on").values_list("taken_on", flat=True).first()
    since = last or plan.start_date
    return (today - since).days >= QUESTIONNAIRE_EVERY_DAYS


@transaction.atomic
def questionnaire_submit(
    *,
    patient: Patient,
    pain: int,
    odi_sections: tuple[int | None, ...],
    kind: str = "follow_up",
    request=None,
) -> QuestionnaireResponse:
    plan = running_plan(patient)
    if plan is None:
        raise ValidationError({"plan": "Questionnaires are part of a running programme."})
    errors = {}
    if not 0 <= pain <= 10:
        errors["pain"] = "Pain is rated from 0 (none) to 10 (worst imaginable)."
    try:
        odi = score_odi(list(odi_sections))
    except ValueError as error:
        errors["odi_sections"] = str(error)
    if errors:
        raise ValidationError(errors)
    today = timezone.localtime(timezone.now(), patient.zone).date()
    response, _ = QuestionnaireResponse.objects.update_or_create(
        plan=plan,
        taken_on=today,
        defaults={
            "patient": patient,
            "clinic_id": patient.clinic_id,
            "kind": kind,
            "pain": pain,
            "odi_sections": list(odi_sections),
            "odi_percent": Decimal(str(odi.percent)),
        },
    )
    audit_change(
        response,
        "create",
        f"Questionnaire: ODI {odi.percent}%",
        by=getattr(request, "user", None),
        channel="portal",
        request=request,
    )
    return response
