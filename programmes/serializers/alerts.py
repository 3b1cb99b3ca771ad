"""API shape of a clinician alert."""

from __future__ import annotations

from rest_framework import serializers

from patients.serializers import described
from programmes.models import ClinicianAlert


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClinicianAlert
        fields = [
            "id",
            "patient",
            "plan",
            "kind",
            "message",
            "created_at",
            "emailed_at",
            "emailed_to",
            "acknowledged_at",
            "acknowledged_by",
        ]
        read_only_fields = fields
        extra_kwargs = described(
            id="The alert's id.",
            patient="The patient (id).",
            plan="The plan it concerns (id), if any.",
            kind="What happened: stop_symptom, red_flag, high_pain, no_checkin, …",
            message="What happened, in words.",
            created_at="When it was raised.",
            emailed_at="When the clinic was e-mailed; null until sent.",
            emailed_to="Who was e-mailed: the responsible clinician, else the clinic's others.",
            acknowledged_at="When a clinician acknowledged it; null while open.",
            acknowledged_by="Who acknowledged it (user id).",
        )
