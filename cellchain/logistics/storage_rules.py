"""Rules of hospital storage: storage mode of a location (T-7.7-d), stock-in preconditions (T-8.1.1), storage
time limit and expiry watch (T-7.7-e, T-8.1.3-d).

Pure functions (no Django, no clock): the services pass in the facts and the time, and get a verdict with its
reasons back.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

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
