"""Clinical clocks: use-by after thaw, preparation and dilution (T-7.8), observation (T-8.2.7-a, T-9.2.6-1),
days 1-7 monitoring (T-9.2.6-2) and follow-up (T-9.2.8). Reporting deadlines are in `reporting_clocks`.

Time is always passed in (`now`, `today`); datetimes must be time-zone aware.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from cellchain.domain.clinical_verdict import Consequence, Reason, Verdict, require_aware

# --------------------------------------------------------------------------- use-by (T-7.8)


class OvertimeHandling(StrEnum):
    """What happens to a unit past a use time limit (T-7.8-d); infusion is blocked in every case."""

    REJECT = "reject"  # not to be used; only return or destruction can be recorded
    QUARANTINE = "quarantine"  # held until an authorised disposition (product rule says so)


@dataclass(frozen=True, slots=True)
class UseTimeLimits:
    """A product's use time limits from its IFU (T-7.8), each citing its validation/stability report."""

    usable_after_thaw: timedelta  # T-7.8-a
    preparation_time: timedelta | None = None  # T-7.8-b
    use_after_dilution: timedelta | None = None  # T-7.8-c, only when the product allows dilution
    overtime_handling: OvertimeHandling | None = None  # T-7.8-d; None = not stated by the product

    def __post_init__(self) -> None:
        for name in ("usable_after_thaw", "preparation_time", "use_after_dilution"):
            value = getattr(self, name)
            if value is not None and value <= timedelta(0):
                raise ValueError(f"{name} must be a positive duration, got {value}")


def overtime_handling(limits: UseTimeLimits) -> OvertimeHandling:
    """The product's over-time rule; when the product states none, the unit is rejected (T-7.8-d)."""
    return limits.overtime_handling or OvertimeHandling.REJECT


@dataclass(frozen=True, slots=True)
class UseBy:
    """The earliest applicable use-by time and which clock set it."""

    deadline: datetime
    clock: str  # "thaw" (T-7.8-a), "preparation" (T-7.8-b) or "dilution" (T-7.8-c)

    def remaining(self, now: datetime) -> timedelta:
        """Time left before the deadline (negative once past): the countdown shown with the unit."""
        return self.deadline - require_aware(now, "now")


def use_by(
    limits: UseTimeLimits,
    thaw_end: datetime,
    preparation_start: datetime | None = None,
    dilution_end: datetime | None = None,
) -> UseBy:
    """The unit's use-by: the earliest of thaw end + usable time, preparation start + preparation time and
    dilution end + use time after dilution (T-7.8-a/b/c, T-8.2.4-c, T-8.2.5-d)."""
    clocks = [UseBy(require_aware(thaw_end, "thaw end") + limits.usable_after_thaw, "thaw")]
    if preparation_start is not None and limits.preparation_time is not None:
        start = require_aware(preparation_start, "preparation start")
        clocks.append(UseBy(start + limits.preparation_time, "preparation"))
    if dilution_end is not None:
        if limits.use_after_dilution is None:
            raise ValueError(
                "the product defines no use time after dilution: it may not be diluted (T-8.2.5)"
            )
        clocks.append(
            UseBy(require_aware(dilution_end, "dilution end") + limits.use_after_dilution, "dilution")
        )
    return min(clocks, key=lambda clock: clock.deadline)


_CLOCK_CLAUSE = {"thaw": "T-7.8-a", "preparation": "T-7.8-b", "dilution": "T-7.8-c"}


def use_by_check(limits: UseTimeLimits, deadline: UseBy, now: datetime) -> Verdict:
    """Refuse use once the use-by has passed; the reason carries the over-time handling (T-7.8-d)."""
    overdue = -deadline.remaining(now)
    if overdue <= timedelta(0):
        return Verdict()
    handling = overtime_handling(limits)
    consequence = (
        Consequence.REJECT_UNIT if handling is OvertimeHandling.REJECT else Consequence.QUARANTINE_UNIT
    )
    reason = Reason(
        code="past_use_by",
        message=(
            f"past the use-by time ({_CLOCK_CLAUSE[deadline.clock]} {deadline.clock} clock) by "
            f"{_minutes(overdue + timedelta(seconds=59))} min: infusion blocked, "
            f"unit handled as '{handling.value}' (T-7.8-d)"
        ),
        value=require_aware(now, "now").isoformat(),
        limit=deadline.deadline.isoformat(),
        clause=_CLOCK_CLAUSE[deadline.clock],
        consequence=consequence,
    )
    return Verdict((reason,))


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


# ------------------------------------------------------------------ observation (T-8.2.7-a, T-9.2.6-1)

MIN_OBSERVATION = timedelta(minutes=30)
"""T-9.2.6-1: after infusion the subject stays under observation for at least 30 minutes."""


def observation_minimum(product_observation: timedelta | None) -> timedelta:
    """The longer of the product's recommended observation time and 30 min (T-8.2.7-a)."""
    if product_observation is None:
        return MIN_OBSERVATION
    return max(MIN_OBSERVATION, product_observation)


def observation_end_check(
    infusion_end: datetime, observation_end: datetime, product_observation: timedelta | None = None
) -> Verdict:
    """Refuse closing observation before the minimum after infusion end (T-8.2.7-a, T-9.2.6-1)."""
    minimum = observation_minimum(product_observation)
    elapsed = require_aware(observation_end, "observation end") - require_aware(infusion_end, "infusion end")
    if elapsed >= minimum:
        return Verdict()
    reason = Reason(
        code="observation_too_short",
        message=(
            f"observation ends {_minutes(elapsed)} min after infusion end; it must last at least "
            f"{_minutes(minimum)} min (T-9.2.6-1, T-8.2.7-a): the patient cannot leave observation yet"
        ),
        value=f"{_minutes(elapsed)} min",
        limit=f">= {_minutes(minimum)} min",
        clause="T-9.2.6-1",
    )
    return Verdict((reason,))


# --------------------------------------------------------------------------- days 1-7 (T-9.2.6-2)

INTENSIVE_MONITORING_ITEMS: tuple[str, ...] = (
    "detailed_history",
    "full_examination",
    "vital_signs",
    "ecg_monitoring",
    "protocol_labs",
    "abnormality_handling",
)
"""T-9.2.6-2: close safety monitoring on days 1-7 (history, examination, ECG monitoring, protocol tests,
handling of abnormalities); vital signs from T-8.2.7-b."""

INTENSIVE_MONITORING_DAYS = 7


class TaskStatus(StrEnum):
    DONE = "done"
    DUE = "due"  # due today / visit window open
    OVERDUE = "overdue"
    UPCOMING = "upcoming"


@dataclass(frozen=True, slots=True)
class MonitoringDay:
    """One day of the days 1-7 checklist (day 0 = infusion day)."""

    day: int
    on: date
    items: tuple[str, ...]
    status: TaskStatus


def intensive_monitoring_days(
    infusion_day: date,
    today: date,
    done_days: Collection[int] = (),
    product_indicators: Iterable[str] = (),
) -> tuple[MonitoringDay, ...]:
    """The D1-D7 checklist from the infusion date, with each day's status; missing days are OVERDUE
    (T-9.2.6-2). The product's indicators to watch closely (T-7.9-b) are added to each day's items."""
    items = INTENSIVE_MONITORING_ITEMS + tuple(
        i for i in product_indicators if i not in INTENSIVE_MONITORING_ITEMS
    )
    days = []
    for day in range(1, INTENSIVE_MONITORING_DAYS + 1):
        on = infusion_day + timedelta(days=day)
        days.append(MonitoringDay(day, on, items, _day_status(on, today, day in done_days)))
    return tuple(days)


def _day_status(on: date, today: date, done: bool) -> TaskStatus:
    if done:
        return TaskStatus.DONE
    if on < today:
        return TaskStatus.OVERDUE
    return TaskStatus.DUE if on == today else TaskStatus.UPCOMING


# --------------------------------------------------------------------------- follow-up (T-9.2.8)

FOLLOW_UP_ITEMS: tuple[str, ...] = (
    "viral_replication",
    "bacterial_replication",
    "secondary_malignancy",
    "chronic_gvhd",
    "delayed_hypersensitivity",
)
"""T-9.2.8-1: follow-up tracks viral and bacterial replication, diseases from random gene insertion or
secondary tumours, chronic GVHD and delayed hypersensitivity (delayed allergy)."""

MAX_LONG_TERM_YEARS = 15
"""REGULATORY.md item 53 / table (b): long-term follow-up lasts up to 15 years (FDA LTFU 2020)."""

MIN_YEARLY_EXAMS_INTEGRATING = 5
"""REGULATORY.md item 53: integrating vectors need >= 5 years of yearly examinations."""


class FollowUpPlanError(ValueError):
    """A product's follow-up plan falls short of what T-9.2.8 and REGULATORY.md item 53 require."""


@dataclass(frozen=True, slots=True)
class FollowUpPlan:
    """A product's follow-up plan (T-9.2.8): first-year visits in months, then yearly long-term visits.

    `long_term_years` = the last year with a yearly examination (1 = the one-year visit only).
    """

    first_year_months: tuple[int, ...] = (1, 3, 6, 12)
    long_term_years: int = MAX_LONG_TERM_YEARS  # CAR-T vectors integrate: FDA LTFU 2020 suggests 15 years
    integrating_vector: bool = True
    items: tuple[str, ...] = FOLLOW_UP_ITEMS
    window_days: int = 14  # a visit may be done this many days either side of its due date
    reminder_days: int = 14  # remind this many days before the window opens

    def __post_init__(self) -> None:
        months = self.first_year_months
        if any(m < 1 or m > 12 for m in months) or list(months) != sorted(set(months)):
            raise FollowUpPlanError(f"first-year visit months must be increasing, 1-12: {months}")
        if 12 not in months and self.long_term_years < 1:
            raise FollowUpPlanError("the plan must reach the one-year visit (T-9.2.8-2)")
        if not 1 <= self.long_term_years <= MAX_LONG_TERM_YEARS:
            raise FollowUpPlanError(f"long-term follow-up must be 1-15 years, got {self.long_term_years}")
        if self.integrating_vector and self.long_term_years < MIN_YEARLY_EXAMS_INTEGRATING:
            raise FollowUpPlanError(
                f"an integrating vector needs >= 5 years of yearly examinations (REGULATORY.md item 53); "
                f"the plan stops at year {self.long_term_years}"
            )
        if self.window_days < 0 or self.reminder_days < 0:
            raise FollowUpPlanError("visit window and reminder lead must not be negative")
        missing = set(FOLLOW_UP_ITEMS) - set(self.items)
        if missing:
            raise FollowUpPlanError(f"follow-up items required by T-9.2.8-1 are missing: {sorted(missing)}")


@dataclass(frozen=True, slots=True)
class FollowUpVisit:
    """One planned follow-up visit with its window and what to check."""

    key: str  # "M1", "M3", "M12", "Y2" ... stable across regenerations
    due: date
    window_start: date
    window_end: date
    remind_on: date
    items: tuple[str, ...]


def add_months(start: date, months: int) -> date:
    """Calendar months later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def follow_up_schedule(infusion_day: date, plan: FollowUpPlan) -> tuple[FollowUpVisit, ...]:
    """All visits from the infusion date: month visits in year 1, then yearly to the plan's end (T-9.2.8)."""
    months = list(plan.first_year_months) + [12 * year for year in range(2, plan.long_term_years + 1)]
    if 12 not in months:
        months.append(12)
    return tuple(_visit(infusion_day, m, plan) for m in sorted(set(months)))


def _visit(infusion_day: date, months: int, plan: FollowUpPlan) -> FollowUpVisit:
    due = add_months(infusion_day, months)
    window = timedelta(days=plan.window_days)
    key = f"M{months}" if months <= 12 else f"Y{months // 12}"
    start = due - window
    return FollowUpVisit(
        key, due, start, due + window, start - timedelta(days=plan.reminder_days), plan.items
    )


@dataclass(frozen=True, slots=True)
class VisitStatus:
    visit: FollowUpVisit
    status: TaskStatus
    remind: bool


def follow_up_status(
    visits: Iterable[FollowUpVisit], today: date, done: Mapping[str, date]
) -> tuple[VisitStatus, ...]:
    """Each visit's status: DONE, DUE (window open), OVERDUE (window closed, not done) or UPCOMING, and
    whether a reminder is due (T-9.2.8-2 follow-up tracker)."""
    return tuple(_visit_status(visit, today, visit.key in done) for visit in visits)


def _visit_status(visit: FollowUpVisit, today: date, done: bool) -> VisitStatus:
    if done:
        return VisitStatus(visit, TaskStatus.DONE, False)
    if today > visit.window_end:
        return VisitStatus(visit, TaskStatus.OVERDUE, True)
    if today >= visit.window_start:
        return VisitStatus(visit, TaskStatus.DUE, True)
    return VisitStatus(visit, TaskStatus.UPCOMING, today >= visit.remind_on)


def overdue_visits(statuses: Iterable[VisitStatus]) -> tuple[FollowUpVisit, ...]:
    """The overdue list (T-9.2.8-2)."""
    return tuple(s.visit for s in statuses if s.status is TaskStatus.OVERDUE)
