"""Hospital -> manufacturer messages about a journey, and what the manufacturer's installation does with them
(issue 12 item 2, second bullet; docs/decisions/0023-hospital-to-manufacturer-messages.md).

| kind | standard | sent when (hospital) | received (manufacturer) |
|---|---|---|---|
| ``hospital.enrolment`` | HL7 FHIR R5 ServiceRequest | `journey_enrol` | the journey by COI + pseudonym |
| ``hospital.apheresis_shipment`` | GS1 EPCIS 2.0 ObjectEvent shipping/in_transit | custody scan "hand_to_courier" | the unit expected in transit |
| ``hospital.receipt_inspection`` | GS1 EPCIS 2.0 ObjectEvent inspecting | `receipt_inspect` | `HospitalReport` on the journey |
| ``hospital.infusion`` | GS1 EPCIS 2.0 ObjectEvent dispensing/dispensed | `infusion_end` | `HospitalReport` on the journey |
| ``hospital.follow_up`` | HL7 FHIR R5 Task (completed) | `follow_up_visit_record` | `HospitalReport` on the journey |

The patient is named only by the pseudonym and the chain-of-identity identifier (COI) (X-7, T-10.4): there is
no field for a name, birth date, record number or wristband, no free text is copied from the hospital's
records, and every body passes the exchange's one outgoing identity check (`exchange.outgoing`) at enqueue.

Each message is sent only by a hospital-only installation (`installation.role() == "hospital"`): at ``both``
(the single-database demo) the manufacturer's records are the same database and nothing is enqueued. Each is
received only where this installation is the manufacturer's (``manufacturer`` or ``both``); a hospital-only
installation refuses it. An unknown COI is refused with the reason (the exchange quarantines it). Event ids:
an EPCIS event's is its GS1 event hash (decision 0018); a FHIR resource's is ``ni:///sha-256;<hex>`` of its
RFC 8785 canonical JSON, so a resend has the same id and the receiver is idempotent by it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from cellchain.core import clock, installation
from cellchain.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from cellchain.domain.epcis_events import (
    CELLCHAIN_NAMESPACE,
    DEFAULT_ID_BASE,
    EPCIS_CONTEXT,
    EpcisAction,
    EpcisIds,
    EventCommon,
    ObjectEvent,
    epcis_document,
    event_json,
    identified,
)
from cellchain.domain.epcis_hash import EpcisHashError, document_namespaces, event_hash
from cellchain.domain.identity import IdentifierError, mod37_2_check_character, parse_coi, parse_din

log = logging.getLogger(__name__)

KIND_ENROLMENT = "hospital.enrolment"
KIND_APHERESIS = "hospital.apheresis_shipment"
KIND_RECEIPT = "hospital.receipt_inspection"
KIND_INFUSION = "hospital.infusion"
KIND_FOLLOW_UP = "hospital.follow_up"

CELLCHAIN = DEFAULT_ID_BASE
COI_SYSTEM = f"{CELLCHAIN}/coi"  # as cellchain.domain.adverse_event_messages.COI_SYSTEM
PSEUDONYM_SYSTEM = f"{CELLCHAIN}/pseudonym"
PRODUCT_SYSTEM = f"{CELLCHAIN}/product"
SITE_SYSTEM = f"{CELLCHAIN}/site"
FOLLOW_UP_SYSTEM = f"{CELLCHAIN}/fhir/CodeSystem/follow-up-visit"
STARTING_MATERIAL_EXTENSION = f"{CELLCHAIN}/fhir/StructureDefinition/starting-material"
ETHICS_EXTENSION = f"{CELLCHAIN}/fhir/StructureDefinition/ethics-approval"
ORDER_CODE = {"system": f"{CELLCHAIN}/fhir/CodeSystem/order", "code": "car-t-manufacture"}
FOLLOW_UP_CODE = {"system": f"{CELLCHAIN}/fhir/CodeSystem/task", "code": "follow-up-visit"}

EPCIS_KINDS = {
    KIND_APHERESIS: "apheresis_shipment",
    KIND_RECEIPT: "receipt_inspection",
    KIND_INFUSION: "infusion",
}
"""The ``cellchain:message`` value each EPCIS kind carries."""

RECEIPT_DISPOSITION = {
    "accepted": "conformant",
    "quarantined": "non_sellable_other",
    "rejected": "non_conformant",
}

_CELLCHAIN_KEYS: dict[str, frozenset[str]] = {
    KIND_APHERESIS: frozenset(
        {"cellchain:message", "cellchain:units", "cellchain:collection", "cellchain:shipper"}
    ),
    KIND_RECEIPT: frozenset({"cellchain:message", "cellchain:units", "cellchain:receipt"}),
    KIND_INFUSION: frozenset({"cellchain:message", "cellchain:units", "cellchain:infusion"}),
}
_UNIT_KEYS = frozenset({"cellchain:din", "cellchain:coi"})
_COLLECTION_KEYS = frozenset(
    {
        "cellchain:collectedAt",
        "cellchain:startingMaterial",
        "cellchain:volumeMl",
        "cellchain:collectedVolumeMl",
        "cellchain:anticoagulantRatio",
        "cellchain:processedBloodVolumeMl",
        "cellchain:cycles",
        "cellchain:mncCount",
        "cellchain:mncTargetLow",
        "cellchain:mncTargetHigh",
        "cellchain:mncShortfall",
        "cellchain:infectious",
        "cellchain:hospitalSite",
        "cellchain:manufacturerSite",
    }
)
_RECEIPT_KEYS = frozenset({"cellchain:shipment", "cellchain:outcome", "cellchain:failedChecks"})
_INFUSION_KEYS = frozenset(
    {"cellchain:startedAt", "cellchain:endedAt", "cellchain:volumeMl", "cellchain:dose"}
)
_DETAIL_KEYS = {
    "cellchain:collection": _COLLECTION_KEYS,
    "cellchain:receipt": _RECEIPT_KEYS,
    "cellchain:infusion": _INFUSION_KEYS,
}
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,59}")


# --------------------------------------------------------------------------- identifiers


def fhir_event_id(resource: Mapping[str, Any]) -> str:
    """The id of a FHIR message: ``ni:///sha-256;<hex>`` of the resource's RFC 8785 canonical JSON (RFC 6920),
    the same on every resend and at every installation (as decision 0018 names EPCIS events)."""
    from cellchain.ledger.canonical import canonical_bytes

    return "ni:///sha-256;" + hashlib.sha256(canonical_bytes(dict(resource))).hexdigest()


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _ref(system: str, value: str) -> dict[str, Any]:
    """A FHIR logical reference by identifier only: nothing resolvable, nothing more than the identifier."""
    return {"identifier": {"system": system, "value": value}}


# --------------------------------------------------------------------------- builders (hospital side)


def enrolment_request(journey: Any) -> dict[str, Any]:
    """The order/enrolment as a FHIR R5 ServiceRequest: subject = the pseudonym, identifier = the COI, the
    product ordered, requester = the hospital site, performer = the manufacturing site, the ethics approval it
    is made under (T-5.2.2) and the starting material (issue 12 item 2, X-7, T-10.4)."""
    approval = journey.ethics_approval
    return {
        "resourceType": "ServiceRequest",
        "extension": [
            {"url": STARTING_MATERIAL_EXTENSION, "valueCode": journey.starting_material},
            {
                "url": ETHICS_EXTENSION,
                "extension": [
                    {"url": "protocol", "valueString": approval.protocol},
                    {"url": "number", "valueString": approval.number},
                    {"url": "approvedOn", "valueDate": approval.approved_on.isoformat()},
                    {"url": "validUntil", "valueDate": approval.valid_until.isoformat()},
                ],
            },
        ],
        "identifier": [{"system": COI_SYSTEM, "value": journey.coi}],
        "status": "active",
        "intent": "order",
        "code": {
            "concept": {
                "coding": [
                    {**ORDER_CODE, "display": "CAR-T manufacture from the patient's starting material"}
                ]
            }
        },
        "orderDetail": [
            {
                "parameterFocus": {
                    "concept": {
                        "coding": [
                            {
                                "system": PRODUCT_SYSTEM,
                                "code": journey.product_code,
                                "display": journey.product_name,
                            }
                        ]
                    }
                },
                "parameter": [{"code": {"text": "product"}, "valueString": journey.product_code}],
            }
        ],
        "subject": _ref(PSEUDONYM_SYSTEM, journey.pseudonym),
        "authoredOn": _iso(journey.enrolled_at),
        "requester": _ref(SITE_SYSTEM, journey.hospital_site.code),
        "performer": [_ref(SITE_SYSTEM, journey.manufacturer_site.code)],
    }


def follow_up_task(
    *, coi: str, pseudonym: str | None, key: str, due: dt.date, done_on: dt.date, items: list[str]
) -> dict[str, Any]:
    """A follow-up visit done, as a FHIR R5 Task (completed): which visit of the plan, when due, when done and
    which plan items were checked — never the findings' text, which may name the patient (T-9.2.8, X-7). The
    pseudonym is left out for a journey enrolled outside CellChain: its COI alone names it."""
    return {
        "resourceType": "Task",
        "identifier": [
            {"system": COI_SYSTEM, "value": coi},
            {"system": f"{FOLLOW_UP_SYSTEM}/visit", "value": f"{coi}/{key}"},
        ],
        "status": "completed",
        "intent": "order",
        "businessStatus": {"coding": [{"system": FOLLOW_UP_SYSTEM, "code": key}]},
        "code": {"coding": [FOLLOW_UP_CODE]},
        **({"for": _ref(PSEUDONYM_SYSTEM, pseudonym)} if pseudonym else {}),
        "executionPeriod": {"start": done_on.isoformat(), "end": done_on.isoformat()},
        "restriction": {"period": {"end": due.isoformat()}},
        "output": [{"type": {"text": "item checked"}, "valueString": item} for item in items],
    }


def epcis_message(
    kind: str,
    *,
    at: dt.datetime,
    site_code: str,
    units: list[tuple[str, str]],
    biz_step: str,
    disposition: str,
    details: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    sources: tuple[tuple[str, str], ...] = (),
    destinations: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """One EPCIS 2.0 ObjectEvent in its document for a hospital -> manufacturer kind; units are (DIN, COI)."""
    ids = EpcisIds(DEFAULT_ID_BASE)
    now = clock.now()
    common = EventCommon(
        event_time=at,
        record_time=now,
        biz_step=biz_step,
        read_point=ids.site(site_code),
        disposition=disposition,
        sources=sources,
        destinations=destinations,
        extensions=(("message", EPCIS_KINDS[kind]),),
    )
    event = event_json(ObjectEvent(common, tuple(ids.unit(din) for din, _coi in units), EpcisAction.OBSERVE))
    event.update(dict(extra or {}))
    event["cellchain:units"] = [{"cellchain:din": din, "cellchain:coi": coi} for din, coi in units]
    detail_key = {KIND_APHERESIS: "cellchain:collection", KIND_RECEIPT: "cellchain:receipt"}.get(
        kind, "cellchain:infusion"
    )
    event[detail_key] = {f"cellchain:{k}": v for k, v in details.items() if v is not None}
    document = epcis_document(
        [], document_id=f"{ids.base}/epcis/{EPCIS_KINDS[kind]}/{units[0][0]}", created_at=now,
        sender=ids.site(site_code),
    )  # fmt: skip
    document["epcisBody"]["eventList"] = [identified(event)]
    return document


def epcis_event_id(document: Mapping[str, Any]) -> str:
    return str(document["epcisBody"]["eventList"][0]["eventID"])


def apheresis_shipment_document(unit: Any, shipped_at: dt.datetime) -> dict[str, Any]:
    """The apheresis unit shipped to the manufacturer with what the manufacturer needs of its collection
    (volumes, anticoagulant, MNC, infectious flag: P-1.3.1-g, T-10.6) as an EPCIS shipping event; the
    pre-apheresis assessment text stays at the hospital."""
    collection, journey = unit.collection, unit.journey
    ids = EpcisIds(DEFAULT_ID_BASE)
    details = {
        "collectedAt": _iso(collection.collected_at),
        "startingMaterial": collection.starting_material,
        "volumeMl": unit.volume_ml,
        "collectedVolumeMl": collection.collected_volume_ml,
        "anticoagulantRatio": collection.anticoagulant_ratio,
        "processedBloodVolumeMl": collection.processed_blood_volume_ml,
        "cycles": collection.cycles,
        "mncCount": str(collection.mnc_count),
        "mncTargetLow": str(collection.mnc_target_low),
        "mncTargetHigh": str(collection.mnc_target_high),
        "mncShortfall": "yes" if collection.mnc_shortfall else "no",
        "infectious": "yes" if collection.infectious else "no",
        "hospitalSite": journey.hospital_site.code,
        "manufacturerSite": journey.manufacturer_site.code,
    }
    return epcis_message(
        KIND_APHERESIS,
        at=shipped_at,
        site_code=unit.site.code,
        units=[(unit.din, journey.coi)],
        biz_step="shipping",
        disposition="in_transit",
        details=details,
        extra={"cellchain:shipper": unit.shipper_code} if unit.shipper_code else None,
        sources=(("location", ids.site(journey.hospital_site.code)),),
        destinations=(("location", ids.site(journey.manufacturer_site.code)),),
    )


# --------------------------------------------------------------------------- sending (hospital side)


def hospital_send(*, actor: Any, organisation: Any, kind: str, body: dict[str, Any], event_id: str) -> Any:
    """Enqueue `body` for the partner standing for `organisation`, in the caller's transaction — only at a
    hospital-only installation (at ``both`` the manufacturer reads the same database: nothing is sent).

    Returns the outbox message, or None when nothing is sent. No partner registered for the organisation: the
    step is not blocked, nothing is sent, a warning is logged (a partner is registered when linking)."""
    if installation.role() != installation.HOSPITAL:
        return None
    from cellchain.exchange.selectors import partner_for_organisation
    from cellchain.exchange.services import message_enqueue

    partner = partner_for_organisation(organisation)
    if partner is None:
        log.warning("%s %s not sent: no active partner stands for %s", kind, event_id, organisation)
        return None
    return message_enqueue(actor=actor, partner=partner, kind=kind, body=body, event_id=event_id)


def enrolment_send(actor: Any, journey: Any) -> Any:
    """Called by `journey_enrol` in its transaction (issue 12 item 2)."""
    if installation.role() != installation.HOSPITAL:
        return None
    body = enrolment_request(journey)
    return hospital_send(
        actor=actor,
        organisation=journey.manufacturer_site.organisation,
        kind=KIND_ENROLMENT,
        body=body,
        event_id=fhir_event_id(body),
    )


def custody_send(actor: Any, unit: Any, event: Any) -> Any:
    """Called by the custody scan in its transaction: a matched hand-to-courier scan sends the apheresis shipment."""
    if (
        installation.role() != installation.HOSPITAL
        or event.step != "hand_to_courier"
        or event.verdict != "match"
    ):
        return None
    body = apheresis_shipment_document(unit, event.at)
    return hospital_send(
        actor=actor,
        organisation=unit.journey.manufacturer_site.organisation,
        kind=KIND_APHERESIS,
        body=body,
        event_id=epcis_event_id(body),
    )


# --------------------------------------------------------------------------- validation (both sides)


def _fhir_errors(body: dict[str, Any]) -> list[str]:
    from cellchain.clinic.reporting.schemas import fhir_errors

    return fhir_errors(body)


def _identifier(values: Any, system: str) -> str | None:
    for item in values if isinstance(values, list) else []:
        if isinstance(item, dict) and item.get("system") == system and isinstance(item.get("value"), str):
            return str(item["value"])
    return None


def _ref_value(ref: Any, system: str) -> str | None:
    ident = ref.get("identifier") if isinstance(ref, dict) else None
    if isinstance(ident, dict) and ident.get("system") == system and isinstance(ident.get("value"), str):
        return str(ident["value"])
    return None


def _coi_reason(coi: str | None, where: str) -> list[str]:
    if coi is None:
        return [f"{where}: the COI (system {COI_SYSTEM}) is missing"]
    try:
        parse_coi(coi + mod37_2_check_character(coi))
    except (IdentifierError, ValueError) as exc:
        return [f"{where}: {coi!r} is not a chain-of-identity identifier ({exc})"]
    return []


def enrolment_reasons(body: dict[str, Any]) -> list[str]:
    """Why `body` is not an enrolment ServiceRequest CellChain reads: the FHIR R5 schema and model, then the
    identifiers it must carry (COI, pseudonym, sites, product, ethics approval)."""
    if body.get("resourceType") != "ServiceRequest":
        return [f"resourceType: expected ServiceRequest, found {body.get('resourceType')!r}"]
    reasons = _fhir_errors(body)
    reasons += _coi_reason(_identifier(body.get("identifier"), COI_SYSTEM), "identifier")
    if not _ref_value(body.get("subject"), PSEUDONYM_SYSTEM):
        reasons.append(f"subject: the pseudonym (system {PSEUDONYM_SYSTEM}) is missing")
    if set(body.get("subject") or {}) - {"identifier"}:
        reasons.append("subject: only the pseudonym identifier may name the patient")
    if not _ref_value(body.get("requester"), SITE_SYSTEM):
        reasons.append("requester: the hospital site code is missing")
    performers = body.get("performer") or []
    if not performers or not _ref_value(performers[0], SITE_SYSTEM):
        reasons.append("performer: the manufacturing site code is missing")
    if not _extension(body, ETHICS_EXTENSION):
        reasons.append("extension: the ethics approval is missing (T-5.2.2)")
    if not _product(body):
        reasons.append("orderDetail: the product code is missing")
    return reasons


def follow_up_reasons(body: dict[str, Any]) -> list[str]:
    if body.get("resourceType") != "Task":
        return [f"resourceType: expected Task, found {body.get('resourceType')!r}"]
    reasons = _fhir_errors(body)
    reasons += _coi_reason(_identifier(body.get("identifier"), COI_SYSTEM), "identifier")
    if "for" in body and (
        not _ref_value(body["for"], PSEUDONYM_SYSTEM) or set(body["for"]) != {"identifier"}
    ):
        reasons.append(f"for: the patient is named only by the pseudonym (system {PSEUDONYM_SYSTEM})")
    if body.get("status") != "completed":
        reasons.append("status: a follow-up visit is reported when done (completed)")
    coding = (body.get("businessStatus") or {}).get("coding") or [{}]
    if not isinstance(coding[0], dict) or not _CODE.fullmatch(str(coding[0].get("code", ""))):
        reasons.append("businessStatus: the visit key is missing")
    return reasons


def _extension(body: Mapping[str, Any], url: str) -> dict[str, Any] | None:
    for item in body.get("extension") or []:
        if isinstance(item, dict) and item.get("url") == url:
            return item
    return None


def _product(body: Mapping[str, Any]) -> str | None:
    try:
        coding = body["orderDetail"][0]["parameterFocus"]["concept"]["coding"][0]
    except (KeyError, IndexError, TypeError):
        return None
    return coding.get("code") if coding.get("system") == PRODUCT_SYSTEM else None


def _epcis_event(body: Any, kind: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The single ObjectEvent of a hospital EPCIS message with its hash checked, or the reasons it is not."""
    if (
        not isinstance(body, dict)
        or body.get("type") != "EPCISDocument"
        or body.get("schemaVersion") != "2.0"
    ):
        return None, ["document: not an EPCIS 2.0 EPCISDocument"]
    context = body.get("@context")
    if EPCIS_CONTEXT not in (context if isinstance(context, list) else [context]):
        return None, [f"document.@context: does not use the EPCIS 2.0 context {EPCIS_CONTEXT}"]
    if document_namespaces(body).get("cellchain") != CELLCHAIN_NAMESPACE:
        return None, [f"document.@context: the prefix cellchain must be {CELLCHAIN_NAMESPACE}"]
    events = (body.get("epcisBody") or {}).get("eventList")
    if not isinstance(events, list) or len(events) != 1 or not isinstance(events[0], dict):
        return None, ["document.epcisBody.eventList: a CellChain message holds exactly one event"]
    event = events[0]
    reasons: list[str] = []
    if event.get("type") != "ObjectEvent":
        reasons.append("event.type: expected an ObjectEvent")
    if event.get("cellchain:message") != EPCIS_KINDS[kind]:
        reasons.append(f"event.cellchain:message: expected {EPCIS_KINDS[kind]!r}")
    try:
        if event.get("eventID") != event_hash(event, document_namespaces(body)):
            reasons.append(
                "event.eventID: does not match the event's content (GS1 event hash, decision 0018)"
            )
    except EpcisHashError as exc:
        reasons.append(f"event: cannot compute its event hash: {exc}")
    unknown = {k for k in event if k.startswith("cellchain:")} - _CELLCHAIN_KEYS[kind]
    if unknown:
        reasons.append(
            f"event: unknown CellChain fields {', '.join(sorted(unknown))} (nothing unread is stored)"
        )
    units = event.get("cellchain:units")
    if not isinstance(units, list) or not units:
        reasons.append("event.cellchain:units: no unit")
    else:
        for number, unit in enumerate(units):
            where = f"event.cellchain:units[{number}]"
            if not isinstance(unit, dict) or set(unit) != _UNIT_KEYS:
                reasons.append(f"{where}: a unit is its DIN and COI only")
                continue
            reasons += _coi_reason(unit["cellchain:coi"], where)
            try:
                parse_din(unit["cellchain:din"] + mod37_2_check_character(unit["cellchain:din"]))
            except (IdentifierError, ValueError, TypeError) as exc:
                reasons.append(f"{where}: {unit['cellchain:din']!r} is not a DIN ({exc})")
    for key, allowed in _DETAIL_KEYS.items():
        if key in event and (not isinstance(event[key], dict) or set(event[key]) - allowed):
            reasons.append(f"event.{key}: unknown fields")
    return (event if not reasons else None), reasons


def epcis_reasons(kind: str) -> Any:
    def validate(body: dict[str, Any]) -> list[str]:
        return _epcis_event(body, kind)[1]

    return validate


# --------------------------------------------------------------------------- receiving (manufacturer side)


def _manufacturer_only(kind: str) -> None:
    if not installation.is_manufacturer():
        raise NotAllowed(
            f"{kind}: this installation is a hospital's; only a manufacturer's installation receives "
            "what a hospital reports (issue 12 item 2)."
        )


def _journey_of(coi: str, kind: str) -> Any:
    from cellchain.journeys.models import Journey

    journey = Journey.objects.filter(coi=coi).first()
    if journey is None:
        raise NotFound(
            f"{kind}: no journey has the chain-of-identity identifier {coi} here; the hospital's enrolment "
            "message must come first (T-10.4).",
            field="coi",
        )
    return journey


def _partner_site(partner: Any, code: str | None, what: str) -> Any:
    from cellchain.accounts.models import Site

    site = Site.objects.filter(code=code or "").select_related("organisation").first()
    if site is None:
        raise NotFound(f"{what}: the site {code!r} is not in this installation's register.")
    if partner is not None and partner.organisation_id and site.organisation_id != partner.organisation_id:
        raise NotAllowed(f"{what}: the site {code} is not a site of {partner.name}.")
    return site


@transaction.atomic
def enrolment_receive(*, actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> Any:
    """The hospital's enrolment becomes the manufacturer's journey, known by COI and pseudonym only (X-7):
    the ethics approval it cites is recorded with it (T-5.2.2). A second enrolment of the same COI and
    pseudonym is the same journey; a COI already known under another pseudonym is refused."""
    from cellchain.accounts.models import Site
    from cellchain.journeys.models import EthicsApproval, Journey
    from cellchain.ledger.records import record_create

    _manufacturer_only(KIND_ENROLMENT)
    coi = _identifier(body.get("identifier"), COI_SYSTEM) or ""
    pseudonym = _ref_value(body.get("subject"), PSEUDONYM_SYSTEM) or ""
    existing = Journey.objects.filter(coi=coi).first()
    if existing is not None:
        if existing.pseudonym != pseudonym:
            raise Conflict(
                f"Enrolment: COI {coi} is already a journey here under another pseudonym; refused (T-10.4)."
            )
        return existing
    if Journey.objects.filter(pseudonym=pseudonym).exists():
        raise Conflict(f"Enrolment: pseudonym {pseudonym} already names another journey here; refused (X-7).")
    hospital = _partner_site(partner, _ref_value(body.get("requester"), SITE_SYSTEM), "Enrolment requester")
    maker = Site.objects.filter(code=_ref_value(body["performer"][0], SITE_SYSTEM) or "").first()
    if maker is None or not maker.organisation.is_manufacturer:
        raise NotFound("Enrolment performer: the manufacturing site is not one of this manufacturer's sites.")
    ethics = {
        e["url"]: next(v for k, v in e.items() if k.startswith("value"))
        for e in _extension(body, ETHICS_EXTENSION)["extension"]
    }  # type: ignore[index]
    product = _product(body) or ""
    approval = EthicsApproval.objects.filter(
        site=hospital, product_code=product, number=ethics["number"]
    ).first()
    if approval is None:
        approval = record_create(
            actor=actor,
            record=EthicsApproval(
                site=hospital,
                product_code=product,
                protocol=ethics["protocol"],
                number=ethics["number"],
                approved_on=dt.date.fromisoformat(ethics["approvedOn"]),
                valid_until=dt.date.fromisoformat(ethics["validUntil"]),
            ),
            event="ethics_approval:receive",
            extra={"event_id": event_id},
        )
    display = body["orderDetail"][0]["parameterFocus"]["concept"]["coding"][0].get("display", product)
    material = (_extension(body, STARTING_MATERIAL_EXTENSION) or {}).get("valueCode", "")
    try:
        check = parse_coi(coi + mod37_2_check_character(coi)).check_character
    except (IdentifierError, ValueError) as exc:
        raise ValidationFailed(f"Enrolment: {coi!r} is not a COI ({exc}).", field="coi") from None
    journey = Journey(
        coi=coi,
        coi_check=check,
        pseudonym=pseudonym,
        hospital_site=hospital,
        manufacturer_site=maker,
        product_code=product,
        product_name=display[:120],
        starting_material=material,
        ethics_approval=approval,
        enrolled_at=dt.datetime.fromisoformat(body["authoredOn"]),
        enrolled_by=None,
    )
    journey.full_clean(validate_unique=False)
    return record_create(
        actor=actor, record=journey, event="journey:enrol:receive", extra={"event_id": event_id}
    )


@transaction.atomic
def apheresis_receive(*, actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> Any:
    """The hospital shipped an apheresis unit: the manufacturer's installation records the collection and the
    unit in transit to its site, so the receipt scan and the intake (`apheresis_intake_record`, P-1.3.1-g)
    find it exactly as in the single-database demo. The same DIN again is the same unit (idempotent)."""
    from decimal import Decimal

    from cellchain.domain.custody import CustodyStep, UnitState
    from cellchain.journeys.models import Collection, Unit
    from cellchain.ledger.records import record_create

    _manufacturer_only(KIND_APHERESIS)
    event, reasons = _epcis_event(body, KIND_APHERESIS)
    if event is None:
        raise ValidationFailed("Apheresis shipment: " + "; ".join(reasons))
    unit_line = event["cellchain:units"][0]
    din, coi = unit_line["cellchain:din"], unit_line["cellchain:coi"]
    journey = _journey_of(coi, "Apheresis shipment")
    existing = Unit.objects.filter(din=din).first()
    if existing is not None:
        if existing.journey_id != journey.pk:
            raise Conflict(f"Apheresis shipment: unit {din} belongs to another journey here (T-10.4, G-4).")
        return existing
    c = {key.removeprefix("cellchain:"): value for key, value in event["cellchain:collection"].items()}
    hospital = _partner_site(partner, c.get("hospitalSite"), "Apheresis shipment")
    if hospital.pk != journey.hospital_site_id:
        raise Conflict(
            f"Apheresis shipment: unit {din} comes from {hospital.code}, not the journey's hospital."
        )
    collected_at = dt.datetime.fromisoformat(c["collectedAt"])
    collection = Collection.objects.filter(journey=journey, collected_at=collected_at).first()
    if collection is None:
        collection = record_create(
            actor=actor,
            record=Collection(
                journey=journey,
                site=hospital,
                operator=None,
                collected_at=collected_at,
                anticoagulant_ratio=int(c["anticoagulantRatio"]),
                processed_blood_volume_ml=int(c["processedBloodVolumeMl"]),
                cycles=int(c["cycles"]),
                collected_volume_ml=int(c["collectedVolumeMl"]),
                mnc_count=Decimal(c["mncCount"]),
                mnc_target_low=Decimal(c["mncTargetLow"]),
                mnc_target_high=Decimal(c["mncTargetHigh"]),
                mnc_shortfall=c["mncShortfall"] == "yes",
                starting_material=c["startingMaterial"],
                infectious=c["infectious"] == "yes",
            ),
            event="collection:receive",
            extra={"event_id": event_id},
        )
    return record_create(
        actor=actor,
        record=Unit(
            collection=collection,
            journey=journey,
            din=din,
            din_check=mod37_2_check_character(din),
            volume_ml=int(c["volumeMl"]),
            state=UnitState.IN_TRANSIT,
            site=hospital,
            destination_site=journey.manufacturer_site,
            last_step=CustodyStep.HAND_TO_COURIER,
            shipper_code=str(event.get("cellchain:shipper", ""))[:40],
        ),
        event="unit:ship:receive",
        extra={"event_id": event_id},
    )


def _report(*, actor: Any, partner: Any, journey: Any, kind: str, event_id: str, occurred_at: dt.datetime,
            outcome: str, details: dict[str, Any]) -> Any:  # fmt: skip
    from cellchain.journeys.models import HospitalReport
    from cellchain.ledger.records import record_create

    existing = HospitalReport.objects.filter(event_id=event_id).first()
    if existing is not None:
        return existing
    return record_create(
        actor=actor,
        record=HospitalReport(
            journey=journey,
            kind=kind,
            event_id=event_id,
            sender=getattr(partner, "log_id", "")[:100],
            occurred_at=occurred_at,
            outcome=outcome[:40],
            details=details,
            received_at=clock.now(),
        ),
        event=f"hospital_report:{kind}",
        extra={"event_id": event_id, "outcome": outcome},
    )


def _epcis_report_receive(kind: str, report_kind: str, detail_key: str, outcome_key: str | None) -> Any:
    @transaction.atomic
    def receive(*, actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> Any:
        _manufacturer_only(kind)
        event, reasons = _epcis_event(body, kind)
        if event is None:
            raise ValidationFailed(f"{kind}: " + "; ".join(reasons))
        cois = {unit["cellchain:coi"] for unit in event["cellchain:units"]}
        if len(cois) != 1:
            raise ValidationFailed(
                f"{kind}: the units belong to {len(cois)} journeys; one message per journey."
            )
        journey = _journey_of(cois.pop(), kind)
        details = {key.removeprefix("cellchain:"): value for key, value in event.get(detail_key, {}).items()}
        details["units"] = sorted(unit["cellchain:din"] for unit in event["cellchain:units"])
        details["disposition"] = event.get("disposition", "")
        outcome = str(details.get(outcome_key, "")) if outcome_key else str(event.get("disposition", ""))
        return _report(
            actor=actor, partner=partner, journey=journey, kind=report_kind, event_id=event_id,
            occurred_at=dt.datetime.fromisoformat(event["eventTime"]), outcome=outcome, details=details,
        )  # fmt: skip

    return receive


receipt_receive = _epcis_report_receive(KIND_RECEIPT, "receipt_inspection", "cellchain:receipt", "outcome")
infusion_receive = _epcis_report_receive(KIND_INFUSION, "infusion", "cellchain:infusion", None)


@transaction.atomic
def follow_up_receive(*, actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> Any:
    """A follow-up visit done, recorded on the manufacturer's journey (T-9.2.8)."""
    _manufacturer_only(KIND_FOLLOW_UP)
    coi = _identifier(body.get("identifier"), COI_SYSTEM) or ""
    journey = _journey_of(coi, "Follow-up")
    pseudonym = _ref_value(body.get("for"), PSEUDONYM_SYSTEM)
    if pseudonym is not None and pseudonym != journey.pseudonym:
        raise Conflict(
            f"Follow-up: COI {coi} and pseudonym {pseudonym} are not the same journey here (T-10.4)."
        )
    key = body["businessStatus"]["coding"][0]["code"]
    done_on = dt.date.fromisoformat(body["executionPeriod"]["start"][:10])
    details = {
        "visit": key,
        "due": ((body.get("restriction") or {}).get("period") or {}).get("end", ""),
        "done_on": done_on.isoformat(),
        "items": [item.get("valueString", "") for item in body.get("output") or []],
    }
    occurred = dt.datetime.combine(done_on, dt.time(12), tzinfo=dt.UTC)
    return _report(
        actor=actor, partner=partner, journey=journey, kind="follow_up", event_id=event_id,
        occurred_at=occurred, outcome=key, details=details,
    )  # fmt: skip


def register_kinds() -> None:
    """Register the hospital -> manufacturer kinds with the exchange (from `JourneysConfig.ready`)."""
    from cellchain.exchange import kinds

    kinds.register(KIND_ENROLMENT, validate=enrolment_reasons, receive=enrolment_receive)
    kinds.register(KIND_APHERESIS, validate=_VALIDATORS[KIND_APHERESIS], receive=apheresis_receive)
    kinds.register(KIND_RECEIPT, validate=_VALIDATORS[KIND_RECEIPT], receive=receipt_receive)
    kinds.register(KIND_INFUSION, validate=_VALIDATORS[KIND_INFUSION], receive=infusion_receive)
    kinds.register(KIND_FOLLOW_UP, validate=follow_up_reasons, receive=follow_up_receive)


_VALIDATORS = {kind: epcis_reasons(kind) for kind in EPCIS_KINDS}
"""One validator function per EPCIS kind, made once (registering the same function again is harmless)."""
