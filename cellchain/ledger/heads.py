"""Signed tree heads: issued every N entries or T seconds, and on demand (issue 3 item 3).

Each head is signed with the key history's active key and records its key id (decision 0008).
"""

from __future__ import annotations

import datetime as dt
import threading

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction

from cellchain.core import clock
from cellchain.domain.treehead import TreeHead, tree_head_bytes
from cellchain.ledger.models import LedgerHead, LedgerSigningKey, SignedTreeHead
from cellchain.ledger.proofs import tree_root
from cellchain.ledger.signing_keys import active_key, active_signer

__all__ = [
    "active_key",
    "active_signer",
    "current_size",
    "head_issue",
    "issue_head_if_due",
    "latest_head",
    "sign_head",
    "to_tree_head",
    "tree_root",
]

# The newest head this process has seen: (log id, size, time). It lets the after-commit hook of every append
# decide "not due yet" without a query; a stale value only causes one extra check against the database.
_last_seen: dict[str, tuple[int, dt.datetime]] = {}
_lock = threading.Lock()


def current_size() -> int:
    """Return the number of entries appended (the head row's size)."""
    head = LedgerHead.objects.filter(pk=1).first()
    return head.size if head else 0


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def to_tree_head(sth: SignedTreeHead) -> TreeHead:
    """The signed part of a stored head (with `next_key_id` on a key handover)."""
    return TreeHead(
        log_id=sth.log_id,
        size=sth.size,
        root=bytes(sth.root),
        time=sth.time,
        next_key_id=sth.next_key_id or None,
    )


def sign_head(
    *,
    size: int,
    key: LedgerSigningKey,
    private_key: Ed25519PrivateKey,
    moment: dt.datetime,
    next_key_id: str | None = None,
) -> SignedTreeHead:
    """Sign the tree at `size` with `private_key` (the private half of `key`) and store the head."""
    head = TreeHead(
        log_id=settings.CELLCHAIN_LEDGER_LOG_ID,
        size=size,
        root=tree_root(size),
        time=_time(moment),
        next_key_id=next_key_id,
    )
    sth = SignedTreeHead.objects.create(
        log_id=head.log_id,
        size=head.size,
        root=head.root,
        time=head.time,
        signature=private_key.sign(tree_head_bytes(head)),
        public_key=bytes(key.public_key),
        key_id=key.key_id,
        next_key_id=next_key_id,
    )
    transaction.on_commit(lambda: _remember(sth))
    return sth


def latest_head() -> SignedTreeHead | None:
    """Return this installation's newest signed head, or None before the first one."""
    return SignedTreeHead.objects.filter(log_id=settings.CELLCHAIN_LEDGER_LOG_ID).order_by("-size").first()


def _remember(sth: SignedTreeHead) -> None:
    with _lock:
        seen = _last_seen.get(sth.log_id)
        if seen is None or sth.size >= seen[0]:
            _last_seen[sth.log_id] = (sth.size, _parse_time(sth.time))


@transaction.atomic
def head_issue() -> SignedTreeHead:
    """Sign the tree as it stands now with the active key; returns the existing head when the size has not
    moved. The head row lock serialises this with appends and with key rotation."""
    LedgerHead.objects.select_for_update().get_or_create(pk=1)
    key, private_key = active_signer()
    size = current_size()
    existing = SignedTreeHead.objects.filter(log_id=settings.CELLCHAIN_LEDGER_LOG_ID, size=size).first()
    if existing is not None:
        _remember(existing)
        return existing
    return sign_head(size=size, key=key, private_key=private_key, moment=clock.now())


def _due(last_size: int, last_time: dt.datetime | None, size: int) -> bool:
    if size == 0 or size <= last_size:
        return False
    if last_time is None or size - last_size >= settings.CELLCHAIN_HEAD_EVERY_ENTRIES:
        return True
    return (clock.now() - last_time).total_seconds() >= settings.CELLCHAIN_HEAD_EVERY_SECONDS


def issue_head_if_due(size_hint: int | None = None) -> SignedTreeHead | None:
    """Issue a head when N entries or T seconds have passed since the last one.

    `size_hint` is the tree size the caller knows (the append that just committed); with the process's
    memory of the last head it answers "not due" without touching the database.
    """
    seen = _last_seen.get(settings.CELLCHAIN_LEDGER_LOG_ID)
    if seen is not None and size_hint is not None and not _due(seen[0], seen[1], size_hint):
        return None
    last = latest_head()
    if last is not None:
        _remember(last)
    size = current_size()
    if not _due(last.size if last else 0, _parse_time(last.time) if last else None, size):
        return None
    return head_issue()
