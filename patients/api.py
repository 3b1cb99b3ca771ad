"""Patients, intakes, screenings, adherence and reminder settings over the REST API.

Thin shells: each view reads through a `for_user`-scoped queryset (anything
else answers 404), declares who may read and write it (`clinic.permissions`),
calls one service to change state, and leaves an audit row for every record
of health data it shows or changes.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from clinic.api import ANY_ID, AuditedReadMixin, audit_reads
from clinic.permissions import (
    CLINICAL_OR_PATIENT,
    CLINICAL_ROLES,
    PATIENT_ROLES,
    READ_ROLES,
    Access,
    may_change_patient,
)
from clinic.roles import clinic_of
from patients import services
from patients.filters import IntakeFilter, PatientFilter, ScreeningFilter
from patients.models import Channel, Intake, Patient, Screening
from patients.serializers import (
    IntakeAnswersSerializer,
    IntakeSerializer,
    OverrideCreateSerializer,
    OverrideRevokeSerializer,
    PatientSerializer,
    ReminderPreferencesSerializer,
    ScreeningSerializer,
)


def patient_subject(patient: Patient) -> tuple[int, int]:
    return patient.clinic_id, patient.pk


def scoped_to_patients(queryset, user):
    """Rows of the patients this user may see (their clinic's, or only their own)."""
    return queryset.filter(patient__in=Patient.objects.for_user(user))


class PatientViewSet(
    AuditedReadMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Patients of the caller's clinic (a patient sees only their own record)."""

    lookup_value_regex = ANY_ID
    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    access = Access(read=READ_ROLES, write=CLINICAL_ROLES, own_patients_only=True)
    # Details change by the one rule (the responsible clinician or a clinic administrator);
    # naming another clinician is the administrator's alone (`patients.services`).
    responsible_for = staticmethod(may_change_patient)
    action_access = {
        "intakes": Access(write=CLINICAL_OR_PATIENT),
        "screening": Access(read=CLINICAL_OR_PATIENT),
        "screening_override": Access(write=CLINICAL_ROLES),
        "screening_override_revoke": Access(write=CLINICAL_ROLES),
    }
    audit_subject = staticmethod(patient_subject)

    def get_queryset(self):
        return Patient.objects.for_user(self.request.user).select_related(
            "current_screening__override", "current_screening__referral", "clinic"
        )

    def perform_create(self, serializer):
        clinic = clinic_of(self.request.user)
        if clinic is None:
            raise PermissionDenied("Your account belongs to no clinic.")
        serializer.instance = services.patient_create(
            clinic=clinic,
            details=dict(serializer.validated_data),
            by=self.request.user,
            channel=Channel.API,
            request=self.request,
        )

    def perform_update(self, serializer):
        # The service locks the row and writes only the fields sent that changed: never
        # the screening, so a save racing a health update can't restore the old one.
        serializer.instance = services.patient_update(
            patient=serializer.instance,
            changes=dict(serializer.validated_data),
            by=self.request.user,
            channel=Channel.API,
            request=self.request,
        )

    @extend_schema(
        request=IntakeAnswersSerializer,
        responses={201: IntakeSerializer},
        summary="Submit an intake; it is screened at once",
        description="A patient's own intake may make the screening stricter at once; one "
        "that would lower it is stored awaiting a clinician's confirmation "
        "(`screening.awaiting_confirmation`) and the current screening stays.",
    )
    @action(detail=True, methods=["post"])
    def intakes(self, request, pk=None):
        patient = self.get_object()
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
        patient = self.get_object()
        if patient.current_screening is None:
            return Response(
                {"detail": "This patient has no screening yet."}, status=status.HTTP_404_NOT_FOUND
            )
        audit_reads(
            request, [patient.current_screening], subject=lambda _: patient_subject(patient)
        )
        return Response(ScreeningSerializer(patient.current_screening).data)

    @extend_schema(
        request=OverrideCreateSerializer,
        responses={201: ScreeningSerializer},
        summary="Approve inversion for a review-required screening",
    )
    @action(detail=True, methods=["post"], url_path="screening/override")
    def screening_override(self, request, pk=None):
        patient = self.get_object()
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
        screening = Screening.objects.select_related("override").get(
            pk=patient.current_screening_id
        )
        return Response(ScreeningSerializer(screening).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=OverrideRevokeSerializer,
        responses={200: ScreeningSerializer},
        summary="Revoke the inversion override of the current screening; inversion pauses",
    )
    @action(detail=True, methods=["post"], url_path="screening/override/revoke")
    def screening_override_revoke(self, request, pk=None):
        patient = self.get_object()
        body = OverrideRevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        override = getattr(patient.current_screening, "override", None)
        if override is None:
            raise serializers.ValidationError(
                {"override": "The current screening has no override to revoke."}
            )
        services.screening_override_revoke(
            override=override,
            by=request.user,
            reason=body.validated_data["reason"],
            channel=Channel.API,
            request=request,
        )
        screening = Screening.objects.select_related("override").get(pk=override.screening_id)
        return Response(ScreeningSerializer(screening).data)


class IntakeViewSet(AuditedReadMixin, viewsets.ReadOnlyModelViewSet):
    """Intakes, newest first; each with the screening it produced. Patients see their own."""

    lookup_value_regex = ANY_ID
    serializer_class = IntakeSerializer
    filterset_class = IntakeFilter
    access = Access(read=CLINICAL_OR_PATIENT)

    def get_queryset(self):
        screenings = Screening.objects.select_related("override__clinician")
        return (
            scoped_to_patients(Intake.objects.all(), self.request.user)
            .select_related("patient")
            .prefetch_related(Prefetch("screenings", queryset=screenings))
        )


class ScreeningViewSet(AuditedReadMixin, viewsets.ReadOnlyModelViewSet):
    """Screenings (current and superseded) with findings and any override."""

    lookup_value_regex = ANY_ID
    serializer_class = ScreeningSerializer
    filterset_class = ScreeningFilter
    access = Access(read=CLINICAL_OR_PATIENT)

    action_access = {"confirm": Access(write=CLINICAL_ROLES)}

    def get_queryset(self):
        return scoped_to_patients(Screening.objects.all(), self.request.user).select_related(
            "patient", "override__clinician"
        )

    @extend_schema(
        request=None,
        responses={200: ScreeningSerializer},
        summary="Confirm a patient's answers awaiting confirmation: the screening becomes current",
        description="Only the patient's newest screening, awaiting confirmation and "
        "unexpired, can be confirmed; anything else answers 400.",
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        screening = services.screening_confirm(
            screening=self.get_object(), by=request.user, channel=Channel.API, request=request
        )
        return Response(ScreeningSerializer(screening).data)


class MyReminderPreferencesView(GenericAPIView):
    """The signed-in patient's reminder settings: read them, or change some of them."""

    serializer_class = ReminderPreferencesSerializer
    access = Access(read=PATIENT_ROLES, write=PATIENT_ROLES)

    def get_object(self) -> Patient:
        patient = Patient.objects.own(self.request.user).first()
        if patient is None:
            raise PermissionDenied("No patient record is linked to this account.")
        return patient

    def get(self, request):
        patient = self.get_object()
        audit_reads(request, [patient], subject=patient_subject, summary="Reminder settings read")
        return Response(self.get_serializer(patient).data)

    def patch(self, request):
        patient = self.get_object()
        serializer = self.get_serializer(patient, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        patient = services.patient_reminder_settings_update(
            patient=patient,
            changes=serializer.validated_data,
            by=request.user,
            channel=Channel.API,
            request=request,
        )
        return Response(self.get_serializer(patient).data)
