"""Every /api/v1/ route, collected from the apps."""

from django.urls import include, path

from clinic.api_auth import TokenLoginView, TokenRevokeView

urlpatterns = [
    path("auth/token/", TokenLoginView.as_view(), name="api-token"),
    path("auth/token/revoke/", TokenRevokeView.as_view(), name="api-token-revoke"),
    path("", include("patients.api_urls")),
    path("", include("programmes.api_urls")),
]
