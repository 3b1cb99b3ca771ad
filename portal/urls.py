from django.urls import path

from portal import views as portal

app_name = "portal"

urlpatterns = [
    path("", portal.home, name="home"),
    path("checkin/", portal.checkin, name="checkin"),
    path("history/", portal.history, name="history"),
    path("history/<int:pk>/", portal.checkin_detail, name="checkin_detail"),
    path("progress/", portal.progress, name="progress"),
    path("health/", portal.health_update, name="health_update"),
    path("intake/", portal.intake, name="intake"),
    path("settings/", portal.settings, name="settings"),
    path("questionnaire/", portal.questionnaire, name="questionnaire"),
]
