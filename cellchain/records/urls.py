from django.urls import path

from cellchain.records import views

app_name = "records"
urlpatterns = [
    path("", views.index, name="index"),
    path("archive/open/", views.open_checklist, name="open"),
    path("archive/<int:checklist_id>/", views.checklist, name="checklist"),
    path("archive/<int:checklist_id>/tick/", views.tick, name="tick"),
    path("ticks/<int:tick_id>/withdraw/", views.untick, name="untick"),
    path("archive/<int:checklist_id>/close/", views.close, name="close"),
    path("scans/", views.scans, name="scans"),
    path("scans/new/", views.scan_new, name="scan_new"),
    path("scans/<int:scan_id>/file/", views.scan_file, name="scan_file"),
    path("retention/", views.retention, name="retention"),
    path("restore-tests/", views.restore_tests, name="restore_tests"),
]
