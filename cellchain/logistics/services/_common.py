"""Helpers shared by the logistics commands: site checks, ledgered status changes, scanned DINs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cellchain.core.errors import NotAllowed
from cellchain.ledger.services import ledger_append
from cellchain.logistics.models import Shipment

RETENTION_YEARS = 15  # X-6 default: records kept 15 years (T-8.1.7-h)


def require_site(actor: Any, site: Any, what: str) -> None:
    if actor.site_id != site.pk:
        raise NotAllowed(f"{what} is done by staff of {site.name}.")


def set_status(actor: Any, shipment: Shipment, status: str, event: str, reason: str) -> None:
    shipment.status = status
    shipment.save()
    ledger_append(actor=actor, record=shipment, action="amend", event=event, reason=reason)


def din_of(scanned_text: str, expected: Iterable[str]) -> str | None:
    """The DIN among `expected` that a scan reads (with or without its check character), or None."""
    text = scanned_text.strip().upper().replace(" ", "")
    for din in expected:
        # A keyboard-wedge scan gives the DIN with its check character (14) or alone (13).
        if text in (din, din.replace(" ", "")) or text[:-1] == din.replace(" ", ""):
            return din
    return None
