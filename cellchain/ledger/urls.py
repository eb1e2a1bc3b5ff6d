from django.urls import path

from cellchain.ledger import views

app_name = "ledger"
urlpatterns = [
    path("trail/", views.trail, name="trail"),
    path("records/<str:record_type>/<str:record_id>/", views.record_history, name="record_history"),
]
