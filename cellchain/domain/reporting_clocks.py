"""Adverse-event reporting deadlines: the product's own limit (T-7.10-b) and the regulatory clocks of
REGULATORY.md §F items 50-51 and table (b), with the overdue list (T-7.10-b, T-10.8).

Day 0 = first awareness. Time is passed in; datetimes must be time-zone aware.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from cellchain.domain.clinical_verdict import require_aware


class Setting(StrEnum):
    TRIAL = "trial"
    MARKETED = "marketed"


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What decides which reporting clocks apply to an adverse event (REGULATORY.md item 50)."""

    setting: Setting
    serious: bool
    unexpected: bool = False
    suspected_related: bool = False  # a reasonable possibility that the product caused it
    life_threatening: bool = False
    fatal: bool = False

    def __post_init__(self) -> None:
        if (self.fatal or self.life_threatening) and not self.serious:
            raise ValueError("a fatal or life-threatening event is serious by definition; mark it serious")

    @property
    def susar(self) -> bool:
        """Suspected unexpected serious adverse reaction."""
        return self.serious and self.unexpected and self.suspected_related


@dataclass(frozen=True, slots=True)
class ReportingRule:
    """One row of a regulatory reporting clock; `within` counts from day 0 = awareness."""

    jurisdiction: str
    setting: Setting
    duty: str  # stable key, e.g. "sae_to_sponsor", "susar_fatal", "adr_serious"
    recipient: str
    within: timedelta
    calendar_days: bool  # True: due at the end of the last calendar day; False: exact hours
    source: str
    serious: bool | None = None  # None = either
    unexpected: bool | None = None
    susar: bool | None = None
    fatal_or_life_threatening: bool | None = None
    fatal: bool | None = None
    verified: bool = True  # False where REGULATORY.md marks the source with † (not read in the primary text)

    def __post_init__(self) -> None:
        if self.within <= timedelta(0):
            raise ValueError(f"reporting clock {self.jurisdiction}/{self.duty} must be positive")

    def applies(self, facts: EventFacts) -> bool:
        wanted = {
            "serious": facts.serious,
            "unexpected": facts.unexpected,
            "susar": facts.susar,
            "fatal_or_life_threatening": facts.fatal or facts.life_threatening,
            "fatal": facts.fatal,
        }
        return facts.setting is self.setting and all(
            getattr(self, name) in (None, value) for name, value in wanted.items()
        )


@dataclass(frozen=True, slots=True)
class Clock:
    """A reporting time limit: calendar days (day 0 = awareness) or exact hours."""

    within: timedelta
    calendar_days: bool


def _days(count: int) -> Clock:
    return Clock(timedelta(days=count), True)


IMMEDIATELY = Clock(timedelta(hours=24), False)
"""A report due "immediately" is tracked on a 24-hour clock, the EU CTR Art. 41 limit (REGULATORY.md item 51
flags an unforwarded SAE at 24 h)."""

_T, _M = Setting.TRIAL, Setting.MARKETED
_SERIOUS: dict[str, bool] = {"serious": True}
_NON_SERIOUS: dict[str, bool] = {"serious": False}
_DEATH: dict[str, bool] = {"fatal": True}
_SER_UNEXP: dict[str, bool] = {"serious": True, "unexpected": True}
_SUSAR_FATAL: dict[str, bool] = {"susar": True, "fatal_or_life_threatening": True}
_SUSAR_OTHER: dict[str, bool] = {"susar": True, "fatal_or_life_threatening": False}

# fmt: off
_CLOCK_ROWS: tuple[tuple[str, Setting, str, str, Clock, dict[str, bool], str, bool], ...] = (
    # where, setting, duty, recipient, clock, applies to, source, verified (False = † in REGULATORY.md)
    ("CN", _M, "adr_serious",      "regulator", _days(15),   _SERIOUS,     "ADR Measures 2011 Art. 21", True),
    ("CN", _M, "adr_death",        "regulator", IMMEDIATELY, _DEATH,       "ADR Measures 2011 Art. 21", True),
    ("CN", _M, "adr_non_serious",  "regulator", _days(30),   _NON_SERIOUS, "ADR Measures 2011 Art. 21", True),
    ("CN", _T, "sae_to_sponsor",   "sponsor",   IMMEDIATELY, _SERIOUS,     "CN GCP 2020", True),
    ("CN", _T, "susar_fatal",      "regulator", _days(7),    _SUSAR_FATAL, "CDE rapid reporting", False),
    ("CN", _T, "susar_other",      "regulator", _days(15),   _SUSAR_OTHER, "CDE rapid reporting", False),
    ("US", _M, "adr_serious_unexpected", "regulator", _days(15), _SER_UNEXP, "21 CFR 600.80(c)", False),
    ("US", _T, "sae_to_sponsor",   "sponsor",   IMMEDIATELY, _SERIOUS,     "21 CFR 312.64(b)", False),
    ("US", _T, "susar_fatal",      "regulator", _days(7),    _SUSAR_FATAL, "21 CFR 312.32(c)", True),
    ("US", _T, "susar_other",      "regulator", _days(15),   _SUSAR_OTHER, "21 CFR 312.32(c)", True),
    ("EU", _M, "adr_serious",      "regulator", _days(15),   _SERIOUS,     "Dir. 2001/83 Art. 107", False),
    ("EU", _M, "adr_non_serious",  "regulator", _days(90),   _NON_SERIOUS, "Dir. 2001/83 Art. 107", False),
    ("EU", _T, "sae_to_sponsor",   "sponsor",   IMMEDIATELY, _SERIOUS,     "EU CTR Art. 41", False),
    ("EU", _T, "susar_fatal",      "regulator", _days(7),    _SUSAR_FATAL, "EU CTR Art. 42", False),
    ("EU", _T, "susar_other",      "regulator", _days(15),   _SUSAR_OTHER, "EU CTR Art. 42", False),
)
# fmt: on


def _rule(row: tuple[str, Setting, str, str, Clock, dict[str, bool], str, bool]) -> ReportingRule:
    where, setting, duty, recipient, clock, match, source, verified = row
    return ReportingRule(
        where, setting, duty, recipient, clock.within, clock.calendar_days, source, verified=verified, **match
    )


REGULATORY_CLOCKS: tuple[ReportingRule, ...] = tuple(_rule(row) for row in _CLOCK_ROWS)
"""Regulatory reporting clocks from REGULATORY.md table (b) and items 50-51; day 0 = first awareness.

China marketed: serious 15 d, deaths immediately, non-serious 30 d; trials: SAE to the sponsor immediately,
SUSAR fatal or life-threatening 7 d (then +8 d for follow-up), other SUSAR 15 d. US marketed non-serious
reports are periodic (quarterly for 3 years, then annual), so they have no individual clock here.
A site may pass its own table (the clock is configurable); rows with verified=False come from sources
REGULATORY.md marks with † and must be checked before they are quoted.
"""


@dataclass(frozen=True, slots=True)
class ReportingDuty:
    """One report owed for an adverse event, with its due time."""

    duty: str
    recipient: str
    due: datetime
    basis: str


def due_time(awareness: datetime, within: timedelta, calendar_days: bool) -> datetime:
    """Day 0 = awareness. Calendar-day clocks end at midnight after the last day (awareness' own time zone);
    hour clocks end exactly `within` after awareness."""
    awareness = require_aware(awareness, "awareness time")
    if not calendar_days:
        return awareness + within
    last_day = awareness.date() + timedelta(days=within.days)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=awareness.tzinfo)


def product_reporting_duty(awareness: datetime, product_limit: timedelta) -> ReportingDuty:
    """The clinic's report to the manufacturer within the product's own time limit (T-7.10-b, T-10.8)."""
    if product_limit <= timedelta(0):
        raise ValueError(f"the product's reporting time limit must be positive, got {product_limit}")
    due = require_aware(awareness, "awareness time") + product_limit
    return ReportingDuty(
        "to_manufacturer", "manufacturer", due, "product IFU reporting time limit (T-7.10-b)"
    )


def regulatory_reporting_duties(
    facts: EventFacts,
    awareness: datetime,
    jurisdiction: str,
    clocks: Iterable[ReportingRule] = REGULATORY_CLOCKS,
) -> tuple[ReportingDuty, ...]:
    """Every regulatory clock that applies to the event in the jurisdiction (REGULATORY.md item 50)."""
    return tuple(
        ReportingDuty(
            rule.duty, rule.recipient, due_time(awareness, rule.within, rule.calendar_days), rule.source
        )
        for rule in clocks
        if rule.jurisdiction == jurisdiction and rule.applies(facts)
    )


class DutyState(StrEnum):
    PENDING = "pending"
    OVERDUE = "overdue"
    SENT_ON_TIME = "sent_on_time"
    SENT_LATE = "sent_late"


@dataclass(frozen=True, slots=True)
class DutyStatus:
    duty: ReportingDuty
    state: DutyState
    late_by: timedelta  # zero unless overdue or sent late


def duty_status(duty: ReportingDuty, sent_at: datetime | None, now: datetime) -> DutyStatus:
    """Where one reporting duty stands at `now` (T-7.10-b)."""
    now = require_aware(now, "now")
    if sent_at is None:
        state = DutyState.OVERDUE if now > duty.due else DutyState.PENDING
        return DutyStatus(duty, state, max(now - duty.due, timedelta(0)))
    late_by = require_aware(sent_at, "sent time") - duty.due
    if late_by > timedelta(0):
        return DutyStatus(duty, DutyState.SENT_LATE, late_by)
    return DutyStatus(duty, DutyState.SENT_ON_TIME, timedelta(0))


def overdue_duties(
    duties: Iterable[ReportingDuty], sent: Mapping[str, datetime], now: datetime
) -> tuple[DutyStatus, ...]:
    """The overdue list: duties still unsent after their due time, most overdue first (T-7.10-b)."""
    statuses = (duty_status(duty, sent.get(duty.duty), now) for duty in duties)
    overdue = [status for status in statuses if status.state is DutyState.OVERDUE]
    return tuple(sorted(overdue, key=lambda status: status.duty.due))
