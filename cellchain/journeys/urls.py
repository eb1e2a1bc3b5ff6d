from django.urls import path

from cellchain.journeys import views

app_name = "journeys"
urlpatterns = [
    path("", views.journey_list, name="list"),
    path("enrol/", views.journey_enrol, name="enrol"),
    path("checklists/", views.eligibility_checklists, name="checklists"),
    path("collection-sites/", views.collection_sites, name="collection_sites"),
    path("units/<str:din>/scan/", views.unit_scan, name="unit_scan"),
    path("units/<str:din>/label/print/", views.unit_label_print, name="label_print"),
    path("units/<str:din>/label/<int:print_number>/fate/", views.unit_label_fate, name="label_fate"),
    path("units/<str:din>/label/verify/", views.unit_label_verify, name="label_verify"),
    path("units/<str:din>/label.<str:fmt>", views.unit_label_file, name="label_file"),
    path("<str:coi>/", views.journey_detail, name="detail"),
    path("<str:coi>/consent/", views.journey_consent, name="consent"),
    path("<str:coi>/eligibility/", views.journey_eligibility, name="eligibility"),
    path("<str:coi>/book/", views.journey_book, name="book"),
    path("<str:coi>/screening/", views.journey_screening, name="screening"),
    path("<str:coi>/decision/", views.journey_decision, name="decision"),
    path("<str:coi>/collect/", views.journey_collect, name="collect"),
    path("<str:coi>/hold/", views.journey_hold, name="hold"),
    path("<str:coi>/holds/<int:hold_id>/lift/", views.journey_hold_lift, name="hold_lift"),
]
