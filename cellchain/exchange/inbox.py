"""Receiving a message (issue 12 item 2): authenticate, check, apply once, or quarantine with the reason.

Order of the checks: the bearer token names the partner (by its SHA-256) → the envelope is well formed → it
comes from that partner and is for us → its signature verifies with the partner's pinned key → the kind is
known and the body valid for it → a second delivery of the same event is answered "already received" (same
content) or refused as a replay/forgery (other content) → the kind's `receive` applies it in one transaction
with the inbox row and its ledger entry. Every refusal is kept in the quarantine (its own transaction).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from cellchain.core import clock
from cellchain.core.errors import ServiceError
from cellchain.exchange import credentials, kinds, witnessing
from cellchain.exchange.conf import setting
from cellchain.exchange.envelope import content_sha256, shape_reasons, signature_verifies
from cellchain.exchange.models import InboxMessage, Partner
from cellchain.exchange.services import our_log_id, quarantine_keep
from cellchain.ledger.records import record_create

logger = logging.getLogger("cellchain.exchange")


@dataclass
class Receipt:
    """What the inbox answers: an HTTP status and a JSON body (`{"status", "event_id", "witness"}` when
    accepted, the API's error shape `{"message", "code", "detail"}` when refused)."""

    status: int
    payload: dict[str, Any]
    quarantined: int | None = None


@dataclass
class _Refusal(Exception):
    status: int
    code: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


def _bearer(authorization: str) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _partner_for(authorization: str) -> Partner:
    token = _bearer(authorization)
    if not token:
        raise _Refusal(401, "unknown_partner", "no bearer token: a partner presents the token we gave it")
    partner = Partner.objects.filter(inbound_token_sha256=credentials.token_sha256(token)).first()
    if partner is None:
        raise _Refusal(401, "unknown_partner", "the bearer token is not the token of any registered partner")
    if not partner.active:
        raise _Refusal(403, "partner_inactive", f"{partner.log_id} is registered but inactive")
    return partner


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _Refusal(400, "malformed", f"the request is not UTF-8 JSON: {error}") from None
    reasons = shape_reasons(envelope)
    if reasons:
        raise _Refusal(
            400,
            "malformed",
            "not a cellchain-exchange/1 envelope: " + "; ".join(reasons),
            {"reasons": reasons},
        )
    return envelope  # type: ignore[no-any-return]


def _check(partner: Partner, envelope: dict[str, Any]) -> kinds.Kind:
    if envelope["sender"] != partner.log_id:
        raise _Refusal(
            403,
            "wrong_sender",
            f"the envelope claims sender {envelope['sender']!r} but the token is that of {partner.log_id}",
        )
    if envelope["recipient"] != our_log_id():
        raise _Refusal(
            400,
            "wrong_recipient",
            f"the envelope is for {envelope['recipient']!r}; this installation is {our_log_id()}",
        )
    if not signature_verifies(envelope, bytes(partner.public_key)):
        raise _Refusal(
            403,
            "bad_signature",
            f"the signature does not verify with the key pinned for {partner.log_id} "
            f"({partner.key_fingerprint[:16]}): the message was altered or signed with another key "
            "(a partner's new key is pinned only by a partner update with a reason)",
        )
    kind = kinds.get(envelope["kind"])
    if kind is None:
        raise _Refusal(
            400, "unknown_kind", f"{envelope['kind']!r} is not a message kind this installation knows"
        )
    reasons = kind.validate(envelope["body"])
    if reasons:
        raise _Refusal(
            422,
            "invalid_body",
            f"the {envelope['kind']} body is not valid: " + "; ".join(reasons),
            {"reasons": reasons},
        )
    return kind


def _duplicate(partner: Partner, envelope: dict[str, Any], digest: str) -> InboxMessage | None:
    """The earlier receipt of the same event; refused when its content differs (replay or forgery)."""
    earlier = InboxMessage.objects.filter(sender=partner.log_id, event_id=envelope["event_id"]).first()
    if earlier is not None and earlier.content_sha256 != digest:
        raise _Refusal(
            409,
            "tampered_duplicate",
            f"event {envelope['event_id']!r} of {partner.log_id} was received before with other content "
            f"(SHA-256 {earlier.content_sha256[:16]}, now {digest[:16]}): refused as a replay or forgery",
        )
    return earlier


def _apply(partner: Partner, kind: kinds.Kind, envelope: dict[str, Any], digest: str) -> InboxMessage:
    with transaction.atomic():
        kind.receive(actor=None, partner=partner, body=envelope["body"], event_id=envelope["event_id"])
        return record_create(
            actor=None,
            record=InboxMessage(
                partner=partner,
                sender=partner.log_id,
                kind=envelope["kind"],
                event_id=envelope["event_id"],
                envelope={key: value for key, value in envelope.items() if key != "witness"},
                content_sha256=digest,
                received_at=clock.now(),
            ),
            event="exchange:receive",
            extra={
                "sender": partner.log_id,
                "kind": envelope["kind"],
                "event_id": envelope["event_id"],
                "sha256": digest,
            },
        )


def _claimed(raw: bytes) -> dict[str, str]:
    """What a refused message says about itself, as far as it can be read (for the quarantine list)."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {key: value[key] for key in ("sender", "kind", "event_id") if isinstance(value.get(key), str)}


def _refuse(raw: bytes, partner: Partner | None, refusal: _Refusal) -> Receipt:
    claimed = _claimed(raw)
    kept = quarantine_keep(
        raw=raw,
        partner=partner,
        sender_claimed=claimed.get("sender", ""),
        kind=claimed.get("kind", ""),
        event_id=claimed.get("event_id", ""),
        code=refusal.code,
        reason=refusal.reason,
    )
    logger.warning("exchange message refused (%s): %s", refusal.code, refusal.reason)
    return Receipt(
        refusal.status,
        {
            "message": f"Refused: {refusal.reason}.",
            "code": refusal.code,
            "detail": {**refusal.detail, "quarantine_id": kept.pk},
        },
        quarantined=kept.pk,
    )


def inbox_receive(*, raw: bytes, authorization: str) -> Receipt:
    """Receive one message (issue 12 item 2): applied once, answered "already received" when repeated, or
    refused with a clear reason and kept in the quarantine."""
    partner: Partner | None = None
    try:
        if len(raw) > int(setting("CELLCHAIN_EXCHANGE_MAX_BYTES")):
            partner = _partner_for(authorization)
            raise _Refusal(
                413,
                "too_large",
                f"the message is {len(raw)} bytes; the inbox takes at most {setting('CELLCHAIN_EXCHANGE_MAX_BYTES')}",
            )
        partner = _partner_for(authorization)
        envelope = _parse(raw)
        kind = _check(partner, envelope)
        digest = content_sha256(envelope)
        status = "already received"
        if _duplicate(partner, envelope, digest) is None:
            try:
                _apply(partner, kind, envelope, digest)
                status = "received"
            except IntegrityError:
                # A concurrent delivery of the same event committed first: judge this one against it.
                if _duplicate(partner, envelope, digest) is None:
                    raise
            except ServiceError as error:
                raise _Refusal(
                    422,
                    "not_applied",
                    f"the {envelope['kind']} message could not be applied: {error.message}",
                ) from None
    except _Refusal as refusal:
        if refusal.status == 413:
            raw = raw[: int(setting("CELLCHAIN_EXCHANGE_MAX_BYTES"))]
        return _refuse(raw, partner, refusal)
    return Receipt(
        200,
        {
            "status": status,
            "event_id": envelope["event_id"],
            "witness": witnessing.answer(partner, envelope.get("witness")),
        },
    )
