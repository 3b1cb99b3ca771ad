"""Plans, check-ins, alerts, exercises and templates over the REST API.

Thin shells around `programmes.services` and `programmes.checkins`: reads go
through `for_user`-scoped querysets (anything else answers 404), each view
declares who may read and write (`clinic.permissions`), and every record of
health data shown or changed leaves an audit row.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from clinic.api import ANY_ID, AuditedReadMixin, audit_reads
from clinic.models import Role
from clinic.permissions import (
    CLINIC_READ_ROLES,
    CLINICAL_ROLES,
    PATIENT_ROLES,
    READ_ROLES,
    Access,
    may_change_patient,
    may_change_plan,
)
from clinic.roles import clinic_of, role_of
from patients.api import patient_subject
from patients.models import Channel, Patient
from programmes import adherence, checkins, services
from programmes.alerts import alert_acknowledge
from programmes.domain.symptoms import known_symptom_codes
from programmes.filters import (
    AlertFilter,
    CheckInFilter,
    ExerciseFilter,
    PlanFilter,
    TemplateFilter,
)
from programmes.models import (
    CheckIn,
    ClinicianAlert,
    Exercise,
    Plan,
    PlanEvent,
    ProgrammeTemplate,
)
from programmes.permission import patient_today, treatment_today
from programmes.serializers import (
    AdherenceSerializer,
    AdvanceSerializer,
    AlertSerializer,
    CheckInCreateSerializer,
    CheckInResultSerializer,
    CheckInSerializer,
    ExerciseSerializer,
    PlanCreateSerializer,
    PlanEventSerializer,
    PlanExerciseAddSerializer,
    PlanSerializer,
    PlanUpdateSerializer,
    ProgressSerializer,
    ReasonSerializer,
    ResumeSerializer,
    TemplateSerializer,
    TodaySerializer,
)


def _offered_templates(user):
    """The shipped templates and the caller's clinic's own, active ones."""
    clinic = clinic_of(user)
    return ProgrammeTemplate.objects.filter(
        Q(clinic__isnull=True) | Q(clinic=clinic), is_active=True
    )


class PatientPlanSerializer(PlanSerializer):
    """A plan as its patient reads it: inversion (steps, and exercises of the inversion
    category) only where today's treatment permission allows it, as on Today and
    Progress. Clinicians read `PlanSerializer`."""

    def to_representation(self, plan: Plan) -> dict:
        shown = super().to_representation(plan)
        treatment = self.context["treatment"]
        if treatment.inversion_step is None or treatment.plan.pk != plan.pk:
            shown["current_step"] = None
            shown["inversion_steps"] = []
            shown["proposal"] = None  # the engine's words name steps
        allowed = {
            dose.pk
            for dose in plan.exercises.all()
            if treatment.permission.programme and treatment.exercise_allowed(dose)
        }
        shown["exercises"] = [e for e in shown["exercises"] if e["id"] in allowed]
        return shown


class PlanViewSet(
    AuditedReadMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Patients' plans. Every change goes through the guarded plan services, which lock
    the plan and write only what they change.

    Clinicians change the plans of the patients they are responsible for; clinic
    administrators any plan of their clinic; staff and patients only read.
    """

    lookup_value_regex = ANY_ID
    serializer_class = PlanSerializer
    filterset_class = PlanFilter
    access = Access(read=READ_ROLES, write=CLINICAL_ROLES, own_patients_only=True)

    def get_queryset(self):
        return (
            Plan.objects.for_user(self.request.user)
            .select_related("current_step", "patient")
            .prefetch_related("inversion_steps", "exercises__exercise")
        )

    def get_serializer_class(self):
        # A patient reads their plans through today's treatment permission (the same
        # rule as /me/today/); their one record answers for all their plans.
        if role_of(self.request.user) != Role.PATIENT:
            return super().get_serializer_class()
        return PatientPlanSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if role_of(self.request.user) == Role.PATIENT:
            if not hasattr(self, "_treatment"):
                self._treatment = treatment_today(_own_patient(self.request).pk)
            context["treatment"] = self._treatment
        return context

    # The one rule the admin and portal ask too: the patient's responsible clinician or a
    # clinic administrator of the plan's clinic (`RoleAccess.has_object_permission`).
    responsible_for = staticmethod(may_change_plan)

    @extend_schema(
        request=PlanCreateSerializer,
        responses={201: PlanSerializer},
        summary="Copy a template into a draft plan for a patient",
    )
    def create(self, request):
        body = PlanCreateSerializer(data=request.data)
        body.fields["patient"].queryset = Patient.objects.for_user(request.user)
        body.fields["template"].queryset = _offered_templates(request.user)
        body.is_valid(raise_exception=True)
        patient = body.validated_data["patient"]
        if not may_change_patient(request.user, patient):
            raise PermissionDenied("Only the patient's own clinician can give them a plan.")
        plan = services.plan_create_from_template(by=request.user, **body.validated_data)
        return Response(PlanSerializer(self._fresh(plan)).data, status=status.HTTP_201_CREATED)

    def _fresh(self, plan: Plan) -> Plan:
        return self.get_queryset().get(pk=plan.pk)

    @extend_schema(
        request=PlanUpdateSerializer,
        responses={200: PlanSerializer},
        summary="Change a plan's settings (name, clinician, dates, ceiling, automatic advance)",
    )
    def partial_update(self, request, pk=None):
        plan = self.get_object()
        body = PlanUpdateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        services.plan_update(
            plan=plan,
            changes=dict(body.validated_data),
            by=request.user,
            channel=Channel.API,
            request=request,
        )
        return Response(PlanSerializer(self._fresh(plan)).data)

    @extend_schema(
        request=PlanExerciseAddSerializer,
        responses={201: PlanSerializer},
        summary="Add an exercise of the library to a plan",
    )
    @action(detail=True, methods=["post"])
    def exercises(self, request, pk=None):
        plan = self.get_object()
        body = PlanExerciseAddSerializer(data=request.data)
        body.fields["exercise"].queryset = Exercise.objects.filter(
            Q(clinic__isnull=True) | Q(clinic_id=plan.clinic_id)
        )
        body.is_valid(raise_exception=True)
        dose = dict(body.validated_data)
        dose.setdefault("order", plan.exercises.count())
        services.plan_prescription_update(
            plan=plan,
            exercises=services.RowEdits(added=(dose,)),
            by=request.user,
            channel=Channel.API,
            request=request,
        )
        return Response(PlanSerializer(self._fresh(plan)).data, status=status.HTTP_201_CREATED)

    def _act(self, request, call):
        plan = self.get_object()
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        call(plan, body.validated_data["reason"])
        return Response(PlanSerializer(self._fresh(plan)).data)

    @extend_schema(request=None, responses={200: PlanSerializer}, summary="Activate a draft plan")
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._act(
            request, lambda plan, _: services.plan_activate(plan=plan, by=request.user)
        )

    @extend_schema(request=ReasonSerializer, responses={200: PlanSerializer}, summary="Pause")
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._act(
            request,
            lambda plan, reason: services.plan_pause(plan=plan, by=request.user, reason=reason),
        )

    @extend_schema(
        request=ResumeSerializer,
        responses={200: PlanSerializer},
        summary="Resume a paused plan or inversion (after a stop symptom: confirmed, with a "
        "reason)",
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        plan = self.get_object()
        body = ResumeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"].strip()
        confirmed = body.validated_data["confirmed"]
        if services.resume_needs(plan):
            # The service asks again under the plan's lock; this answers field by field.
            missing = {}
            if not reason:
                missing["reason"] = [
                    "Inversion was stopped by a symptom: give the clinical reason for resuming."
                ]
            if not confirmed:
                missing["confirmed"] = [
                    "Confirm you have reviewed the symptom that stopped inversion."
                ]
            if missing:
                raise ValidationError(missing)
        services.plan_resume(plan=plan, by=request.user, reason=reason, confirmed=confirmed)
        return Response(PlanSerializer(self._fresh(plan)).data)

    @extend_schema(
        request=AdvanceSerializer, responses={200: PlanSerializer}, summary="Advance one step"
    )
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        plan = self.get_object()
        body = AdvanceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.plan_advance(plan=plan, by=request.user, **body.validated_data)
        return Response(PlanSerializer(self._fresh(plan)).data)

    @extend_schema(
        request=ReasonSerializer, responses={200: PlanSerializer}, summary="Go back one step"
    )
    @action(detail=True, methods=["post"], url_path="go-back")
    def go_back(self, request, pk=None):
        return self._act(
            request,
            lambda plan, reason: services.plan_go_back(plan=plan, by=request.user, reason=reason),
        )

    @extend_schema(request=ReasonSerializer, responses={200: PlanSerializer}, summary="End")
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        return self._act(
            request,
            lambda plan, reason: services.plan_end(plan=plan, by=request.user, reason=reason),
        )


@extend_schema(
    parameters=[
        OpenApiParameter(
            "plan_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The plan's id."
        )
    ],
    summary="A plan's history: who changed what, when and why",
)
class PlanEventListView(generics.ListAPIView):
    """A plan's events, newest first."""

    serializer_class = PlanEventSerializer
    queryset = PlanEvent.objects.none()  # the schema's model; rows come from get_queryset
    # The clinic's timeline of the plan: its reasons name steps a patient may no longer be
    # shown (a patient reads their plan through today's permission instead).
    access = Access(read=CLINIC_READ_ROLES)

    def get_queryset(self):
        return PlanEvent.objects.filter(plan=self.plan).select_related("by")

    def list(self, request, *args, **kwargs):
        # DRF's get_object_or_404: a malformed id is a 404 too, not a 500.
        self.plan = get_object_or_404(
            Plan.objects.for_user(request.user), pk=self.kwargs["plan_pk"]
        )
        page = self.paginate_queryset(self.get_queryset())
        audit_reads(
            request,
            page,
            subject=lambda _: (self.plan.clinic_id, self.plan.patient_id),
            summary="Plan history read through the API",
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class CheckInViewSet(AuditedReadMixin, viewsets.ReadOnlyModelViewSet):
    """Check-ins of the clinic's patients (a patient sees their own), newest first."""

    lookup_value_regex = ANY_ID
    record_name = "check-in"
    serializer_class = CheckInSerializer
    filterset_class = CheckInFilter
    access = Access(read=READ_ROLES)

    def get_queryset(self):
        return CheckIn.objects.for_user(self.request.user).prefetch_related("exercises_done")


class AlertViewSet(AuditedReadMixin, viewsets.ReadOnlyModelViewSet):
    """Alerts for the clinic's clinicians, newest first; acknowledging closes one."""

    lookup_value_regex = ANY_ID
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    access = Access(read=CLINIC_READ_ROLES, write=CLINICAL_ROLES)

    def get_queryset(self):
        return ClinicianAlert.objects.filter(
            patient__in=Patient.objects.for_user(self.request.user)
        )

    @extend_schema(request=None, responses={200: AlertSerializer}, summary="Acknowledge")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        alert = self.get_object()
        # Only an open alert is stamped: a second acknowledgement changes nothing.
        alert_acknowledge(alert=alert, by=request.user, channel="api", request=request)
        alert.refresh_from_db()
        return Response(AlertSerializer(alert).data)


class ExerciseViewSet(viewsets.ReadOnlyModelViewSet):
    """The exercise library: the shipped exercises and the clinic's own."""

    lookup_value_regex = ANY_ID
    serializer_class = ExerciseSerializer
    filterset_class = ExerciseFilter
    access = Access(read=CLINICAL_ROLES)

    def get_queryset(self):
        clinic = clinic_of(self.request.user)
        return Exercise.objects.filter(Q(clinic__isnull=True) | Q(clinic=clinic))


class TemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """Programme templates a plan can be copied from, with their steps and exercises."""

    lookup_value_regex = ANY_ID
    serializer_class = TemplateSerializer
    filterset_class = TemplateFilter
    access = Access(read=CLINICAL_ROLES)

    def get_queryset(self):
        clinic = clinic_of(self.request.user)
        return ProgrammeTemplate.objects.filter(
            Q(clinic__isnull=True) | Q(clinic=clinic)
        ).prefetch_related("inversion_steps", "exercises__exercise")


# The signed-in patient's own views.


def _own_patient(request, *, related: bool = True) -> Patient:
    """The signed-in patient's record; without `related`, the row alone (for a service
    that reads the patient afresh, as `checkin_submit` does under its lock)."""
    patients = Patient.objects.own(request.user)
    if related:
        patients = patients.select_related(
            "clinic", "current_screening__override", "current_screening__referral"
        )
    patient = patients.first()
    if patient is None:
        raise PermissionDenied("No patient record is linked to this account.")
    return patient


class TodayView(APIView):
    """Today's prescribed inversion and exercises for the signed-in patient, or why none."""

    access = Access(read=PATIENT_ROLES)

    @extend_schema(responses={200: TodaySerializer}, summary="Today's programme")
    def get(self, request):
        patient = _own_patient(request)
        audit_reads(request, [patient], subject=patient_subject, summary="Today read")
        return Response(TodaySerializer(services.prescription_for(patient)).data)


class MyCheckInsView(AuditedReadMixin, generics.ListAPIView):
    """The signed-in patient's check-ins (GET), and a new check-in (POST)."""

    serializer_class = CheckInSerializer
    access = Access(read=PATIENT_ROLES, write=PATIENT_ROLES)

    def get_queryset(self):
        return CheckIn.objects.for_user(self.request.user).prefetch_related("exercises_done")

    @extend_schema(
        request=CheckInCreateSerializer,
        responses={201: CheckInResultSerializer, 200: CheckInResultSerializer},
        summary="Check in after a session (a repeated idempotency key returns the first)",
    )
    def post(self, request):
        patient = _own_patient(request, related=False)
        data, refused = checkin_input_from(request.data)
        result = checkins.checkin_submit(
            patient=patient, data=data, refused=refused, channel="api", request=request
        )
        if result.created:  # stored just now, exactly these: no re-query to answer
            kept = () if "exercise_ids" in result.refused else data.exercise_ids
            checkins.exercises_done_ids_known(result.checkin, kept)
        body = CheckInResultSerializer(result).data
        # A key seen before answers with the first check-in (a new stop symptom acted on),
        # but fields this body got wrong are still refused by name, as the schema says.
        refusals = {**refused, **result.refused}
        if refusals:
            # A safety symptom was acted on (and the valid fields kept); the rest is refused.
            return Response({**refusals, "safety": body}, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


def checkin_input_from(raw) -> tuple[checkins.CheckInInput, dict[str, str]]:
    """The check-in's fields read one by one: what can be read, and why the rest can't.

    Symptoms are read first and leniently (every known code in the list counts), so a
    stop symptom is never lost to another field's error.
    """
    if hasattr(raw, "getlist"):  # form or multipart: every value of a repeated key counts
        raw = {
            key: values if key in ("symptoms", "exercise_ids") else values[-1]
            for key, values in raw.lists()
        }
    if not hasattr(raw, "get"):
        raw = {}
    body = CheckInCreateSerializer(data=raw)
    refused: dict[str, str] = {}
    if body.is_valid():
        values = dict(body.validated_data)
    else:
        refused = {
            name: " ".join(str(m) for m in _flat(errors)) for name, errors in body.errors.items()
        }
        partial = CheckInCreateSerializer(
            data={k: v for k, v in raw.items() if k not in refused}, partial=True
        )
        values = dict(partial.validated_data) if partial.is_valid() else {}
    symptoms = values.get("symptoms")
    if symptoms is None:
        symptoms = known_symptom_codes(raw.get("symptoms"))
    return (
        checkins.CheckInInput(
            idempotency_key=values.get("idempotency_key"),
            completion=values.get("completion"),
            local_date=values.get("local_date"),
            inversion_angle_deg=values.get("inversion_angle_deg"),
            inversion_seconds=values.get("inversion_seconds"),
            exercise_ids=tuple(values.get("exercise_ids") or ()),
            pain_before=values.get("pain_before"),
            pain_after=values.get("pain_after"),
            symptoms=tuple(symptoms),
            note=values.get("note") or "",
        ),
        refused,
    )


def _flat(errors) -> list:
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _flat(value)]
    if isinstance(errors, list):
        return [m for value in errors for m in _flat(value)]
    return [errors]


class MyProgressView(APIView):
    """Pain and adherence over time, and where the plan goes next."""

    access = Access(read=PATIENT_ROLES)

    @extend_schema(responses={200: ProgressSerializer}, summary="My progress")
    def get(self, request):
        patient = _own_patient(request)
        today = patient_today(patient)
        recent = adherence.recent_adherence(patient.pk, today=today)
        # The steps are named only when today's prescription includes inversion: the
        # same gate as /me/today/ (plan or inversion paused, screening or override lapsed).
        prescription = services.prescription_for(patient, today)
        current = prescription.inversion
        following = (
            prescription.plan.inversion_steps.filter(order__gt=current.order)
            .order_by("order")
            .first()
            if current
            else None
        )
        audit_reads(request, [patient], subject=patient_subject, summary="Progress read")
        return Response(
            ProgressSerializer(
                {
                    "adherence_7_days": recent.last_7_days.ratio,
                    "adherence_30_days": recent.last_30_days.ratio,
                    "band_30_days": recent.last_30_days.band,
                    "pain": checkins.pain_series(patient, since=today - timedelta(days=90)),
                    "weeks": adherence.weekly_adherence(
                        patient.pk, start=today - timedelta(days=83), end=today
                    ),
                    "current_step": current,
                    "next_step": following,
                }
            ).data
        )


# A patient's adherence, under the patient's path (`/patients/{id}/adherence/`).
# Adherence is the programmes' figure, so its view lives here: patients knows nothing of
# programmes. The docstring is the patient resource's, as the schema has always said.
class PatientAdherenceViewSet(viewsets.GenericViewSet):
    """Patients of the caller's clinic (a patient sees only their own record)."""

    lookup_value_regex = ANY_ID
    access = Access(read=READ_ROLES)

    def get_queryset(self):
        return Patient.objects.for_user(self.request.user)

    @extend_schema(
        responses={200: AdherenceSerializer},
        summary="Adherence: last 7 and 30 days, and the last 12 weeks",
    )
    @action(detail=True, methods=["get"])
    def adherence(self, request, pk=None):
        patient = self.get_object()
        today = patient_today(patient)
        recent = adherence.recent_adherence(patient.pk, today=today)
        audit_reads(
            request, [patient], subject=patient_subject, summary="Adherence read through the API"
        )
        return Response(
            AdherenceSerializer(
                {
                    "patient": patient.pk,
                    "day": recent.through,
                    "adherence_7_days": recent.last_7_days.ratio,
                    "adherence_30_days": recent.last_30_days.ratio,
                    "band_30_days": recent.last_30_days.band,
                    "weeks": adherence.weekly_adherence(
                        patient.pk, start=today - timedelta(days=83), end=today
                    ),
                }
            ).data
        )
