"""Patients, intakes and screening over the REST API: thin shells around services."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from clinic.audit import audit_record
from clinic.permissions import CLINICAL_ROLES, ClinicalWriteElseRead, has_role
from clinic.roles import clinic_of
from patients import services
from patients.models import Channel, Patient
from patients.serializers import (
    IntakeAnswersSerializer,
    IntakeSerializer,
    OverrideCreateSerializer,
    PatientSerializer,
    ScreeningSerializer,
)


class PatientViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Patients of the caller's clinic (a patient sees only their own record)."""

    serializer_class = PatientSerializer
    permission_classes = [ClinicalWriteElseRead]
    filterset_fields = ["clinician", "current_screening__outcome"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Patient.objects.for_user(self.request.user).select_related(
            "current_screening", "clinic"
        )

    def perform_create(self, serializer):
        clinic = clinic_of(self.request.user)
        if clinic is None:
            raise PermissionDenied("Your account belongs to no clinic.")
        with transaction.atomic():
            patient = serializer.save(clinic=clinic)
            audit_record(
                actor=self.request.user,
                action="create",
                channel=Channel.API,
                obj=patient,
                clinic=clinic,
                patient_id=patient.pk,
                summary="Patient created",
                request=self.request,
            )

    def perform_update(self, serializer):
        with transaction.atomic():
            patient = serializer.save()
            audit_record(
                actor=self.request.user,
                action="update",
                channel=Channel.API,
                obj=patient,
                clinic=patient.clinic,
                patient_id=patient.pk,
                summary="Patient details changed",
                changes={"fields": sorted(serializer.validated_data)},
                request=self.request,
            )

    @extend_schema(
        request=IntakeAnswersSerializer,
        responses={201: IntakeSerializer},
        summary="Submit an intake; it is screened at once",
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def intakes(self, request, pk=None):
        patient = get_object_or_404(self.get_queryset(), pk=pk)
        own_record = patient.user_id == request.user.pk
        if not (own_record or has_role(request.user, *CLINICAL_ROLES)):
            raise PermissionDenied("Only the patient or a clinician can submit an intake.")
        answers = IntakeAnswersSerializer(data=request.data, context={"patient": patient})
        answers.is_valid(raise_exception=True)
        data = answers.validated_data
        intake = services.intake_submit(
            patient=patient,
            answers=data["answers"],
            measurements=services.IntakeMeasurements(
                bp_measured_by=data["bp_measured_by"],
                bp_measured_at=data["bp_measured_at"],
                baseline_pain=data["baseline_pain"],
                odi_sections=tuple(data["odi_sections"]),
            ),
            by=request.user,
            channel=Channel.API,
            request=request,
        )
        return Response(IntakeSerializer(intake).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ScreeningSerializer}, summary="The current screening")
    @action(detail=True, methods=["get"])
    def screening(self, request, pk=None):
        patient = get_object_or_404(self.get_queryset(), pk=pk)
        if patient.current_screening is None:
            return Response(
                {"detail": "This patient has no screening yet."}, status=status.HTTP_404_NOT_FOUND
            )
        return Response(ScreeningSerializer(patient.current_screening).data)

    @extend_schema(
        request=OverrideCreateSerializer,
        responses={201: ScreeningSerializer},
        summary="Approve inversion for a review-required screening",
    )
    @action(detail=True, methods=["post"], url_path="screening/override")
    def screening_override(self, request, pk=None):
        patient = get_object_or_404(self.get_queryset(), pk=pk)
        body = OverrideCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if patient.current_screening is None:
            raise serializers.ValidationError({"screening": "This patient has no screening yet."})
        services.screening_override_record(
            screening=patient.current_screening,
            clinician=request.user,
            reason=body.validated_data["reason"],
            channel=Channel.API,
            request=request,
        )
        patient.refresh_from_db()
        return Response(
            ScreeningSerializer(patient.current_screening).data, status=status.HTTP_201_CREATED
        )
