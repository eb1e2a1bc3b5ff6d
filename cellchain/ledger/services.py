"""Append to the record ledger inside the caller's transaction (DESIGN.md; issue 3 items 1-3, 7-8).

Every regulated service calls `ledger_append` after saving its row, inside its own `transaction.atomic()`:
if the transaction rolls back, the entry goes with it; if it commits, both are durable together.

Appends are serialised by the head row: `UPDATE ledger_ledgerhead SET size = size + 1 ... RETURNING size`
takes its row lock (PostgreSQL) inside the caller's transaction, which SQLite already serialises with
`BEGIN IMMEDIATE`. The lock is held until commit or rollback, so sequence numbers have no gap and no
duplicate (REGULATORY item 47), and a crash before commit leaves nothing behind (item 46).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from cellchain.core import clock
from cellchain.domain import merkle
from cellchain.ledger.actor import actor_json
from cellchain.ledger.canonical import canonical_bytes
from cellchain.ledger.models import (
    LedgerEntry,
    LedgerHead,
    LedgerNode,
    RegulatedModel,
)
from cellchain.ledger.state import utc_time

Action = LedgerEntry.Action


class LedgerError(RuntimeError):
    """The ledger was used wrongly (outside a transaction, without a reason): a programming error."""


def entry_bytes(entry: dict[str, Any]) -> bytes:
    """Return the RFC 8785 canonical bytes of an entry."""
    return canonical_bytes(entry)


@functools.cache
def _statements(vendor: str) -> dict[str, str]:
    """The append's SQL for one database vendor, built once (identifiers from the models, never from input)."""
    q = connection.ops.quote_name
    head, entry, node = (q(model._meta.db_table) for model in (LedgerHead, LedgerEntry, LedgerNode))
    size, key = q("size"), q("id")
    columns = (
        "seq",
        "recorded_at",
        "actor_id",
        "record_type",
        "record_id",
        "action",
        "event",
        "canonical",
        "leaf_hash",
    )
    return {
        "advance": f"UPDATE {head} SET {size} = {size} + 1 WHERE {key} = 1 RETURNING {size}",  # noqa: S608
        "create_head": f"INSERT INTO {head} ({key}, {size}) VALUES (1, 0) ON CONFLICT DO NOTHING",  # noqa: S608
        "insert_entry": f"INSERT INTO {entry} ({', '.join(q(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})",
        "insert_nodes": f"INSERT INTO {node} ({q('level')}, {q('index')}, {q('hash')}) VALUES ",  # noqa: S608
        # The left siblings a new leaf completes: the previous leaf (level 0 lives in the entry table) and the
        # perfect subtrees above it, in one round trip.
        "read_leaf": f"SELECT 0, {q('seq')}, {q('leaf_hash')} FROM {entry} WHERE {q('seq')} = %s",  # noqa: S608
        "read_nodes": f" UNION ALL SELECT {q('level')}, {q('index')}, {q('hash')} FROM {node} WHERE ",  # noqa: S608
        "node_match": f"({q('level')} = %s AND {q('index')} = %s)",
    }


def _take_sequence_number(cursor: Any, sql: dict[str, str]) -> int:
    """Lock the head row and move it on by one; return the sequence number of the new entry."""
    cursor.execute(sql["advance"])
    row = cursor.fetchone()
    if row is None:
        # First append ever (or after a test flush): create the head row; concurrent creators meet at the PK.
        cursor.execute(sql["create_head"])
        cursor.execute(sql["advance"])
        row = cursor.fetchone()
    return int(row[0]) - 1


def _frontier_reader(cursor: Any, sql: dict[str, str], size_before: int) -> merkle.NodeReader:
    """Fetch in one query the stored left siblings the new leaf completes, and serve them to the Merkle code."""
    wanted = []
    level, index = 1, size_before >> 1
    while index & 1:
        wanted += [level, index - 1]
        level, index = level + 1, index >> 1
    found: dict[tuple[int, int], bytes] = {}
    if size_before & 1:
        query = sql["read_leaf"]
        if wanted:
            query += sql["read_nodes"] + " OR ".join([sql["node_match"]] * (len(wanted) // 2))
        cursor.execute(query, [size_before - 1, *wanted])
        found = {(lv, ix): bytes(digest) for lv, ix, digest in cursor.fetchall()}

    def read(level: int, index: int) -> bytes:
        try:
            return found[(level, index)]
        except KeyError:
            raise LedgerError(
                f"ledger node ({level}, {index}) is missing: run `cellchain ledger verify`"
            ) from None

    return read


def _insert_nodes(cursor: Any, sql: dict[str, str], nodes: list[merkle.NodeRow]) -> None:
    """Store the perfect subtrees above the leaf; the leaf itself (level 0) is the entry's `leaf_hash`."""
    nodes = nodes[1:]
    if not nodes:
        return
    cursor.execute(
        sql["insert_nodes"] + ", ".join(["(%s, %s, %s)"] * len(nodes)),
        [value for node in nodes for value in node],
    )


_ACTIONS = frozenset(Action.values)
_NEEDS_REASON = frozenset({Action.AMEND.value, Action.VOID.value, Action.MIGRATE.value})


def ledger_append(
    *,
    actor: Any | None,
    record: RegulatedModel,
    action: str,
    event: str,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> LedgerEntry:
    """Append one entry for `record` in the current transaction and extend the Merkle tree.

    `action` is create/amend/sign/void (migrate: decision 0010); amend, void and migrate need a reason (X-3).
    `event` is the `subject:verb` tag (e.g. "batch:release"). `extra` carries signature or check details that
    are not columns of the record.
    """
    _check(action, reason, record.ledger_record_type())
    if record.pk is None:
        raise LedgerError(f"save the {record.ledger_record_type()} before appending it to the ledger")
    # Everything that may query the database comes before the head lock, so the lock is held briefly.
    return _append(
        who=actor_json(actor),
        record_type=record.ledger_record_type(),
        record_id=str(record.pk),
        state=record.ledger_state(),
        action=str(action),  # an enum member would miss the canonical encoder's fast path
        event=event,
        reason=reason,
        extra=extra,
    )


def append_state(
    *,
    who: dict[str, Any],
    record_type: str,
    record_id: str,
    state: dict[str, Any],
    action: str,
    event: str,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> LedgerEntry:
    """Append an entry with a state the caller computed (`ledger_append` states the record itself).

    For the ledger's own services that already hold the state and the actor's JSON (`actor.actor_json`): the
    schema re-baseline and data migrations (`rebaseline.py`). The state must be exactly what `ledger verify`
    will read from the row, or verify reports the row.
    """
    _check(action, reason, record_type)
    return _append(
        who=who,
        record_type=record_type,
        record_id=record_id,
        state=state,
        action=str(action),  # an enum member would miss the canonical encoder's fast path
        event=event,
        reason=reason,
        extra=extra,
    )


def _check(action: str, reason: str, record_type: str) -> None:
    if not connection.in_atomic_block:
        raise LedgerError("ledger_append must run inside the service's transaction.atomic()")
    if action not in _ACTIONS:
        raise LedgerError(f"unknown ledger action {action!r}")
    if action in _NEEDS_REASON and not reason.strip():
        raise LedgerError(f"{action} of {record_type} needs a reason")


def _append(
    *,
    who: dict[str, Any],
    record_type: str,
    record_id: str,
    state: dict[str, Any],
    action: str,
    event: str,
    reason: str,
    extra: dict[str, Any] | None,
) -> LedgerEntry:
    sql = _statements(connection.vendor)
    with connection.cursor() as cursor:
        seq = _take_sequence_number(cursor, sql)
        now = clock.now()
        entry = {
            "seq": seq,
            "time": utc_time(now),
            "actor": who,
            "record": {"type": record_type, "id": record_id},
            "action": action,
            "event": event,
            "state": state,
            "reason": reason or None,
            "extra": extra or {},
        }
        data = entry_bytes(entry)
        leaf = hashlib.sha256(b"\x00" + data).digest()
        values = [
            seq,
            connection.ops.adapt_datetimefield_value(now),
            who["id"],
            record_type,
            record_id,
            action,
            event,
            data,
            leaf,
        ]
        cursor.execute(sql["insert_entry"], values)
        _insert_nodes(
            cursor, sql, merkle.nodes_completed_by_append(seq, leaf, _frontier_reader(cursor, sql, seq))
        )
    # Positional arguments in field order: the cheap way to build the model instance returned to the caller.
    row = LedgerEntry(seq, now, who["id"], record_type, record_id, action, event, data, leaf)
    row._state.adding = False
    row._state.db = connection.alias
    transaction.on_commit(functools.partial(_maybe_issue_head, seq + 1), robust=True)
    return row


_after_commit: list[Callable[[int], None]] = []


def after_append_committed(hook: Callable[[int], None]) -> None:
    """Call `hook(size)` after each committed append (the heads module issues a head when one is due).

    A registry rather than an import: the heads module signs with keys whose history is written through
    this module, so the dependency points one way (issue 15 item 1).
    """
    if hook not in _after_commit:
        _after_commit.append(hook)


def _maybe_issue_head(size: int) -> None:
    """Run the after-commit hooks; `robust=True` on the on_commit call means a failure never loses an entry."""
    for hook in _after_commit:
        hook(size)


def record_history(record: RegulatedModel) -> list[LedgerEntry]:
    """Return the entries of one record, oldest first."""
    return list(
        LedgerEntry.objects.filter(
            record_type=record.ledger_record_type(), record_id=str(record.pk)
        ).order_by("seq")
    )
