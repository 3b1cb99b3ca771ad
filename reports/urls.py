"""The staff reports under /reports/ (namespace `reports`)."""

from django.urls import path

from reports import views as reports

app_name = "reports"

urlpatterns = [
    path("", reports.overview, name="overview"),
    path("patients/", reports.patients, name="patients"),
    path("patients/<int:pk>/", reports.patient, name="patient"),
    path("patients/<int:pk>/checkins.csv", reports.patient_csv, name="patient_csv"),
    path("at-risk/", reports.at_risk, name="at_risk"),
    path("at-risk/<int:pk>/acknowledge/", reports.at_risk_acknowledge, name="at_risk_acknowledge"),
    path("clinicians/", reports.clinicians, name="clinicians"),
    path("templates/", reports.templates, name="templates"),
    path("export/<slug:kind>.csv", reports.export_csv, name="export_csv"),
    path("exports/", reports.exports, name="exports"),
    path("exports/<int:pk>/", reports.export_status, name="export_status"),
    path("exports/<int:pk>/download/", reports.export_download, name="export_download"),
]
