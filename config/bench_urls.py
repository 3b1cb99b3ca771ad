"""The project's URLs with the bench's yardsticks in front (`config.bench_settings`)."""

from django.urls import path

from bench import views
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/staff-page/", views.staff_page, name="bench_staff_page"),
    path("bench/minimal-write/", views.MinimalWrite.as_view(), name="bench_minimal_write"),
    *project_urlpatterns,
]
