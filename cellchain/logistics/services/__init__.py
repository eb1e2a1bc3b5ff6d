"""Commands of the logistics context: shipment, packing, loggers, readings, hand-off under the batch's release,
arrival, receipt, hospital storage, reservations and monitoring devices (T-7.15, T-8.1, T-10.12, Q-2-b).

Each regulated write is one transaction with its ledger entry. Bulk readings are plain rows (idempotent for
live MQTT data); a logger file's SHA-256 is kept on its regulated import record.
"""

from cellchain.logistics.scans import din_of as _din_of
from cellchain.logistics.services._common import RETENTION_YEARS
from cellchain.logistics.services.devices import (
    monitoring_device_calibrate,
    monitoring_device_register,
    monitoring_device_set_in_service,
)
from cellchain.logistics.services.readings import logger_file_import, readings_store_live
from cellchain.logistics.services.receipt import receipt_facts, receipt_inspect, receipt_sign
from cellchain.logistics.services.release import shipment_release_check
from cellchain.logistics.services.shipping import (
    ProductShipmentPlan,
    ShipmentInput,
    logger_link,
    needs_reservation,
    product_shipment_plan,
    shipment_arrive,
    shipment_create,
    shipment_dispatch,
    shipment_pack_scan,
    shipment_pack_verify,
)
from cellchain.logistics.services.storage import (
    OPEN_FOR_RESERVATION,
    stock_in,
    stock_out,
    storage_location_create,
    storage_reservation_cancel,
    storage_reservation_create,
)

__all__ = [
    "OPEN_FOR_RESERVATION",
    "RETENTION_YEARS",
    "ProductShipmentPlan",
    "ShipmentInput",
    "_din_of",
    "logger_file_import",
    "logger_link",
    "monitoring_device_calibrate",
    "monitoring_device_register",
    "monitoring_device_set_in_service",
    "needs_reservation",
    "product_shipment_plan",
    "readings_store_live",
    "receipt_facts",
    "receipt_inspect",
    "receipt_sign",
    "shipment_arrive",
    "shipment_create",
    "shipment_dispatch",
    "shipment_pack_scan",
    "shipment_pack_verify",
    "shipment_release_check",
    "stock_in",
    "stock_out",
    "storage_location_create",
    "storage_reservation_cancel",
    "storage_reservation_create",
]
