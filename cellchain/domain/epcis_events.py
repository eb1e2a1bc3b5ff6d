"""GS1 EPCIS 2.0 JSON-LD for custody events (REGULATORY item 41; T-10.4, G-4).

Plain functions over frozen dataclasses, no Django (so the domain's message builders share them, issue 12
item 2): services turn custody records into these events and this module writes the ``EPCISDocument``. Observations and hand-offs are ObjectEvents, packing a unit
into a shipper is an AggregationEvent, and an apheresis unit becoming a product is a TransformationEvent.

Units are named by HTTP URIs under the installation's identifier base (EPCIS 2.0 allows any URI for
instance identifiers); CellChain fields travel as extensions in the ``cellchain:`` namespace.

Every event's ``eventID`` is its GS1 EPCIS event hash (``ni:///sha-256;…?ver=CBV2.0``, computed on the event
without its ID; cellchain.domain.epcis_hash), so two installations that write the same event give it the same
ID and no database key leaks into it (issue 12 item 2; docs/decisions/0018-epcis-event-identity.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cellchain.domain.epcis_hash import STANDARD_PREFIXES, with_event_id

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CELLCHAIN_NAMESPACE = "https://cellchain.org/epcis/"
DEFAULT_ID_BASE = "https://id.cellchain.org"
EPCIS_NAMESPACES: dict[str, str] = {**STANDARD_PREFIXES, "cellchain": CELLCHAIN_NAMESPACE}
"""The prefixes our documents' ``@context`` declares: what the event hash expands ``cellchain:`` keys with."""


class EpcisAction(StrEnum):
    OBSERVE = "OBSERVE"
    ADD = "ADD"
    DELETE = "DELETE"


@dataclass(frozen=True)
class EpcisIds:
    """Turns CellChain identifiers into URIs under one base (one per installation)."""

    base: str = DEFAULT_ID_BASE

    def unit(self, din: str) -> str:
        return f"{self.base}/unit/{din}"

    def journey(self, coi: str) -> str:
        return f"{self.base}/coi/{coi}"

    def site(self, code: str) -> str:
        return f"{self.base}/site/{code}"

    def storage_position(self, site_code: str, label: str) -> str:
        return f"{self.base}/site/{site_code}/position/{label}"

    def shipper(self, code: str) -> str:
        return f"{self.base}/shipper/{code}"

    def event(self, number: int | str) -> str:
        """A local name (transformation IDs, document IDs); never an eventID, which is the event hash."""
        return f"{self.base}/event/{number}"

    def product(self, identifier: str) -> str:
        return f"{self.base}/product/{identifier}"


@dataclass(frozen=True)
class EventCommon:
    """Fields every event carries: time, where, why and CellChain extensions (who, scan, verdict); the ID is
    derived from them (the event hash), never given."""

    event_time: datetime
    record_time: datetime
    biz_step: str
    read_point: str
    disposition: str | None = None
    biz_location: str | None = None
    sources: tuple[tuple[str, str], ...] = ()
    destinations: tuple[tuple[str, str], ...] = ()
    extensions: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        for moment in (self.event_time, self.record_time):
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError("EPCIS event times must carry their time zone offset")


@dataclass(frozen=True)
class ObjectEvent:
    common: EventCommon
    epcs: tuple[str, ...]
    action: EpcisAction = EpcisAction.OBSERVE


@dataclass(frozen=True)
class AggregationEvent:
    common: EventCommon
    parent: str
    children: tuple[str, ...]
    action: EpcisAction = EpcisAction.ADD


@dataclass(frozen=True)
class TransformationEvent:
    common: EventCommon
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    transformation_id: str | None = None


EpcisEvent = ObjectEvent | AggregationEvent | TransformationEvent


def epcis_time(moment: datetime) -> str:
    """RFC 3339 time with milliseconds and offset, as EPCIS 2.0 JSON writes it."""
    return moment.isoformat(timespec="milliseconds")


def epcis_offset(moment: datetime) -> str:
    """``+08:00`` style offset of ``moment`` (EPCIS eventTimeZoneOffset)."""
    text = moment.isoformat()
    return "+00:00" if text.endswith("Z") else text[-6:]


def _common_json(common: EventCommon, event_type: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": event_type,
        "eventTime": epcis_time(common.event_time),
        "eventTimeZoneOffset": epcis_offset(common.event_time),
        "recordTime": epcis_time(common.record_time),
    }
    return data


def _where_why_json(common: EventCommon) -> dict[str, Any]:
    data: dict[str, Any] = {"bizStep": common.biz_step, "readPoint": {"id": common.read_point}}
    if common.disposition:
        data["disposition"] = common.disposition
    if common.biz_location:
        data["bizLocation"] = {"id": common.biz_location}
    if common.sources:
        data["sourceList"] = [{"type": kind, "source": uri} for kind, uri in common.sources]
    if common.destinations:
        data["destinationList"] = [{"type": kind, "destination": uri} for kind, uri in common.destinations]
    for name, value in common.extensions:
        data[f"cellchain:{name}"] = value
    return data


def event_json(event: EpcisEvent) -> dict[str, Any]:
    """One event as EPCIS 2.0 JSON-LD (without its own @context: the document carries it), its eventID the
    event hash (issue 12 item 2)."""
    if isinstance(event, ObjectEvent):
        body: dict[str, Any] = {"epcList": list(event.epcs), "action": event.action.value}
        head = _common_json(event.common, "ObjectEvent")
    elif isinstance(event, AggregationEvent):
        body = {"parentID": event.parent, "childEPCs": list(event.children), "action": event.action.value}
        head = _common_json(event.common, "AggregationEvent")
    else:
        body = {"inputEPCList": list(event.inputs), "outputEPCList": list(event.outputs)}
        if event.transformation_id:
            body["transformationID"] = event.transformation_id
        head = _common_json(event.common, "TransformationEvent")
    return identified({**head, **body, **_where_why_json(event.common)})


def identified(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with ``eventID`` = its EPCIS event hash; call again after adding fields (issue 12 item 2)."""
    return with_event_id(event, EPCIS_NAMESPACES)


def epcis_document(
    events: Iterable[EpcisEvent], *, document_id: str, created_at: datetime, sender: str | None = None
) -> dict[str, Any]:
    """An ``EPCISDocument`` holding ``events`` in the order given (REGULATORY item 41)."""
    document: dict[str, Any] = {
        "@context": [EPCIS_CONTEXT, {"cellchain": CELLCHAIN_NAMESPACE}],
        "id": document_id,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": epcis_time(created_at),
        "epcisBody": {"eventList": [event_json(event) for event in events]},
    }
    if sender:
        document["sender"] = sender
    return document
