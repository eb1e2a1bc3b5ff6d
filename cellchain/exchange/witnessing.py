"""Both ledgers cosign each other's tree heads after each exchange (issue 12 item 2; decision 0017).

The existing witnessing (`ledger.witness`) does the cryptography; this module only carries its documents:

1. the sender attaches to each delivery `{"head": <its head document>, "countersigned_size": <size of the
   receiver's log it last countersigned>}` (the "witness" member, outside the envelope's signature: the head
   document is signed by the sender's log key, which must be the partner's pinned key);
2. the receiver, after applying the message, countersigns that head and answers with its countersignature
   and its own head (with a consistency proof from the size the sender said it countersigned last);
3. the sender keeps the countersignature (`countersignature_receive`), countersigns the receiver's head and
   sends that countersignature back as a message of kind `exchange.countersignature` through the outbox. The
   delivery of that message does not start another round (no ping-pong); its answer's head is countersigned
   and rides back with the next message.

A witnessing failure (a fork, a key that is not the pinned one) never undoes a delivery: it is logged and
answered as `refused` reasons; `ledger.witness` refuses the countersignature itself.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from cellchain.core.errors import ServiceError, ValidationFailed
from cellchain.exchange.models import OutboxMessage, Partner
from cellchain.ledger.export import b64
from cellchain.ledger.heads import head_issue, latest_head
from cellchain.ledger.models import LedgerHead, WitnessedHead
from cellchain.ledger.witness import (
    COUNTERSIGNATURE_FORMAT,
    countersignature_document,
    countersignature_receive,
    head_document,
    partner_head_countersign,
)

logger = logging.getLogger("cellchain.exchange")

WITNESS_KIND = "exchange.countersignature"


def _last_countersigned(partner: Partner) -> int:
    last = WitnessedHead.objects.filter(log_id=partner.log_id).order_by("-size").first()
    return last.size if last is not None else 0


def our_head_document(partner: Partner, *, issue: bool = True) -> dict[str, Any] | None:
    """Our newest head for `partner`, with a consistency proof from the size it countersigned last; a head is
    issued first when the ledger grew (so the head covers what we just sent or received)."""
    try:
        if issue and LedgerHead.objects.filter(pk=1, size__gt=0).exists():
            head_issue()
        head = latest_head()
        if head is None:
            return None
        since = partner.their_countersigned_size
        return head_document(head, from_size=since if 0 < since <= head.size else None)
    except ServiceError as error:
        logger.warning("no head for %s: %s", partner.log_id, error.message)
        return None


def attachment(partner: Partner) -> dict[str, Any] | None:
    """The "witness" member the sender attaches to a delivery (our head, what we countersigned of theirs)."""
    document = our_head_document(partner, issue=False)
    if document is None:
        return None
    return {"head": document, "countersigned_size": _last_countersigned(partner)}


def _pinned(partner: Partner, document: Any) -> None:
    key = document.get("public_key") if isinstance(document, dict) else None
    if key != b64(bytes(partner.public_key)):
        raise ValidationFailed(
            f"the document is signed by a key other than the one pinned for {partner.log_id} "
            f"({partner.key_fingerprint[:16]})"
        )


def _countersign(partner: Partner, document: Any) -> WitnessedHead:
    _pinned(partner, document)
    return partner_head_countersign(
        actor=None, document=document, expected_fingerprint=partner.key_fingerprint
    )


def _their_size(partner: Partner, value: Any) -> None:
    valid = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if valid and value != partner.their_countersigned_size:
        partner.their_countersigned_size = value
        partner.save(update_fields=["their_countersigned_size"])


def answer(partner: Partner, witness: Any) -> dict[str, Any]:
    """The receiver's side (step 2): countersign the sender's head, answer with our head and countersignature."""
    refused: list[str] = []
    countersignature = None
    if isinstance(witness, dict):
        _their_size(partner, witness.get("countersigned_size"))
        if witness.get("head") is not None:
            try:
                countersignature = countersignature_document(_countersign(partner, witness["head"]))
            except ServiceError as error:
                refused.append(error.message)
                logger.warning("head of %s not countersigned: %s", partner.log_id, error.message)
    return {
        "countersignature": countersignature,
        "head": our_head_document(partner),
        "countersigned_size": _last_countersigned(partner),
        "refused": refused,
    }


def after_delivery(message: OutboxMessage, response: Any) -> list[str]:
    """The sender's side (step 3) with the receiver's answer; returns what was refused (logged)."""
    from cellchain.exchange.services import message_enqueue

    partner = message.partner
    witness = response.get("witness") if isinstance(response, dict) else None
    if not isinstance(witness, dict):
        return []
    refused: list[str] = []
    _their_size(partner, witness.get("countersigned_size"))
    document = witness.get("countersignature")
    if isinstance(document, dict):
        try:
            if document.get("witness_id") != partner.log_id:
                raise ValidationFailed(
                    f"the countersignature names {document.get('witness_id')!r}, not {partner.log_id}"
                )
            _pinned(partner, document)
            countersignature_receive(actor=None, document=document)
        except ServiceError as error:
            refused.append(f"their countersignature: {error.message}")
    head = witness.get("head")
    if isinstance(head, dict):
        try:
            with transaction.atomic():
                witnessed = _countersign(partner, head)
                event_id = f"countersignature/{partner.log_id}/{witnessed.size}"
                if (
                    message.kind != WITNESS_KIND
                    and not OutboxMessage.objects.filter(partner=partner, event_id=event_id).exists()
                ):
                    message_enqueue(
                        actor=None,
                        partner=partner,
                        kind=WITNESS_KIND,
                        body=countersignature_document(witnessed),
                        event_id=event_id,
                    )
        except ServiceError as error:
            refused.append(f"their head: {error.message}")
    for reason in refused:
        logger.warning("witnessing with %s: %s", partner.log_id, reason)
    return refused


def countersignature_validate(body: dict[str, Any]) -> list[str]:
    """Reasons a countersignature message body is not one (`ledger.witness` checks the signature)."""
    reasons = []
    if body.get("format") != COUNTERSIGNATURE_FORMAT:
        reasons.append(f"format: expected {COUNTERSIGNATURE_FORMAT!r}")
    for field in ("witness_id", "public_key", "signature"):
        if not isinstance(body.get(field), str):
            reasons.append(f"{field}: missing or not a string")
    if not isinstance(body.get("head"), dict):
        reasons.append("head: missing or not an object")
    return reasons


def countersignature_apply(actor: Any, partner: Partner, body: dict[str, Any], event_id: str) -> Any:
    """Receive a partner's countersignature of one of our heads (the kind `exchange.countersignature`)."""
    if body.get("witness_id") != partner.log_id:
        raise ValidationFailed(
            f"the countersignature names {body.get('witness_id')!r}, not the sender {partner.log_id}"
        )
    _pinned(partner, body)
    return countersignature_receive(actor=actor, document=body)


def issue_head() -> None:
    """Issue our head before a batch of deliveries, so it covers the messages sent (best effort)."""
    try:
        if LedgerHead.objects.filter(pk=1, size__gt=0).exists():
            head_issue()
    except ServiceError as error:
        logger.warning("no head issued before delivering: %s", error.message)
