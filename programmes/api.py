"""Plans over the REST API: thin shells around `programmes.services`."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.permissions import ClinicalWriteElseRead, IsPatient
from clinic.roles import clinic_of
from patients.models import Patient
from programmes import adherence, checkins, services
from programmes.models import CheckIn, Plan, ProgrammeTemplate
from programmes.serializers import (
    CheckInCreateSerializer,
    CheckInResultSerializer,
    CheckInSerializer,
    PlanCreateSerializer,
    PlanSerializer,
    ProgressSerializer,
    ReasonSerializer,
    TodaySerializer,
)


class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Patients' plans. Every change goes through the guarded plan services."""

    serializer_class = PlanSerializer
    permission_classes = [ClinicalWriteElseRead]
    filterset_fields = ["patient", "status"]

    def get_queryset(self):
        return (
            Plan.objects.for_user(self.request.user)
            .select_related("current_step", "patient")
            .prefetch_related("inversion_steps", "exercises__exercise")
        )

    @extend_schema(request=PlanCreateSerializer, responses={201: PlanSerializer})
    def create(self, request):
        body = PlanCreateSerializer(data=request.data)
        body.fields["patient"].queryset = Patient.objects.for_user(request.user)
        clinic = clinic_of(request.user)
        body.fields["template"].queryset = ProgrammeTemplate.objects.filter(
            Q(clinic__isnull=True) | Q(clinic=clinic), is_active=True
        )
        body.is_valid(raise_exception=True)
        plan = services.plan_create_from_template(by=request.user, **body.validated_data)
        return Response(PlanSerializer(self._fresh(plan)).data, status=status.HTTP_201_CREATED)

    def _fresh(self, plan: Plan) -> Plan:
        return self.get_queryset().get(pk=plan.pk)

    def _act(self, request, pk, call):
        plan = get_object_or_404(self.get_queryset(), pk=pk)
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        call(plan, body.validated_data["reason"])
        return Response(PlanSerializer(self._fresh(plan)).data)

    @extend_schema(request=None, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._act(
            request, pk, lambda plan, _: services.plan_activate(plan=plan, by=request.user)
        )

    @extend_schema(request=ReasonSerializer, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._act(
            request,
            pk,
            lambda plan, reason: services.plan_pause(plan=plan, by=request.user, reason=reason),
        )

    @extend_schema(request=None, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._act(
            request, pk, lambda plan, _: services.plan_resume(plan=plan, by=request.user)
        )

    @extend_schema(request=ReasonSerializer, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        return self._act(
            request,
            pk,
            lambda plan, reason: services.plan_advance(plan=plan, by=request.user, reason=reason),
        )

    @extend_schema(request=ReasonSerializer, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"], url_path="go-back")
    def go_back(self, request, pk=None):
        return self._act(
            request,
            pk,
            lambda plan, reason: services.plan_go_back(plan=plan, by=request.user, reason=reason),
        )

    @extend_schema(request=ReasonSerializer, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._act(
            request,
            pk,
            lambda plan, reason: services.plan_end(plan=plan, by=request.user, reason=reason),
        )


class TodayView(APIView):
    """Today's prescribed inversion and exercises for the signed-in patient, or why none."""

    permission_classes = [IsPatient]

    @extend_schema(responses={200: TodaySerializer})
    def get(self, request):
        patient = (
            Patient.objects.for_user(request.user)
            .select_related("current_screening__override", "current_screening__referral")
            .first()
        )
        if patient is None:
            raise PermissionDenied("No patient record is linked to this account.")
        return Response(TodaySerializer(services.prescription_for(patient)).data)


def _own_patient(request) -> Patient:
    patient = Patient.objects.for_user(request.user).select_related("clinic").first()
    if patient is None:
        raise PermissionDenied("No patient record is linked to this account.")
    return patient


class MyCheckInsView(generics.ListAPIView):
    """The signed-in patient's check-ins (GET), and a new check-in (POST)."""

    permission_classes = [IsPatient]
    serializer_class = CheckInSerializer

    def get_queryset(self):
        return CheckIn.objects.for_user(self.request.user).prefetch_related("exercises_done")

    @extend_schema(
        request=CheckInCreateSerializer,
        responses={201: CheckInResultSerializer, 200: CheckInResultSerializer},
    )
    def post(self, request):
        patient = _own_patient(request)
        body = CheckInCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = checkins.checkin_submit(
            patient=patient,
            data=checkins.CheckInInput(
                exercise_ids=tuple(body.validated_data.pop("exercise_ids")),
                symptoms=tuple(body.validated_data.pop("symptoms")),
                **body.validated_data,
            ),
            channel="api",
            request=request,
        )
        return Response(
            CheckInResultSerializer(result).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class MyProgressView(APIView):
    """Pain and adherence over time, and where the plan goes next."""

    permission_classes = [IsPatient]

    @extend_schema(responses={200: ProgressSerializer})
    def get(self, request):
        patient = _own_patient(request)
        today = services.patient_today(patient)
        week = adherence.patient_adherence(patient.pk, start=today - timedelta(days=6), end=today)
        month = adherence.patient_adherence(patient.pk, start=today - timedelta(days=29), end=today)
        plan = checkins.running_plan(patient)
        current = plan.current_step if plan else None
        following = (
            plan.inversion_steps.filter(order__gt=current.order).order_by("order").first()
            if current
            else None
        )
        return Response(
            ProgressSerializer(
                {
                    "adherence_7_days": week.ratio,
                    "adherence_30_days": month.ratio,
                    "band_30_days": month.band,
                    "pain": checkins.pain_series(patient, since=today - timedelta(days=90)),
                    "weeks": adherence.weekly_adherence(
                        patient.pk, start=today - timedelta(days=83), end=today
                    ),
                    "current_step": current,
                    "next_step": following,
                }
            ).data
        )
