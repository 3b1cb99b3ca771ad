from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from clinic import otp_views, signin
from clinic.admin_shortcut import scoped_view_on_site
from clinic.health import healthz, livez
from patients.views import account

admin.site.site_header = "Inverto — clinic"
admin.site.site_title = "Inverto"
admin.site.index_title = "Patients and programmes"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    # Before admin.site.urls: replaces Django's unscoped "view on site" shortcut.
    path(
        "admin/r/<int:content_type_id>/<path:object_id>/",
        scoped_view_on_site,
        name="admin-view-on-site",
    ),
    path("admin/", admin.site.urls),
    path("accounts/otp/", otp_views.otp_verify, name="otp_verify"),
    path("accounts/two-factor/", otp_views.otp_setup, name="otp_setup"),
    # Before Django's own: the same page, with its e-mails rate-limited.
    path("accounts/password_reset/", signin.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("invite/<str:token>/", account.invitation_accept, name="invitation_accept"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("config.api_urls")),
    path("reports/", include("reports.urls")),
    path("", include("portal.urls")),
]
