"""Queries of the logistics context: shipments a viewer may see, their cold chain, a unit's receipt status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db.models import Q, QuerySet

from cellchain.core.errors import NotFound
from cellchain.domain.coldchain import (
    ColdChainSpec,
    ColdChainVerdict,
    ShipperKind,
    TemperatureLimits,
    TemperatureTrace,
    analyse_cold_chain,
    trace_of,
)
from cellchain.logistics.models import (
    LoggerLink,
    ReceiptInspection,
    Shipment,
    StockEvent,
    StorageLocation,
    TemperatureReading,
)
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


def receipt_get(shipment: Shipment) -> ReceiptInspection | None:
    return ReceiptInspection.objects.filter(shipment=shipment).select_related("receiver").first()


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
    """The storage locations of the viewer's site (a hospital keeps its own stock)."""
    return StorageLocation.objects.filter(site_id=getattr(viewer, "site_id", None)).order_by("code")


def storage_location_get_for(viewer: Any, code: str) -> StorageLocation:
    location = storage_locations_for(viewer).filter(code=code).first()
    if location is None:
        raise NotFound(f"No storage location {code} at your site.")
    return location


def shipment_of_unit(site_id: Any, scanned_text: str) -> tuple[Shipment, str] | None:
    """The latest shipment to the site carrying the scanned unit, and the unit's DIN (check character or not)."""
    from cellchain.logistics.services import _din_of

    for shipment in Shipment.objects.filter(to_site_id=site_id).order_by("-created_at", "-pk"):
        din = _din_of(scanned_text, shipment.expected_units)
        if din is not None:
            return shipment, din
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
