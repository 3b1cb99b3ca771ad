"""Plans over the REST API: thin shells around `programmes.services`."""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.permissions import ClinicalWriteElseRead, IsPatient
from clinic.roles import clinic_of
from patients.models import Patient
from programmes import services
from programmes.models import Plan, ProgrammeTemplate
from programmes.serializers import (
    PlanCreateSerializer,
    PlanSerializer,
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
