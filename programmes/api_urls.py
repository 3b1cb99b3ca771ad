from django.urls import path
from rest_framework.routers import SimpleRouter

from programmes.api import PlanViewSet, TodayView

router = SimpleRouter()
router.register("plans", PlanViewSet, basename="plan")

urlpatterns = [path("me/today/", TodayView.as_view(), name="me-today"), *router.urls]
