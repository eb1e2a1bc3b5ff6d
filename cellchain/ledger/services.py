"""Append to the record ledger inside the caller's transaction (DESIGN.md; issue 3 items 1-3, 7-8).

Every regulated service calls `ledger_append` after saving its row, inside its own `transaction.atomic()`:
if the transaction rolls back, the entry goes with it; if it commits, both are durable together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import rfc8785
from django.db import connection, transaction

from cellchain.core import clock
from cellchain.domain import merkle
from cellchain.ledger.actor import actor_json
from cellchain.ledger.models import LedgerEntry, LedgerHead, LedgerNode, RegulatedModel

Action = LedgerEntry.Action


class LedgerError(RuntimeError):
    """The ledger was used wrongly (outside a transaction, without a reason): a programming error."""


def _rfc3339(moment: Any) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _lock_head() -> LedgerHead:
    head, _created = LedgerHead.objects.select_for_update().get_or_create(pk=1)
    return head


def _read_node(level: int, index: int) -> bytes:
    return bytes(LedgerNode.objects.values_list("hash", flat=True).get(level=level, index=index))


def entry_bytes(entry: dict[str, Any]) -> bytes:
    """Return the RFC 8785 canonical bytes of an entry."""
    return rfc8785.dumps(entry)


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

    `action` is create/amend/sign/void; amend and void need a reason (X-3). `event` is the `subject:verb`
    tag (e.g. "batch:release"). `extra` carries signature or check details that are not columns of the record.
    """
    if not connection.in_atomic_block:
        raise LedgerError("ledger_append must run inside the service's transaction.atomic()")
    if action not in Action.values:
        raise LedgerError(f"unknown ledger action {action!r}")
    if action in (Action.AMEND, Action.VOID) and not reason.strip():
        raise LedgerError(f"{action} of {record.ledger_record_type()} needs a reason")
    head = _lock_head()
    now = clock.now()
    entry = {
        "seq": head.size,
        "time": _rfc3339(now),
        "actor": actor_json(actor),
        "record": {"type": record.ledger_record_type(), "id": str(record.pk)},
        "action": action,
        "event": event,
        "state": record.ledger_state(),
        "reason": reason or None,
        "extra": extra or {},
    }
    data = entry_bytes(entry)
    leaf = hashlib.sha256(b"\x00" + data).digest()
    row = LedgerEntry.objects.create(
        seq=head.size,
        recorded_at=now,
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        record_type=entry["record"]["type"],
        record_id=entry["record"]["id"],
        action=action,
        event=event,
        canonical=data,
        leaf_hash=leaf,
    )
    nodes = merkle.nodes_completed_by_append(head.size, leaf, _read_node)
    LedgerNode.objects.bulk_create(LedgerNode(level=lv, index=ix, hash=h) for lv, ix, h in nodes)
    head.size += 1
    head.save(update_fields=["size"])
    transaction.on_commit(_maybe_issue_head)
    return row


def _maybe_issue_head() -> None:
    """Issue a signed tree head every N entries (the heads module decides); failures never lose entries."""
    from cellchain.ledger.heads import issue_head_if_due

    issue_head_if_due()


def record_history(record: RegulatedModel) -> list[LedgerEntry]:
    """Return the entries of one record, oldest first."""
    return list(
        LedgerEntry.objects.filter(record_type=record.ledger_record_type(), record_id=str(record.pk)).order_by("seq")
    )
