from django.urls import path

from cellchain.metrics import views

app_name = "metrics"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("vein-to-vein/", views.vein_to_vein, name="vein_to_vein"),
    path("trends/", views.trends, name="trends"),
]
