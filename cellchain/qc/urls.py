from django.urls import path

from cellchain.qc import views

app_name = "qc"
urlpatterns = [
    path("", views.batches, name="batches"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<int:batch_id>/results/", views.result_enter, name="result_enter"),
    path("batches/<int:batch_id>/import/", views.result_import, name="result_import"),
    path("batches/<int:batch_id>/samples/", views.sample_take, name="sample_take"),
    path("results/<int:result_id>/amend/", views.result_amend, name="result_amend"),
    path("batches/<int:batch_id>/retained/", views.retained, name="retained"),
    path("batches/<int:batch_id>/review/", views.review, name="review"),
    path("batches/<int:batch_id>/release/", views.release, name="release"),
    path("batches/<int:batch_id>/reject/", views.reject, name="reject"),
    path("batches/<int:batch_id>/certificate.pdf", views.certificate_pdf, name="certificate"),
    path("batches/<int:batch_id>/label/", views.label, name="label"),
    path("batches/<int:batch_id>/package/", views.package, name="package"),
    path("packages/<int:issue_id>/", views.package_issued, name="package_issued"),
]
