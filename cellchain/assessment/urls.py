from django.urls import path

from cellchain.assessment import views

app_name = "assessment"
urlpatterns = [
    path("", views.index, name="index"),
    path("evidence/<int:file_id>/", views.evidence_file, name="evidence_file"),
    path("compliance/", views.compliance_index, name="compliance_index"),
    path("compliance/<slug:site_code>/", views.compliance, name="compliance"),
    path("compliance/<slug:site_code>/report.csv", views.compliance_csv, name="compliance_csv"),
    path("compliance/<slug:site_code>/report.pdf", views.compliance_pdf, name="compliance_pdf"),
    path("<slug:site_code>/", views.checklist, name="checklist"),
    path("<slug:site_code>/<str:item_code>/", views.item, name="item"),
]
