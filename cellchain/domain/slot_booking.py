"""Booking rules for apheresis and manufacturing slots (P-T3-a, P-1.3.1-e, T-6.4-b, T-8.2.2-g).

A slot has a capacity per day; a journey books one apheresis slot at its hospital and one manufacturing
slot at the manufacturer. Fresh starting material must reach a manufacturing slot inside the product's
fresh window; moving or cancelling a booking needs a reason that both parties see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

FRESH_WINDOW_DEFAULT = timedelta(hours=48)
"""Fresh apheresis reaches manufacture generally within 48 h (P-1.3.1-e); the product may set its own."""


class StartingMaterial(StrEnum):
    """Fresh or cryopreserved apheresis, a per-product design choice (P-T3-a)."""

    FRESH = "fresh"
    CRYOPRESERVED = "cryopreserved"


class BookingFault(StrEnum):
    FULL = "full"
    NO_CONSENT = "no_consent"
    NO_MANUFACTURING_SLOT = "no_manufacturing_slot"
    OUTSIDE_FRESH_WINDOW = "outside_fresh_window"
    BEFORE_COLLECTION = "before_collection"
    REASON_MISSING = "reason_missing"


@dataclass(frozen=True)
class BookingReason:
    fault: BookingFault
    message: str


@dataclass(frozen=True)
class BookingVerdict:
    reasons: tuple[BookingReason, ...]

    @property
    def allowed(self) -> bool:
        return not self.reasons


def slot_capacity_reasons(*, capacity: int, booked: int, what: str) -> tuple[BookingReason, ...]:
    """A slot day is full when its bookings reach its capacity."""
    if booked < capacity:
        return ()
    return (BookingReason(BookingFault.FULL, f"{what} is full: {booked} of {capacity} places booked"),)


def apheresis_booking_verdict(
    *,
    capacity: int,
    booked: int,
    consent_on_file: bool,
    starting_material: StartingMaterial,
    apheresis_at: datetime,
    manufacturing_start_at: datetime | None,
    fresh_window: timedelta = FRESH_WINDOW_DEFAULT,
) -> BookingVerdict:
    """May a journey book this apheresis slot (T-6.4-b consent first; P-T3-a fresh window)?"""
    reasons = list(slot_capacity_reasons(capacity=capacity, booked=booked, what="apheresis slot"))
    if not consent_on_file:
        message = "informed consent is not on file: apheresis cannot be scheduled (T-6.4-b)"
        reasons.append(BookingReason(BookingFault.NO_CONSENT, message))
    if starting_material is StartingMaterial.FRESH:
        reasons.extend(_fresh_window_reasons(apheresis_at, manufacturing_start_at, fresh_window))
    return BookingVerdict(tuple(reasons))


def _fresh_window_reasons(
    apheresis_at: datetime, manufacturing_start_at: datetime | None, window: timedelta
) -> tuple[BookingReason, ...]:
    if manufacturing_start_at is None:
        message = "fresh apheresis needs a reserved manufacturing slot first (P-T3-a)"
        return (BookingReason(BookingFault.NO_MANUFACTURING_SLOT, message),)
    if manufacturing_start_at < apheresis_at:
        message = f"manufacturing slot {manufacturing_start_at} is before the apheresis {apheresis_at}"
        return (BookingReason(BookingFault.BEFORE_COLLECTION, message),)
    gap = manufacturing_start_at - apheresis_at
    if gap > window:
        hours = gap.total_seconds() / 3600
        limit = window.total_seconds() / 3600
        message = f"manufacturing starts {hours:.0f} h after apheresis; fresh material limit is {limit:.0f} h"
        return (BookingReason(BookingFault.OUTSIDE_FRESH_WINDOW, message),)
    return ()


def booking_change_verdict(*, reason: str) -> BookingVerdict:
    """Moving or cancelling a booking needs a reason (T-8.2.2-g: cancelled or delayed collection)."""
    if reason.strip():
        return BookingVerdict(())
    message = "a reason is required to move or cancel a booking"
    return BookingVerdict((BookingReason(BookingFault.REASON_MISSING, message),))
