"""The delivery worker: claim due outbox messages, POST them, record each outcome (issue 12 item 2).

`cellchain exchange run` (management command `exchange_run`). Messages are claimed with
`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL and held by a lease while they are being sent, so two
workers never send the same message at once; a crashed worker's lease expires and the message is sent again
(the receiver is idempotent by event id). 2xx: delivered (ledgered). A network error, a timeout, 5xx, 408,
425 or 429: tried again after an exponential back-off with jitter, up to CELLCHAIN_EXCHANGE_MAX_ATTEMPTS.
Any other status (a 4xx refusal, a redirect): failed permanently with the receiver's reason (ledgered).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from cellchain.core import clock
from cellchain.exchange import credentials, witnessing
from cellchain.exchange.conf import number
from cellchain.exchange.models import DeliveryAttempt, OutboxMessage
from cellchain.exchange.services import retry_at
from cellchain.ledger.records import record_amend

logger = logging.getLogger("cellchain.exchange")

INBOX_PATH = "/api/exchange/inbox"
RETRYABLE_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: delivered, retry or failed (permanently), the HTTP status and why."""

    result: str
    http_status: int | None
    detail: str
    response: Any = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect comes back as an HTTPError with its 3xx status


_OPENER = urllib.request.build_opener(_NoRedirect)


def _reason_of(body: bytes) -> str:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return body[:300].decode("utf-8", "replace")
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return value["message"]
    return json.dumps(value)[:300]


def post(url: str, token: str, payload: dict[str, Any], timeout: float) -> Outcome:
    """POST one envelope; classify the answer."""
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked at registration (https or local http)
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status, reason = error.code, _reason_of(error.read())
        if status >= 500 or status in RETRYABLE_STATUS:
            return Outcome("retry", status, f"HTTP {status}: {reason}")
        return Outcome("failed", status, f"refused by the partner (HTTP {status}): {reason}")
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        why = getattr(error, "reason", error)
        return Outcome("retry", None, f"network: {type(error).__name__}: {why}")
    try:
        answer = json.loads(body.decode("utf-8")) if body else {}
    except (UnicodeDecodeError, ValueError):
        answer = {}
    return Outcome(
        "delivered",
        status,
        f"HTTP {status}: {answer.get('status', '') if isinstance(answer, dict) else ''}",
        answer,
    )


def claim(
    limit: int | None = None, *, exclude: set[int] | frozenset[int] = frozenset()
) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for this worker (a lease, so no other worker sends them meanwhile);
    `exclude`: messages this run already tried (they wait for the next run)."""
    now = clock.now()
    limit = limit or int(number("CELLCHAIN_EXCHANGE_BATCH"))
    with transaction.atomic():
        due = (
            OutboxMessage.objects.filter(
                status=OutboxMessage.Status.QUEUED, next_attempt_at__lte=now, partner__active=True
            )
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .exclude(pk__in=list(exclude))
            .select_related("partner")
            .order_by("next_attempt_at", "pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due[:limit])
        if rows:
            until = now + dt.timedelta(seconds=number("CELLCHAIN_EXCHANGE_LEASE_SECONDS"))
            OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).update(leased_until=until)
    return rows


def attempt(message: OutboxMessage) -> Outcome:
    """Send one claimed message and record the outcome."""
    partner = message.partner
    token = credentials.token_read(partner.log_id)
    if token is None:
        outcome = Outcome("retry", None, f"no token for {partner.log_id}: set it with a partner update")
    else:
        payload = dict(message.envelope)
        witness = witnessing.attachment(partner)
        if witness is not None:
            payload["witness"] = witness
        outcome = post(
            partner.base_url + INBOX_PATH, token, payload, number("CELLCHAIN_EXCHANGE_TIMEOUT_SECONDS")
        )
    recorded = record_outcome(message, outcome)
    if recorded.result == "delivered":
        try:
            witnessing.after_delivery(message, outcome.response)
        except Exception:  # witnessing never undoes a delivery; the reason is in the log
            logger.exception("witnessing after delivering %s failed", message.pk)
    return recorded


@transaction.atomic
def record_outcome(message: OutboxMessage, outcome: Outcome) -> Outcome:
    """Record one attempt (its row) and its effect on the message: delivered or failed permanently (both
    ledgered), or the next attempt's time."""
    row = OutboxMessage.objects.select_for_update().select_related("partner").get(pk=message.pk)
    if row.status != OutboxMessage.Status.QUEUED:
        return Outcome("skipped", outcome.http_status, f"already {row.status}")
    now = clock.now()
    row.attempts += 1
    if outcome.result == "retry" and row.attempts >= int(number("CELLCHAIN_EXCHANGE_MAX_ATTEMPTS")):
        outcome = Outcome(
            "failed", outcome.http_status, f"gave up after {row.attempts} attempts; last: {outcome.detail}"
        )
    DeliveryAttempt.objects.create(
        message=row,
        number=row.attempts,
        at=now,
        http_status=outcome.http_status,
        outcome=outcome.result,
        detail=outcome.detail,
    )
    row.leased_until = None
    row.last_error = "" if outcome.result == "delivered" else outcome.detail
    bookkeeping = ["attempts", "last_error", "leased_until", "next_attempt_at"]
    extra = {
        "recipient": row.partner.log_id,
        "event_id": row.event_id,
        "attempts": row.attempts,
        "http_status": outcome.http_status,
    }
    if outcome.result == "delivered":
        row.status, row.delivered_at = OutboxMessage.Status.DELIVERED, now
        record_amend(
            actor=None,
            record=row,
            event="exchange:deliver",
            reason=f"delivered to {row.partner.log_id} ({outcome.detail})",
            fields=["status", "delivered_at", *bookkeeping],
            extra=extra,
        )
    elif outcome.result == "failed":
        row.status = OutboxMessage.Status.FAILED
        record_amend(
            actor=None,
            record=row,
            event="exchange:fail",
            reason=outcome.detail,
            fields=["status", *bookkeeping],
            extra=extra,
        )
    else:
        row.next_attempt_at = retry_at(row.attempts, now=now)
        row.save(update_fields=bookkeeping)
    message.status, message.attempts = row.status, row.attempts
    return outcome


def run_once(limit: int | None = None) -> dict[str, int]:
    """Deliver what is due now, batch by batch, until nothing is due; counts of each outcome."""
    counts = {"delivered": 0, "retry": 0, "failed": 0, "skipped": 0}
    seen: set[int] = set()
    while True:
        batch = claim(limit, exclude=seen)
        if not batch:
            return counts
        witnessing.issue_head()
        for message in batch:
            seen.add(message.pk)
            counts[attempt(message).result] += 1
