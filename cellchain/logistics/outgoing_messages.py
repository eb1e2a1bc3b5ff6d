"""The hospital's receipt inspection result to the manufacturer as a GS1 EPCIS 2.0 ObjectEvent
(issue 12 item 2; T-8.1.7; decision 0023). Shape, validation and receipt: `cellchain.journeys.messages`.

bizStep ``inspecting`` at the receiving site, disposition by outcome (accepted -> conformant, quarantined ->
non_sellable_other, rejected -> non_conformant), the shipment as a ``desadv`` business transaction, the failed
checks by their check id only (never the receiver's free-text notes, X-7).
"""

from __future__ import annotations

from typing import Any

from cellchain.core import installation
from cellchain.domain.epcis_events import DEFAULT_ID_BASE
from cellchain.journeys import messages


def receipt_document(inspection: Any) -> dict[str, Any]:
    shipment = inspection.shipment
    units = [(din, shipment.coi) for din in sorted(inspection.scanned_units or shipment.expected_units)]
    return messages.epcis_message(
        messages.KIND_RECEIPT,
        at=inspection.received_at,
        site_code=shipment.to_site.code,
        units=units,
        biz_step="inspecting",
        disposition=messages.RECEIPT_DISPOSITION[inspection.outcome],
        details={
            "shipment": shipment.number,
            "outcome": inspection.outcome,
            "failedChecks": sorted({f["check"] for f in inspection.failures}) or None,
        },
        extra={
            "bizTransactionList": [
                {"type": "desadv", "bizTransaction": f"{DEFAULT_ID_BASE}/shipment/{shipment.number}"}
            ]
        },
    )


def receipt_send(actor: Any, inspection: Any) -> Any:
    """Called by the receipt inspection in its transaction; only a product shipment from a manufacturer to
    this hospital with a COI is reported (an apheresis shipment is received at the manufacturer)."""
    shipment = inspection.shipment
    if (
        installation.role() != installation.HOSPITAL
        or not shipment.coi
        or not shipment.from_site.organisation.is_manufacturer
    ):
        return None
    body = receipt_document(inspection)
    return messages.hospital_send(
        actor=actor,
        organisation=shipment.from_site.organisation,
        kind=messages.KIND_RECEIPT,
        body=body,
        event_id=messages.epcis_event_id(body),
    )
