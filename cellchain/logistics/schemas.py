"""Request and response bodies of the logistics API (T-8.1; issue 6 item 5): one component name each (issue 15).

Kept apart from the operations in `api.py`, as NetBox keeps its serializers apart from its views.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema


class ReservationOut(Schema):
    id: int
    shipment: str
    location: str
    positions: int
    status: str
    reserved_at: dt.datetime
    reserved_by: str
    closed_at: dt.datetime | None
    cancel_reason: str


class ShipmentOut(Schema):
    number: str
    kind: str
    status: str
    from_site: str
    to_site: str
    coi: str
    product_name: str
    batch_number: str
    expected_units: list[str]
    min_c: Decimal | None
    max_c: Decimal | None
    max_transit_hours: Decimal
    allowed_containers: list[str]
    container_type: str
    container_code: str
    expires_at: dt.datetime | None
    limits_source: str
    storage_mode: str
    courier: str
    dispatched_at: dt.datetime | None
    release_status: str  # the batch release at hand-off (Q-2-b); "" for apheresis or before hand-off
    release_pending: list[str]
    arrived_at: dt.datetime | None
    loggers: list[str]
    reservation: ReservationOut | None


class ShipmentIn(Schema):
    """A product shipment: `batch_number`, `kind`, `container_type`, `container_code` (and optionally the units
    and stricter limits); an apheresis shipment: no batch, with `to_site`, `product_name`, `expected_units`,
    `max_transit_hours`."""

    kind: str
    container_type: str
    container_code: str
    batch_number: str = ""
    expected_units: list[str] = []
    to_site: str | None = None
    product_name: str = ""
    coi: str = ""
    max_transit_hours: Decimal | None = None
    min_c: Decimal | None = None
    max_c: Decimal | None = None


class ShippingPreviewOut(Schema):
    batch_number: str
    source: str
    destination: str
    units: list[str]
    transport: str
    max_transport_hours: Decimal | None
    containers: list[str]
    shipper_kinds: list[str]
    storage_mode: str
    storage_note: str
    expires_at: dt.datetime | None


class LoggerVerdictOut(Schema):
    serial: str
    within_limits: bool
    reasons: list[str]
    notes: list[str]
    excursions: list[dict[str, Any]]
    time_out_of_range_s: float
    mkt_c: float | None
    mkt_note: str


class ReceiptCheckOut(Schema):
    id: str
    question_en: str
    question_zh: str
    consequence: str
    trigger: str
    source: str
    not_applicable_allowed: bool


class AnswerIn(Schema):
    answer: str
    note: str = ""


class ReceiptIn(Schema):
    scanned_units: list[str]
    answers: dict[str, AnswerIn]
    monitoring_device: str  # T-8.1.2-c: the device ID of a registered, calibrated device of the site
    receiving_area: str  # T-8.1.2-d
    anomaly_handling: str = ""


class ReceiptOut(Schema):
    shipment: str
    outcome: str
    failures: list[dict[str, Any]]
    triggers: list[str]
    deviation_number: str
    received_at: dt.datetime
    monitoring_device: str
    receiving_area: str
    limits_source: str
    release_status: str  # the batch release at receipt (Q-2-b)
    release_pending: list[str]
    scanned_units: list[str]


class ShipmentScanIn(Schema):
    scanned: str


class PackedOut(Schema):
    shipment: str
    din: str
    scanned_at: dt.datetime
    scanned_by: str


class PackVerifyIn(Schema):
    """The packer's password (and one-time code) and the second packer's username and password (X-5)."""

    password: str
    totp_code: str | None = None
    verifier_username: str
    verifier_password: str
    verifier_totp_code: str | None = None


class LoggerIn(Schema):
    serial: str
    interval_s: int
    armed_at: dt.datetime | None = None  # aware; default: now


class DispatchIn(Schema):
    courier: str
    at: dt.datetime | None = None  # when handed over, if not now (aware, not in the future)


class SignIn(Schema):
    password: str
    totp_code: str | None = None


class StorageLocationIn(Schema):
    code: str
    name: str
    storage_mode: str
    monitoring_device: str  # the device ID of a registered, calibrated device of the site (T-8.1.2-c)
    capacity: int  # unit positions (T-8.1.2-e)


class StorageLocationOut(Schema):
    code: str
    name: str
    storage_mode: str
    monitoring_reference: str
    monitoring_device: str | None
    capacity: int | None
    occupied: int


class ReservationIn(Schema):
    location: str


class CancelIn(Schema):
    reason: str


class DeviceIn(Schema):
    code: str
    kind: str
    name: str
    calibrated_on: dt.date | None = None
    calibration_due: dt.date | None = None
    calibration_certificate: str = ""


class CalibrationIn(Schema):
    calibrated_on: dt.date
    calibration_due: dt.date
    certificate: str


class ServiceIn(Schema):
    in_service: bool
    reason: str


class DeviceOut(Schema):
    code: str
    kind: str
    name: str
    in_service: bool
    calibrated_on: dt.date | None
    calibration_due: dt.date | None
    calibration_certificate: str
    usable: bool
    problems: list[str]


class StockInIn(Schema):
    location: str
    scanned: str
    storage_time_limit_days: float | None = None
    note: str = ""


class StockOutIn(Schema):
    scanned: str
    purpose: str
    note: str = ""


class StockEventOut(Schema):
    din: str
    kind: str
    purpose: str
    location: str
    shipment: str
    at: dt.datetime
    expires_at: dt.datetime | None
    storage_until: dt.datetime | None


class WatchOut(StockEventOut):
    clause: str
    limit: str
    due_at: dt.datetime
    past: bool
