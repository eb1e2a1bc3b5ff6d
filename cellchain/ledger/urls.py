from django.urls import path

from cellchain.ledger import views

app_name = "ledger"
urlpatterns = [
    path("trail/", views.trail, name="trail"),
    path("trail.csv", views.trail_csv, name="trail_csv"),
    path("records/<str:record_type>/<str:record_id>/", views.record_history, name="record_history"),
    path("status/", views.status, name="status"),
    path("status/verify/", views.status_verify, name="status_verify"),
    path("status/verify/<int:run_id>/", views.verify_run, name="verify_run"),
    path("status/head/", views.status_issue_head, name="status_issue_head"),
]
