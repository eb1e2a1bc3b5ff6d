"""JSON API of the logistics context: shipments, cold chain, logger files, arrival and receipt (T-8.1)."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import File, Router
from ninja.files import UploadedFile

from cellchain.core import clock
from cellchain.core.errors import ValidationFailed
from cellchain.core.permissions import requires
from cellchain.domain.receipt import RECEIPT_CHECKS
from cellchain.logistics import selectors, services
from cellchain.logistics.schemas import (
    CalibrationIn,
    CancelIn,
    DeviceIn,
    DeviceOut,
    DispatchIn,
    LoggerIn,
    LoggerVerdictOut,
    PackedOut,
    PackVerifyIn,
    ReceiptCheckOut,
    ReceiptIn,
    ReceiptOut,
    ReservationIn,
    ReservationOut,
    ServiceIn,
    ShipmentIn,
    ShipmentOut,
    ShipmentScanIn,
    ShippingPreviewOut,
    SignIn,
    StockEventOut,
    StockInIn,
    StockOutIn,
    StorageLocationIn,
    StorageLocationOut,
    WatchOut,
)
from cellchain.signatures.services import SignerCredentials

router = Router(tags=["logistics"])


def _reservation_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.pk, "shipment": row.shipment.number, "location": row.location.code, "positions": row.positions,
        "status": row.status, "reserved_at": row.reserved_at, "reserved_by": row.reserved_by.printed_name,
        "closed_at": row.closed_at, "cancel_reason": row.cancel_reason,
    }  # fmt: skip


def _shipment_out(shipment: Any) -> dict[str, Any]:
    active = next((r for r in shipment.reservations.all() if r.status == "active"), None)
    return {
        **{f: getattr(shipment, f) for f in ShipmentOut.model_fields if hasattr(shipment, f)},
        "from_site": shipment.from_site.code,
        "to_site": shipment.to_site.code,
        "loggers": [link.serial for link in shipment.loggers.all()],
        "reservation": None if active is None else _reservation_out(active),
    }


def _receipt_out(inspection: Any) -> dict[str, Any]:
    device = inspection.monitoring_device
    return {
        "shipment": inspection.shipment.number,
        "outcome": inspection.outcome,
        "failures": inspection.failures,
        "triggers": inspection.triggers,
        "deviation_number": inspection.deviation_number,
        "received_at": inspection.received_at,
        "monitoring_device": "" if device is None else device.code,
        "receiving_area": inspection.receiving_area,
        "limits_source": inspection.shipment.limits_source,
        "release_status": inspection.release_status,
        "release_pending": inspection.release_pending,
        "scanned_units": inspection.scanned_units,
    }


def _excursion_out(e: Any) -> dict[str, Any]:
    return {
        "start": e.start,
        "end": e.end,
        "duration_s": e.duration_s,
        "extreme_c": e.extreme_c,
        "limit_c": e.limit_c,
        "readings": e.readings,
    }


@router.get("/shipments", response=list[ShipmentOut])
@requires("logistics.view")
def shipment_list(request: HttpRequest) -> list[dict[str, Any]]:
    rows = selectors.shipments_visible_to(request.user).prefetch_related(
        "loggers", "reservations__location", "reservations__reserved_by"
    )
    return [_shipment_out(s) for s in rows[:200]]


@router.get("/shipments/plan", response=ShippingPreviewOut)
@requires("logistics.ship")
def shipment_plan(request: HttpRequest, batch: str) -> Any:
    """The limits, containers, compatible shipper kinds, storage mode and expiry a shipment of the batch gets
    from its product version (T-7.5-e, T-7.7-a..d, T-7.15-a..c)."""
    return selectors.batch_shipping_preview(request.user, batch)


@router.post("/shipments", response={201: ShipmentOut})
@requires("logistics.ship")
def shipment_create(request: HttpRequest, payload: ShipmentIn) -> Any:
    """Open a shipment. With a batch the limits come from its product version; a wider range, a longer
    transit or another container is refused (400) naming the version and the value (T-7.7)."""
    from cellchain.accounts.models import Site

    data = payload.dict()
    site_code = data.pop("to_site")
    to_site = None if site_code is None else Site.objects.filter(code=site_code).first()
    if site_code is not None and to_site is None:
        raise ValidationFailed(f"No site {site_code!r}.", field="to_site")
    shipment = services.shipment_create(
        actor=request.user,
        data=services.ShipmentInput(
            **{**data, "expected_units": tuple(data["expected_units"]), "to_site": to_site}
        ),
    )
    return 201, _shipment_out(shipment)


@router.get("/shipments/{number}", response=ShipmentOut)
@requires("logistics.view")
def shipment_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return _shipment_out(selectors.shipment_get_for(request.user, number))


@router.get("/shipments/{number}/coldchain", response=list[LoggerVerdictOut])
@requires("logistics.view")
def shipment_coldchain(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    """The cold-chain verdict of each logger of the shipment (T-8.1.5-a..c)."""
    shipment = selectors.shipment_get_for(request.user, number)
    return [
        {
            "serial": link.serial,
            "within_limits": v.within_limits,
            "reasons": list(v.reasons),
            "notes": [f.reason for f in v.findings if not f.blocking],
            "excursions": [_excursion_out(e) for e in v.excursions],
            "time_out_of_range_s": v.time_out_of_range_s,
            "mkt_c": v.mkt_c,
            "mkt_note": v.mkt_note,
        }
        for link, v in selectors.shipment_coldchain(shipment)
    ]


@router.post("/shipments/{number}/loggers/{serial}/files", response={201: dict[str, Any]})
@requires("logistics.import_readings")
def logger_file_upload(request: HttpRequest, number: str, serial: str, file: File[UploadedFile]) -> Any:
    """Import a logger CSV export (docs/formats/logger-csv.md); a bad file gives 400 with line and reason."""
    shipment = selectors.shipment_get_for(request.user, number)
    link = selectors.logger_get(shipment, serial)
    row = services.logger_file_import(
        actor=request.user, logger=link, data=file.read(), file_name=file.name or ""
    )
    return 201, {"sha256": row.sha256, "readings": row.readings, "faults": row.faults}


@router.post("/shipments/{number}/pack", response={201: PackedOut})
@requires("logistics.ship")
def shipment_pack(request: HttpRequest, number: str, payload: ShipmentScanIn) -> Any:
    """Scan a unit into the shipper by its label DataMatrix or typed DIN; a unit not on the order, or a label
    of another chain of identity (recorded as an identity incident), gives 409 (T-8.1.3-a, G-4)."""
    shipment = selectors.shipment_get_for(request.user, number)
    row = services.shipment_pack_scan(actor=request.user, shipment=shipment, scanned_text=payload.scanned)
    return 201, {"shipment": shipment.number, "din": row.din, "scanned_at": row.scanned_at,
                 "scanned_by": row.scanned_by.printed_name}  # fmt: skip


@router.post("/shipments/{number}/pack/verify", response=ShipmentOut)
@requires("logistics.ship")
def shipment_pack_verify(request: HttpRequest, number: str, payload: PackVerifyIn) -> dict[str, Any]:
    """The two-person check of the packing (X-5): the caller and a second packer re-authenticate."""
    from django.contrib.auth import get_user_model

    shipment = selectors.shipment_get_for(request.user, number)
    verifier = get_user_model().objects.filter(username=payload.verifier_username, is_active=True).first()
    if verifier is None:
        raise ValidationFailed(f"No active user {payload.verifier_username}.", field="verifier_username")
    services.shipment_pack_verify(
        shipment=shipment,
        performer=SignerCredentials(request.user, payload.password, payload.totp_code),
        verifier=SignerCredentials(verifier, payload.verifier_password, payload.verifier_totp_code),
    )
    return _shipment_out(shipment)


@router.post("/shipments/{number}/loggers", response={201: ShipmentOut})
@requires("logistics.ship")
def shipment_logger_link(request: HttpRequest, number: str, payload: LoggerIn) -> Any:
    """Link a temperature logger travelling with the shipment (T-8.1.5-a)."""
    shipment = selectors.shipment_get_for(request.user, number)
    services.logger_link(actor=request.user, shipment=shipment, serial=payload.serial,
                         interval_s=payload.interval_s, armed_at=payload.armed_at or clock.now())  # fmt: skip
    return 201, _shipment_out(shipment)


@router.post("/shipments/{number}/dispatch", response=ShipmentOut)
@requires("logistics.ship")
def shipment_dispatch(request: HttpRequest, number: str, payload: DispatchIn) -> dict[str, Any]:
    """Hand the shipper to the courier: 409 without a standing batch release (Q-2-b, Q-2.5-c), a logger, a
    two-person check or storage reserved at the hospital (T-8.1.2-e)."""
    shipment = selectors.shipment_get_for(request.user, number)
    services.shipment_dispatch(actor=request.user, shipment=shipment, courier=payload.courier, at=payload.at)
    return _shipment_out(shipment)


@router.post("/shipments/{number}/arrival", response=ShipmentOut)
@requires("logistics.receive")
def shipment_arrival(request: HttpRequest, number: str, payload: ShipmentScanIn) -> dict[str, Any]:
    shipment = selectors.shipment_get_for(request.user, number)
    return _shipment_out(
        services.shipment_arrive(actor=request.user, shipment=shipment, scanned_text=payload.scanned)
    )


@router.get("/receipt-checks", response=list[ReceiptCheckOut])
@requires("logistics.view")
def receipt_checks(request: HttpRequest) -> list[dict[str, Any]]:
    """The receipt form: T-8.1.3..T-8.1.6 checks with both languages and their consequence."""
    return [
        {"id": c.id, "question_en": c.question_en, "question_zh": c.question_zh, "consequence": c.consequence.value,
         "trigger": c.trigger.value, "source": c.source.value, "not_applicable_allowed": c.not_applicable_allowed}
        for c in RECEIPT_CHECKS
    ]  # fmt: skip


@router.post("/shipments/{number}/receipt", response={201: ReceiptOut})
@requires("logistics.receive")
def receipt_create(request: HttpRequest, number: str, payload: ReceiptIn) -> Any:
    shipment = selectors.shipment_get_for(request.user, number)
    device = selectors.monitoring_device_get_for(request.user, payload.monitoring_device)
    inspection = services.receipt_inspect(
        actor=request.user,
        shipment=shipment,
        scanned_units=payload.scanned_units,
        answers={k: v.dict() for k, v in payload.answers.items()},
        monitoring_device=device,
        receiving_area=payload.receiving_area,
        anomaly_handling=payload.anomaly_handling,
    )
    return 201, _receipt_out(inspection)


@router.post("/shipments/{number}/receipt/sign", response=ReceiptOut)
@requires("logistics.receive")
def receipt_sign(request: HttpRequest, number: str, payload: SignIn) -> dict[str, Any]:
    shipment = selectors.shipment_get_for(request.user, number)
    inspection = selectors.receipt_require(shipment)
    signer = SignerCredentials(request.user, payload.password, payload.totp_code)
    return _receipt_out(services.receipt_sign(inspection=inspection, signer=signer))


# --- hospital storage (issue 6 item 5) ---------------------------------------------------------------


MAX_LIMIT_DAYS = 36500


def _location_out(row: Any) -> dict[str, Any]:
    return {
        "code": row.code, "name": row.name, "storage_mode": row.storage_mode,
        "monitoring_reference": row.monitoring_reference,
        "monitoring_device": None if row.monitoring_device is None else row.monitoring_device.code,
        "capacity": row.capacity, "occupied": selectors.location_occupied(row),
    }  # fmt: skip


def _device_out(device: Any) -> dict[str, Any]:
    gate = selectors.device_gate(device, clock.now().date())
    return {
        "code": device.code, "kind": device.kind, "name": device.name, "in_service": device.in_service,
        "calibrated_on": device.calibrated_on, "calibration_due": device.calibration_due,
        "calibration_certificate": device.calibration_certificate, "usable": gate.allowed,
        "problems": [f.message for f in gate.findings],
    }  # fmt: skip


def _stock_event_out(e: Any) -> dict[str, Any]:
    return {
        "din": e.din, "kind": e.kind, "purpose": e.purpose, "location": e.location.code,
        "shipment": e.shipment.number, "at": e.at, "expires_at": e.expires_at, "storage_until": e.storage_until,
    }  # fmt: skip


@router.get("/storage/locations", response=list[StorageLocationOut])
@requires("logistics.storage_view")
def storage_location_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_location_out(row) for row in selectors.storage_locations_for(request.user)]


@router.post("/storage/locations", response={201: StorageLocationOut})
@requires("logistics.storage_admin")
def storage_location_create(request: HttpRequest, payload: StorageLocationIn) -> Any:
    """Add a location with its storage mode (T-7.7-d), capacity (T-8.1.2-e) and monitoring device (T-8.1.2-c)."""
    data = payload.dict()
    device = selectors.monitoring_device_get_for(request.user, data.pop("monitoring_device"))
    row = services.storage_location_create(actor=request.user, monitoring_device=device, **data)
    return 201, _location_out(row)


@router.post("/shipments/{number}/reservation", response={201: ReservationOut})
@requires("logistics.reserve")
def reservation_create(request: HttpRequest, number: str, payload: ReservationIn) -> Any:
    """Reserve a location of the product's storage mode at the destination before dispatch (T-8.1.2-e)."""
    shipment = selectors.shipment_get_for(request.user, number)
    location = selectors.storage_location_get_for(request.user, payload.location)
    row = services.storage_reservation_create(actor=request.user, shipment=shipment, location=location)
    return 201, _reservation_out(row)


@router.get("/storage/reservations", response=list[ReservationOut])
@requires("logistics.storage_view")
def reservation_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Reservations at the caller's site, newest first (T-8.1.2-e)."""
    return [_reservation_out(r) for r in selectors.reservations_for(request.user)[:200]]


@router.post("/storage/reservations/{reservation_id}/cancel", response=ReservationOut)
@requires("logistics.reserve")
def reservation_cancel(request: HttpRequest, reservation_id: int, payload: CancelIn) -> dict[str, Any]:
    reservation = selectors.reservation_get_for(request.user, reservation_id)
    return _reservation_out(
        services.storage_reservation_cancel(
            actor=request.user, reservation=reservation, reason=payload.reason
        )
    )


@router.get("/storage/devices", response=list[DeviceOut])
@requires("logistics.storage_view")
def device_list(request: HttpRequest) -> list[dict[str, Any]]:
    """The site's temperature-monitoring devices and whether each may be selected today (T-10.12)."""
    return [_device_out(d) for d in selectors.monitoring_devices_for(request.user)]


@router.post("/storage/devices", response={201: DeviceOut})
@requires("logistics.devices")
def device_register(request: HttpRequest, payload: DeviceIn) -> Any:
    return 201, _device_out(services.monitoring_device_register(actor=request.user, **payload.dict()))


@router.post("/storage/devices/{code}/calibration", response=DeviceOut)
@requires("logistics.devices")
def device_calibrate(request: HttpRequest, code: str, payload: CalibrationIn) -> dict[str, Any]:
    """Record a calibration with its certificate and next due date (T-10.12)."""
    device = selectors.monitoring_device_get_for(request.user, code)
    return _device_out(
        services.monitoring_device_calibrate(actor=request.user, device=device, **payload.dict())
    )


@router.post("/storage/devices/{code}/service", response=DeviceOut)
@requires("logistics.devices")
def device_service(request: HttpRequest, code: str, payload: ServiceIn) -> dict[str, Any]:
    device = selectors.monitoring_device_get_for(request.user, code)
    return _device_out(
        services.monitoring_device_set_in_service(actor=request.user, device=device, **payload.dict())
    )


@router.get("/storage/stock", response=list[StockEventOut])
@requires("logistics.storage_view")
def stock_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Units in stock at the caller's site."""
    return [_stock_event_out(e) for e in selectors.stock_list(request.user)]


@router.post("/storage/stock-in", response={201: StockEventOut})
@requires("logistics.stock")
def stock_in(request: HttpRequest, payload: StockInIn) -> Any:
    """Stock-in by scan (T-8.1.1 accepted and signed receipt first; T-7.7-d storage mode; T-7.7-e limit)."""
    location = selectors.storage_location_get_for(request.user, payload.location)
    days = payload.storage_time_limit_days
    if days is not None and not 0 < days <= MAX_LIMIT_DAYS:
        raise ValidationFailed(
            f"The storage time limit must be between 0 and {MAX_LIMIT_DAYS} days.",
            field="storage_time_limit_days",
        )
    event = services.stock_in(
        actor=request.user,
        location=location,
        scanned_text=payload.scanned,
        storage_time_limit=None if days is None else dt.timedelta(days=days),
        note=payload.note,
    )
    return 201, _stock_event_out(event)


@router.post("/storage/stock-out", response={201: StockEventOut})
@requires("logistics.stock")
def stock_out(request: HttpRequest, payload: StockOutIn) -> Any:
    """Stock-out by scan; past expiry or storage time limit only returned or discarded (T-7.7-e)."""
    event = services.stock_out(
        actor=request.user, scanned_text=payload.scanned, purpose=payload.purpose, note=payload.note
    )
    return 201, _stock_event_out(event)


@router.get("/storage/expiry-watch", response=list[WatchOut])
@requires("logistics.storage_view")
def expiry_watch(request: HttpRequest, days: int = 14) -> list[dict[str, Any]]:
    """Units within `days` of expiry or storage time limit, or past one (T-7.7-e, T-8.1.3-d)."""
    rows = selectors.expiry_watch(
        request.user, dt.timedelta(days=max(0, min(days, MAX_LIMIT_DAYS))), clock.now()
    )
    return [
        {**_stock_event_out(e), "clause": w.clause, "limit": w.limit_name, "due_at": w.due_at, "past": w.past}
        for e, w in rows
    ]


@router.get("/shipments/{number}/epcis", response=dict[str, Any])
@requires("logistics.view")
def shipment_epcis(request: HttpRequest, number: str) -> dict[str, Any]:
    """EPCIS 2.0 document of the packing: AggregationEvent with the loggers' sensor data (REGULATORY item 41)."""
    from cellchain.logistics.epcis import shipment_packing_document

    shipment = selectors.shipment_get_for(request.user, number)
    return shipment_packing_document(shipment, created_at=clock.now())
