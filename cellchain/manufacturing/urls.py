from django.urls import path

from cellchain.manufacturing import materials_views, views

app_name = "manufacturing"
urlpatterns = [
    path("", views.batches, name="batches"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch"),
    path("batches/<int:batch_id>/steps/start/", views.step_start, name="step_start"),
    path("steps/<int:step_id>/parameter/", views.parameter, name="parameter"),
    path("steps/<int:step_id>/equipment/", views.equipment_use, name="equipment_use"),
    path("steps/<int:step_id>/material/", views.material_use, name="material_use"),
    path("steps/<int:step_id>/fill/", views.fill, name="fill"),
    path("steps/<int:step_id>/complete/", views.step_complete, name="step_complete"),
    path("intakes/", views.intakes, name="intakes"),
    path("intakes/<int:intake_id>/start/", views.batch_start, name="batch_start"),
    path("products/", views.products, name="products"),
    path("versions/<int:version_id>/", views.version_detail, name="version"),
    path("areas/", views.areas, name="areas"),
    path("areas/<int:area_id>/clearance/", views.line_clearance, name="line_clearance"),
    path("equipment/", views.equipment, name="equipment"),
    path("suppliers/", materials_views.suppliers, name="suppliers"),
    path("suppliers/<int:supplier_id>/", materials_views.supplier_detail, name="supplier"),
    path("suppliers/<int:supplier_id>/qualify/", materials_views.supplier_qualify, name="supplier_qualify"),
    path(
        "suppliers/<int:supplier_id>/disqualify/",
        materials_views.supplier_disqualify,
        name="supplier_disqualify",
    ),
    path("lots/", materials_views.lots, name="lots"),
    path("lots/<int:lot_id>/coa/", materials_views.lot_certificate, name="lot_certificate"),
    path("lots/<int:lot_id>/coa/file/", materials_views.lot_certificate_file, name="lot_certificate_file"),
    path("lots/<int:lot_id>/release/", materials_views.lot_release, name="lot_release"),
    path("lots/<int:lot_id>/recall/", materials_views.lot_recall, name="lot_recall"),
    path("lots/<int:lot_id>/recall.csv", materials_views.lot_recall_csv, name="lot_recall_csv"),
]
