"""Pure storage rules: storage mode, stock-in preconditions and the expiry watch (T-7.7-d/e, T-8.1.1,
T-8.1.3-d). Run without the database."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from cellchain.logistics.storage_rules import (
    StockInFacts,
    StorageMode,
    check_stock_in,
    check_stock_out_for_use,
    watch_entry,
)

NOW = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
offsets = st.one_of(
    st.none(), st.integers(min_value=-400 * 24, max_value=400 * 24).map(lambda h: NOW + dt.timedelta(hours=h))
)


def facts(**changes):
    base = dict(din="W123426000001", unit_mode=StorageMode.LIQUID_NITROGEN, location_mode=StorageMode.LIQUID_NITROGEN,
                location_label="LN2-A", receipt_outcome="accepted", receipt_signed=True, already_stored_at=None,
                expires_at=NOW + dt.timedelta(days=10), now=NOW)  # fmt: skip
    return StockInFacts(**{**base, **changes})


def test_clean_unit_may_be_stocked():
    assert check_stock_in(facts()).allowed


def test_every_failed_precondition_is_named_with_its_clause():
    verdict = check_stock_in(facts(location_mode=StorageMode.FRIDGE_2_8, receipt_outcome=None,
                                   expires_at=NOW - dt.timedelta(hours=1)))  # fmt: skip
    assert not verdict.allowed
    assert [r.split(":")[0] for r in verdict.reasons] == ["T-8.1.1", "T-7.7-d", "T-8.1.3-d"]


@given(expires=offsets, storage_until=offsets, within_days=st.integers(min_value=0, max_value=500))
def test_watch_reports_the_nearest_limit_exactly_when_it_is_within_the_window(
    expires, storage_until, within_days
):
    """Invariant: on the watch iff the nearest limit is due within the window; past iff due at or before now."""
    within = dt.timedelta(days=within_days)
    entry = watch_entry(expires, storage_until, NOW, within)
    limits = [d for d in (expires, storage_until) if d is not None]
    if not limits or min(limits) - NOW > within:
        assert entry is None
        return
    assert entry is not None and entry.due_at == min(limits)
    assert entry.past == (entry.due_at <= NOW)
    assert check_stock_out_for_use("W1", entry).allowed == (not entry.past)


def test_product_storage_mode_comes_from_its_range_and_text():
    """T-7.7-d: the reference product (≤ -150 °C, vapour-phase LN2) needs liquid nitrogen; 2-8 °C a fridge."""
    from decimal import Decimal

    from cellchain.logistics.storage_rules import product_storage_mode

    ln2 = product_storage_mode(None, Decimal(-150), ("液氮气相", "vapour-phase liquid nitrogen"), "cd19 v1")
    assert ln2.mode is StorageMode.LIQUID_NITROGEN
    fridge = product_storage_mode(Decimal(2), Decimal(8), ("冷藏", "refrigerated"), "fresh v1")
    assert fridge.mode is StorageMode.FRIDGE_2_8
    freezer = product_storage_mode(Decimal(-90), Decimal(-60), ("", ""), "f v1")  # no words: one candidate
    assert freezer.mode is StorageMode.MINUS_80


def test_contradicting_or_ambiguous_storage_requirements_choose_nothing():
    from decimal import Decimal

    from cellchain.logistics.storage_rules import product_storage_mode

    contradiction = product_storage_mode(Decimal(2), Decimal(8), ("液氮", "liquid nitrogen"), "x v1")
    assert contradiction.mode is None and "names storage mode liquid_nitrogen" in contradiction.reason
    ambiguous = product_storage_mode(None, Decimal(-60), ("", "frozen"), "y v1")  # LN2 and -80 both fit
    assert ambiguous.mode is None and "no single clinic storage mode" in ambiguous.reason
    assert product_storage_mode(None, None, ("",), "z v1").mode is None


def test_reservation_checks_mode_capacity_and_duplicates():
    """T-8.1.2-e: a location of the product's mode with enough free positions, one reservation per shipment."""
    from cellchain.logistics.storage_rules import ReservationFacts, check_reservation

    base = dict(shipment="SH-1", needed_mode=StorageMode.LIQUID_NITROGEN, location_mode=StorageMode.LIQUID_NITROGEN,
                location_label="LN2-01", positions=2, capacity=4, occupied=2, already_reserved_at=None,
                shipment_open=True)  # fmt: skip
    assert check_reservation(ReservationFacts(**base)).allowed
    full = check_reservation(ReservationFacts(**{**base, "occupied": 3}))
    assert full.reasons == ("T-8.1.2-e: location LN2-01 has 1 of 4 positions free; shipment SH-1 needs 2.",)
    assert check_reservation(ReservationFacts(**{**base, "capacity": None, "occupied": 99})).allowed
    wrong = check_reservation(ReservationFacts(**{**base, "location_mode": StorageMode.FRIDGE_2_8,
                                                  "already_reserved_at": "LN2-02", "shipment_open": False}))  # fmt: skip
    assert len(wrong.reasons) == 3 and "T-7.7-d" in wrong.reasons[2]


def test_stock_in_elsewhere_than_the_reserved_location_needs_a_reason():
    """T-8.1.2-e: the unit goes to the reserved location, or the reason is given."""
    elsewhere = facts(reserved_label="LN2-B")
    assert check_stock_in(elsewhere).reasons == (
        "T-8.1.2-e: unit W123426000001 has location LN2-B reserved; stock it there, or give the reason for "
        "putting it in LN2-A.",
    )
    assert check_stock_in(facts(reserved_label="LN2-B", other_location_reason="LN2-B lid broken")).allowed
    assert check_stock_in(facts(reserved_label="LN2-A")).allowed
