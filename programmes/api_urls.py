from django.urls import path
from rest_framework.routers import SimpleRouter

from programmes.api import MyCheckInsView, MyProgressView, PlanViewSet, TodayView

router = SimpleRouter()
router.register("plans", PlanViewSet, basename="plan")

urlpatterns = [
    path("me/today/", TodayView.as_view(), name="me-today"),
    path("me/checkins/", MyCheckInsView.as_view(), name="me-checkins"),
    path("me/progress/", MyProgressView.as_view(), name="me-progress"),
    *router.urls,
]
