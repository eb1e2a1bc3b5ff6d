"""Export the ledger as a `cellchain-ledger-bundle/2` for `cellchain-verify` (issue 3 item 5; REGULATORY #45).

The format is the verifier's (`cellchain.verifier.bundle`): entries as base64 of the stored canonical bytes,
this installation's signed heads (each naming its signing key), the key history (public keys only, decision
0008), and the countersignatures partners made of the heads. The JSON is produced as a stream of text chunks,
reading entries a chunk at a time, so a large ledger never sits in memory.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection

from cellchain.domain.treehead import tree_head_to_json
from cellchain.ledger.heads import latest_head, to_tree_head
from cellchain.ledger.models import HeadCountersignature, LedgerEntry, LedgerSigningKey, SignedTreeHead
from cellchain.ledger.state import utc_time
from cellchain.verifier.bundle import BUNDLE_FORMAT


def b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def signed_head_json(sth: SignedTreeHead) -> dict[str, Any]:
    """A signed head as the bundle and the API write it: the signed fields, the signing key's id, the signature."""
    return {**tree_head_to_json(to_tree_head(sth)), "key_id": sth.key_id, "signature": b64(sth.signature)}


def key_history(size: int | None = None) -> list[dict[str, Any]]:
    """The log's signing keys, oldest first, public halves only, as the bundle and the API write them.

    With `size`, the history as of the head of that size: a key appears once its handover head (signed by the
    key before it) is within `size`, and is shown retired only when its own handover is.
    """
    keys = list(LedgerSigningKey.objects.select_related("predecessor").order_by("activated_at", "pk"))
    handover_sizes = dict(
        SignedTreeHead.objects.filter(log_id=settings.CELLCHAIN_LEDGER_LOG_ID, next_key_id__isnull=False)
        .order_by("-size")
        .values_list("next_key_id", "size")
    )
    shown = [
        key
        for key in keys
        if key.predecessor_id is None or size is None or handover_sizes.get(key.key_id, size + 1) <= size
    ]
    history = []
    for key in shown:
        successor = next((later for later in shown if later.predecessor_id == key.pk), None)
        retired = key.retired_at if size is None or successor is not None else None
        history.append(
            {
                "key_id": key.key_id,
                "public_key": b64(key.public_key),
                "activated_at": utc_time(key.activated_at),
                "retired_at": None if retired is None else utc_time(retired),
                "predecessor": key.predecessor.key_id if key.predecessor is not None else None,
            }
        )
    return history


def countersignature_json(countersignature: HeadCountersignature) -> dict[str, Any]:
    return {
        "witness_id": countersignature.witness_id,
        "public_key": b64(countersignature.public_key),
        "head": tree_head_to_json(to_tree_head(countersignature.head)),
        "signature": b64(countersignature.signature),
    }


def bundle_size() -> int:
    """Entries a bundle carries by default: those covered by the newest signed head."""
    head = latest_head()
    return head.size if head else 0


def _entry_texts(size: int, chunk: int) -> Iterator[str]:
    q = connection.ops.quote_name
    sql = (
        f"SELECT {q('seq')}, {q('canonical')} FROM {q(LedgerEntry._meta.db_table)} "  # noqa: S608
        f"WHERE {q('seq')} > %s AND {q('seq')} < %s ORDER BY {q('seq')} LIMIT {int(chunk)}"
    )
    last = -1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last, size])
            rows = cursor.fetchall()
        if not rows:
            return
        yield from (json.dumps(b64(canonical)) for _seq, canonical in rows)
        last = rows[-1][0]


def bundle_chunks(size: int | None = None, *, chunk: int = 2000) -> Iterator[str]:
    """Yield the bundle JSON in pieces: entries 0..size-1 (default: up to the newest signed head)."""
    size = bundle_size() if size is None else size
    heads = [
        signed_head_json(sth)
        for sth in SignedTreeHead.objects.filter(
            log_id=settings.CELLCHAIN_LEDGER_LOG_ID, size__lte=size
        ).order_by("size")
    ]
    witnesses = [
        countersignature_json(c)
        for c in HeadCountersignature.objects.select_related("head").filter(
            head__log_id=settings.CELLCHAIN_LEDGER_LOG_ID, head__size__lte=size
        )
    ]
    opening = {
        "format": BUNDLE_FORMAT,
        "log_id": settings.CELLCHAIN_LEDGER_LOG_ID,
        "keys": key_history(size),
    }
    yield json.dumps(opening)[:-1] + ', "entries": ['
    for number, text in enumerate(_entry_texts(size, chunk)):
        yield text if number == 0 else f",\n{text}"
    yield f'], "heads": {json.dumps(heads)}, "witnesses": {json.dumps(witnesses)}}}\n'


def bundle_data(size: int | None = None) -> dict[str, Any]:
    """The bundle as parsed JSON (tests and small exports)."""
    result: dict[str, Any] = json.loads("".join(bundle_chunks(size)))
    return result
