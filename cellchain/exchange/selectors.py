"""Reads of the exchange pages (issue 12 items 1-2)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from cellchain.exchange.models import OutboxMessage, Partner, QuarantinedMessage


def partners_list() -> QuerySet[Partner]:
    """Every partner with its counts of queued and failed messages (one query)."""
    return Partner.objects.annotate(
        queued=Count("outbox", filter=Q(outbox__status=OutboxMessage.Status.QUEUED)),
        failed=Count("outbox", filter=Q(outbox__status=OutboxMessage.Status.FAILED)),
    ).order_by("name", "pk")


def partner_for_organisation(organisation: Any) -> Partner | None:
    """The active partner that stands for this organisation (an `accounts.Organisation`), or None: where a
    message about its sites, units or products goes (issue 12 item 2)."""
    if organisation is None:
        return None
    return Partner.objects.filter(organisation=organisation, active=True).first()


def partner_for_log(log_id: str) -> Partner | None:
    """The active partner whose ledger log id this is, or None (who sent what a `ReportedUnit` says)."""
    return Partner.objects.filter(log_id=log_id, active=True).first()


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
