"""Hospital storage: locations with a storage mode, capacity and monitoring device, reservations before
dispatch, stock-in and stock-out by scan (issue 6 item 5; T-7.7-d/e, T-8.1.1, T-8.1.2-c/e, T-8.1.3-d)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from cellchain.accounts.services import require_qualification
from cellchain.core import clock
from cellchain.core.errors import Conflict, IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.ledger.records import record_amend, record_create
from cellchain.logistics import storage_rules
from cellchain.logistics.models import (
    MonitoringDevice,
    ReceiptInspection,
    Shipment,
    StockEvent,
    StorageLocation,
    StorageReservation,
)
from cellchain.logistics.selectors import active_reservation, location_occupied, stocked_dins
from cellchain.logistics.services._common import guard_label_coi, require_site
from cellchain.logistics.services.devices import require_usable_device
from cellchain.signatures.models import Meaning
from cellchain.signatures.services import signature_is_current, signatures_of

OPEN_FOR_RESERVATION = (
    Shipment.Status.PACKING,
    Shipment.Status.PACKED,
    Shipment.Status.IN_TRANSIT,
    Shipment.Status.ARRIVED,
)
"""A reservation is made before dispatch (T-8.1.2-e); a cancelled one may be replaced until the receipt."""


@transaction.atomic
def storage_location_create(
    *,
    actor: Any,
    code: str,
    name: str,
    storage_mode: str,
    monitoring_device: MonitoringDevice | None,
    capacity: int | None,
) -> StorageLocation:
    """Add a storage location at the actor's hospital site with its storage mode (T-7.7-d), its capacity in
    unit positions (T-8.1.2-e) and the registered device that monitors its temperature (T-8.1.2-c, T-10.12)."""
    if actor.site is None or not actor.is_hospital_user:
        raise NotAllowed("Hospital storage locations are added by the hospital site's own staff.")
    if storage_mode not in StorageLocation.Mode.values:
        raise ValidationFailed(f"Unknown storage mode {storage_mode!r}.", field="storage_mode")
    if monitoring_device is None:
        raise ValidationFailed(
            "Choose the registered device that monitors the location's temperature.",
            field="monitoring_device",
        )
    if monitoring_device.site_id != actor.site_id:
        raise NotAllowed(f"Device {monitoring_device.code} is not a device of {actor.site.name}.")
    require_usable_device(monitoring_device, f"monitoring location {code.strip()}")
    if capacity is None or capacity < 1:
        raise ValidationFailed(
            "Give the location's capacity in unit positions (1 or more).", field="capacity"
        )
    if StorageLocation.objects.filter(site=actor.site, code=code.strip()).exists():
        raise Conflict(f"Location {code.strip()} exists already at {actor.site.name}.")
    row = StorageLocation(site=actor.site, code=code.strip(), name=name.strip(), storage_mode=storage_mode,
                          monitoring_reference=monitoring_device.code, monitoring_device=monitoring_device,
                          capacity=capacity, created_at=clock.now(), created_by=actor)  # fmt: skip
    row.full_clean()
    record_create(actor=actor, record=row, event="storage_location:create")
    return row


# --- reservations (T-8.1.2-e) -------------------------------------------------------------------------


@transaction.atomic
def storage_reservation_create(
    *, actor: Any, shipment: Shipment, location: StorageLocation
) -> StorageReservation:
    """Reserve a location of the product's storage mode at the destination for the shipment's units, before
    dispatch (T-8.1.2-e, T-7.7-d).

    One position per unit; refused when the location is of another storage mode, lacks free positions, or
    its monitoring device is out of service or overdue for calibration (T-10.12), or when the shipment has
    a reservation already.
    """
    require_qualification(actor, "stock")
    require_site(actor, shipment.to_site, "Reserving storage")
    if location.site_id != shipment.to_site_id:
        raise NotAllowed(f"Location {location.code} is not at {shipment.to_site.name}.")
    # One reservation change at a time per location and per shipment: capacity is counted under the lock.
    location = StorageLocation.objects.select_for_update().get(pk=location.pk)
    shipment = Shipment.objects.select_for_update().select_related("to_site").get(pk=shipment.pk)
    if location.monitoring_device is not None:
        require_usable_device(location.monitoring_device, f"monitoring location {location.code}")
    existing = active_reservation(shipment)
    facts = storage_rules.ReservationFacts(
        shipment=shipment.number,
        needed_mode=storage_rules.shipment_storage_mode(shipment.storage_mode, shipment.kind),
        location_mode=storage_rules.StorageMode(location.storage_mode),
        location_label=location.code,
        positions=len(shipment.expected_units),
        capacity=location.capacity,
        occupied=location_occupied(location, excluding=shipment),
        already_reserved_at=None if existing is None else existing.location.code,
        shipment_open=shipment.status in OPEN_FOR_RESERVATION,
    )
    verdict = storage_rules.check_reservation(facts)
    if not verdict.allowed:
        raise Conflict(" ".join(verdict.reasons), field="location")
    row = StorageReservation(shipment=shipment, location=location, positions=facts.positions,
                             reserved_at=clock.now(), reserved_by=actor)  # fmt: skip
    row.full_clean()
    record_create(
        actor=actor,
        record=row,
        event="storage:reserve",
        extra={"location": location.code, "positions": facts.positions},
    )
    return row


@transaction.atomic
def storage_reservation_cancel(
    *, actor: Any, reservation: StorageReservation, reason: str
) -> StorageReservation:
    """Cancel an active reservation with the reason; a shipment not yet handed over then cannot leave until
    storage is reserved again (T-8.1.2-e)."""
    require_qualification(actor, "stock")
    require_site(actor, reservation.shipment.to_site, "Cancelling a storage reservation")
    if not reason.strip():
        raise ValidationFailed("Say why the reservation is cancelled.", field="reason")
    reservation = StorageReservation.objects.select_for_update().get(pk=reservation.pk)
    if reservation.status != StorageReservation.Status.ACTIVE:
        raise Conflict(f"The reservation is {reservation.get_status_display()}: nothing to cancel.")
    reservation.status = StorageReservation.Status.CANCELLED
    reservation.closed_at, reservation.closed_by = clock.now(), actor
    reservation.cancel_reason = reason.strip()[:500]
    record_amend(
        actor=actor, record=reservation, event="storage:reserve:cancel", reason=reservation.cancel_reason
    )
    return reservation


def _fulfil(actor: Any, reservation: StorageReservation | None, shipment: Shipment) -> None:
    """Once every unit of the shipment is in stock at the site, its reservation is fulfilled (T-8.1.2-e)."""
    if reservation is None or not set(shipment.expected_units) <= stocked_dins(shipment):
        return
    reservation.status = StorageReservation.Status.FULFILLED
    reservation.closed_at, reservation.closed_by = clock.now(), actor
    record_amend(
        actor=actor,
        record=reservation,
        event="storage:reserve:fulfil",
        reason="every unit of the shipment is in stock",
    )


# --- stock-in and stock-out ----------------------------------------------------------------------------


def _receipt_signed(inspection: ReceiptInspection) -> bool:
    return any(
        s.meaning == Meaning.PERFORMED and signature_is_current(s, inspection)
        for s in signatures_of(inspection)
    )


def _stock_in_facts(
    location: StorageLocation,
    shipment: Shipment,
    din: str,
    now: dt.datetime,
    reservation: StorageReservation | None,
    note: str,
) -> storage_rules.StockInFacts:
    from cellchain.logistics.selectors import receipt_get, stock_open_in

    inspection = receipt_get(shipment)
    open_in = stock_open_in(din, location.site_id)
    return storage_rules.StockInFacts(
        din=din,
        unit_mode=storage_rules.shipment_storage_mode(shipment.storage_mode, shipment.kind),
        location_mode=storage_rules.StorageMode(location.storage_mode),
        location_label=location.code,
        receipt_outcome=None if inspection is None else inspection.outcome,
        receipt_signed=inspection is not None and _receipt_signed(inspection),
        already_stored_at=None if open_in is None else open_in.location.code,
        expires_at=shipment.expires_at,
        now=now,
        reserved_label=None if reservation is None else reservation.location.code,
        other_location_reason=note,
    )


def _scanned_unit(actor: Any, scanned_text: str, where: str) -> tuple[Shipment, str]:
    """The shipment to the actor's site that carried the scanned unit (typed DIN or label barcode) and the
    unit's DIN; a label whose chain of identity is not that shipment's is refused and recorded (G-4)."""
    from cellchain.logistics.selectors import shipment_of_unit

    found = shipment_of_unit(actor.site_id, scanned_text)
    if found is None:
        raise IdentityMismatch(
            f"Scanned {scanned_text.strip()[:60]!r} is not a unit received at {actor.site.name}.",
            field="scan",
        )
    shipment, scan = found
    guard_label_coi(actor=actor, shipment=shipment, scan=scan, where=where)
    assert scan.din is not None
    return shipment, scan.din


def _storage_limit(shipment: Shipment, typed: dt.timedelta | None) -> dt.timedelta | None:
    """T-7.7-e: the product's storage time limit, or a shorter one typed from the label; never a longer one."""
    if typed is not None and typed <= dt.timedelta(0):
        raise ValidationFailed("The storage time limit must be positive.", field="storage_time_limit")
    if shipment.storage_time_limit_hours is None:
        return typed
    product = dt.timedelta(hours=float(shipment.storage_time_limit_hours))
    if typed is not None and typed > product:
        days = shipment.storage_time_limit_hours / Decimal(24)
        raise ValidationFailed(
            f"T-7.7-e: {shipment.limits_source} allows {days.normalize():f} days of storage; a longer limit is "
            "not accepted.",
            field="storage_time_limit",
        )
    return typed or product


def stock_in(
    *,
    actor: Any,
    location: StorageLocation,
    scanned_text: str,
    storage_time_limit: dt.timedelta | None = None,
    note: str = "",
) -> StockEvent:
    """Scan a received unit into a storage location (issue 6 item 5).

    Refused unless the unit's receipt is recorded, accepted and signed (T-8.1.1), the location has the unit's
    storage mode (T-7.7-d) and the unit is not expired (T-8.1.3-d). A unit whose shipment has a location
    reserved goes there; another location needs the reason in `note` (T-8.1.2-e). The storage time limit
    (T-7.7-e) is the product's, or a shorter one from the label, and counts from now. The stock-in of the
    shipment's last unit fulfils its reservation.

    The unit is scanned by its label barcode or typed DIN; a label of another chain of identity than its
    shipment's is refused and recorded as an identity incident (G-4), so this runs outside a transaction of
    its own.
    """
    require_qualification(actor, "stock")
    require_site(actor, location.site, "Stocking")
    shipment, din = _scanned_unit(actor, scanned_text, "stock-in")
    limit = _storage_limit(shipment, storage_time_limit)
    return _stock_in(actor, location, shipment, din, scanned_text, limit, note)


@transaction.atomic
def _stock_in(
    actor: Any,
    location: StorageLocation,
    shipment: Shipment,
    din: str,
    scanned_text: str,
    limit: dt.timedelta | None,
    note: str,
) -> StockEvent:
    StorageLocation.objects.select_for_update().get(pk=location.pk)  # one stock move at a time per location
    now = clock.now()
    reservation = active_reservation(shipment)
    verdict = storage_rules.check_stock_in(_stock_in_facts(location, shipment, din, now, reservation, note))
    if not verdict.allowed:
        raise Conflict(" ".join(verdict.reasons))
    event = StockEvent(kind=StockEvent.Kind.IN, purpose=StockEvent.Purpose.STORE, location=location, din=din,
                       shipment=shipment, scanned_text=scanned_text.strip()[:120], at=now, actor=actor,
                       expires_at=shipment.expires_at, storage_until=storage_rules.storage_limit_end(now, limit),
                       note=note.strip()[:500])  # fmt: skip
    extra = {"location": location.code, "storage_mode": location.storage_mode}
    if reservation is not None and reservation.location_id != location.pk:
        extra["reserved_location"] = reservation.location.code
    record_create(actor=actor, record=event, event="unit:stock:in", extra=extra)
    _fulfil(actor, reservation, shipment)
    return event


def stock_out(*, actor: Any, scanned_text: str, purpose: str, note: str = "") -> StockEvent:
    """Scan a unit out of hospital storage (issue 6 item 5); a unit past its expiry or storage time limit is
    not issued for thaw, only returned or discarded (T-7.7-e, T-8.1.3-d).

    The unit is scanned by its label barcode or typed DIN; a label of another chain of identity is refused and
    recorded (G-4), so this runs outside a transaction of its own.
    """
    require_qualification(actor, "stock")
    if purpose not in StockEvent.Purpose.values or purpose == StockEvent.Purpose.STORE:
        raise ValidationFailed(f"Unknown stock-out purpose {purpose!r}.", field="purpose")
    if purpose != StockEvent.Purpose.THAW and not note.strip():
        raise ValidationFailed("Say why the unit is returned or discarded.", field="note")
    _, din = _scanned_unit(actor, scanned_text, "stock-out")
    return _stock_out(actor, din, scanned_text, purpose, note)


@transaction.atomic
def _stock_out(actor: Any, din: str, scanned_text: str, purpose: str, note: str) -> StockEvent:
    from cellchain.logistics.selectors import stock_open_in

    stocked = stock_open_in(din, actor.site_id)
    if stocked is None:
        raise Conflict(f"Unit {din} is not in stock at {actor.site.name}.")
    StorageLocation.objects.select_for_update().get(pk=stocked.location_id)
    now = clock.now()
    if purpose == StockEvent.Purpose.THAW:
        entry = storage_rules.watch_entry(stocked.expires_at, stocked.storage_until, now, dt.timedelta(0))
        verdict = storage_rules.check_stock_out_for_use(din, entry)
        if not verdict.allowed:
            raise Conflict(" ".join(verdict.reasons))
    event = StockEvent(kind=StockEvent.Kind.OUT, purpose=purpose, location=stocked.location, din=din,
                       shipment=stocked.shipment, scanned_text=scanned_text.strip()[:120], at=now, actor=actor,
                       expires_at=stocked.expires_at, storage_until=stocked.storage_until, stock_in=stocked,
                       note=note.strip()[:500])  # fmt: skip
    event.full_clean()
    record_create(
        actor=actor,
        record=event,
        event=f"unit:stock:out:{purpose}",
        extra={"location": stocked.location.code},
    )
    return event
