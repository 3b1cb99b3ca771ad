from django.urls import path
from rest_framework.routers import SimpleRouter

from patients.api import IntakeViewSet, MyReminderPreferencesView, PatientViewSet, ScreeningViewSet

router = SimpleRouter()
router.register("patients", PatientViewSet, basename="patient")
router.register("intakes", IntakeViewSet, basename="intake")
router.register("screenings", ScreeningViewSet, basename="screening")

urlpatterns = [
    path(
        "me/reminder-preferences/",
        MyReminderPreferencesView.as_view(),
        name="me-reminder-preferences",
    ),
    *router.urls,
]
