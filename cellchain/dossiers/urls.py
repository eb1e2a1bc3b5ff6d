from django.urls import path

from cellchain.dossiers import views

app_name = "dossiers"
urlpatterns = [
    path("", views.dossier_list, name="list"),
    path("request/", views.dossier_request, name="request"),
    path("<int:export_id>/", views.dossier_detail, name="detail"),
    path("<int:export_id>/download/", views.dossier_download, name="download"),
]
