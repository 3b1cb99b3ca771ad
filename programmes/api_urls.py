from django.urls import path
from rest_framework.routers import SimpleRouter

from programmes.api import (
    AlertViewSet,
    CheckInViewSet,
    ExerciseViewSet,
    MyCheckInsView,
    MyProgressView,
    PatientAdherenceViewSet,
    PlanEventListView,
    PlanViewSet,
    TemplateViewSet,
    TodayView,
)

router = SimpleRouter()
router.register("plans", PlanViewSet, basename="plan")
router.register("checkins", CheckInViewSet, basename="checkin")
router.register("alerts", AlertViewSet, basename="alert")
router.register("exercises", ExerciseViewSet, basename="exercise")
router.register("templates", TemplateViewSet, basename="template")
# /patients/{id}/adherence/ (basename "patient": the route is named patient-adherence).
router.register("patients", PatientAdherenceViewSet, basename="patient")

urlpatterns = [
    path("me/today/", TodayView.as_view(), name="me-today"),
    path("me/checkins/", MyCheckInsView.as_view(), name="me-checkins"),
    path("me/progress/", MyProgressView.as_view(), name="me-progress"),
    path("plans/<str:plan_pk>/events/", PlanEventListView.as_view(), name="plan-events"),
    *router.urls,
]
