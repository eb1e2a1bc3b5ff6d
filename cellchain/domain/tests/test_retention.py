"""Retention dates and the archive checklist gate (issue 13 item 9; T-10.3, T-10.16, T-6.4-g, X-6)."""

from __future__ import annotations

import datetime as dt

from cellchain.domain.retention import (
    ARCHIVE_ITEMS,
    ArchiveItem,
    Basis,
    ItemState,
    Retention,
    add_years,
    archive_close_gate,
    latest,
    purge_gate,
    retention_end,
)

D = dt.date


def test_x6_retention_is_the_later_of_expiry_plus_30_and_use_plus_15() -> None:
    """X-6, T-10.3: expiry + 30 y wins when use precedes expiry (the normal case)."""
    r = retention_end(expiry=D(2027, 1, 10), used=D(2026, 12, 1))
    assert (r.until, r.basis, r.provisional) == (D(2057, 1, 10), Basis.EXPIRY, False)


def test_t10_3_use_plus_15_wins_when_it_is_later() -> None:
    """T-10.3: a use 16 years after expiry (a contrived case) puts use + 15 y later than expiry + 30 y."""
    r = retention_end(expiry=D(2000, 1, 1), used=D(2016, 6, 1))
    assert (r.until, r.basis) == (D(2031, 6, 1), Basis.USE)


def test_x6_treatment_end_plus_15_counts_for_tracking_records() -> None:
    """X-6 / T-10.4: end of treatment + 15 y when it is the latest."""
    r = retention_end(expiry=D(2027, 1, 1), used=D(2026, 12, 1), treatment_end=D(2045, 5, 5))
    assert (r.until, r.basis) == (D(2060, 5, 5), Basis.TREATMENT_END)


def test_x6_leap_day_rolls_to_first_of_march() -> None:
    """X-6: 29 Feb + 30 y (2054 is not a leap year) is 1 March, never a day short; a leap target stays 29 Feb."""
    assert add_years(D(2024, 2, 29), 30) == D(2054, 3, 1)
    assert add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)
    assert retention_end(expiry=D(2024, 2, 29), used=None).until == D(2054, 3, 1)


def test_x6_only_use_known_is_provisional() -> None:
    """X-6: expiry unknown -> use + 15 y, provisional (a recorded expiry can only move it later)."""
    r = retention_end(expiry=None, used=D(2026, 3, 1))
    assert (r.until, r.basis, r.provisional) == (D(2041, 3, 1), Basis.USE, True)


def test_x6_only_expiry_known_is_final() -> None:
    """X-6: expiry known, not used (e.g. discarded) -> expiry + 30 y, final."""
    r = retention_end(expiry=D(2026, 3, 1), used=None)
    assert (r.until, r.provisional) == (D(2056, 3, 1), False)


def test_x6_neither_known_has_no_date_and_refuses_purge() -> None:
    r = retention_end(expiry=None, used=None)
    assert r.until is None
    assert purge_gate(r, D(2200, 1, 1), subject="CH1").checks == ("retention_unknown",)


def test_x6_purge_refused_before_and_on_the_date_allowed_after() -> None:
    """X-6, T-10.3: purge before the retention end is refused, naming the date and the clause."""
    r = retention_end(expiry=D(2027, 1, 10), used=D(2026, 12, 1))
    refused = purge_gate(r, D(2057, 1, 10), subject="CH1")
    assert refused.checks == ("retention_running",)
    assert "2057-01-10" in refused.findings[0].message and "X-6" in refused.findings[0].message
    assert purge_gate(r, D(2057, 1, 11), subject="CH1").allowed


def test_x6_provisional_date_never_allows_purge() -> None:
    r = retention_end(expiry=None, used=D(2000, 1, 1))
    assert purge_gate(r, D(2100, 1, 1), subject="CH1").checks == ("retention_provisional",)


def test_x6_shared_record_keeps_the_latest_journey_date() -> None:
    """X-6: a record shared by journeys (SOP, equipment) follows the latest; one unknown makes it unknown."""
    a = retention_end(expiry=D(2027, 1, 1), used=D(2026, 6, 1))
    b = retention_end(expiry=D(2030, 1, 1), used=D(2029, 6, 1))
    assert latest([a, b]).until == D(2060, 1, 1)
    assert latest([a, retention_end(expiry=None, used=None)]).until is None
    assert latest([]) == Retention(None, None, True)


def test_t10_16_archive_cannot_close_with_an_item_missing() -> None:
    """T-10.16: every item of the defined list found or ticked; the missing ones are named."""
    states = [ItemState(i, found=("x:1",)) for i in ARCHIVE_ITEMS if i is not ArchiveItem.FOLLOW_UP]
    gate = archive_close_gate(states, coi="CH1")
    assert not gate.allowed
    assert [f.subject for f in gate.findings] == ["follow_up"]
    assert "T-10.16" in gate.findings[0].message


def test_t10_16_ticked_items_count_as_present() -> None:
    states = [ItemState(i, ticked=True) for i in ARCHIVE_ITEMS]
    assert archive_close_gate(states, coi="CH1").allowed


def test_t10_2_restore_test_due_when_none_or_older_than_the_interval() -> None:
    """T-10.2: backups with a restore-test log; a missing or old passed test is reported due."""
    from cellchain.domain.retention import RESTORE_TEST_INTERVAL_DAYS, restore_test_gate

    today = D(2026, 12, 7)
    assert restore_test_gate(None, today).checks == ("restore_test_missing",)
    last = today - dt.timedelta(days=RESTORE_TEST_INTERVAL_DAYS)
    assert restore_test_gate(last, today).allowed
    overdue = restore_test_gate(last - dt.timedelta(days=1), today)
    assert overdue.checks == ("restore_test_overdue",) and "T-10.2" in overdue.findings[0].message
