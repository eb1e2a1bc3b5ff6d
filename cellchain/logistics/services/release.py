"""The batch release a product shipment travels under, read from QC and manufacturing through their selectors
(Q-2-b, Q-2.5-c), and the product units marked shipped at hand-off."""

from __future__ import annotations

from typing import Any

from cellchain.core.errors import Conflict
from cellchain.domain.shipping_release import BatchReleaseFacts, ReleaseCheck, dispatch_release_check
from cellchain.domain.specification import ReleaseOutcome
from cellchain.logistics.models import Shipment


def _batch_of(shipment: Shipment) -> Any:
    from cellchain.manufacturing.selectors import batch_for_shipping

    found = batch_for_shipping(shipment.batch_number)
    if found is None:
        raise Conflict(
            f"Shipment {shipment.number}: batch {shipment.batch_number} is not known to manufacturing."
        )
    return found[0]


def _facts(shipment: Shipment, batch: Any) -> BatchReleaseFacts:
    """QA's latest release decision and open recall holds (qc selectors), the batch's and units' status."""
    from cellchain.manufacturing.models import Batch
    from cellchain.qc.models import RecallHold
    from cellchain.qc.selectors import latest_release

    decision = latest_release(batch)
    recalls = batch.recalls.filter(status=RecallHold.Status.OPEN, voided_at__isnull=True)
    units = {unit.din: unit.status for unit in batch.units.all()}
    return BatchReleaseFacts(
        batch=batch.number,
        decision=None if decision is None else ReleaseOutcome(decision.outcome),
        pending=() if decision is None else tuple(decision.pending),
        rejected=batch.status == Batch.Status.REJECTED,
        on_hold=batch.status == Batch.Status.ON_HOLD,
        open_recalls=tuple(r.reason[:200] for r in recalls.order_by("started_at")),
        units=tuple((din, units.get(din, "unknown")) for din in shipment.expected_units),
    )


def shipment_release_check(shipment: Shipment) -> ReleaseCheck | None:
    """The current release of the shipment's batch and whether its units may leave (Q-2-b, Q-2.5-c); None for
    an apheresis shipment (no batch yet)."""
    if not shipment.batch_number:
        return None
    return dispatch_release_check(_facts(shipment, _batch_of(shipment)))


def require_release(shipment: Shipment) -> ReleaseCheck | None:
    """Refuse the hand-off of a product whose batch is not released, rejected, on recall hold or whose units
    are no longer in stock, naming the batch and what is missing (Q-2-b, Q-2.5-c)."""
    check = shipment_release_check(shipment)
    if check is not None and not check.gate.allowed:
        reasons = "; ".join(f"{f.clause + ': ' if f.clause else ''}{f.message}" for f in check.gate.findings)
        raise Conflict(
            f"Shipment {shipment.number} cannot be handed to the courier: {reasons}.", field="release"
        )
    return check


def mark_units_shipped(actor: Any, shipment: Shipment) -> None:
    """The batch's units on the shipment leave the manufacturer: shipped, held by the destination (ledgered by
    manufacturing's service in the caller's transaction)."""
    from cellchain.manufacturing.models import ProductUnit
    from cellchain.manufacturing.services import product_unit_status_set

    for unit in _batch_of(shipment).units.all():
        if unit.din in shipment.expected_units:
            product_unit_status_set(
                actor=actor,
                unit=unit,
                status=ProductUnit.Status.SHIPPED,
                reason=f"handed to {shipment.courier} on shipment {shipment.number} to {shipment.to_site.name}",
                holder_site=shipment.to_site,
            )
