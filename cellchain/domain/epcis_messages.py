"""Manufacturer -> hospital messages as GS1 EPCIS 2.0 documents, and their parsers on the hospital side
(issue 12 item 2, first bullet; T-7.4 product information, T-7.15 / T-8.1.5 shipment and logger data, Q-2-b
release and conditional release with its CoA, Q-2.5-c late result and recall).

Each builder takes a small frozen dataclass (a *notice*) and returns a whole ``EPCISDocument`` with one
ObjectEvent whose ``eventID`` is the GS1 event hash; each parser takes such a document and gives back the notice
it was built from (wrapped in `Received`, with the event ID) or raises `MessageError` saying where and why.
``parse(build(n)) == n`` for every notice.

What travels: unit identifiers (DIN), the pseudonymous chain-of-identity identifier (COI), product code, batch,
times, sites, logger readings and documents *by reference* (URI + SHA-256; the PDF itself goes by the exchange's
document channel, never inline). Patient identity never leaves the hospital (DESIGN "Identity and labels",
T-7.6): there is no field for a name, birth date, record number or pseudonym here, and a parser refuses any
``cellchain:`` field it does not know rather than store something it was not meant to receive.

Standard fields carry the meaning where EPCIS has one (bizStep, disposition, sourceList/destinationList,
bizTransactionList ``desadv`` / ``cert`` / ``testres``, sensorElementList); CellChain's fields are extensions
in the ``cellchain:`` namespace, and ``cellchain:message`` names the kind of message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from cellchain.domain.epcis_events import (
    CELLCHAIN_NAMESPACE,
    EPCIS_CONTEXT,
    EpcisAction,
    EpcisIds,
    EventCommon,
    ObjectEvent,
    epcis_document,
    epcis_time,
    event_json,
    identified,
)
from cellchain.domain.epcis_hash import EpcisHashError, document_namespaces, event_hash

MESSAGE = "cellchain:message"


class MessageKind(StrEnum):
    SHIPMENT = "shipment"
    RELEASE = "release"
    LATE_RESULT = "late_result"
    RECALL = "recall"
    PRODUCT_INFORMATION = "product_information"


class ReleaseStatus(StrEnum):
    RELEASED = "released"
    CONDITIONAL = "conditional"


class ResultOutcome(StrEnum):
    PASS = "pass"  # noqa: S105 - a test outcome, not a password
    FAIL = "fail"


class MessageError(ValueError):
    """A document that is valid JSON but not the message expected: ``where`` (a path) and ``why``."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.where = where
        self.why = why


# --------------------------------------------------------------------------- notices


def _require(condition: bool, where: str, why: str) -> None:
    if not condition:
        raise MessageError(where, why)


def _aware(moment: datetime, where: str) -> None:
    _require(
        moment.tzinfo is not None and moment.utcoffset() is not None, where, "needs its time zone offset"
    )


@dataclass(frozen=True)
class UnitLine:
    """One unit as the hospital expects it: DIN, pseudonymous COI, product code and batch (T-8.1.3-a)."""

    din: str
    coi: str
    product_code: str
    batch_number: str

    def __post_init__(self) -> None:
        for name in ("din", "coi", "product_code", "batch_number"):
            value = getattr(self, name)
            _require(
                isinstance(value, str)
                and 0 < len(value) <= 64
                and value.strip() == value
                and "/" not in value,
                f"unit {name}",
                f"{value!r} must be 1-64 characters without spaces at the ends or '/'",
            )


SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class DocumentRef:
    """A document sent by reference: where to fetch it and the SHA-256 its bytes must have."""

    uri: str
    sha256: str
    kind: str  # "certificate_of_analysis", "product_information", "test_report", …
    media_type: str = "application/pdf"

    def __post_init__(self) -> None:
        _require(
            self.uri.startswith(("https://", "http://")),
            "document uri",
            f"{self.uri!r} is not an http(s) URI",
        )
        _require(
            SHA256_HEX.fullmatch(self.sha256) is not None,
            "document sha256",
            f"{self.sha256!r} is not 64 lowercase hex digits",
        )
        _require(bool(self.kind) and bool(self.media_type), "document", "kind and media type are required")


@dataclass(frozen=True)
class ShipmentNotice:
    """A shipment handed to the courier: its units and, when read, its loggers' record (T-7.15, T-8.1.5)."""

    number: str
    shipped_at: datetime
    from_site: str  # site code at the sender
    to_site: str
    shipper_code: str
    shipper_kind: str
    units: tuple[UnitLine, ...]
    expires_at: datetime | None = None
    sensors: tuple[Mapping[str, Any], ...] = ()  # EPCIS sensorElements, e.g. logistics.epcis.sensor_element

    def __post_init__(self) -> None:
        _aware(self.shipped_at, "shipped_at")
        if self.expires_at is not None:
            _aware(self.expires_at, "expires_at")
        _require(bool(self.units), "units", "a shipment carries at least one unit")
        _require(len({u.din for u in self.units}) == len(self.units), "units", "a DIN is listed twice")
        for i, sensor in enumerate(self.sensors):
            _require(
                isinstance(sensor.get("sensorReport"), list) and bool(sensor["sensorReport"]),
                f"sensors[{i}]",
                "a sensorElement needs at least one sensorReport",
            )


@dataclass(frozen=True)
class ReleaseNotice:
    """QA's release of a batch, full or conditional, with its certificate of analysis (Q-2-b, Q-2.5-b)."""

    product_code: str
    batch_number: str
    status: ReleaseStatus
    decided_at: datetime
    site: str
    units: tuple[UnitLine, ...]
    certificate: DocumentRef
    pending_tests: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _aware(self.decided_at, "decided_at")
        _units_of_batch(self.units, self.product_code, self.batch_number)
        if self.status == ReleaseStatus.CONDITIONAL:
            _require(
                bool(self.pending_tests),
                "pending_tests",
                "a conditional release names the compendial tests still running (Q-2.5-b)",
            )
        else:
            _require(not self.pending_tests, "pending_tests", "a full release has no tests pending")


@dataclass(frozen=True)
class LateResultNotice:
    """A result that arrived after release (the parallel compendial test of a conditional release, Q-2.5-c)."""

    product_code: str
    batch_number: str
    test: str
    outcome: ResultOutcome
    reported_at: datetime
    site: str
    units: tuple[UnitLine, ...]
    report: DocumentRef | None = None

    def __post_init__(self) -> None:
        _aware(self.reported_at, "reported_at")
        _units_of_batch(self.units, self.product_code, self.batch_number)
        _require(bool(self.test.strip()), "test", "the test is named")


class RecallDisposition(StrEnum):
    RECALLED = "recalled"
    NON_SELLABLE_OTHER = "non_sellable_other"  # a hold: do not use until told otherwise


@dataclass(frozen=True)
class RecallNotice:
    """A recall or hold of a batch's units, with its reason (Q-2.5-c; T-8.1.3 suspend use)."""

    reference: str
    product_code: str
    batch_number: str
    reason: str
    started_at: datetime
    site: str
    units: tuple[UnitLine, ...]
    disposition: RecallDisposition = RecallDisposition.RECALLED

    def __post_init__(self) -> None:
        _aware(self.started_at, "started_at")
        _units_of_batch(self.units, self.product_code, self.batch_number)
        _require(bool(self.reason.strip()), "reason", "a recall states its reason")
        _require(bool(self.reference.strip()), "reference", "a recall has a reference")


@dataclass(frozen=True)
class ProductInformationNotice:
    """A version of a batch's product information package, sent by reference (T-7.4)."""

    product_code: str
    batch_number: str
    version: int
    issued_at: datetime
    site: str
    units: tuple[UnitLine, ...]
    document: DocumentRef

    def __post_init__(self) -> None:
        _aware(self.issued_at, "issued_at")
        _units_of_batch(self.units, self.product_code, self.batch_number)
        _require(isinstance(self.version, int) and self.version >= 1, "version", "versions count from 1")


def _units_of_batch(units: tuple[UnitLine, ...], product_code: str, batch_number: str) -> None:
    _require(bool(units), "units", "the message names the units it is about")
    _require(len({u.din for u in units}) == len(units), "units", "a DIN is listed twice")
    strays = [u.din for u in units if (u.product_code, u.batch_number) != (product_code, batch_number)]
    _require(not strays, "units", f"{', '.join(strays)} not of {product_code} batch {batch_number}")


Notice = ShipmentNotice | ReleaseNotice | LateResultNotice | RecallNotice | ProductInformationNotice


@dataclass(frozen=True)
class Received[N: Notice]:
    """A parsed message: the event ID (its hash, checked), who sent it (document ``sender``) and the notice."""

    event_id: str
    sender: str | None
    notice: N


# --------------------------------------------------------------------------- builders


def _unit_json(unit: UnitLine) -> dict[str, str]:
    return {
        "cellchain:din": unit.din,
        "cellchain:coi": unit.coi,
        "cellchain:productCode": unit.product_code,
        "cellchain:batch": unit.batch_number,
    }


def _document_json(document: DocumentRef) -> dict[str, str]:
    return {
        "cellchain:uri": document.uri,
        "cellchain:sha256": document.sha256,
        "cellchain:kind": document.kind,
        "cellchain:mediaType": document.media_type,
    }


def _message(
    ids: EpcisIds,
    kind: MessageKind,
    *,
    at: datetime,
    created_at: datetime,
    site: str,
    biz_step: str,
    disposition: str,
    units: tuple[UnitLine, ...],
    extra: Mapping[str, Any],
    name: str,
    sources: tuple[tuple[str, str], ...] = (),
    destinations: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    common = EventCommon(
        event_time=at,
        record_time=created_at,
        biz_step=biz_step,
        read_point=ids.site(site),
        disposition=disposition,
        sources=sources,
        destinations=destinations,
        extensions=(("message", kind.value),),
    )
    event = event_json(ObjectEvent(common, tuple(ids.unit(u.din) for u in units), EpcisAction.OBSERVE))
    event.update({k: v for k, v in extra.items() if v not in (None, "", [], ())})
    event["cellchain:units"] = [_unit_json(u) for u in units]
    document = epcis_document(
        [],
        document_id=f"{ids.base}/epcis/{kind.value}/{quote(name)}",
        created_at=created_at,
        sender=ids.site(site),
    )
    document["epcisBody"]["eventList"] = [identified(event)]
    return document


def shipment_message(notice: ShipmentNotice, *, ids: EpcisIds, created_at: datetime) -> dict[str, Any]:
    """Shipment with its units and logger data as an EPCIS ``shipping`` ObjectEvent (issue 12 item 2; T-7.15,
    T-8.1.5): ``desadv`` business transaction = the shipment, source/destination sites, sensorElementList."""
    extra: dict[str, Any] = {
        "bizTransactionList": [{"type": "desadv", "bizTransaction": f"{ids.base}/shipment/{notice.number}"}],
        "sensorElementList": [dict(s) for s in notice.sensors],
        "cellchain:shipment": notice.number,
        "cellchain:shipper": ids.shipper(notice.shipper_code),
        "cellchain:shipperKind": notice.shipper_kind,
        "cellchain:expiresAt": epcis_time(notice.expires_at) if notice.expires_at else None,
    }
    return _message(
        ids,
        MessageKind.SHIPMENT,
        at=notice.shipped_at,
        created_at=created_at,
        site=notice.from_site,
        biz_step="shipping",
        disposition="in_transit",
        units=notice.units,
        extra=extra,
        name=notice.number,
        sources=(("location", ids.site(notice.from_site)),),
        destinations=(("location", ids.site(notice.to_site)),),
    )


def release_message(notice: ReleaseNotice, *, ids: EpcisIds, created_at: datetime) -> dict[str, Any]:
    """Batch release or conditional release with the CoA by reference (``cert`` business transaction and
    ``cellchain:document`` with its SHA-256) (issue 12 item 2; Q-2-b, Q-2.5-b)."""
    extra = {
        "bizTransactionList": [{"type": "cert", "bizTransaction": notice.certificate.uri}],
        "cellchain:releaseStatus": notice.status.value,
        "cellchain:productCode": notice.product_code,
        "cellchain:batch": notice.batch_number,
        "cellchain:pendingTests": list(notice.pending_tests),
        "cellchain:document": _document_json(notice.certificate),
    }
    return _message(
        ids,
        MessageKind.RELEASE,
        at=notice.decided_at,
        created_at=created_at,
        site=notice.site,
        biz_step="inspecting",
        disposition="conformant",
        units=notice.units,
        extra=extra,
        name=f"{notice.product_code}/{notice.batch_number}/{notice.status.value}",
    )


def late_result_message(notice: LateResultNotice, *, ids: EpcisIds, created_at: datetime) -> dict[str, Any]:
    """A result after release: ``inspecting``, ``conformant`` or ``non_conformant``, the report by reference
    (``testres``) (issue 12 item 2; Q-2.5-c)."""
    extra: dict[str, Any] = {
        "cellchain:productCode": notice.product_code,
        "cellchain:batch": notice.batch_number,
        "cellchain:test": notice.test,
        "cellchain:outcome": notice.outcome.value,
    }
    if notice.report:
        extra["bizTransactionList"] = [{"type": "testres", "bizTransaction": notice.report.uri}]
        extra["cellchain:document"] = _document_json(notice.report)
    disposition = "conformant" if notice.outcome == ResultOutcome.PASS else "non_conformant"
    return _message(
        ids,
        MessageKind.LATE_RESULT,
        at=notice.reported_at,
        created_at=created_at,
        site=notice.site,
        biz_step="inspecting",
        disposition=disposition,
        units=notice.units,
        extra=extra,
        name=f"{notice.product_code}/{notice.batch_number}/{notice.test}",
    )


def recall_message(notice: RecallNotice, *, ids: EpcisIds, created_at: datetime) -> dict[str, Any]:
    """A recall or hold: ``holding`` with disposition ``recalled`` (or ``non_sellable_other``) and the reason
    (issue 12 item 2; Q-2.5-c)."""
    extra = {
        "cellchain:recall": notice.reference,
        "cellchain:productCode": notice.product_code,
        "cellchain:batch": notice.batch_number,
        "cellchain:reason": notice.reason,
    }
    return _message(
        ids,
        MessageKind.RECALL,
        at=notice.started_at,
        created_at=created_at,
        site=notice.site,
        biz_step="holding",
        disposition=notice.disposition.value,
        units=notice.units,
        extra=extra,
        name=notice.reference,
    )


def product_information_message(
    notice: ProductInformationNotice, *, ids: EpcisIds, created_at: datetime
) -> dict[str, Any]:
    """A product information package version (T-7.4) by reference: ``other`` step, ``cellchain:document``
    with the content's SHA-256 (issue 12 item 2)."""
    extra = {
        "cellchain:productCode": notice.product_code,
        "cellchain:batch": notice.batch_number,
        "cellchain:packageVersion": str(notice.version),
        "cellchain:document": _document_json(notice.document),
    }
    return _message(
        ids,
        MessageKind.PRODUCT_INFORMATION,
        at=notice.issued_at,
        created_at=created_at,
        site=notice.site,
        biz_step="other",
        disposition="active",
        units=notice.units,
        extra=extra,
        name=f"{notice.product_code}/{notice.batch_number}/v{notice.version}",
    )


# --------------------------------------------------------------------------- parsers

_COMMON_KEYS = frozenset({"cellchain:message", "cellchain:units"})
_KNOWN_KEYS: dict[MessageKind, frozenset[str]] = {
    MessageKind.SHIPMENT: frozenset(
        {"cellchain:shipment", "cellchain:shipper", "cellchain:shipperKind", "cellchain:expiresAt"}
    ),
    MessageKind.RELEASE: frozenset(
        {
            "cellchain:releaseStatus",
            "cellchain:productCode",
            "cellchain:batch",
            "cellchain:pendingTests",
            "cellchain:document",
        }
    ),
    MessageKind.LATE_RESULT: frozenset(
        {
            "cellchain:productCode",
            "cellchain:batch",
            "cellchain:test",
            "cellchain:outcome",
            "cellchain:document",
        }
    ),
    MessageKind.RECALL: frozenset(
        {"cellchain:recall", "cellchain:productCode", "cellchain:batch", "cellchain:reason"}
    ),
    MessageKind.PRODUCT_INFORMATION: frozenset(
        {"cellchain:productCode", "cellchain:batch", "cellchain:packageVersion", "cellchain:document"}
    ),
}
_UNIT_KEYS = frozenset({"cellchain:din", "cellchain:coi", "cellchain:productCode", "cellchain:batch"})
_DOCUMENT_KEYS = frozenset({"cellchain:uri", "cellchain:sha256", "cellchain:kind", "cellchain:mediaType"})


def _get(obj: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    if key not in obj:
        raise MessageError(f"{where}.{key}", "missing")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MessageError(f"{where}.{key}", f"expected {getattr(kind, '__name__', kind)}, found {value!r}")
    return value


def _parse_time(text: Any, where: str) -> datetime:
    if not isinstance(text, str):
        raise MessageError(where, f"expected a date-time, found {text!r}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise MessageError(where, f"{text!r} is not an RFC 3339 date-time") from error
    if moment.tzinfo is None:
        raise MessageError(where, f"{text!r} has no time zone offset")
    return moment


def _site_code(uri: Any, where: str) -> str:
    m = re.search(r"/site/([^/]+)$", uri) if isinstance(uri, str) else None
    if not m:
        raise MessageError(where, f"{uri!r} is not a site URI (…/site/<code>)")
    return m[1]


def _strict(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    """Refuse ``cellchain:`` fields we do not know: nothing unexpected (a patient field) gets stored."""
    unknown = sorted(k for k in obj if k.startswith("cellchain:") and k not in allowed)
    if unknown:
        raise MessageError(
            where,
            f"unexpected field(s) {', '.join(unknown)}: only the pseudonymous fields of "
            "this message are accepted",
        )


def _units(event: Mapping[str, Any]) -> tuple[UnitLine, ...]:
    rows = _get(event, "cellchain:units", "event", list)
    units = []
    for i, row in enumerate(rows):
        where = f"event.cellchain:units[{i}]"
        if not isinstance(row, dict):
            raise MessageError(where, "expected an object")
        _strict(row, _UNIT_KEYS, where)
        values = [
            _get(row, key, where)
            for key in ("cellchain:din", "cellchain:coi", "cellchain:productCode", "cellchain:batch")
        ]
        try:
            units.append(UnitLine(*values))
        except MessageError as error:
            raise MessageError(f"{where} ({error.where})", error.why) from error
    epcs = _get(event, "epcList", "event", list)
    named = sorted(str(e).rsplit("/unit/", 1)[-1] for e in epcs)
    _require(
        named == sorted(u.din for u in units),
        "event.epcList",
        f"names units {named}, but cellchain:units lists {sorted(u.din for u in units)}",
    )
    return tuple(units)


def _document(event: Mapping[str, Any], transaction_type: str | None) -> DocumentRef:
    data = _get(event, "cellchain:document", "event", dict)
    _strict(data, _DOCUMENT_KEYS, "event.cellchain:document")
    where = "event.cellchain:document"
    values = [
        _get(data, key, where)
        for key in ("cellchain:uri", "cellchain:sha256", "cellchain:kind", "cellchain:mediaType")
    ]
    try:
        ref = DocumentRef(*values)
    except MessageError as error:
        raise MessageError(f"{where} ({error.where})", error.why) from error
    if transaction_type:
        refs = [
            t.get("bizTransaction")
            for t in event.get("bizTransactionList", [])
            if isinstance(t, dict) and t.get("type") == transaction_type
        ]
        _require(
            ref.uri in refs,
            "event.bizTransactionList",
            f"the {transaction_type} transaction does not reference {ref.uri}",
        )
    return ref


def _event(document: Any, kind: MessageKind) -> tuple[dict[str, Any], str, str | None]:
    """The single event of a CellChain message document, its hash checked, of the kind expected."""
    if not isinstance(document, dict):
        raise MessageError("document", f"expected a JSON object, found {type(document).__name__}")
    _require(document.get("type") == "EPCISDocument", "document.type", "not an EPCISDocument")
    _require(document.get("schemaVersion") == "2.0", "document.schemaVersion", "CellChain reads EPCIS 2.0")
    context = document.get("@context")
    context = context if isinstance(context, list) else [context]
    _require(
        EPCIS_CONTEXT in context, "document.@context", f"does not use the EPCIS 2.0 context {EPCIS_CONTEXT}"
    )
    _require(
        document_namespaces(document).get("cellchain") == CELLCHAIN_NAMESPACE,
        "document.@context",
        f"the prefix cellchain must be {CELLCHAIN_NAMESPACE}",
    )
    body = document.get("epcisBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    _require(
        isinstance(events, list) and len(events) == 1,
        "document.epcisBody.eventList",
        "a CellChain message holds exactly one event",
    )
    event = events[0]  # type: ignore[index]
    _require(
        isinstance(event, dict) and event.get("type") == "ObjectEvent",
        "event.type",
        "expected an ObjectEvent",
    )
    found = event.get(MESSAGE)
    _require(found == kind.value, f"event.{MESSAGE}", f"expected a {kind.value} message, found {found!r}")
    event_id = _get(event, "eventID", "event")
    try:
        expected = event_hash(event, document_namespaces(document))
    except EpcisHashError as error:
        raise MessageError("event", f"cannot compute its event hash: {error}") from error
    _require(
        event_id == expected,
        "event.eventID",
        "does not match the event's content (changed after it was named, or not GS1's event hash)",
    )
    _strict(event, _COMMON_KEYS | _KNOWN_KEYS[kind], "event")
    sender = document.get("sender")
    return event, event_id, sender if isinstance(sender, str) else None


def _batch(event: Mapping[str, Any]) -> tuple[str, str]:
    return _get(event, "cellchain:productCode", "event"), _get(event, "cellchain:batch", "event")


def _finish[N: Notice](where: str, make: Callable[[], N]) -> N:
    """Build the notice; its own checks (a conditional release without pending tests…) name the message."""
    try:
        return make()
    except MessageError as error:
        if error.where.startswith(("event", "document")):
            raise
        raise MessageError(f"{where} message ({error.where})", error.why) from error


def parse_shipment(document: Any) -> Received[ShipmentNotice]:
    """The units the hospital is to expect, from a shipment message (issue 12 item 2; T-8.1.1, T-8.1.3-a)."""
    event, event_id, sender = _event(document, MessageKind.SHIPMENT)
    sources = event.get("sourceList") or [{}]
    destinations = event.get("destinationList") or [{}]
    sensors = event.get("sensorElementList", [])
    _require(
        isinstance(sensors, list) and all(isinstance(s, dict) for s in sensors),
        "event.sensorElementList",
        "expected a list of sensorElements",
    )
    expires = event.get("cellchain:expiresAt")
    notice = _finish(
        "shipment",
        lambda: ShipmentNotice(
            number=_get(event, "cellchain:shipment", "event"),
            shipped_at=_parse_time(event.get("eventTime"), "event.eventTime"),
            from_site=_site_code(sources[0].get("source"), "event.sourceList[0].source"),
            to_site=_site_code(destinations[0].get("destination"), "event.destinationList[0].destination"),
            shipper_code=str(_get(event, "cellchain:shipper", "event")).rsplit("/shipper/", 1)[-1],
            shipper_kind=_get(event, "cellchain:shipperKind", "event"),
            units=_units(event),
            expires_at=_parse_time(expires, "event.cellchain:expiresAt") if expires is not None else None,
            sensors=tuple(sensors),
        ),
    )
    return Received(event_id, sender, notice)


def parse_release(document: Any) -> Received[ReleaseNotice]:
    """Release status and CoA reference of a batch (issue 12 item 2; Q-2-b, Q-2.5-b)."""
    event, event_id, sender = _event(document, MessageKind.RELEASE)
    status = _get(event, "cellchain:releaseStatus", "event")
    _require(
        status in set(ReleaseStatus),
        "event.cellchain:releaseStatus",
        f"{status!r} is not released/conditional",
    )
    pending = event.get("cellchain:pendingTests", [])
    _require(
        isinstance(pending, list) and all(isinstance(p, str) for p in pending),
        "event.cellchain:pendingTests",
        "expected a list of test names",
    )
    product, batch = _batch(event)
    notice = _finish(
        "release",
        lambda: ReleaseNotice(
            product_code=product,
            batch_number=batch,
            status=ReleaseStatus(status),
            decided_at=_parse_time(event.get("eventTime"), "event.eventTime"),
            site=_site_code(event.get("readPoint", {}).get("id"), "event.readPoint.id"),
            units=_units(event),
            certificate=_document(event, "cert"),
            pending_tests=tuple(pending),
        ),
    )
    return Received(event_id, sender, notice)


def parse_late_result(document: Any) -> Received[LateResultNotice]:
    """A result after release (issue 12 item 2; Q-2.5-c)."""
    event, event_id, sender = _event(document, MessageKind.LATE_RESULT)
    outcome = _get(event, "cellchain:outcome", "event")
    _require(outcome in set(ResultOutcome), "event.cellchain:outcome", f"{outcome!r} is not pass/fail")
    expected = "conformant" if outcome == ResultOutcome.PASS else "non_conformant"
    _require(event.get("disposition") == expected, "event.disposition", f"a {outcome} result is {expected}")
    product, batch = _batch(event)
    notice = _finish(
        "late result",
        lambda: LateResultNotice(
            product_code=product,
            batch_number=batch,
            test=_get(event, "cellchain:test", "event"),
            outcome=ResultOutcome(outcome),
            reported_at=_parse_time(event.get("eventTime"), "event.eventTime"),
            site=_site_code(event.get("readPoint", {}).get("id"), "event.readPoint.id"),
            units=_units(event),
            report=_document(event, "testres") if "cellchain:document" in event else None,
        ),
    )
    return Received(event_id, sender, notice)


def parse_recall(document: Any) -> Received[RecallNotice]:
    """A recall or hold of units (issue 12 item 2; Q-2.5-c)."""
    event, event_id, sender = _event(document, MessageKind.RECALL)
    disposition = event.get("disposition")
    _require(
        disposition in set(RecallDisposition),
        "event.disposition",
        f"{disposition!r}: a recall is recalled or non_sellable_other",
    )
    product, batch = _batch(event)
    notice = _finish(
        "recall",
        lambda: RecallNotice(
            reference=_get(event, "cellchain:recall", "event"),
            product_code=product,
            batch_number=batch,
            reason=_get(event, "cellchain:reason", "event"),
            started_at=_parse_time(event.get("eventTime"), "event.eventTime"),
            site=_site_code(event.get("readPoint", {}).get("id"), "event.readPoint.id"),
            units=_units(event),
            disposition=RecallDisposition(str(disposition)),
        ),
    )
    return Received(event_id, sender, notice)


def parse_product_information(document: Any) -> Received[ProductInformationNotice]:
    """A product information package version by reference (issue 12 item 2; T-7.4)."""
    event, event_id, sender = _event(document, MessageKind.PRODUCT_INFORMATION)
    version = _get(event, "cellchain:packageVersion", "event")
    _require(version.isdigit(), "event.cellchain:packageVersion", f"{version!r} is not a version number")
    product, batch = _batch(event)
    notice = _finish(
        "product information",
        lambda: ProductInformationNotice(
            product_code=product,
            batch_number=batch,
            version=int(version),
            issued_at=_parse_time(event.get("eventTime"), "event.eventTime"),
            site=_site_code(event.get("readPoint", {}).get("id"), "event.readPoint.id"),
            units=_units(event),
            document=_document(event, None),
        ),
    )
    return Received(event_id, sender, notice)


PARSERS: dict[MessageKind, Callable[[Any], Received[Any]]] = {
    MessageKind.SHIPMENT: parse_shipment,
    MessageKind.RELEASE: parse_release,
    MessageKind.LATE_RESULT: parse_late_result,
    MessageKind.RECALL: parse_recall,
    MessageKind.PRODUCT_INFORMATION: parse_product_information,
}


def message_kind(document: Any) -> MessageKind:
    """Which CellChain message a document holds (``cellchain:message`` of its one event)."""
    try:
        value = document["epcisBody"]["eventList"][0][MESSAGE]
    except (KeyError, IndexError, TypeError) as error:
        raise MessageError(
            "document.epcisBody.eventList[0]", f"no {MESSAGE}: not a CellChain message"
        ) from error
    if value not in set(MessageKind):
        raise MessageError(f"event.{MESSAGE}", f"{value!r} is not a message kind CellChain reads")
    return MessageKind(value)


def parse_message(document: Any) -> Received[Any]:
    """Any manufacturer -> hospital message, by its kind."""
    return PARSERS[message_kind(document)](document)


@dataclass(frozen=True)
class LoggerData:
    """One logger's summary as the hospital stores it beside the shipment (T-8.1.5)."""

    device_id: str
    start: datetime | None
    end: datetime | None
    min_c: float | None
    max_c: float | None
    mean_c: float | None
    alarms: tuple[datetime, ...] = field(default=())
    errors: int = 0


def logger_data(notice: ShipmentNotice) -> tuple[LoggerData, ...]:
    """The loggers of a received shipment, read from its EPCIS sensorElements (EPCIS 2.0 §7.3.7)."""
    out = []
    for i, sensor in enumerate(notice.sensors):
        where = f"sensorElementList[{i}]"
        meta = sensor.get("sensorMetadata") or {}
        reports = [r for r in sensor.get("sensorReport", []) if isinstance(r, dict)]
        device = meta.get("deviceID") or next((r.get("deviceID") for r in reports if r.get("deviceID")), None)
        _require(isinstance(device, str), where, "names no deviceID")
        temps = [r for r in reports if r.get("type") == "Temperature" and "exception" not in r]
        for r in temps:
            _require(r.get("uom") == "CEL", where, f"temperature in {r.get('uom')!r}; CellChain reads CEL")
        summary = temps[0] if temps else {}
        alarms = tuple(
            _parse_time(r.get("time"), f"{where} alarm time")
            for r in reports
            if r.get("exception") == "ALARM_CONDITION"
        )
        start, end = meta.get("startTime"), meta.get("endTime")
        out.append(
            LoggerData(
                device_id=str(device),
                start=_parse_time(start, f"{where}.sensorMetadata.startTime") if start else None,
                end=_parse_time(end, f"{where}.sensorMetadata.endTime") if end else None,
                min_c=summary.get("minValue"),
                max_c=summary.get("maxValue"),
                mean_c=summary.get("meanValue"),
                alarms=alarms,
                errors=sum(1 for r in reports if r.get("exception") == "ERROR_CONDITION"),
            )
        )
    return tuple(out)
