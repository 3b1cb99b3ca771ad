"""An intake and its findings in the admin, readable on one page; never edited."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from clinic.admin import ClinicScopedAdmin
from patients.admin.display import outcome_badge, outcome_badge_for_tier
from patients.domain.answers import Condition, Medication
from patients.models import Intake
from patients.serializers import ANSWER_QUESTIONS


@admin.register(Intake)
class IntakeAdmin(ClinicScopedAdmin):
    """An intake and its findings, readable on one page. Intakes are never edited."""

    clinic_lookup = "patient__clinic"
    list_display = ["patient", "number", "taken_on", "reason", "channel"]
    list_select_related = ["patient"]
    fields = [
        "patient",
        "number",
        "taken_on",
        "reason",
        "channel",
        "recorded_by",
        "measurements",
        "answers_table",
        "findings_table",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Measurements")
    def measurements(self, intake: Intake) -> str:
        return format_html(
            "Blood pressure {}/{} mmHg (by {}, {}) · {} kg · {} cm · pain {}/10 · ODI {}",
            intake.systolic_bp,
            intake.diastolic_bp,
            intake.bp_measured_by,
            f"{timezone.localtime(intake.bp_measured_at):%d %b %Y %H:%M}",
            intake.weight_kg,
            intake.height_cm,
            intake.baseline_pain,
            "not answered" if intake.odi_percent is None else f"{intake.odi_percent}%",
        )

    @admin.display(description="Answers")
    def answers_table(self, intake: Intake) -> str:
        answers = intake.answers
        rows = []
        for name, question in ANSWER_QUESTIONS.items():
            value = answers.get(name)
            if name.endswith("_date"):
                if value:
                    rows.append((question, value))
                continue
            rows.append((question, "Yes" if value else "No"))
        conditions = [Condition.LABELS.get(code, code) for code in answers.get("conditions", [])]
        medications = [Medication.LABELS.get(code, code) for code in answers.get("medications", [])]
        rows.append(("Conditions", ", ".join(conditions) or "None"))
        rows.append(("Medications", ", ".join(medications) or "None"))
        return format_html(
            "<table>{}</table>", format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", rows)
        )

    @admin.display(description="Findings")
    def findings_table(self, intake: Intake) -> str:
        screening = intake.screenings.order_by("-created_at").first()
        if screening is None or not screening.findings:
            return "No findings (cleared)." if screening else "Not screened."
        return format_html(
            "<p>{} (rules {})</p><table>{}</table>",
            outcome_badge(screening),
            screening.rule_set_version,
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        outcome_badge_for_tier(f["tier"]),
                        f["code"],
                        f["evidence"],
                        f["clinician_message"],
                    )
                    for f in screening.findings
                ),
            ),
        )
