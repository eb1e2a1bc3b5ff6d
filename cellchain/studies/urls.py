from django.urls import path

from cellchain.studies import views

app_name = "studies"
urlpatterns = [
    path("", views.index, name="index"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<int:pk>/", views.report, name="report"),
    path("reports/<int:pk>/print.pdf", views.report_pdf, name="report_pdf"),
    path("reports/<int:pk>/issue/", views.report_issue, name="report_issue"),
    path("checklists/", views.checklists, name="checklists"),
    path("checklists/<int:course_id>/", views.checklist, name="checklist"),
    path("checklists/<int:course_id>/tick/", views.checklist_tick, name="checklist_tick"),
    path("directories/", views.directories, name="directories"),
    path("directories/<int:pk>/", views.directory, name="directory"),
    path("directories/<int:pk>/print.pdf", views.directory_pdf, name="directory_pdf"),
    path("directories/<int:pk>/archive/", views.directory_archive, name="directory_archive"),
]
