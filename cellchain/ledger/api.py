"""Ledger API: signed heads, inclusion and consistency proofs, entry bytes, bundle export (issue 3 items 3, 5).

Hashes and signatures travel as standard base64. Heads and proofs reveal only hashes, so every role may fetch
them (`ledger.view_proofs`). The bytes of an entry carry the state of a record; they are served to trail readers
of the organisation whose user made the entry (`ledger.view_trail`), and the bundle, which holds every entry,
to QA and auditors (`ledger.export_bundle`).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema

from cellchain.core.errors import NotFound, ValidationFailed
from cellchain.core.permissions import requires
from cellchain.domain.merkle import ProofError
from cellchain.ledger import proofs, selectors
from cellchain.ledger.export import b64, bundle_chunks, bundle_size, key_history
from cellchain.ledger.heads import current_size, head_issue, latest_head
from cellchain.ledger.models import SignedTreeHead, VerifyRun
from cellchain.verifier.signing import key_fingerprint

router = Router(tags=["ledger"])

# Sizes and sequence numbers are 64-bit signed columns: a larger or negative number is refused as input (422)
# before it reaches the database, where it overflowed into a 500 (issue 15 item 3).
MAX_COUNT = 2**63 - 1


def _count_path() -> Any:
    return Path(..., ge=0, le=MAX_COUNT)


def _count_query(default: Any) -> Any:
    return Query(default, ge=0, le=MAX_COUNT)


def _within_tree(**sizes: int) -> None:
    """Refuse a proof size past the tree: its nodes do not exist yet, so the proof cannot be built."""
    tree = current_size()
    for field, size in sizes.items():
        if size > tree:
            raise ValidationFailed(
                _("%(field)s %(size)d is beyond the ledger tree, which has %(tree)d entries.")
                % {"field": field, "size": size, "tree": tree},
                field=field,
                detail={"check": "size_beyond_tree", "tree_size": tree},
            )


class HeadOut(Schema):
    log_id: str
    size: int
    root: str
    time: str
    signature: str
    public_key: str
    key_sha256: str
    key_id: str | None
    next_key_id: str | None = None


class KeyOut(Schema):
    key_id: str
    public_key: str
    activated_at: str
    retired_at: str | None
    predecessor: str | None


class InclusionOut(Schema):
    seq: int
    size: int
    leaf_hash: str
    root: str
    proof: list[str]


class ConsistencyOut(Schema):
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]


class LedgerEntryOut(Schema):
    seq: int
    leaf_hash: str
    canonical: str
    entry: dict[str, Any]


def _head_out(sth: SignedTreeHead) -> dict[str, Any]:
    return {
        "log_id": sth.log_id,
        "size": sth.size,
        "root": b64(sth.root),
        "time": sth.time,
        "signature": b64(sth.signature),
        "public_key": b64(sth.public_key),
        "key_sha256": key_fingerprint(bytes(sth.public_key)),
        "key_id": sth.key_id,
        "next_key_id": sth.next_key_id,
    }


def _proof_error(error: ProofError) -> ValidationFailed:
    return ValidationFailed(str(error), detail={"check": error.code})


@router.get("/heads/latest", response=HeadOut, summary="Newest signed tree head")
@requires("ledger.view_proofs")
def head_latest(request: HttpRequest) -> dict[str, Any]:
    sth = latest_head()
    if sth is None:
        raise NotFound("No signed tree head has been issued yet.")
    return _head_out(sth)


@router.post("/heads", response=HeadOut, summary="Sign the tree as it stands now")
@requires("ledger.issue_head")
def head_create(request: HttpRequest) -> dict[str, Any]:
    return _head_out(head_issue())


@router.get("/heads/{size}", response=HeadOut, summary="Signed tree head of a given size")
@requires("ledger.view_proofs")
def head_at_size(request: HttpRequest, size: int = _count_path()) -> dict[str, Any]:
    sth = SignedTreeHead.objects.filter(log_id=settings.CELLCHAIN_LEDGER_LOG_ID, size=size).first()
    if sth is None:
        raise NotFound(
            f"No signed tree head of size {size}; ask for /heads/latest or a size that was signed."
        )
    return _head_out(sth)


@router.get("/keys", response=list[KeyOut], summary="The log's signing-key history (public keys)")
@requires("ledger.view_proofs")
def keys(request: HttpRequest) -> list[dict[str, Any]]:
    """Every signing key of this log, oldest first: key id (SHA-256 of the raw Ed25519 key), public key,
    activation and retirement, the key it replaced (decision 0008). Heads name their key by `key_id`."""
    return key_history()


@router.get("/proofs/inclusion/{seq}", response=InclusionOut, summary="Inclusion proof of an entry")
@requires("ledger.view_proofs")
def inclusion(
    request: HttpRequest, seq: int = _count_path(), size: int | None = _count_query(None)
) -> dict[str, Any]:
    """PATH(seq, D[0:size]) per RFC 9162 §2.1.3; `size` defaults to the newest signed head."""
    size = bundle_size() if size is None else size
    _within_tree(size=size)
    try:
        path = proofs.inclusion_proof(seq, size)
        root = proofs.tree_root(size)
        leaf = proofs.leaf_hash(seq)
    except ProofError as error:
        raise _proof_error(error) from None
    except proofs.MissingNode as error:
        raise NotFound(str(error)) from None
    return {
        "seq": seq,
        "size": size,
        "leaf_hash": b64(leaf),
        "root": b64(root),
        "proof": [b64(p) for p in path],
    }


@router.get("/proofs/consistency", response=ConsistencyOut, summary="Consistency proof between two sizes")
@requires("ledger.view_proofs")
def consistency(
    request: HttpRequest, old_size: int = _count_query(...), new_size: int = _count_query(...)
) -> dict[str, Any]:
    """PROOF(old_size, D[0:new_size]) per RFC 9162 §2.1.4."""
    _within_tree(old_size=old_size, new_size=new_size)
    try:
        path = proofs.consistency_proof(old_size, new_size)
        old_root, new_root = proofs.tree_root(old_size), proofs.tree_root(new_size)
    except ProofError as error:
        raise _proof_error(error) from None
    except proofs.MissingNode as error:
        raise NotFound(str(error)) from None
    return {
        "old_size": old_size,
        "new_size": new_size,
        "old_root": b64(old_root),
        "new_root": b64(new_root),
        "proof": [b64(p) for p in path],
    }


@router.get("/entries/{seq}", response=LedgerEntryOut, summary="Stored bytes of one entry")
@requires("ledger.view_trail")
def entry_bytes(request: HttpRequest, seq: int = _count_path()) -> dict[str, Any]:
    entry = selectors.entries_visible_to(request.user).filter(seq=seq).first()
    if entry is None:
        raise NotFound(f"No entry {seq} visible to you.")
    data = bytes(entry.canonical)
    return {
        "seq": entry.seq,
        "leaf_hash": b64(entry.leaf_hash),
        "canonical": b64(data),
        "entry": json.loads(data),
    }


@router.get("/export", summary="Ledger bundle for cellchain-verify (cellchain-ledger-bundle/1)")
@requires("ledger.export_bundle")
def export(request: HttpRequest, size: int | None = _count_query(None)) -> StreamingHttpResponse:
    """Entries up to the newest signed head (or `size`), the heads and partners' countersignatures."""
    newest = bundle_size()
    if size is not None and not 0 <= size <= newest:
        raise ValidationFailed(f"size must be between 0 and the newest signed head ({newest}).", field="size")
    response = StreamingHttpResponse(bundle_chunks(size), content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="{settings.CELLCHAIN_LEDGER_LOG_ID}-ledger-bundle.json"'
    )
    return response


def _run_json(run: VerifyRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "status": run.status,
        "phase": run.phase,
        "done": run.done,
        "total": run.total,
        "requested_at": run.requested_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "ok": run.ok,
        "report": run.report,
        "poll": f"/api/ledger/verify/{run.pk}",
    }


@router.post("/verify", summary="Start the full ledger verification in the background")
@requires("ledger.verify")
def verify(request: HttpRequest) -> dict[str, Any]:
    """Start `verify_ledger()` outside the request (issue 15 section 2) and return the run to poll.

    GET `poll` until `status` is "done": then `ok` is true only when every check holds, and `report` names each
    finding's check, entry and record. An unfinished run already there is returned instead of a second one.
    """
    from cellchain.ledger.verify_runs import verify_run_start

    return _run_json(verify_run_start(actor=request.user))


@router.get("/verify/{run_id}", summary="A ledger verification run: progress, then the report")
@requires("ledger.verify")
def verify_run(request: HttpRequest, run_id: int = _count_path()) -> dict[str, Any]:
    run = VerifyRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"No verification run {run_id}.")
    return _run_json(run)
