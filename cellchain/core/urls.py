from django.urls import path

from cellchain.core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("reference/approved-products/", views.approved_products, name="approved_products"),
]
