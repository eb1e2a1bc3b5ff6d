"""EPCIS 2.0 export of a shipment's packing: an AggregationEvent of the units into the shipper, with the
travelling loggers' temperature record as sensor data (issue 6 item 1; REGULATORY item 41; T-7.15, T-8.1.5).

The event and the document come from `cellchain.journeys.epcis` (one builder for the whole system); this
module only adds what the journeys builder does not carry: the ``sensorElementList`` (EPCIS 2.0 §7.3.7),
one element per logger, summarising its readings (min, max, mean in °C) over the logged interval and
flagging each excursion as an ``ALARM_CONDITION`` and a logger without usable readings as an
``ERROR_CONDITION``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from cellchain.core.errors import Conflict
from cellchain.domain.coldchain import ColdChainVerdict, TemperatureTrace
from cellchain.domain.epcis_messages import ShipmentNotice, UnitLine, shipment_message
from cellchain.journeys.epcis import (
    DEFAULT_ID_BASE,
    AggregationEvent,
    EpcisAction,
    EpcisIds,
    EventCommon,
    epcis_document,
    epcis_time,
    event_json,
    identified,
)
from cellchain.logistics.models import LoggerLink, Shipment
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import signatures_of

CELSIUS = "CEL"  # UN/CEFACT unit code for degree Celsius, as EPCIS sensor reports write it


def logger_uri(ids: EpcisIds, serial: str) -> str:
    return f"{ids.base}/logger/{serial}"


def _utc(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _round(value: float) -> float:
    return round(float(value), 2)


def sensor_element(
    ids: EpcisIds, link: LoggerLink, traces: list[TemperatureTrace], verdict: ColdChainVerdict
) -> dict[str, Any]:
    """One logger's record as an EPCIS sensorElement: interval summary plus one alarm per excursion."""
    times = np.concatenate([t.times for t in traces]) if traces else np.empty(0)
    celsius = np.concatenate([t.celsius for t in traces]) if traces else np.empty(0)
    finite = celsius[np.isfinite(celsius)]
    device = logger_uri(ids, link.serial)
    metadata: dict[str, Any] = {"deviceID": device}
    if len(times):
        metadata |= {"startTime": epcis_time(_utc(times.min())), "endTime": epcis_time(_utc(times.max()))}
    if not len(finite):
        report = {"type": "Temperature", "exception": "ERROR_CONDITION", "deviceID": device,
                  "cellchain:note": f"logger {link.serial} has no usable readings"}  # fmt: skip
        return {"sensorMetadata": metadata, "sensorReport": [report]}
    reports: list[dict[str, Any]] = [
        {"type": "Temperature", "minValue": _round(finite.min()), "maxValue": _round(finite.max()),
         "meanValue": _round(finite.mean()), "uom": CELSIUS}
    ]  # fmt: skip
    reports += [
        {"type": "Temperature", "exception": "ALARM_CONDITION", "time": epcis_time(_utc(e.start)),
         "value": _round(e.extreme_c), "uom": CELSIUS,
         "cellchain:excursionEnd": epcis_time(_utc(e.end)), "cellchain:durationSeconds": _round(e.duration_s),
         "cellchain:limitCelsius": _round(e.limit_c)}
        for e in verdict.excursions
    ]  # fmt: skip
    faults = int(len(celsius) - len(finite))
    if faults:
        reports.append({"type": "Temperature", "exception": "ERROR_CONDITION", "deviceID": device,
                        "cellchain:note": f"{faults} readings without temperature (probe fault)"})  # fmt: skip
    return {"sensorMetadata": metadata, "sensorReport": reports}


def _packed_at(shipment: Shipment) -> tuple[dt.datetime, dt.datetime]:
    """When packing was closed (the two-person check's verifying signature) and when it was recorded."""
    check = getattr(shipment, "packing_check", None)
    # Older shipments carry the packing signatures themselves (before the PackingCheck record, X-5).
    verified = [s for s in signatures_of(check or shipment) if s.meaning == Meaning.VERIFIED]
    scans = list(shipment.packed_units.values_list("scanned_at", flat=True))
    if not verified or not scans:
        raise Conflict(f"Shipment {shipment.number} has no verified packing yet: nothing to export.")
    return max(scans), verified[-1].signed_at


def packing_event(shipment: Shipment, ids: EpcisIds, sensors: list[dict[str, Any]]) -> dict[str, Any]:
    """The packing AggregationEvent (units into the shipper) as EPCIS JSON with its sensorElementList."""
    packed_at, recorded_at = _packed_at(shipment)
    common = EventCommon(
        event_time=packed_at,
        record_time=max(recorded_at, packed_at),
        biz_step="packing",
        read_point=ids.site(shipment.from_site.code),
        disposition="container_closed",
        destinations=(("location", ids.site(shipment.to_site.code)),),
        extensions=(("shipment", shipment.number), ("shipperKind", shipment.kind)),
    )
    children = tuple(ids.unit(din) for din in shipment.packed_units.values_list("din", flat=True))
    event = AggregationEvent(common, ids.shipper(shipment.container_code), children, EpcisAction.ADD)
    data = event_json(event)
    if sensors:
        data["sensorElementList"] = sensors
    return identified(data)


def shipment_packing_document(
    shipment: Shipment, *, created_at: dt.datetime, ids: EpcisIds | None = None
) -> dict[str, Any]:
    """An EPCISDocument with the shipment's packing event and its loggers' sensor data."""
    from cellchain.logistics.selectors import shipment_chart_series

    ids = ids or EpcisIds(DEFAULT_ID_BASE)
    sensors = [sensor_element(ids, link, traces, v) for link, traces, v in shipment_chart_series(shipment)]
    document = epcis_document([], document_id=f"{ids.base}/epcis/shipment/{shipment.number}/packing",
                              created_at=created_at, sender=ids.site(shipment.from_site.code))  # fmt: skip
    document["epcisBody"]["eventList"] = [packing_event(shipment, ids, sensors)]
    return document


def shipment_notice(shipment: Shipment, ids: EpcisIds) -> ShipmentNotice:
    """A dispatched product shipment as the message notice: its packed units with COI, product code and batch,
    and its loggers' record when read (issue 12 item 2; T-7.15, T-8.1.5)."""
    from cellchain.logistics.selectors import shipment_chart_series
    from cellchain.manufacturing.selectors import batch_for_shipping

    if shipment.dispatched_at is None:
        raise Conflict(f"Shipment {shipment.number} has not been handed to the courier: nothing to announce.")
    found = batch_for_shipping(shipment.batch_number) if shipment.batch_number else None
    if found is None or not shipment.coi:
        raise Conflict(
            f"Shipment {shipment.number} carries no product batch with a COI: not a product shipment."
        )
    batch = found[0]
    product_code = batch.product_version.product.code
    dins = sorted(shipment.packed_units.values_list("din", flat=True))
    zone = ZoneInfo(shipment.from_site.time_zone)
    return ShipmentNotice(
        number=shipment.number,
        shipped_at=shipment.dispatched_at.astimezone(zone),
        from_site=shipment.from_site.code,
        to_site=shipment.to_site.code,
        shipper_code=shipment.container_code,
        shipper_kind=shipment.kind,
        units=tuple(UnitLine(din, shipment.coi, product_code, batch.number) for din in dins),
        expires_at=shipment.expires_at.astimezone(zone) if shipment.expires_at else None,
        sensors=tuple(
            sensor_element(ids, link, traces, v) for link, traces, v in shipment_chart_series(shipment)
        ),
    )


def shipment_message_document(
    shipment: Shipment, *, created_at: dt.datetime, ids: EpcisIds | None = None
) -> dict[str, Any]:
    """The shipment message to the hospital: one EPCIS ``shipping`` event with units and logger data, its
    eventID the event hash (issue 12 item 2; T-7.15, T-8.1.5). Pure once the notice is read."""
    ids = ids or EpcisIds(DEFAULT_ID_BASE)
    return shipment_message(shipment_notice(shipment, ids), ids=ids, created_at=created_at)
