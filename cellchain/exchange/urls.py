from django.urls import path

from cellchain.exchange import views

app_name = "exchange"
urlpatterns = [
    path("partners/", views.partners, name="partners"),
    path("partners/new/", views.partner_add, name="partner_add"),
    path("partners/<int:pk>/", views.partner_detail, name="partner"),
    path("partners/<int:pk>/deactivate/", views.partner_deactivate, name="partner_deactivate"),
    path("quarantine/", views.quarantine, name="quarantine"),
    path("quarantine/<int:pk>/review/", views.quarantine_review, name="quarantine_review"),
]
