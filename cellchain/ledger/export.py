"""Export the ledger as a `cellchain-ledger-bundle/1` for `cellchain-verify` (issue 3 item 5; REGULATORY #45).

The format is the verifier's (`cellchain.verifier.bundle`): entries as base64 of the stored canonical bytes,
this installation's signed heads, and the countersignatures partners made of them. The JSON is produced as a
stream of text chunks, reading entries a chunk at a time, so a large ledger never sits in memory.
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
from cellchain.ledger.keys import public_key_bytes
from cellchain.ledger.models import HeadCountersignature, LedgerEntry, SignedTreeHead
from cellchain.verifier.bundle import BUNDLE_FORMAT


def b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def signed_head_json(sth: SignedTreeHead) -> dict[str, Any]:
    """A signed head as the bundle and the API write it: the four head fields plus the signature."""
    return {**tree_head_to_json(to_tree_head(sth)), "signature": b64(sth.signature)}


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
        "public_key": b64(public_key_bytes()),
    }
    yield json.dumps(opening)[:-1] + ', "entries": ['
    for number, text in enumerate(_entry_texts(size, chunk)):
        yield text if number == 0 else f",\n{text}"
    yield f'], "heads": {json.dumps(heads)}, "witnesses": {json.dumps(witnesses)}}}\n'


def bundle_data(size: int | None = None) -> dict[str, Any]:
    """The bundle as parsed JSON (tests and small exports)."""
    result: dict[str, Any] = json.loads("".join(bundle_chunks(size)))
    return result
