"""Retention of regulated records and the archive checklist of a journey (issue 13 item 9; decision 0027).

Retention (T-10.3, T-6.4-g, X-6): a journey's records are kept until the later of 30 years after the product's
expiry and 15 years after its use (infusion); tracking records also 15 years after the end of treatment
(T-10.4, via X-6). A record's retention follows the journey it belongs to. Purge, archival deletion or clean-up
before that date is refused (`purge_gate`).

Archive checklist (T-10.16, T-5.2.9, T-6.4-g): the clinical documents of a journey are archived according to a
defined list (`ARCHIVE_ITEMS`); the checklist cannot be closed while an item is missing (`archive_close_gate`).

Pure: dates are passed in, nothing reads a clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from cellchain.domain.findings import Finding, Gate

YEARS_AFTER_EXPIRY = 30  # X-6 / issue 13 item 9: 30 years after the product's expiry
YEARS_AFTER_USE = 15  # T-10.3: at least 15 years after product use
YEARS_AFTER_TREATMENT_END = 15  # T-10.4 via X-6: tracking records 15 years after the end of treatment


def add_years(day: dt.date, years: int) -> dt.date:
    """`day` plus whole calendar years; 29 February becomes 1 March in a year without one.

    Retention is a minimum ("at least N years"), so the date never falls short: 28 February would keep a
    record one day less than N years (decision 0027).
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return dt.date(day.year + years, 3, 1)


class Basis(StrEnum):
    """Which rule gave the retention date."""

    EXPIRY = "expiry+30y"
    USE = "use+15y"
    TREATMENT_END = "treatment_end+15y"


@dataclass(frozen=True, slots=True)
class Retention:
    """The retention end of a journey's records, the rule that set it, and whether it is still provisional.

    `until` is None when neither expiry nor use is known: nothing can be purged then. `provisional` is True
    while the expiry is unknown: a later expiry can only move the date later, so a provisional date never
    allows a purge (decision 0027).
    """

    until: dt.date | None
    basis: Basis | None
    provisional: bool
    candidates: tuple[tuple[Basis, dt.date], ...] = ()


def retention_end(
    *, expiry: dt.date | None, used: dt.date | None, treatment_end: dt.date | None = None
) -> Retention:
    """The later of expiry + 30 y, use + 15 y and (if given) end of treatment + 15 y (T-10.3, T-10.4, X-6).

    Only one known: that one's date, marked provisional when the expiry is the one missing (the product may
    still carry an expiry we have not recorded). Neither: no date (kept indefinitely until one is known).
    """
    candidates: list[tuple[Basis, dt.date]] = []
    if expiry is not None:
        candidates.append((Basis.EXPIRY, add_years(expiry, YEARS_AFTER_EXPIRY)))
    if used is not None:
        candidates.append((Basis.USE, add_years(used, YEARS_AFTER_USE)))
    if treatment_end is not None:
        candidates.append((Basis.TREATMENT_END, add_years(treatment_end, YEARS_AFTER_TREATMENT_END)))
    if expiry is None and used is None:
        return Retention(None, None, True, tuple(candidates))
    basis, until = max(candidates, key=lambda c: c[1])
    return Retention(until, basis, expiry is None, tuple(candidates))


def latest(retentions: list[Retention]) -> Retention:
    """The retention of records shared by several journeys (an SOP, a piece of equipment): the latest of them.

    Any journey with no date or a provisional one makes the whole provisional (decision 0027).
    """
    if not retentions:
        return Retention(None, None, True)
    if any(r.until is None for r in retentions):
        return Retention(None, None, True)
    top = max(retentions, key=lambda r: r.until or dt.date.min)
    return Retention(top.until, top.basis, any(r.provisional for r in retentions), top.candidates)


def purge_gate(retention: Retention, today: dt.date, *, subject: str) -> Gate:
    """May the records of `subject` be purged today? Only once a final retention date has passed (X-6, T-10.3)."""
    if retention.until is None:
        return Gate(
            (
                Finding(
                    "retention_unknown",
                    f"{subject}: no retention date can be computed yet (neither product expiry nor use is "
                    "recorded); its records are kept (X-6, T-10.3).",
                    "X-6",
                    subject,
                ),
            )
        )
    if retention.provisional:
        return Gate(
            (
                Finding(
                    "retention_provisional",
                    f"{subject}: the retention date {retention.until.isoformat()} is provisional (the product "
                    "expiry is not recorded); its records are kept (X-6).",
                    "X-6",
                    subject,
                    retention.until.isoformat(),
                ),
            )
        )
    if today <= retention.until:
        return Gate(
            (
                Finding(
                    "retention_running",
                    f"{subject}: records are kept until {retention.until.isoformat()} ({retention.basis}); "
                    f"purge refused on {today.isoformat()} (X-6, T-10.3).",
                    "X-6",
                    subject,
                    today.isoformat(),
                    retention.until.isoformat(),
                ),
            )
        )
    return Gate()


class ArchiveItem(StrEnum):
    """The defined list (规定清单) of a journey's archived records (T-10.16, T-6.4-g, T-5.2.9)."""

    CONSENT = "consent"
    ELIGIBILITY = "eligibility"
    APHERESIS = "apheresis"
    BATCH_RECORD = "batch_record"
    COA = "coa"
    SHIPMENT = "shipment"
    RECEIPT = "receipt"
    THAW = "thaw"
    INFUSION = "infusion"
    ADVERSE_EVENTS = "adverse_events"
    FOLLOW_UP = "follow_up"
    MEDICAL_RECORD = "medical_record"


ARCHIVE_ITEMS: tuple[ArchiveItem, ...] = tuple(ArchiveItem)
"""Every item must be present to close (T-10.16). Order is the journey's order."""


@dataclass(frozen=True, slots=True)
class ItemState:
    """One item: found among the system's own records (`found`: their references) or ticked by a person."""

    item: ArchiveItem
    found: tuple[str, ...] = ()
    ticked: bool = False

    @property
    def present(self) -> bool:
        return bool(self.found) or self.ticked


def archive_close_gate(states: list[ItemState], *, coi: str) -> Gate:
    """The journey's archive may close only with every item of `ARCHIVE_ITEMS` present (T-10.16)."""
    by_item = {s.item: s for s in states}
    missing = [i for i in ARCHIVE_ITEMS if not (by_item.get(i) and by_item[i].present)]
    return Gate(
        tuple(
            Finding(
                "archive_item_missing",
                f"{coi}: archive item '{item.value}' is missing: neither found among the records nor ticked "
                "with evidence (T-10.16).",
                "T-10.16",
                item.value,
            )
            for item in missing
        )
    )


RESTORE_TEST_INTERVAL_DAYS = 180
"""T-10.2: electronic backups exist and a restore is tested; a restore test older than this is due (decision 0027)."""


def restore_test_gate(last_passed: dt.date | None, today: dt.date) -> Gate:
    """Is a restore test due? Yes with no passed test, or the last one older than the interval (T-10.2)."""
    if last_passed is None:
        return Gate(
            (
                Finding(
                    "restore_test_missing",
                    "No restore of a backup has been tested and passed (T-10.2).",
                    "T-10.2",
                ),
            )
        )
    due = last_passed + dt.timedelta(days=RESTORE_TEST_INTERVAL_DAYS)
    if today > due:
        return Gate(
            (
                Finding(
                    "restore_test_overdue",
                    f"The last passed restore test was on {last_passed.isoformat()}; one was due by "
                    f"{due.isoformat()} (T-10.2).",
                    "T-10.2",
                    value=last_passed.isoformat(),
                    limit=due.isoformat(),
                ),
            )
        )
    return Gate()
