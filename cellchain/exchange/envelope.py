"""The signed envelope every exchange message rides in (issue 12 item 2; decision 0017).

    {"format": "cellchain-exchange/1", "sender": <log id>, "recipient": <log id>, "kind": str,
     "event_id": str, "sent_at": "2026-12-07T12:00:00Z", "body": {...}, "signature": <base64 Ed25519>}

The signature is Ed25519 over the RFC 8785 canonical JSON (`ledger.canonical`) of the envelope without
"signature" (and without the unsigned "witness" attachment, `witnessing.py`). Ed25519 is deterministic, so a
retried delivery carries the very same bytes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cellchain.ledger.canonical import canonical_bytes

FORMAT = "cellchain-exchange/1"
SIGNED_FIELDS = ("format", "sender", "recipient", "kind", "event_id", "sent_at", "body")
UNSIGNED_FIELDS = ("signature", "witness")
MAX_ID_LENGTH = {"sender": 100, "recipient": 100, "kind": 100, "event_id": 300}


def utc_iso(moment: dt.datetime) -> str:
    """ISO-8601 UTC with a Z, to the second."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def signed_part(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope without its signature and unsigned attachments: what is signed and compared."""
    return {key: value for key, value in envelope.items() if key not in UNSIGNED_FIELDS}


def content_sha256(envelope: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical signed part: two deliveries of one message have the same value."""
    return hashlib.sha256(canonical_bytes(signed_part(envelope))).hexdigest()


def envelope_build(
    *,
    private_key: Ed25519PrivateKey,
    sender: str,
    recipient: str,
    kind: str,
    event_id: str,
    sent_at: dt.datetime,
    body: dict[str, Any],
) -> dict[str, Any]:
    """A signed envelope."""
    unsigned: dict[str, Any] = {
        "format": FORMAT,
        "sender": sender,
        "recipient": recipient,
        "kind": kind,
        "event_id": event_id,
        "sent_at": utc_iso(sent_at),
        "body": body,
    }
    signature = private_key.sign(canonical_bytes(unsigned))
    return {**unsigned, "signature": base64.b64encode(signature).decode("ascii")}


def shape_reasons(envelope: Any) -> list[str]:
    """Why `envelope` is not a well-formed envelope (empty when it is); the signature is checked apart."""
    if not isinstance(envelope, dict):
        return [f"the message is a JSON {type(envelope).__name__}, not an object (an envelope)"]
    reasons = []
    if envelope.get("format") != FORMAT:
        reasons.append(f"format: expected {FORMAT!r}, got {envelope.get('format')!r}")
    for field in ("sender", "recipient", "kind", "event_id", "sent_at", "signature"):
        value = envelope.get(field)
        if not isinstance(value, str) or not value.strip():
            reasons.append(f"{field}: missing or not a non-empty string")
        elif len(value) > MAX_ID_LENGTH.get(field, 1000):
            reasons.append(f"{field}: longer than {MAX_ID_LENGTH.get(field, 1000)} characters")
    if not isinstance(envelope.get("body"), dict):
        reasons.append("body: missing or not a JSON object")
    sent_at = envelope.get("sent_at")
    if isinstance(sent_at, str) and sent_at.strip():
        try:
            moment = dt.datetime.fromisoformat(sent_at.replace("Z", "+00:00"))
        except ValueError:
            reasons.append(f"sent_at: {sent_at!r} is not an ISO-8601 time")
        else:
            if moment.utcoffset() != dt.timedelta(0):
                reasons.append(f"sent_at: {sent_at!r} is not in UTC")
    extra = set(envelope) - set(SIGNED_FIELDS) - set(UNSIGNED_FIELDS)
    if extra:
        reasons.append(f"unknown fields: {', '.join(sorted(extra))}")
    return reasons


def signature_verifies(envelope: dict[str, Any], public_key: bytes) -> bool:
    """True when the envelope's signature verifies with `public_key` over its canonical signed part."""
    try:
        signature = base64.b64decode(str(envelope.get("signature", "")), validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, canonical_bytes(signed_part(envelope))
        )
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False
    return True
