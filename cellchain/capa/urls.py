from django.urls import path

from cellchain.capa import views

app_name = "capa"
urlpatterns = [
    path("", views.index, name="index"),
    path("deviations/<int:deviation_id>/", views.deviation, name="deviation"),
    path("deviations/<int:deviation_id>/investigation/", views.investigation, name="investigation"),
    path("deviations/<int:deviation_id>/actions/", views.action_add, name="action_add"),
    path("actions/<int:action_id>/complete/", views.action_complete, name="action_complete"),
    path("deviations/<int:deviation_id>/effectiveness/", views.effectiveness, name="effectiveness"),
    path("deviations/<int:deviation_id>/close/", views.close, name="close"),
    path("changes/", views.changes, name="changes"),
    path("changes/new/", views.change_new, name="change_new"),
    path("changes/<int:change_id>/", views.change, name="change"),
    path("changes/<int:change_id>/implement/", views.change_implement, name="change_implement"),
    path("changes/<int:change_id>/<slug:step>/", views.change_step, name="change_step"),
]
