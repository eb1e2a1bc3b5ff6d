from django.urls import path

from cellchain.reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.draft, name="draft"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/conclude/", views.conclude, name="conclude"),
    path("<int:pk>/sign/", views.sign, name="sign"),
]
