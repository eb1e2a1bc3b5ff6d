"""Cross-organisation witnessing of signed tree heads (issue 3 item 6; DESIGN.md "Records and the ledger").

Two installations (a manufacturer and a hospital, say) exchange their signed heads:

1. `head_document` — our newest signed head, with our public key, optionally with a consistency proof from the
   size the partner last countersigned, ready to send;
2. `partner_head_countersign` — we check a partner's head (Ed25519 signature; key pinned by the first head we
   countersigned for that log; a consistency proof from the last head we countersigned) and countersign it;
   the countersignature document goes back to the partner;
3. `countersignature_receive` — we keep a partner's countersignature of one of our heads; exported bundles carry
   it, so an inspector sees that another organisation vouched for our history at that size.

After step 2 the partner can no longer rewrite what we witnessed: a newer head that is not an extension of it
fails the consistency proof (a fork), and is refused with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from cellchain.core import clock
from cellchain.core.errors import Conflict, NotFound, ValidationFailed
from cellchain.domain import merkle
from cellchain.domain.treehead import (
    Countersignature,
    TreeHead,
    decode_base64,
    tree_head_from_json,
    tree_head_to_json,
)
from cellchain.ledger.export import b64, signed_head_json
from cellchain.ledger.heads import latest_head, to_tree_head
from cellchain.ledger.keys import public_key_bytes, signing_key
from cellchain.ledger.models import HeadCountersignature, SignedTreeHead, WitnessedHead
from cellchain.ledger.proofs import consistency_proof
from cellchain.ledger.services import ledger_append
from cellchain.verifier.signing import (
    SignatureError,
    countersign,
    key_fingerprint,
    verify_countersignature,
    verify_head_signature,
)

HEAD_FORMAT = "cellchain-signed-head/1"
COUNTERSIGNATURE_FORMAT = "cellchain-countersignature/1"


def witness_id() -> str:
    """The name we countersign under: our log id."""
    return str(settings.CELLCHAIN_LEDGER_LOG_ID)


def head_document(sth: SignedTreeHead | None = None, *, from_size: int | None = None) -> dict[str, Any]:
    """Our signed head (default: the newest) as a document for a partner, with a consistency proof from
    `from_size` (the size the partner countersigned last) when given."""
    sth = sth or latest_head()
    if sth is None:
        raise NotFound(
            "No signed tree head has been issued yet: issue one first (`cellchain ledger head --issue`)."
        )
    document: dict[str, Any] = {
        "format": HEAD_FORMAT,
        **signed_head_json(sth),
        "public_key": b64(sth.public_key),
    }
    if from_size is not None:
        if not 0 < from_size <= sth.size:
            raise ValidationFailed(
                f"A consistency proof needs 0 < from size <= {sth.size}; got {from_size}.", field="from_size"
            )
        document["consistency"] = {
            "from_size": from_size,
            "proof": [b64(node) for node in consistency_proof(from_size, sth.size)],
        }
    return document


@dataclass(frozen=True)
class PartnerHead:
    """A partner's head as read from its document."""

    head: TreeHead
    signature: bytes
    public_key: bytes
    proof_from: int | None
    proof: tuple[bytes, ...]


def _require(document: Any, key: str, kind: type) -> Any:
    value = document.get(key) if isinstance(document, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValidationFailed(f"The head document lacks a valid {key!r} ({kind.__name__}).", field=key)
    return value


def _decode(value: Any, field: str) -> bytes:
    try:
        return decode_base64(value, field)
    except ValueError as error:
        raise ValidationFailed(str(error), field=field) from None


def partner_head_parse(document: Any) -> PartnerHead:
    """Read a partner's head document (`head_document` of the other installation); refuses malformed ones."""
    if not isinstance(document, dict) or document.get("format") != HEAD_FORMAT:
        raise ValidationFailed(
            f"Not a signed head document: expected format {HEAD_FORMAT!r}.", field="format"
        )
    try:
        head = tree_head_from_json(document)
    except ValueError as error:
        raise ValidationFailed(str(error), field="head") from None
    consistency = document.get("consistency")
    proof_from, proof = None, ()
    if consistency is not None:
        proof_from = _require(consistency, "from_size", int)
        proof = tuple(_decode(node, "consistency.proof") for node in _require(consistency, "proof", list))
    return PartnerHead(
        head=head,
        signature=_decode(_require(document, "signature", str), "signature"),
        public_key=_decode(_require(document, "public_key", str), "public_key"),
        proof_from=proof_from,
        proof=proof,
    )


@dataclass(frozen=True)
class WitnessCheck:
    """Whether a partner's head may be countersigned, and why not; `previous` is the head it extends."""

    ok: bool
    reasons: tuple[str, ...]
    previous: WitnessedHead | None
    key_fingerprint: str


def _last_witnessed(log_id: str) -> WitnessedHead | None:
    return WitnessedHead.objects.filter(log_id=log_id).order_by("-size").first()


def _consistency_reasons(partner: PartnerHead, previous: WitnessedHead) -> list[str]:
    head, old_size = partner.head, previous.size
    if head.size < old_size:
        return [
            f"we already countersigned size {old_size} of {head.log_id}; this head (size {head.size}) is older"
        ]
    if head.size > old_size and partner.proof_from != old_size:
        return [
            f"a consistency proof from size {old_size} (the head we countersigned last) is needed; "
            f"the document carries {'none' if partner.proof_from is None else f'one from {partner.proof_from}'}"
        ]
    try:
        merkle.verify_consistency(
            old_size,
            head.size,
            list(partner.proof if head.size > old_size else ()),
            bytes(previous.root),
            head.root,
        )
    except merkle.ProofError as error:
        return [
            f"fork: the head of size {head.size} is not an extension of the one we countersigned at size "
            f"{old_size}: {error}"
        ]
    return []


def partner_head_check(document: Any, *, expected_fingerprint: str | None = None) -> WitnessCheck:
    """Check a partner's head: its log is not ours, its signature verifies with the pinned key (or, for the
    first head of that log, with the key it carries and `expected_fingerprint` when given), and it is
    consistent with the last head we countersigned for that log."""
    partner = partner_head_parse(document)
    previous = _last_witnessed(partner.head.log_id)
    reasons: list[str] = []
    if partner.head.log_id == witness_id():
        reasons.append("this is our own log: a witness countersigns another installation's heads")
    key = bytes(previous.public_key) if previous is not None else partner.public_key
    if previous is not None and partner.public_key != key:
        reasons.append(
            f"the document's key {key_fingerprint(partner.public_key)[:16]} is not the key pinned for "
            f"{partner.head.log_id} ({key_fingerprint(key)[:16]}) when we first countersigned it"
        )
    if expected_fingerprint and key_fingerprint(key) != expected_fingerprint.lower():
        reasons.append(
            f"the key's SHA-256 {key_fingerprint(key)} is not the fingerprint the partner published"
        )
    try:
        verify_head_signature(key, partner.head, partner.signature)
    except SignatureError as error:
        reasons.append(str(error))
    if previous is not None:
        reasons += _consistency_reasons(partner, previous)
    return WitnessCheck(
        ok=not reasons, reasons=tuple(reasons), previous=previous, key_fingerprint=key_fingerprint(key)
    )


def countersignature_document(witnessed: WitnessedHead) -> dict[str, Any]:
    """Our countersignature of a partner's head, to send back to the partner."""
    return {
        "format": COUNTERSIGNATURE_FORMAT,
        "witness_id": witnessed.witness_id,
        "public_key": b64(public_key_bytes()),
        "head": tree_head_to_json(
            TreeHead(
                log_id=witnessed.log_id, size=witnessed.size, root=bytes(witnessed.root), time=witnessed.time
            )
        ),
        "signature": b64(witnessed.countersignature),
    }


@transaction.atomic
def partner_head_countersign(
    *, actor: Any | None, document: Any, expected_fingerprint: str | None = None
) -> WitnessedHead:
    """Check a partner's head (see `partner_head_check`) and countersign it with our key; refused with the
    reasons when a check fails. Countersigning the same head twice returns the first countersignature."""
    check = partner_head_check(document, expected_fingerprint=expected_fingerprint)
    partner = partner_head_parse(document)
    previous = check.previous
    if check.ok and previous is not None and previous.size == partner.head.size:
        return previous
    if not check.ok:
        raise Conflict(
            "The partner's head was not countersigned: " + "; ".join(check.reasons) + ".",
            detail={"reasons": list(check.reasons)},
        )
    mine = countersign(signing_key(), witness_id(), partner.head)
    witnessed = WitnessedHead.objects.create(
        log_id=partner.head.log_id,
        size=partner.head.size,
        root=partner.head.root,
        time=partner.head.time,
        signature=partner.signature,
        public_key=partner.public_key,
        witness_id=mine.witness_id,
        countersignature=mine.signature,
        countersigned_at=clock.now(),
        consistent_with=previous,
        consistency_proof=json.dumps([b64(node) for node in partner.proof]) if previous is not None else "",
    )
    ledger_append(
        actor=actor,
        record=witnessed,
        action="create",
        event="witness:countersign",
        extra={
            "partner_key_sha256": check.key_fingerprint,
            "consistent_with_size": previous.size if previous else None,
        },
    )
    return witnessed


@transaction.atomic
def countersignature_receive(*, actor: Any | None, document: Any) -> HeadCountersignature:
    """Keep a partner's countersignature of one of our heads after checking it (same head, valid signature,
    the witness's key unchanged since its first countersignature)."""
    if not isinstance(document, dict) or document.get("format") != COUNTERSIGNATURE_FORMAT:
        raise ValidationFailed(
            f"Not a countersignature document: expected format {COUNTERSIGNATURE_FORMAT!r}.", field="format"
        )
    name = _require(document, "witness_id", str)
    try:
        head = tree_head_from_json(document.get("head"), "head")
        signed = Countersignature(
            witness_id=name, head=head, signature=_decode(_require(document, "signature", str), "signature")
        )
    except ValueError as error:
        raise ValidationFailed(str(error), field="head") from None
    key = _decode(_require(document, "public_key", str), "public_key")
    ours = SignedTreeHead.objects.filter(log_id=witness_id(), size=head.size).first()
    if ours is None or to_tree_head(ours) != head:
        raise Conflict(f"{name} countersigned a head of size {head.size} that is not one we signed.")
    pinned = HeadCountersignature.objects.filter(witness_id=name).order_by("received_at").first()
    if pinned is not None and bytes(pinned.public_key) != key:
        raise Conflict(f"{name} used a key other than the one of its first countersignature.")
    try:
        verify_countersignature(key, signed)
    except SignatureError as error:
        raise Conflict(f"The countersignature does not verify: {error}") from None
    existing = HeadCountersignature.objects.filter(head=ours, witness_id=name).first()
    if existing is not None:
        return existing
    received = HeadCountersignature.objects.create(
        head=ours, witness_id=name, public_key=key, signature=signed.signature, received_at=clock.now()
    )
    ledger_append(
        actor=actor,
        record=received,
        action="create",
        event="witness:receive",
        extra={"witness_key_sha256": key_fingerprint(key), "head_size": head.size},
    )
    return received
