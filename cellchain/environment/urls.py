from django.urls import path

from cellchain.environment import views

app_name = "environment"
urlpatterns = [
    path("", views.index, name="index"),
    path("limits/", views.limit, name="limit"),
    path("areas/<int:area_id>/", views.area, name="area"),
    path("areas/<int:area_id>/cleaning/", views.cleaning, name="cleaning"),
    path("areas/<int:area_id>/results/", views.result, name="result"),
    path("areas/<int:area_id>/placements/", views.placement, name="placement"),
    path("areas/<int:area_id>/register/", views.area_environment, name="area_environment"),
]
