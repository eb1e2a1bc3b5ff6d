from django.urls import path

from cellchain.quality import views

app_name = "quality"
urlpatterns = [
    path("deviations/", views.deviations, name="deviations"),
    path("deviations/<int:deviation_id>/", views.deviation_detail, name="deviation"),
    path("safety-reports/", views.safety_reports, name="safety_reports"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/emails/", views.email_outbox, name="email_outbox"),
    path(
        "notifications/<int:notification_id>/acknowledge/",
        views.notification_acknowledge,
        name="notification_ack",
    ),
]
