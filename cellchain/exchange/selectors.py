"""Reads of the exchange pages (issue 12 items 1-2)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from cellchain.exchange.models import OutboxMessage, Partner, QuarantinedMessage


def partners_list() -> QuerySet[Partner]:
    """Every partner with its counts of queued and failed messages (one query)."""
    return Partner.objects.annotate(
        queued=Count("outbox", filter=Q(outbox__status=OutboxMessage.Status.QUEUED)),
        failed=Count("outbox", filter=Q(outbox__status=OutboxMessage.Status.FAILED)),
    ).order_by("name", "pk")


def partner_messages(partner: Partner, limit: int = 50) -> dict[str, list]:
    """The partner's latest outgoing and incoming messages."""
    return {
        "outbox": list(partner.outbox.order_by("-created_at", "-pk")[:limit]),
        "inbox": list(partner.inbox.order_by("-received_at", "-pk")[:limit]),
    }


def quarantine_list(*, pending_only: bool = False) -> QuerySet[QuarantinedMessage]:
    """Refused messages, newest first, without their raw bytes."""
    rows = QuarantinedMessage.objects.select_related("partner", "reviewed_by").defer("raw")
    return rows.filter(disposition="") if pending_only else rows
