"""JSON API of the logistics context: shipments, cold chain, logger files, arrival and receipt (T-8.1)."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Schema
from ninja.files import UploadedFile

from cellchain.core import clock
from cellchain.core.errors import ValidationFailed
from cellchain.core.permissions import requires
from cellchain.domain.receipt import RECEIPT_CHECKS
from cellchain.logistics import selectors, services
from cellchain.signatures.services import SignerCredentials

router = Router(tags=["logistics"])


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
    container_type: str
    container_code: str
    dispatched_at: dt.datetime | None
    arrived_at: dt.datetime | None
    loggers: list[str]


class LoggerVerdictOut(Schema):
    serial: str
    within_limits: bool
    reasons: list[str]
    notes: list[str]
    excursions: list[dict[str, Any]]
    time_out_of_range_s: float
    mkt_c: float | None
    mkt_note: str


class CheckOut(Schema):
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
    anomaly_handling: str = ""


class ReceiptOut(Schema):
    shipment: str
    outcome: str
    failures: list[dict[str, Any]]
    triggers: list[str]
    deviation_number: str
    received_at: dt.datetime


class ScanIn(Schema):
    scanned: str


class SignIn(Schema):
    password: str
    totp_code: str | None = None


def _shipment_out(shipment: Any) -> dict[str, Any]:
    return {
        **{f: getattr(shipment, f) for f in ShipmentOut.model_fields if hasattr(shipment, f)},
        "from_site": shipment.from_site.code,
        "to_site": shipment.to_site.code,
        "loggers": [link.serial for link in shipment.loggers.all()],
    }


def _receipt_out(inspection: Any) -> dict[str, Any]:
    return {
        "shipment": inspection.shipment.number,
        "outcome": inspection.outcome,
        "failures": inspection.failures,
        "triggers": inspection.triggers,
        "deviation_number": inspection.deviation_number,
        "received_at": inspection.received_at,
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
    return [
        _shipment_out(s)
        for s in selectors.shipments_visible_to(request.user).prefetch_related("loggers")[:200]
    ]


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


@router.post("/shipments/{number}/arrival", response=ShipmentOut)
@requires("logistics.receive")
def shipment_arrival(request: HttpRequest, number: str, payload: ScanIn) -> dict[str, Any]:
    shipment = selectors.shipment_get_for(request.user, number)
    return _shipment_out(
        services.shipment_arrive(actor=request.user, shipment=shipment, scanned_text=payload.scanned)
    )


@router.get("/receipt-checks", response=list[CheckOut])
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
    inspection = services.receipt_inspect(
        actor=request.user,
        shipment=shipment,
        scanned_units=payload.scanned_units,
        answers={k: v.dict() for k, v in payload.answers.items()},
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


class StorageLocationIn(Schema):
    code: str
    name: str
    storage_mode: str
    monitoring_reference: str


class StorageLocationOut(Schema):
    code: str
    name: str
    storage_mode: str
    monitoring_reference: str


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


def _location_out(row: Any) -> dict[str, Any]:
    return {f: getattr(row, f) for f in StorageLocationOut.model_fields}


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
    """Add a location with its storage mode (T-7.7-d) and temperature monitoring reference."""
    row = services.storage_location_create(actor=request.user, **payload.dict())
    return 201, _location_out(row)


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
