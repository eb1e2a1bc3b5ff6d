"""The audit trail as CSV rows: the trail page's download and the whole-audit-trail export (issue 3 item 9,
issue 14 item 6; REGULATORY items 1, 4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


class Echo:
    """A file-like object that hands back what `csv.writer` writes, for streaming responses."""

    def write(self, value: str) -> str:
        return value


def cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A leading = + - @ would run as a formula in a spreadsheet (CSV injection); a quote keeps it text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_COLUMNS = (
    "seq",
    "recorded_at_utc",
    "username",
    "printed_name",
    "roles",
    "organisation",
    "site",
    "action",
    "event",
    "record_type",
    "record_id",
    "reason",
    "state",
    "leaf_sha256",
)


def csv_rows(entries: Any) -> Iterator[list[str]]:
    yield list(CSV_COLUMNS)
    for entry in entries.iterator(chunk_size=500):
        document = json.loads(bytes(entry.canonical))
        actor = document.get("actor") or {}
        yield [
            cell(value)
            for value in (
                entry.seq,
                document.get("time"),
                entry.actor.username if entry.actor else "",
                actor.get("name"),
                " ".join(actor.get("roles") or []),
                actor.get("organisation"),
                actor.get("site"),
                entry.action,
                entry.event,
                entry.record_type,
                entry.record_id,
                document.get("reason"),
                json.dumps(document.get("state"), ensure_ascii=False, sort_keys=True),
                bytes(entry.leaf_hash).hex(),
            )
        ]
