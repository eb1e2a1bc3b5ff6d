"""Signed tree heads: issued every N entries or T seconds, and on demand (issue 3 item 3)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction

from cellchain.core import clock
from cellchain.domain import merkle
from cellchain.domain.treehead import TreeHead, tree_head_bytes
from cellchain.ledger.keys import public_key_bytes, signing_key
from cellchain.ledger.models import LedgerHead, LedgerNode, SignedTreeHead


def read_node(level: int, index: int) -> bytes:
    """Return one stored subtree hash."""
    return bytes(LedgerNode.objects.values_list("hash", flat=True).get(level=level, index=index))


def current_size() -> int:
    head = LedgerHead.objects.filter(pk=1).first()
    return head.size if head else 0


def tree_root(size: int) -> bytes:
    """Return the RFC 9162 root of the first `size` entries."""
    return merkle.root(size, read_node)


def _time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_tree_head(sth: SignedTreeHead) -> TreeHead:
    return TreeHead(log_id=sth.log_id, size=sth.size, root=bytes(sth.root), time=sth.time)


@transaction.atomic
def head_issue() -> SignedTreeHead:
    """Sign the tree as it stands now; returns the existing head when the size has not moved."""
    size = LedgerHead.objects.select_for_update().get_or_create(pk=1)[0].size
    existing = SignedTreeHead.objects.filter(log_id=settings.CELLCHAIN_LEDGER_LOG_ID, size=size).first()
    if existing is not None:
        return existing
    head = TreeHead(
        log_id=settings.CELLCHAIN_LEDGER_LOG_ID, size=size, root=tree_root(size), time=_time(clock.now())
    )
    return SignedTreeHead.objects.create(
        log_id=head.log_id,
        size=head.size,
        root=head.root,
        time=head.time,
        signature=signing_key().sign(tree_head_bytes(head)),
        public_key=public_key_bytes(),
    )


def issue_head_if_due() -> SignedTreeHead | None:
    """Issue a head when N entries or T seconds have passed since the last one."""
    last = SignedTreeHead.objects.filter(log_id=settings.CELLCHAIN_LEDGER_LOG_ID).order_by("-size").first()
    size = current_size()
    if size == 0:
        return None
    if last is None or size - last.size >= settings.CELLCHAIN_HEAD_EVERY_ENTRIES:
        return head_issue()
    last_time = dt.datetime.fromisoformat(last.time.replace("Z", "+00:00"))
    if size > last.size and (clock.now() - last_time).total_seconds() >= settings.CELLCHAIN_HEAD_EVERY_SECONDS:
        return head_issue()
    return None
