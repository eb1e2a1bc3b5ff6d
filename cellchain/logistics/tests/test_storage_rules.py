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
