"""The adverse-event messages as exchange kinds: `fhir.adverseevent` and `ich.e2b-icsr` (issue 12 item 2;
T-7.10, T-7.10-d, T-10.8; decision 0024).

* ``fhir.adverseevent``: the body *is* the HL7 FHIR R5 AdverseEvent resource (a JSON object). Valid when the
  official R5 JSON schema and the ``fhir.resources`` model accept it and the manufacturer's parser reads it.
* ``ich.e2b-icsr``: the body is ``{"format": "ich-e2b-r3-icsr", "mediaType": "application/xml", "xml": "..."}``
  with the ICSR as a *string* (its UTF-8 text), not base64: the outgoing identity scan
  (``exchange.outgoing``) walks every string of a body, so a name typed into the narrative is seen and the
  message refused; base64 would hide it. Valid when well-formed, an HL7 v3 ``MCCI_IN200100UV01`` and read by
  the manufacturer's parser; the ICH XSDs are applied only if present (``schemas.e2b_schema_available``).

Event ids: ``urn:cellchain:adverse-event:<AE number>:<n>:fhir`` and ``...:<n>:e2b``, ``n`` = 1 for the first
report of the AE to that manufacturer and counting up for each follow-up (a regrade, a resend): the same
report keeps its id through retries, a follow-up is a new message.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from cellchain.clinic.models import AdverseEvent
from cellchain.clinic.reporting.e2b import adverse_event_e2b
from cellchain.clinic.reporting.fhir import adverse_event_fhir
from cellchain.clinic.reporting.schemas import e2b_errors, fhir_errors
from cellchain.core import clock, installation
from cellchain.domain import adverse_event_messages as m

logger = logging.getLogger("cellchain.clinic")

FHIR_KIND = "fhir.adverseevent"
E2B_KIND = "ich.e2b-icsr"
E2B_FORMAT = "ich-e2b-r3-icsr"
E2B_FIELDS = frozenset({"format", "mediaType", "xml"})
TS_WITH_ZONE = re.compile(r"\d{14}[+-]\d{4}")
EVENT_ID = re.compile(r"^urn:cellchain:adverse-event:(?P<number>[^:]+):(?P<n>[1-9]\d*):(?P<form>fhir|e2b)$")


def event_id(number: str, sequence: int, form: str) -> str:
    """The stable event id of one report (`form` fhir or e2b) of AE `number`."""
    return f"urn:cellchain:adverse-event:{number}:{sequence}:{form}"


def event_id_parts(value: str) -> tuple[str, int] | None:
    """(AE number, sequence) of a CellChain adverse-event event id, or None for another scheme."""
    match = EVENT_ID.match(value or "")
    return (match.group("number"), int(match.group("n"))) if match else None


def fhir_body_reasons(body: dict[str, Any]) -> list[str]:
    """Why `body` is not a CellChain FHIR R5 AdverseEvent (empty: valid)."""
    reasons = fhir_errors(body)
    if reasons:
        return reasons
    try:
        m.adverse_event_from_fhir(body)
    except m.AdverseEventMessageError as exc:
        return [f"not readable as a CellChain adverse-event report: {exc}"]
    return []


def e2b_body(document: bytes) -> dict[str, Any]:
    """The JSON body that carries an ICSR: its XML as a string (see the module docstring)."""
    return {"format": E2B_FORMAT, "mediaType": "application/xml", "xml": document.decode("utf-8")}


def e2b_document(body: dict[str, Any]) -> bytes:
    """The ICSR bytes of a (valid) `ich.e2b-icsr` body."""
    return str(body["xml"]).encode("utf-8")


def e2b_body_reasons(body: dict[str, Any]) -> list[str]:
    """Why `body` is not an `ich.e2b-icsr` body with a readable E2B(R3) ICSR (empty: valid)."""
    reasons = []
    if body.get("format") != E2B_FORMAT:
        reasons.append(f"format: expected {E2B_FORMAT!r}, got {body.get('format')!r}")
    if set(body) - E2B_FIELDS:
        reasons.append(f"unknown fields: {', '.join(sorted(set(body) - E2B_FIELDS))}")
    if not isinstance(body.get("xml"), str) or not body["xml"].strip():
        reasons.append("xml: missing or not the ICSR's XML text")
    if reasons:
        return reasons
    document = e2b_document(body)
    return e2b_errors(document) or _e2b_structure_reasons(document)


def _e2b_structure_reasons(document: bytes) -> list[str]:
    """The transmission header the ICH XSDs would require and the read-back does not look at: batch id
    (N.1.2), batch and message creation times (N.1.5, N.2.r.4) as HL7 TS with zone, interaction ids, the
    batch and message sender and receiver ids (N.1.3/N.1.4, N.2.r.2/N.2.r.3)."""
    from lxml import etree

    tree = etree.fromstring(
        document, etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    )
    ns = {"h": m.HL7}
    reasons = []
    checks = (
        ("h:id/@extension", "batch id (N.1.2)"),
        ("h:creationTime/@value", "batch creation time (N.1.5)"),
        ("h:interactionId[@extension='MCCI_IN200100UV01']/@root", "batch interactionId MCCI_IN200100UV01"),
        ("h:sender/h:device/h:id/@extension", "batch sender id (N.1.3)"),
        ("h:receiver/h:device/h:id/@extension", "batch receiver id (N.1.4)"),
        ("h:PORR_IN049016UV/h:id/@extension", "message id (N.2.r.1)"),
        ("h:PORR_IN049016UV/h:creationTime/@value", "message creation time (N.2.r.4)"),
        (
            "h:PORR_IN049016UV/h:interactionId[@extension='PORR_IN049016UV']/@root",
            "message interactionId PORR_IN049016UV",
        ),
        ("h:PORR_IN049016UV/h:sender/h:device/h:id/@extension", "message sender id (N.2.r.2)"),
        ("h:PORR_IN049016UV/h:receiver/h:device/h:id/@extension", "message receiver id (N.2.r.3)"),
    )
    for path, what in checks:
        found = [str(v).strip() for v in tree.xpath(path, namespaces=ns)]
        if not any(found):
            reasons.append(f"{what} is missing ({path})")
        elif "creation time" in what and not TS_WITH_ZONE.fullmatch(found[0]):
            reasons.append(
                f"{what}: {found[0]!r} is not an HL7 TS with seconds and zone (YYYYMMDDHHMMSS+ZZZZ)"
            )
    return reasons


def _sequence(partner: Any, number: str) -> int:
    """1 + how many reports of AE `number` were already queued for `partner` (follow-ups count up)."""
    from cellchain.exchange.models import OutboxMessage

    prefix = f"urn:cellchain:adverse-event:{number}:"
    return (
        OutboxMessage.objects.filter(partner=partner, kind=FHIR_KIND, event_id__startswith=prefix).count() + 1
    )


def manufacturer_partner(event: AdverseEvent) -> Any:
    """The exchange partner standing for the manufacturer of the AE's product, or None."""
    from cellchain.exchange.selectors import partner_for_organisation

    return partner_for_organisation(event.course.product.manufacturer)


def adverse_event_messages_enqueue(*, actor: Any, event: AdverseEvent) -> list[Any]:
    """Queue the AE's FHIR R5 AdverseEvent and E2B(R3) ICSR for the manufacturer's installation in the
    caller's transaction (issue 12 item 2, T-7.10, T-10.8). Only at a hospital-only installation: at
    `both` (one database) the manufacturer reads the record itself and nothing is queued. Returns the outbox
    rows; empty when nothing was queued (other role, or no partner stands for the manufacturer — the
    reporting duty then stays open). A body carrying patient identity is refused by `message_enqueue`
    (ValidationFailed) and rolls the whole change back."""
    from cellchain.exchange.services import message_enqueue

    if installation.role() != installation.HOSPITAL:
        return []
    partner = manufacturer_partner(event)
    if partner is None:
        logger.warning(
            "%s: no exchange partner stands for %s; the report to the manufacturer is not sent",
            event.number,
            event.course.product.manufacturer,
        )
        return []
    sequence = _sequence(partner, event.number)
    created = None if sequence == 1 else clock.now()
    fhir = adverse_event_fhir(event)
    e2b = e2b_body(adverse_event_e2b(event, created_at=created, sequence=sequence))
    return [
        message_enqueue(
            actor=actor,
            partner=partner,
            kind=FHIR_KIND,
            body=fhir,
            event_id=event_id(event.number, sequence, "fhir"),
        ),
        message_enqueue(
            actor=actor,
            partner=partner,
            kind=E2B_KIND,
            body=e2b,
            event_id=event_id(event.number, sequence, "e2b"),
        ),
    ]


def _body_sha256(body: dict[str, Any]) -> str:
    import hashlib

    from cellchain.ledger.canonical import canonical_bytes

    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def _refused(exc: m.AdverseEventMessageError) -> Exception:
    from cellchain.core.errors import ValidationFailed

    return ValidationFailed(f"Not readable as a CellChain adverse-event report: {exc} (T-7.10-d).")


def fhir_receive(*, actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> Any:
    """Receive a `fhir.adverseevent` message: into the manufacturer's safety-report register (issue 12
    item 2, T-7.10, T-10.8)."""
    from cellchain.quality.services import safety_report_receive

    try:
        report = m.adverse_event_from_fhir(body)
    except m.AdverseEventMessageError as exc:
        raise _refused(exc) from None
    return safety_report_receive(
        actor=actor,
        partner=partner,
        form="fhir",
        report=report,
        event_id=event_id,
        body_sha256=_body_sha256(body),
    )


def e2b_receive(*, actor: Any, partner: Any, body: dict[str, Any], event_id: str) -> Any:
    """Receive an `ich.e2b-icsr` message: into the manufacturer's safety-report register (issue 12 item 2,
    T-7.10, T-10.8)."""
    from cellchain.quality.services import safety_report_receive

    try:
        report = m.adverse_event_from_e2b(e2b_document(body))
    except m.AdverseEventMessageError as exc:
        raise _refused(exc) from None
    return safety_report_receive(
        actor=actor,
        partner=partner,
        form="e2b",
        report=report,
        event_id=event_id,
        body_sha256=_body_sha256(body),
    )


def register_kinds() -> None:
    """Register both kinds with the exchange (called from the quality app's ready())."""
    from cellchain.exchange.kinds import register

    register(FHIR_KIND, validate=fhir_body_reasons, receive=fhir_receive)
    register(E2B_KIND, validate=e2b_body_reasons, receive=e2b_receive)
