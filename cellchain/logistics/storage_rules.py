"""Rules of hospital storage: storage mode of a location (T-7.7-d), stock-in preconditions (T-8.1.1), storage
time limit and expiry watch (T-7.7-e, T-8.1.3-d).

Pure functions (no Django, no clock): the services pass in the facts and the time, and get a verdict with its
reasons back.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal

from cellchain.domain.coldchain import ShipperKind


class StorageMode(enum.StrEnum):
    """Storage modes of a clinic location (T-7.7-d: liquid nitrogen, -80 °C, 2-8 °C ...)."""

    LIQUID_NITROGEN = "liquid_nitrogen"
    MINUS_80 = "minus_80"
    FRIDGE_2_8 = "fridge_2_8"


SHIPPER_STORAGE_MODE: dict[ShipperKind, StorageMode] = {
    ShipperKind.LN2_DRY_SHIPPER: StorageMode.LIQUID_NITROGEN,
    ShipperKind.CRYOPRESERVED_APHERESIS: StorageMode.LIQUID_NITROGEN,
    ShipperKind.FRESH_2_8: StorageMode.FRIDGE_2_8,
}
"""T-7.7-d: the storage mode a product shipped in each shipper kind needs at the clinic (cryogenic products
go back into liquid nitrogen vapour; fresh material stays at 2-8 °C)."""


def shipment_storage_mode(product_mode: str, shipper_kind: str) -> StorageMode:
    """T-7.7-d: the product's storage mode recorded on the shipment, else (apheresis, or a shipment made before
    product limits) the mode the shipper kind implies."""
    return StorageMode(product_mode) if product_mode else SHIPPER_STORAGE_MODE[ShipperKind(shipper_kind)]


MODE_REFERENCE_RANGES: dict[StorageMode, tuple[Decimal | None, Decimal | None]] = {
    StorageMode.LIQUID_NITROGEN: (None, Decimal(-150)),
    StorageMode.MINUS_80: (Decimal(-90), Decimal(-70)),
    StorageMode.FRIDGE_2_8: (Decimal(2), Decimal(8)),
}
"""The temperatures each clinic storage mode keeps (°C, open bound None): LN2 vapour phase at or below -150,
a -80 °C freezer within -90 to -70, a refrigerator 2-8. A product fits a mode whose range lies inside the
product's storage temperature range (T-7.7-a/d)."""

_MODE_WORDS: tuple[tuple[StorageMode, tuple[str, ...]], ...] = (
    (StorageMode.LIQUID_NITROGEN, ("liquid nitrogen", "ln2", "液氮")),
    (StorageMode.MINUS_80, ("-80", "−80", "minus 80", "ultra-low", "超低温")),
    (StorageMode.FRIDGE_2_8, ("2-8", "2–8", "2 to 8", "2~8", "冷藏", "refrigerat")),
)
"""Words by which a product's storage mode text (T-7.7-d, bilingual free text) names a clinic mode."""


@dataclass(frozen=True)
class ProductStorageMode:
    """The clinic storage mode a product needs (T-7.7-d), or why none can be chosen."""

    mode: StorageMode | None
    reason: str = ""


def _inside(
    inner: tuple[Decimal | None, Decimal | None], outer: tuple[Decimal | None, Decimal | None]
) -> bool:
    (low, high), (outer_low, outer_high) = inner, outer
    if outer_low is not None and (low is None or low < outer_low):
        return False
    return outer_high is None or (high is not None and high <= outer_high)


def product_storage_mode(
    min_c: Decimal | None, max_c: Decimal | None, mode_texts: tuple[str, ...], source: str
) -> ProductStorageMode:
    """T-7.7-d: map a product's storage temperature range and storage mode text onto a clinic storage mode.

    The candidates are the modes whose reference range lies inside the product's storage range. When the
    product's text names a mode, that mode must be a candidate (else the product information contradicts
    itself and nothing is chosen); without a named mode, exactly one candidate must remain.
    """
    if min_c is None and max_c is None:
        return ProductStorageMode(None, f"T-7.7-a: {source} gives no storage temperature range.")
    candidates = [m for m, r in MODE_REFERENCE_RANGES.items() if _inside(r, (min_c, max_c))]
    text = " ".join(mode_texts).casefold()
    named = [m for m, words in _MODE_WORDS if any(w in text for w in words)]
    if len(named) == 1:
        if named[0] in candidates:
            return ProductStorageMode(named[0])
        return ProductStorageMode(
            None,
            f"T-7.7-d: {source} names storage mode {named[0].value}, which does not keep its storage "
            f"temperature range; correct the product information.",
        )
    if len(candidates) == 1:
        return ProductStorageMode(candidates[0])
    return ProductStorageMode(
        None,
        f"T-7.7-d: no single clinic storage mode ({', '.join(m.value for m in StorageMode)}) matches "
        f"{source}'s storage requirements; correct the product information.",
    )


@dataclass(frozen=True)
class StockInFacts:
    """What the system knows about a unit when it is scanned into a location."""

    din: str
    unit_mode: StorageMode
    location_mode: StorageMode
    location_label: str
    receipt_outcome: str | None  # None: no receipt inspection recorded yet
    receipt_signed: bool
    already_stored_at: str | None  # the location label when the unit is in stock already
    expires_at: dt.datetime | None
    now: dt.datetime
    reserved_label: str | None = None  # the location reserved for the unit's shipment (T-8.1.2-e), if any
    other_location_reason: str = ""  # why the unit goes elsewhere than the reserved location


@dataclass(frozen=True)
class StorageVerdict:
    """Allowed, or the reasons (clause, what was found, the limit) why not."""

    allowed: bool
    reasons: tuple[str, ...]


def _receipt_reasons(facts: StockInFacts) -> list[str]:
    if facts.receipt_outcome is None:
        return [f"T-8.1.1: unit {facts.din} has no receipt inspection; inspect the receipt first."]
    if facts.receipt_outcome != "accepted":
        return [f"T-8.1.6: unit {facts.din} was {facts.receipt_outcome} at receipt; it cannot enter stock."]
    if not facts.receipt_signed:
        return [f"T-8.1.1: the receipt record of unit {facts.din} is not signed yet; sign it first."]
    return []


def check_stock_in(facts: StockInFacts) -> StorageVerdict:
    """T-8.1.1, T-7.7-d, T-8.1.3-d: may this unit be put into this location now?"""
    reasons = _receipt_reasons(facts)
    if facts.unit_mode is not facts.location_mode:
        reasons.append(
            f"T-7.7-d: unit {facts.din} needs storage mode {facts.unit_mode.value}; location "
            f"{facts.location_label} is {facts.location_mode.value}."
        )
    if facts.already_stored_at is not None:
        reasons.append(
            f"Unit {facts.din} is already in stock at {facts.already_stored_at}; stock it out first."
        )
    if facts.expires_at is not None and facts.expires_at <= facts.now:
        reasons.append(f"T-8.1.3-d: unit {facts.din} expired at {facts.expires_at:%Y-%m-%d %H:%M} UTC.")
    if (
        facts.reserved_label is not None
        and facts.reserved_label != facts.location_label
        and not facts.other_location_reason.strip()
    ):
        reasons.append(
            f"T-8.1.2-e: unit {facts.din} has location {facts.reserved_label} reserved; stock it there, or "
            f"give the reason for putting it in {facts.location_label}."
        )
    return StorageVerdict(not reasons, tuple(reasons))


@dataclass(frozen=True)
class ReservationFacts:
    """What the system knows when a hospital reserves a location for a shipment (T-8.1.2-e)."""

    shipment: str
    needed_mode: StorageMode
    location_mode: StorageMode
    location_label: str
    positions: int
    capacity: int | None  # None: the location's capacity is not recorded (locations made before capacities)
    occupied: int  # units in stock there plus positions held by other active reservations
    already_reserved_at: str | None  # the location of the shipment's active reservation, if any
    shipment_open: bool  # not yet received: a reservation after the receipt is pointless


def check_reservation(facts: ReservationFacts) -> StorageVerdict:
    """T-8.1.2-e, T-7.7-d: may this location be reserved for the shipment's units?"""
    reasons = []
    if not facts.shipment_open:
        reasons.append(f"Shipment {facts.shipment} has been received already; nothing to reserve.")
    if facts.already_reserved_at is not None:
        reasons.append(
            f"Shipment {facts.shipment} already has {facts.already_reserved_at} reserved; cancel that "
            "reservation first."
        )
    if facts.needed_mode is not facts.location_mode:
        reasons.append(
            f"T-7.7-d: shipment {facts.shipment} needs storage mode {facts.needed_mode.value}; location "
            f"{facts.location_label} is {facts.location_mode.value}."
        )
    if facts.capacity is not None and facts.occupied + facts.positions > facts.capacity:
        free = max(facts.capacity - facts.occupied, 0)
        reasons.append(
            f"T-8.1.2-e: location {facts.location_label} has {free} of {facts.capacity} positions free; "
            f"shipment {facts.shipment} needs {facts.positions}."
        )
    return StorageVerdict(not reasons, tuple(reasons))


def storage_limit_end(stored_at: dt.datetime, limit: dt.timedelta | None) -> dt.datetime | None:
    """T-7.7-e: the storage time limit counts from the start of storage at the clinic."""
    return None if limit is None else stored_at + limit


@dataclass(frozen=True)
class WatchEntry:
    """A unit on the expiry watch: the first limit it reaches, when, and whether it is past already."""

    clause: str
    limit_name: str
    due_at: dt.datetime
    remaining: dt.timedelta
    past: bool


def watch_entry(
    expires_at: dt.datetime | None, storage_until: dt.datetime | None, now: dt.datetime, within: dt.timedelta
) -> WatchEntry | None:
    """T-7.7-e, T-8.1.3-d: the nearest of expiry and storage time limit, when it is within `within` or past."""
    limits = [
        (due, clause, name)
        for due, clause, name in (
            (expires_at, "T-8.1.3-d", "expiry"),
            (storage_until, "T-7.7-e", "storage time limit"),
        )
        if due is not None
    ]
    if not limits:
        return None
    due, clause, name = min(limits, key=lambda item: item[0])
    remaining = due - now
    if remaining > within:
        return None
    return WatchEntry(clause, name, due, remaining, past=remaining <= dt.timedelta(0))


def check_stock_out_for_use(din: str, entry: WatchEntry | None) -> StorageVerdict:
    """T-7.7-e: a unit past its expiry or storage time limit is not issued for use (return or discard only)."""
    if entry is not None and entry.past:
        return StorageVerdict(
            False,
            (f"{entry.clause}: unit {din} is past its {entry.limit_name} ({entry.due_at:%Y-%m-%d %H:%M} UTC); "
             "it may only be returned or discarded.",),
        )  # fmt: skip
    return StorageVerdict(True, ())
