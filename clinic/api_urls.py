"""Every /api/v1/ route, collected from the apps."""

from django.urls import include, path

urlpatterns = [
    path("", include("patients.api_urls")),
    path("", include("programmes.api_urls")),
]
