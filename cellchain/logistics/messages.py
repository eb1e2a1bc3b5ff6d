"""Logistics tells the hospital by EPCIS 2.0 message that a product shipment left: its units and its loggers'
record as sensorElementList (issue 12 item 2; T-7.15, T-8.1.5).

Runs in the hand-off's transaction (decision 0017 outbox); nothing is built or written unless this
installation's role is ``manufacturer`` (decision 0021: at ``both`` the hospital reads the shipment itself).
"""

from __future__ import annotations

from typing import Any

from cellchain.core import clock, installation
from cellchain.exchange.epcis import epcis_enqueue
from cellchain.logistics.models import Shipment


def announce_shipment(actor: Any, shipment: Shipment) -> Any | None:
    """The dispatched product shipment to the receiving hospital's installation (T-7.15, T-8.1.5)."""
    if installation.role() != installation.MANUFACTURER:
        return None
    from cellchain.logistics.epcis import shipment_message_document

    document = shipment_message_document(shipment, created_at=clock.now())
    return epcis_enqueue(actor=actor, organisation=shipment.to_site.organisation, document=document)
