"""The ledger part of an inspection dossier: a `cellchain-ledger-subset/1` of exactly some records' entries
(issue 14 item 6; REGULATORY.md #9 and #45, T-6.3, T-7.1).

The caller (a context that knows which records make up a batch or a journey) names the records; this module
knows nothing of contexts. Every entry of those records up to one signed tree head goes in with its RFC 9162
inclusion proof against that head; so do the entries of the log's signing-key records, the key history as of
the head, and the handover heads with a consistency proof each, so that `cellchain-verify` can check every
entry, the head's signature and the key that made it, offline (`cellchain.verifier.subset`).

Query cost does not grow per entry: entries come in one query per ~900 record ids, and the proof nodes of all
entries (a dry run of the Merkle walk lists them, `proofs.with_stored_nodes`) in one query per ~900 nodes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q

from cellchain.domain import merkle
from cellchain.ledger import proofs
from cellchain.ledger.export import b64, key_history, signed_head_json
from cellchain.ledger.heads import head_issue
from cellchain.ledger.models import LedgerEntry, LedgerSigningKey, SignedTreeHead
from cellchain.verifier.bundle import KEY_RECORD_TYPE
from cellchain.verifier.subset import SUBSET_FORMAT

Progress = Callable[[str, int, int], None]
RecordRef = tuple[str, str]
"""(record type, record id) as the ledger's `record_type` / `record_id` columns hold them."""


def _no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


@dataclass(frozen=True)
class SubsetEntry:
    """One entry read for the subset: what the bundle carries of it."""

    seq: int
    record_type: str
    record_id: str
    canonical: bytes


def _unique(records: Iterable[RecordRef]) -> list[RecordRef]:
    return list(dict.fromkeys((str(kind), str(pk)) for kind, pk in records))


def _param_limit() -> int:
    # SQLite allows 999 parameters per statement in older builds; PostgreSQL many more. 900 suits both.
    return min(900, connection.features.max_query_params or 900)


def _record_filters(records: Sequence[RecordRef]) -> list[Q]:
    """One Q per ~900 parameters: `record_type = t AND record_id IN (...)` OR'ed for the types of the chunk."""
    by_type: dict[str, list[str]] = {}
    for kind, pk in records:
        by_type.setdefault(kind, []).append(pk)
    limit, filters, current, used = _param_limit(), [], Q(), 0
    for kind, ids in by_type.items():
        for start in range(0, len(ids), limit - 1):
            chunk = ids[start : start + limit - 1]
            if used and used + len(chunk) + 1 > limit:
                filters.append(current)
                current, used = Q(), 0
            current |= Q(record_type=kind, record_id__in=chunk)
            used += len(chunk) + 1
    if used:
        filters.append(current)
    return filters


def subset_entries(records: Sequence[RecordRef], size: int) -> list[SubsetEntry]:
    """Every entry of `records` below seq `size`, in seq order (one query per ~900 record ids)."""
    rows: list[SubsetEntry] = []
    for where in _record_filters(records):
        query = (
            LedgerEntry.objects.filter(where, seq__lt=size)
            .order_by("seq")
            .values_list("seq", "record_type", "record_id", "canonical")
        )
        rows += [SubsetEntry(seq, kind, pk, bytes(raw)) for seq, kind, pk, raw in query]
    return sorted({row.seq: row for row in rows}.values(), key=lambda row: row.seq)


def _path(seq: int, size: int, read: merkle.NodeReader) -> list[bytes]:
    return merkle.inclusion_proof(seq, size, read)


def inclusion_proofs(
    seqs: Sequence[int], size: int, progress: Progress = _no_progress
) -> dict[int, list[bytes]]:
    """PATH(seq, D[0:size]) for every seq (RFC 9162 §2.1.3.1), with every node they need fetched at once."""
    wanted: set[tuple[int, int]] = set()
    for seq in seqs:
        wanted.update(merkle.nodes_needed(functools.partial(_path, seq, size)))
    found = proofs.fetch_node_map(wanted, per_query=_param_limit())

    def read(level: int, index: int) -> bytes:
        try:
            return found[(level, index)]
        except KeyError:
            raise proofs.MissingNode(
                f"ledger tree node (level {level}, index {index}) is not stored"
            ) from None

    paths = {}
    for number, seq in enumerate(seqs, start=1):
        paths[seq] = merkle.inclusion_proof(seq, size, read)
        if number % 500 == 0 or number == len(seqs):
            progress("proofs", number, len(seqs))
    return paths


def _handovers(head: SignedTreeHead) -> list[dict[str, Any]]:
    """The handover heads up to `head`, each with a consistency proof to it (decision 0008)."""
    handovers = SignedTreeHead.objects.filter(
        log_id=settings.CELLCHAIN_LEDGER_LOG_ID, next_key_id__isnull=False, size__lte=head.size
    ).order_by("size")
    return [
        {
            **signed_head_json(handover),
            "consistency": [b64(h) for h in proofs.consistency_proof(handover.size, head.size)],
        }
        for handover in handovers
    ]


def _key_records(keys: Sequence[dict[str, Any]]) -> list[RecordRef]:
    ids = LedgerSigningKey.objects.filter(key_id__in=[key["key_id"] for key in keys]).values_list(
        "pk", flat=True
    )
    return [(KEY_RECORD_TYPE, str(pk)) for pk in ids]


def subset_bundle(
    records: Iterable[RecordRef],
    *,
    subject: dict[str, Any],
    head: SignedTreeHead | None = None,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """The `cellchain-ledger-subset/1` bundle of `records` (as parsed JSON).

    The head is the newest signed head, signed now first when the newest entries are not yet covered
    (`head_issue`), unless the caller passes one. Records are listed in the order given (duplicates dropped),
    the log's key records after them; each with the seqs of its entries, `[]` when it has none up to the head.
    """
    head = head or head_issue()
    keys = key_history(head.size)
    listed = _unique([*records, *_key_records(keys)])
    progress("entries", 0, len(listed))
    entries = subset_entries(listed, head.size)
    progress("entries", len(listed), len(listed))
    paths = inclusion_proofs([entry.seq for entry in entries], head.size, progress)
    seqs: dict[RecordRef, list[int]] = {ref: [] for ref in listed}
    for entry in entries:
        seqs[(entry.record_type, entry.record_id)].append(entry.seq)
    return {
        "format": SUBSET_FORMAT,
        "log_id": settings.CELLCHAIN_LEDGER_LOG_ID,
        "subject": subject,
        "head": signed_head_json(head),
        "keys": keys,
        "handovers": _handovers(head),
        "records": [{"type": kind, "id": pk, "seqs": seqs[(kind, pk)]} for kind, pk in listed],
        "entries": [
            {"seq": entry.seq, "entry": b64(entry.canonical), "proof": [b64(h) for h in paths[entry.seq]]}
            for entry in entries
        ],
    }
