from django.urls import path

from cellchain.assessment import views

app_name = "assessment"
urlpatterns = [
    path("", views.index, name="index"),
    path("evidence/<int:file_id>/", views.evidence_file, name="evidence_file"),
    path("<slug:site_code>/", views.checklist, name="checklist"),
    path("<slug:site_code>/<str:item_code>/", views.item, name="item"),
]
