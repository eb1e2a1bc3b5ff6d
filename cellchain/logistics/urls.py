from django.urls import path

from cellchain.logistics import views

app_name = "logistics"
urlpatterns = [
    path("shipments/", views.shipments, name="shipments"),
    path("shipments/new/", views.shipment_new, name="shipment_new"),
    path("shipments/<str:number>/", views.shipment_detail, name="shipment"),
    path("shipments/<str:number>/loggers/<str:serial>/upload/", views.logger_upload, name="logger_upload"),
    path("shipments/<str:number>/pack/", views.shipment_pack_scan, name="pack_scan"),
    path("shipments/<str:number>/pack/verify/", views.shipment_pack_verify, name="pack_verify"),
    path("shipments/<str:number>/loggers/", views.shipment_logger_link, name="logger_link"),
    path("shipments/<str:number>/dispatch/", views.shipment_dispatch, name="dispatch"),
    path("shipments/<str:number>/arrive/", views.shipment_arrive, name="arrive"),
    path("shipments/<str:number>/receipt/", views.receipt, name="receipt"),
    path("shipments/<str:number>/receipt/sign/", views.receipt_sign, name="receipt_sign"),
    path("shipments/<str:number>/receipt.pdf", views.receipt_print, name="receipt_pdf"),
    path("shipments/<str:number>/reserve/", views.shipment_reserve, name="reserve"),
    path("storage/", views.storage, name="storage"),
    path("storage/locations/", views.storage_location_add, name="storage_location_add"),
    path("storage/stock-in/", views.storage_stock_in, name="stock_in"),
    path("storage/stock-out/", views.storage_stock_out, name="stock_out"),
    path("storage/reservations/", views.reservations, name="reservations"),
    path("storage/reservations/<int:pk>/cancel/", views.reservation_cancel, name="reservation_cancel"),
    path("storage/devices/", views.devices, name="devices"),
    path("storage/devices/add/", views.device_add, name="device_add"),
    path("storage/devices/<str:code>/calibrate/", views.device_calibrate, name="device_calibrate"),
    path("storage/devices/<str:code>/service/", views.device_service, name="device_service"),
]
