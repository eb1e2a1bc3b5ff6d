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

Key rotation (decision 0008): a log that rotated its key sends, with its head, its *handovers* — each a head
signed by the old key naming the next key id, the next public key, and a consistency proof from the handover
to the head sent. A partner pinned to the old key follows the handovers from the key it pinned, each signed
by the key trusted so far and an ancestor of the head sent, and pins the new key. The same holds for a
witness's countersignatures: a witness countersigns with its log's key, and its countersignature document
carries that log's handovers.
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
    key_id,
    tree_head_from_json,
    tree_head_to_json,
)
from cellchain.ledger.export import b64, signed_head_json
from cellchain.ledger.heads import active_signer, latest_head, to_tree_head
from cellchain.ledger.models import HeadCountersignature, LedgerSigningKey, SignedTreeHead, WitnessedHead
from cellchain.ledger.proofs import consistency_proof
from cellchain.ledger.records import record_create
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
    handovers = _handover_documents(up_to=sth, from_size=from_size or 0)
    if handovers:
        document["key_handovers"] = handovers
    return document


def _handover_documents(*, up_to: SignedTreeHead | None, from_size: int = 0) -> list[dict[str, Any]]:
    """Our key handovers (heads signed by a retiring key naming its successor) with the successor's public
    key; with `up_to`, only those within it and each with a consistency proof to it."""
    heads = SignedTreeHead.objects.filter(
        log_id=witness_id(), next_key_id__isnull=False, size__gte=from_size
    ).order_by("size")
    if up_to is not None:
        heads = heads.filter(size__lte=up_to.size)
    successors = {
        key.key_id: bytes(key.public_key)
        for key in LedgerSigningKey.objects.filter(key_id__in=[head.next_key_id for head in heads])
    }
    documents = []
    for head in heads:
        document: dict[str, Any] = {
            **signed_head_json(head),
            "next_public_key": b64(successors.get(head.next_key_id or "", b"")),
        }
        if up_to is not None:
            proof = consistency_proof(head.size, up_to.size) if head.size < up_to.size else []
            document["consistency"] = {"to_size": up_to.size, "proof": [b64(node) for node in proof]}
        documents.append(document)
    return documents


@dataclass(frozen=True)
class KeyHandover:
    """A partner's key handover: its head (naming the next key id), signed by the retiring key, the next
    public key, and a consistency proof from the handover to the head it came with (`proof_to`)."""

    head: TreeHead
    key_id: str
    signature: bytes
    next_public_key: bytes
    proof_to: int | None
    proof: tuple[bytes, ...]


def _handovers_parse(document: Any) -> tuple[KeyHandover, ...]:
    items = document.get("key_handovers", []) if isinstance(document, dict) else []
    if not isinstance(items, list):
        raise ValidationFailed("key_handovers: expected a list.", field="key_handovers")
    handovers = []
    for number, item in enumerate(items):
        where = f"key_handovers[{number}]"
        try:
            head = tree_head_from_json(item, where)
        except ValueError as error:
            raise ValidationFailed(str(error), field="key_handovers") from None
        if head.next_key_id is None:
            raise ValidationFailed(f"{where} names no next key.", field="key_handovers")
        consistency = item.get("consistency")
        proof_to, proof = None, ()
        if consistency is not None:
            proof_to = _require(consistency, "to_size", int)
            proof = tuple(
                _decode(node, f"{where}.consistency.proof") for node in _require(consistency, "proof", list)
            )
        handovers.append(
            KeyHandover(
                head=head,
                key_id=_require(item, "key_id", str),
                signature=_decode(_require(item, "signature", str), f"{where}.signature"),
                next_public_key=_decode(_require(item, "next_public_key", str), f"{where}.next_public_key"),
                proof_to=proof_to,
                proof=proof,
            )
        )
    return tuple(handovers)


def _handover_reasons(
    step: KeyHandover, trusted: bytes, log_id: str, since: int, head: TreeHead | None
) -> list[str]:
    """Why one handover cannot pass the trust on from `trusted` (empty when it can)."""
    where = f"the key handover at size {step.head.size}"
    reasons = []
    if step.head.log_id != log_id:
        reasons.append(f"{where} is for log {step.head.log_id!r}, not {log_id!r}")
    if step.head.size < since:
        reasons.append(
            f"{where} is older than the head of size {since} already accepted with the key it retires"
        )
    try:
        verify_head_signature(trusted, step.head, step.signature)
    except SignatureError as error:
        reasons.append(f"{where} is not signed by the pinned key {key_fingerprint(trusted)[:16]}: {error}")
    if key_id(step.next_public_key) != step.head.next_key_id:
        reasons.append(
            f"{where} names key {step.head.next_key_id[:16] if step.head.next_key_id else ''} "
            f"but carries another public key ({key_fingerprint(step.next_public_key)[:16]})"
        )
    if head is not None:
        if step.head.size > head.size or step.proof_to != head.size:
            reasons.append(f"{where} comes without a consistency proof to the head of size {head.size}")
        else:
            try:
                merkle.verify_consistency(
                    step.head.size, head.size, list(step.proof), step.head.root, head.root
                )
            except merkle.ProofError as error:
                reasons.append(f"fork: the head of size {head.size} does not extend {where}: {error}")
    return reasons


def follow_key_handovers(
    *,
    pinned: bytes,
    presented: bytes,
    handovers: tuple[KeyHandover, ...],
    log_id: str,
    since: int = 0,
    head: TreeHead | None = None,
) -> tuple[list[KeyHandover], list[str]]:
    """Follow a log's handovers from the key we `pinned` to the key `presented` now (decision 0008).

    Each step must be signed by the key trusted so far, name the next key by its id, not predate the head of
    size `since` we accepted with the old key, and (with `head`) be shown an ancestor of `head` by its
    consistency proof. Returns the steps taken and, when the chain does not reach `presented`, the reasons.
    """
    steps: list[KeyHandover] = []
    trusted, remaining = pinned, sorted(handovers, key=lambda step: step.head.size)
    while trusted != presented:
        step = next((candidate for candidate in remaining if candidate.key_id == key_id(trusted)), None)
        if step is None:
            return steps, [
                f"the key changed from the pinned {key_fingerprint(pinned)[:16]} to "
                f"{key_fingerprint(presented)[:16]} without a key handover signed by "
                f"{key_fingerprint(trusted)[:16]}"
            ]
        reasons = _handover_reasons(step, trusted, log_id, since, head)
        if reasons:
            return steps, reasons
        steps.append(step)
        remaining.remove(step)
        trusted, since = step.next_public_key, step.head.size
    return steps, []


@dataclass(frozen=True)
class PartnerHead:
    """A partner's head as read from its document."""

    head: TreeHead
    signature: bytes
    public_key: bytes
    proof_from: int | None
    proof: tuple[bytes, ...]
    handovers: tuple[KeyHandover, ...] = ()


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
        handovers=_handovers_parse(document),
    )


@dataclass(frozen=True)
class WitnessCheck:
    """Whether a partner's head may be countersigned, and why not; `previous` is the head it extends."""

    ok: bool
    reasons: tuple[str, ...]
    previous: WitnessedHead | None
    key_fingerprint: str
    handovers: tuple[KeyHandover, ...] = ()


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
    first head of that log, with the key it carries and `expected_fingerprint` when given; or with a key the
    pinned key handed over to, through the document's key handovers), and it is consistent with the last
    head we countersigned for that log."""
    partner = partner_head_parse(document)
    previous = _last_witnessed(partner.head.log_id)
    reasons: list[str] = []
    if partner.head.log_id == witness_id():
        reasons.append("this is our own log: a witness countersigns another installation's heads")
    key = bytes(previous.public_key) if previous is not None else partner.public_key
    steps: list[KeyHandover] = []
    if previous is not None and partner.public_key != key:
        steps, refused = follow_key_handovers(
            pinned=key,
            presented=partner.public_key,
            handovers=partner.handovers,
            log_id=partner.head.log_id,
            since=previous.size,
            head=partner.head,
        )
        if refused:
            reasons.append(
                f"the document's key {key_fingerprint(partner.public_key)[:16]} is not the key pinned for "
                f"{partner.head.log_id} ({key_fingerprint(key)[:16]}) and the pinned key did not hand over "
                "to it: " + "; ".join(refused)
            )
        else:
            key = partner.public_key
    # After a followed rotation the published fingerprint may be the pinned key's (the trust root) or the new key's.
    published = {key_fingerprint(key)} | (
        {key_fingerprint(bytes(previous.public_key))} if steps and previous else set()
    )
    if expected_fingerprint and expected_fingerprint.lower() not in published:
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
        ok=not reasons,
        reasons=tuple(reasons),
        previous=previous,
        key_fingerprint=key_fingerprint(key),
        handovers=tuple(steps),
    )


def _our_countersigning_key(witnessed: WitnessedHead) -> bytes:
    """Which of our keys made a countersignature: the key of our history it verifies with (we may have
    rotated since)."""
    signed = Countersignature(
        witness_id=witnessed.witness_id,
        head=_witnessed_head(witnessed),
        signature=bytes(witnessed.countersignature),
    )
    for key in LedgerSigningKey.objects.order_by("-activated_at", "-pk"):
        try:
            verify_countersignature(bytes(key.public_key), signed)
        except SignatureError:
            continue
        return bytes(key.public_key)
    raise Conflict(f"None of our signing keys made the countersignature of {witnessed}.")


def _witnessed_head(witnessed: WitnessedHead) -> TreeHead:
    return TreeHead(
        log_id=witnessed.log_id,
        size=witnessed.size,
        root=bytes(witnessed.root),
        time=witnessed.time,
        next_key_id=_witnessed_next_key_id(witnessed),
    )


def _witnessed_next_key_id(witnessed: WitnessedHead) -> str | None:
    """A partner's head we countersigned that was a key handover names the next key in its signed bytes; the
    ledger entry of the countersignature kept it (WitnessedHead has no column for it)."""
    from cellchain.ledger.models import LedgerEntry

    entry = (
        LedgerEntry.objects.filter(record_type=witnessed.ledger_record_type(), record_id=str(witnessed.pk))
        .order_by("seq")
        .first()
    )
    if entry is None:
        return None
    extra = json.loads(bytes(entry.canonical)).get("extra") or {}
    value = extra.get("next_key_id")
    return value if isinstance(value, str) else None


def countersignature_document(witnessed: WitnessedHead) -> dict[str, Any]:
    """Our countersignature of a partner's head, to send back to the partner, with the key that made it and
    our key handovers (so a partner that pinned an older key of ours can follow them)."""
    document: dict[str, Any] = {
        "format": COUNTERSIGNATURE_FORMAT,
        "witness_id": witnessed.witness_id,
        "public_key": b64(_our_countersigning_key(witnessed)),
        "head": tree_head_to_json(_witnessed_head(witnessed)),
        "signature": b64(witnessed.countersignature),
    }
    handovers = _handover_documents(up_to=None)
    if handovers:
        document["key_handovers"] = handovers
    return document


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
    _our_key, our_private_key = active_signer()
    mine = countersign(our_private_key, witness_id(), partner.head)
    witnessed = record_create(
        actor=actor,
        record=WitnessedHead(
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
            consistency_proof=json.dumps([b64(node) for node in partner.proof])
            if previous is not None
            else "",
        ),
        event="witness:countersign",
        extra={
            "partner_key_sha256": check.key_fingerprint,
            "consistent_with_size": previous.size if previous else None,
            # A head that hands the partner's key over names the next key in its signed bytes.
            "next_key_id": partner.head.next_key_id,
            "key_handovers_followed": [
                {"size": step.head.size, "from": step.key_id, "to": step.head.next_key_id}
                for step in check.handovers
            ],
        },
    )
    return witnessed


@transaction.atomic
def countersignature_receive(*, actor: Any | None, document: Any) -> HeadCountersignature:
    """Keep a partner's countersignature of one of our heads after checking it (same head, valid signature,
    the witness's key the one of its latest countersignature, or one that key handed over to through the
    document's key handovers)."""
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
    pinned = HeadCountersignature.objects.filter(witness_id=name).order_by("-received_at", "-pk").first()
    steps: list[KeyHandover] = []
    if pinned is not None and bytes(pinned.public_key) != key:
        steps, refused = follow_key_handovers(
            pinned=bytes(pinned.public_key), presented=key, handovers=_handovers_parse(document), log_id=name
        )
        if refused:
            raise Conflict(
                f"{name} used a key other than the one of its latest countersignature: "
                + "; ".join(refused)
                + "."
            )
    try:
        verify_countersignature(key, signed)
    except SignatureError as error:
        raise Conflict(f"The countersignature does not verify: {error}") from None
    existing = HeadCountersignature.objects.filter(head=ours, witness_id=name).first()
    if existing is not None:
        return existing
    received = record_create(
        actor=actor,
        record=HeadCountersignature(
            head=ours, witness_id=name, public_key=key, signature=signed.signature, received_at=clock.now()
        ),
        event="witness:receive",
        extra={
            "witness_key_sha256": key_fingerprint(key),
            "head_size": head.size,
            "key_handovers_followed": [
                {"size": step.head.size, "from": step.key_id, "to": step.head.next_key_id} for step in steps
            ],
        },
    )
    return received
