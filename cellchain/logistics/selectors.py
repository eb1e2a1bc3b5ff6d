"""Queries of the logistics context: shipments a viewer may see, their cold chain, a unit's receipt status."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.db.models import Q, QuerySet

from cellchain.core.errors import NotFound
from cellchain.domain import facility
from cellchain.domain.coldchain import (
    ColdChainSpec,
    ColdChainVerdict,
    MktFormula,
    ShipperKind,
    TemperatureLimits,
    TemperatureTrace,
    analyse_cold_chain,
    trace_of,
)
from cellchain.domain.findings import Gate
from cellchain.logistics.models import (
    LoggerLink,
    MonitoringDevice,
    PackingCheck,
    ReceiptInspection,
    Shipment,
    StockEvent,
    StorageLocation,
    StorageReservation,
    TemperatureReading,
)
from cellchain.logistics.scans import UnitScan, read_unit_scan
from cellchain.logistics.storage_rules import WatchEntry, watch_entry


def shipments_visible_to(viewer: Any) -> QuerySet[Shipment]:
    """Shipments from or to the viewer's organisation (a hospital never sees another hospital's)."""
    org = getattr(viewer, "organisation_id", None)
    return (
        Shipment.objects.filter(Q(from_site__organisation_id=org) | Q(to_site__organisation_id=org))
        .select_related("from_site", "to_site", "created_by")
        .order_by("-created_at")
    )


def shipment_get_for(viewer: Any, number: str) -> Shipment:
    shipment = shipments_visible_to(viewer).filter(number=number).first()
    if shipment is None:
        raise NotFound(f"No shipment {number} visible to you.")
    return shipment


def shipment_limits(shipment: Shipment) -> TemperatureLimits:
    low = None if shipment.min_c is None else float(shipment.min_c)
    high = None if shipment.max_c is None else float(shipment.max_c)
    return TemperatureLimits(ShipperKind(shipment.kind), low, high)


def logger_spec(shipment: Shipment, link: LoggerLink) -> ColdChainSpec:
    """What the logger's record is judged against (T-7.7-a/b): the shipment's limits and transit limit."""
    return ColdChainSpec(
        limits=shipment_limits(shipment),
        interval_s=float(link.interval_s),
        transit_limit_s=float(shipment.max_transit_hours) * 3600.0,
        armed_at=link.armed_at.timestamp(),
        mkt_formula=MktFormula(shipment.mkt_formula),
    )


def _trace(rows: QuerySet[TemperatureReading], source: str) -> TemperatureTrace:
    pairs = list(rows.order_by("pk").values_list("at", "celsius"))
    times = np.array([at.timestamp() for at, _ in pairs], dtype=np.float64)
    celsius = np.array([np.nan if c is None else c for _, c in pairs], dtype=np.float64)
    return trace_of(times, celsius, source)


def logger_traces(link: LoggerLink) -> list[TemperatureTrace]:
    """One trace per imported file (in file order) and one for live MQTT readings (in time order)."""
    parts = [
        _trace(TemperatureReading.objects.filter(file_import=imp), imp.file_name)
        for imp in link.imports.order_by("imported_at")
    ]
    live = TemperatureReading.objects.filter(logger_serial=link.serial, file_import__isnull=True)
    if link.shipment.dispatched_at is not None:
        live = live.filter(at__gte=link.armed_at)
    if live.exists():
        parts.append(_trace(live.order_by("at"), f"{link.serial} (live)"))
    return parts


def shipment_coldchain(shipment: Shipment) -> list[tuple[LoggerLink, ColdChainVerdict]]:
    """The cold-chain verdict of each logger of the shipment (T-8.1.5-a..c)."""
    return [
        (
            link,
            analyse_cold_chain(
                logger_traces(link),
                logger_spec(shipment, link),
                dispatched_at=shipment.dispatched_at,
                arrived_at=shipment.arrived_at,
            ),
        )
        for link in shipment.loggers.select_related("shipment").order_by("serial")
    ]


def packing_check_get(shipment: Shipment) -> PackingCheck | None:
    """The shipment's two-person packing check (X-5), or None before it."""
    return PackingCheck.objects.filter(shipment=shipment).first()


def receipt_get(shipment: Shipment) -> ReceiptInspection | None:
    return (
        ReceiptInspection.objects.filter(shipment=shipment)
        .select_related("receiver", "monitoring_device")
        .first()
    )


def unit_clinic_status(din: str) -> str:
    """A unit's receipt status for other contexts: "not_received", "accepted", "quarantined" or "rejected".

    A unit is usable at the clinic only when its latest receipt accepted it (T-8.1.1, T-8.1.6).
    """
    inspection = (
        ReceiptInspection.objects.filter(shipment__expected_units__contains=[din])
        .order_by("-received_at")
        .first()
        if _json_contains_supported()
        else next(
            (
                r
                for r in ReceiptInspection.objects.order_by("-received_at")
                if din in r.shipment.expected_units
            ),
            None,
        )
    )
    return "not_received" if inspection is None else inspection.outcome


def _json_contains_supported() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def logger_get(shipment: Shipment, serial: str) -> LoggerLink:
    link = shipment.loggers.filter(serial=serial).first()
    if link is None:
        raise NotFound(f"Logger {serial} is not linked to shipment {shipment.number}.")
    return link


def receipt_require(shipment: Shipment) -> ReceiptInspection:
    inspection = receipt_get(shipment)
    if inspection is None:
        raise NotFound(f"Shipment {shipment.number} has no receipt inspection yet.")
    return inspection


def shipment_chart_series(
    shipment: Shipment,
) -> list[tuple[LoggerLink, list[TemperatureTrace], ColdChainVerdict]]:
    """Per logger: its traces and verdict, for the chart on the page and in the PDF."""
    series = []
    for link in shipment.loggers.select_related("shipment").order_by("serial"):
        parts = logger_traces(link)
        verdict = analyse_cold_chain(
            parts,
            logger_spec(shipment, link),
            dispatched_at=shipment.dispatched_at,
            arrived_at=shipment.arrived_at,
        )
        series.append((link, parts, verdict))
    return series


# --- hospital storage (issue 6 item 5) ---------------------------------------------------------------


def storage_locations_for(viewer: Any) -> QuerySet[StorageLocation]:
    """The storage locations of the viewer's site (a hospital keeps its own stock), with their device."""
    return (
        StorageLocation.objects.filter(site_id=getattr(viewer, "site_id", None))
        .select_related("monitoring_device")
        .order_by("code")
    )


def storage_location_get_for(viewer: Any, code: str) -> StorageLocation:
    location = storage_locations_for(viewer).filter(code=code).first()
    if location is None:
        raise NotFound(f"No storage location {code} at your site.")
    return location


def shipment_of_unit(site_id: Any, scanned_text: str) -> tuple[Shipment, UnitScan] | None:
    """The latest shipment to the site carrying the scanned unit (typed DIN or label barcode), and the scan as
    read against that shipment's units."""
    for shipment in Shipment.objects.filter(to_site_id=site_id).order_by("-created_at", "-pk"):
        scan = read_unit_scan(scanned_text, shipment.expected_units)
        if scan.din is not None:
            return shipment, scan
    return None


def stock_open_in(din: str, site_id: Any) -> StockEvent | None:
    """The unit's stock-in at the site that no stock-out has closed yet (None: not in stock there)."""
    return (
        StockEvent.objects.filter(din=din, kind=StockEvent.Kind.IN, location__site_id=site_id, stock_out=None)
        .select_related("location", "shipment")
        .first()
    )


def stock_list(viewer: Any) -> QuerySet[StockEvent]:
    """Units in stock at the viewer's site: stock-ins not closed by a stock-out, with location and shipment."""
    return (
        StockEvent.objects.filter(
            kind=StockEvent.Kind.IN, location__site_id=getattr(viewer, "site_id", None), stock_out=None
        )
        .select_related("location", "shipment", "actor")
        .order_by("location__code", "din")
    )


def stock_history(viewer: Any, limit: int = 200) -> QuerySet[StockEvent]:
    return (
        StockEvent.objects.filter(location__site_id=getattr(viewer, "site_id", None))
        .select_related("location", "actor")
        .order_by("-at", "-pk")[:limit]
    )


def expiry_watch(viewer: Any, within: dt.timedelta, now: dt.datetime) -> list[tuple[StockEvent, WatchEntry]]:
    """Units in stock within `within` of expiry or of the storage time limit, or past one (T-7.7-e, T-8.1.3-d);
    nearest first."""
    rows = [
        (event, entry)
        for event in stock_list(viewer)
        if (entry := watch_entry(event.expires_at, event.storage_until, now, within)) is not None
    ]
    return sorted(rows, key=lambda row: row[1].due_at)


# --- limits of a product shipment (T-7.7, T-7.15) -----------------------------------------------------


@dataclass(frozen=True)
class ShippingPreview:
    """What a product shipment of a batch would be created with, before the shipper is chosen (T-7.7)."""

    batch_number: str
    source: str
    destination: str
    units: tuple[str, ...]
    transport: str
    max_transport_hours: Decimal | None
    containers: tuple[str, ...]
    shipper_kinds: tuple[str, ...]  # the kinds that can keep the product's transport range
    storage_mode: str  # "" when the product's storage requirements match no clinic mode
    storage_note: str
    expires_at: dt.datetime | None


def batch_shipping_preview(viewer: Any, batch_number: str) -> ShippingPreview:
    """The limits, containers, shipper kinds, storage mode and expiry a shipment of the batch would use, read
    from the batch's product version (T-7.5-e, T-7.7-a..d, T-7.15-a..c)."""
    from cellchain.domain.shipping_limits import product_expiry, shipper_fits
    from cellchain.logistics.storage_rules import product_storage_mode
    from cellchain.manufacturing.selectors import batch_for_shipping

    found = batch_for_shipping(batch_number.strip())
    if found is None or found[0].site.organisation_id != getattr(viewer, "organisation_id", None):
        raise NotFound(f"No batch {batch_number.strip()} of your organisation.")
    batch, info = found
    storage, source = info.storage_transport, str(batch.product_version)
    mode = product_storage_mode(storage.storage_temperature.minimum_c, storage.storage_temperature.maximum_c,
                                (storage.storage_mode.zh, storage.storage_mode.en), source)  # fmt: skip
    hours = storage.max_transport_time
    return ShippingPreview(
        batch_number=batch.number,
        source=source,
        destination=batch.intake.collection_site.name,
        units=tuple(sorted(u.din for u in batch.units.all() if u.purpose == "patient")),
        transport=storage.transport_temperature.describe(),
        max_transport_hours=None if hours is None else Decimal(str(hours.total_seconds() / 3600)).normalize(),
        containers=tuple(storage.containers),
        shipper_kinds=tuple(k.value for k in ShipperKind if shipper_fits(k, storage.transport_temperature)),
        storage_mode="" if mode.mode is None else mode.mode.value,
        storage_note=mode.reason,
        expires_at=None
        if batch.manufactured_at is None
        else product_expiry(batch.manufactured_at, info.shelf_life),
    )


# --- reservations and monitoring devices (T-8.1.2-c/e, T-10.12) ---------------------------------------


def shipment_reservations(shipment: Shipment) -> QuerySet[StorageReservation]:
    """Every reservation of the shipment, newest first (active, fulfilled and cancelled ones)."""
    return shipment.reservations.select_related("location", "reserved_by", "closed_by").order_by(
        "-reserved_at", "-pk"
    )


def shipment_active_reservation(shipment: Shipment) -> StorageReservation | None:
    return shipment_reservations(shipment).filter(status=StorageReservation.Status.ACTIVE).first()


def incoming_shipments(viewer: Any) -> QuerySet[Shipment]:
    """Shipments on their way to the viewer's site and not yet received: those storage is reserved for."""
    return (
        Shipment.objects.filter(
            to_site_id=getattr(viewer, "site_id", None),
            status__in=[
                Shipment.Status.PACKING,
                Shipment.Status.PACKED,
                Shipment.Status.IN_TRANSIT,
                Shipment.Status.ARRIVED,
            ],
        )
        .select_related("from_site", "to_site")
        .prefetch_related("reservations__location")
        .order_by("created_at", "pk")
    )


def reservations_for(viewer: Any) -> QuerySet[StorageReservation]:
    """The reservations at the viewer's site, newest first."""
    return (
        StorageReservation.objects.filter(location__site_id=getattr(viewer, "site_id", None))
        .select_related("shipment", "location", "reserved_by", "closed_by")
        .order_by("-reserved_at", "-pk")
    )


def reservation_get_for(viewer: Any, pk: int) -> StorageReservation:
    reservation = reservations_for(viewer).filter(pk=pk).first()
    if reservation is None:
        raise NotFound(f"No storage reservation {pk} at your site.")
    return reservation


def locations_for_shipment(viewer: Any, shipment: Shipment) -> list[tuple[StorageLocation, int | None]]:
    """The viewer's locations of the shipment's storage mode (T-7.7-d) with their free positions (None: the
    capacity is not recorded)."""
    from cellchain.logistics.storage_rules import shipment_storage_mode

    mode = shipment_storage_mode(shipment.storage_mode, shipment.kind)
    return [
        (loc, None if loc.capacity is None else loc.capacity - location_occupied(loc, excluding=shipment))
        for loc in storage_locations_for(viewer).filter(storage_mode=mode.value)
    ]


def monitoring_devices_for(viewer: Any) -> QuerySet[MonitoringDevice]:
    """The temperature-monitoring devices of the viewer's site (T-8.1.2-c)."""
    return MonitoringDevice.objects.filter(site_id=getattr(viewer, "site_id", None)).order_by("code")


def usable_devices_for(viewer: Any, on: dt.date) -> list[MonitoringDevice]:
    """Devices that may be selected in a record today: in service, calibrated, not overdue (T-10.12)."""
    return [d for d in monitoring_devices_for(viewer) if device_gate(d, on).allowed]


def monitoring_device_get_for(viewer: Any, code: str) -> MonitoringDevice:
    device = monitoring_devices_for(viewer).filter(code=code).first()
    if device is None:
        raise NotFound(f"No monitoring device {code} at your site.")
    return device


def last_receiving_area(viewer: Any) -> str:
    """The receiving area of the site's latest receipt, to prefill the next one (T-8.1.2-d)."""
    return (
        ReceiptInspection.objects.filter(shipment__to_site_id=getattr(viewer, "site_id", None))
        .exclude(receiving_area="")
        .order_by("-received_at")
        .values_list("receiving_area", flat=True)
        .first()
        or ""
    )


# --- reads the commands share (reservations T-8.1.2-e, devices T-10.12) ---------------------------------


def stocked_dins(shipment: Shipment) -> set[str]:
    """Units of the shipment stocked in at its destination (ever: a later stock-out does not undo it)."""
    return set(
        StockEvent.objects.filter(
            shipment=shipment, kind=StockEvent.Kind.IN, location__site_id=shipment.to_site_id
        ).values_list("din", flat=True)
    )


def held_positions(reservation: StorageReservation) -> int:
    """Positions an active reservation still holds: one per unit of its shipment not yet stocked in."""
    if reservation.status != StorageReservation.Status.ACTIVE:
        return 0
    return max(reservation.positions - len(stocked_dins(reservation.shipment)), 0)


def location_occupied(location: StorageLocation, excluding: Shipment | None = None) -> int:
    """Units in stock at the location plus positions held there by active reservations (T-8.1.2-e)."""
    in_stock = StockEvent.objects.filter(location=location, kind=StockEvent.Kind.IN, stock_out=None).count()
    reservations = location.reservations.filter(status=StorageReservation.Status.ACTIVE).select_related(
        "shipment"
    )
    if excluding is not None:
        reservations = reservations.exclude(shipment=excluding)
    return in_stock + sum(held_positions(r) for r in reservations)


def active_reservation(shipment: Shipment) -> StorageReservation | None:
    return (
        shipment.reservations.filter(status=StorageReservation.Status.ACTIVE)
        .select_related("location")
        .first()
    )


def device_to_domain(device: MonitoringDevice) -> facility.Equipment:
    """The device as the facility domain's equipment register entry (T-10.12)."""
    return facility.Equipment(device.code, device.kind, device.in_service, device.calibration_due)


def device_gate(device: MonitoringDevice, on: dt.date) -> Gate:
    """May the device be selected in a record today (T-10.12)?"""
    return facility.equipment_use_check(device_to_domain(device), on)
