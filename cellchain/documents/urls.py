from django.urls import path

from cellchain.documents import views

app_name = "documents"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.document_new, name="document_new"),
    path("<int:document_id>/", views.document, name="document"),
    path("<int:document_id>/versions/new/", views.version_new, name="version_new"),
    path("versions/<int:version_id>/", views.version, name="version"),
    path("versions/<int:version_id>/submit/", views.version_submit, name="version_submit"),
    path("versions/<int:version_id>/review/", views.version_review, name="version_review"),
    path("versions/<int:version_id>/approve/", views.version_approve, name="version_approve"),
    path("versions/<int:version_id>/periodic-review/", views.periodic_review, name="periodic_review"),
    path("versions/<int:version_id>/retire/", views.retire, name="retire"),
    path("versions/<int:version_id>/acknowledge/", views.acknowledge, name="acknowledge"),
]
