"""Every /api/v1/ route, collected from the apps' routers."""

from django.urls import include, path

urlpatterns = [
    path("", include("patients.api_urls")),
]
