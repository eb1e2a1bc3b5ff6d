"""Use-by countdown (T-7.8), observation (T-8.2.7-a, T-9.2.6-1), days 1-7 (T-9.2.6-2), follow-up (T-9.2.8)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.clinical_timing import (
    FOLLOW_UP_ITEMS,
    FollowUpPlan,
    FollowUpPlanError,
    OvertimeHandling,
    TaskStatus,
    UseTimeLimits,
    add_months,
    follow_up_schedule,
    follow_up_status,
    intensive_monitoring_days,
    observation_end_check,
    observation_minimum,
    overdue_visits,
    overtime_handling,
    use_by,
    use_by_check,
)
from cellchain.domain.clinical_verdict import Consequence, NaiveDatetimeError

CST = timezone(timedelta(hours=8))
THAW_END = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
LIMITS = UseTimeLimits(
    usable_after_thaw=timedelta(minutes=90),
    preparation_time=timedelta(minutes=60),
    use_after_dilution=timedelta(minutes=30),
)


# --------------------------------------------------------------------------- use-by


def test_use_by_counts_from_thaw_end_plus_usable_time() -> None:
    deadline = use_by(UseTimeLimits(timedelta(minutes=90)), THAW_END)
    assert deadline.deadline == THAW_END + timedelta(minutes=90)
    assert deadline.clock == "thaw"
    assert deadline.remaining(THAW_END + timedelta(minutes=30)) == timedelta(minutes=60)


def test_use_by_is_the_earliest_of_thaw_preparation_and_dilution_clocks() -> None:
    prep_start = THAW_END + timedelta(minutes=10)  # prep clock ends at +70
    assert use_by(LIMITS, THAW_END, prep_start).clock == "preparation"
    dilution_end = THAW_END + timedelta(minutes=20)  # dilution clock ends at +50
    result = use_by(LIMITS, THAW_END, prep_start, dilution_end)
    assert (result.clock, result.deadline) == ("dilution", THAW_END + timedelta(minutes=50))


def test_use_by_refuses_dilution_when_the_product_defines_no_dilution_time() -> None:
    with pytest.raises(ValueError, match="may not be diluted"):
        use_by(UseTimeLimits(timedelta(minutes=90)), THAW_END, dilution_end=THAW_END)


def test_use_by_check_passes_until_the_deadline_itself() -> None:
    deadline = use_by(LIMITS, THAW_END)
    assert use_by_check(LIMITS, deadline, deadline.deadline).passed


def test_use_by_check_rejects_the_unit_when_the_product_states_no_overtime_rule() -> None:
    deadline = use_by(LIMITS, THAW_END)
    verdict = use_by_check(LIMITS, deadline, deadline.deadline + timedelta(minutes=1))
    assert verdict.codes == ("past_use_by",)
    assert verdict.has(Consequence.REJECT_UNIT)
    assert "T-7.8-a" in verdict.reasons[0].message and not verdict.allowed


def test_use_by_check_quarantines_when_the_product_says_so() -> None:
    limits = UseTimeLimits(timedelta(minutes=90), overtime_handling=OvertimeHandling.QUARANTINE)
    deadline = use_by(limits, THAW_END)
    verdict = use_by_check(limits, deadline, deadline.deadline + timedelta(seconds=1))
    assert verdict.has(Consequence.QUARANTINE_UNIT)
    assert overtime_handling(limits) is OvertimeHandling.QUARANTINE
    assert overtime_handling(LIMITS) is OvertimeHandling.REJECT


def test_use_time_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="usable_after_thaw must be a positive duration"):
        UseTimeLimits(timedelta(0))


def test_naive_thaw_time_is_refused() -> None:
    with pytest.raises(NaiveDatetimeError, match="thaw end has no time zone"):
        use_by(LIMITS, datetime(2026, 3, 2, 9, 0))


@given(st.integers(0, 10_000), st.integers(1, 600))
def test_countdown_falls_minute_for_minute(elapsed: int, usable: int) -> None:
    deadline = use_by(UseTimeLimits(timedelta(minutes=usable)), THAW_END)
    now = THAW_END + timedelta(minutes=elapsed)
    assert deadline.remaining(now) == timedelta(minutes=usable - elapsed)
    assert use_by_check(UseTimeLimits(timedelta(minutes=usable)), deadline, now).passed == (elapsed <= usable)


# --------------------------------------------------------------------------- observation

INFUSION_END = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("minutes", [0, 10, 29])
def test_observation_end_before_30_minutes_is_refused(minutes: int) -> None:
    verdict = observation_end_check(INFUSION_END, INFUSION_END + timedelta(minutes=minutes))
    assert verdict.codes == ("observation_too_short",)
    assert (
        f"ends {minutes} min after infusion end; it must last at least 30 min" in verdict.reasons[0].message
    )
    assert not verdict.allowed


def test_observation_of_exactly_30_minutes_is_accepted() -> None:
    assert observation_end_check(INFUSION_END, INFUSION_END + timedelta(minutes=30)).passed


def test_observation_minimum_is_the_products_time_when_longer_than_30_minutes() -> None:
    assert observation_minimum(timedelta(hours=2)) == timedelta(hours=2)
    assert observation_minimum(timedelta(minutes=15)) == timedelta(minutes=30)
    verdict = observation_end_check(INFUSION_END, INFUSION_END + timedelta(minutes=90), timedelta(hours=2))
    assert verdict.reasons[0].limit == ">= 120 min"


def test_observation_end_before_infusion_end_is_refused() -> None:
    assert not observation_end_check(INFUSION_END, INFUSION_END - timedelta(minutes=5)).passed


# --------------------------------------------------------------------------- days 1-7


def test_intensive_monitoring_days_are_1_to_7_after_infusion_day() -> None:
    days = intensive_monitoring_days(date(2026, 3, 2), today=date(2026, 3, 2))
    assert [d.day for d in days] == [1, 2, 3, 4, 5, 6, 7]
    assert days[0].on == date(2026, 3, 3) and days[-1].on == date(2026, 3, 9)
    assert {d.status for d in days} == {TaskStatus.UPCOMING}
    assert "ecg_monitoring" in days[0].items


def test_intensive_monitoring_missing_past_days_are_overdue() -> None:
    days = intensive_monitoring_days(date(2026, 3, 2), today=date(2026, 3, 6), done_days={1, 3})
    statuses = {d.day: d.status for d in days}
    assert statuses == {
        1: TaskStatus.DONE,
        2: TaskStatus.OVERDUE,
        3: TaskStatus.DONE,
        4: TaskStatus.DUE,
        5: TaskStatus.UPCOMING,
        6: TaskStatus.UPCOMING,
        7: TaskStatus.UPCOMING,
    }


def test_intensive_monitoring_adds_the_products_indicators_once() -> None:
    days = intensive_monitoring_days(
        date(2026, 3, 2), date(2026, 3, 2), product_indicators=["ferritin", "vital_signs"]
    )
    assert days[0].items.count("vital_signs") == 1
    assert days[0].items[-1] == "ferritin"


# --------------------------------------------------------------------------- follow-up


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)
    assert add_months(date(2026, 3, 2), 180) == date(2041, 3, 2)


def test_follow_up_schedule_covers_year_one_then_yearly_to_the_plans_end() -> None:
    visits = follow_up_schedule(date(2026, 3, 2), FollowUpPlan(long_term_years=15))
    keys = [v.key for v in visits]
    assert keys[:4] == ["M1", "M3", "M6", "M12"]
    assert keys[4:] == [f"Y{y}" for y in range(2, 16)]
    assert visits[-1].due == date(2041, 3, 2)
    assert set(FOLLOW_UP_ITEMS) <= set(visits[0].items)


def test_follow_up_schedule_adds_the_one_year_visit_when_months_stop_earlier() -> None:
    plan = FollowUpPlan(first_year_months=(1, 3, 6), long_term_years=1, integrating_vector=False)
    assert [v.key for v in follow_up_schedule(date(2026, 3, 2), plan)] == ["M1", "M3", "M6", "M12"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"long_term_years": 3}, "integrating vector needs >= 5 years"),
        ({"long_term_years": 16}, "1-15 years"),
        ({"long_term_years": 0, "integrating_vector": False}, "1-15 years"),
        ({"first_year_months": (6, 3)}, "increasing"),
        ({"first_year_months": (13,)}, "1-12"),
        ({"items": ("viral_replication",)}, "missing"),
    ],
)
def test_follow_up_plan_below_the_minimum_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(FollowUpPlanError, match=message):
        FollowUpPlan(**kwargs)  # type: ignore[arg-type]


def test_non_integrating_product_may_stop_at_one_year() -> None:
    visits = follow_up_schedule(date(2026, 3, 2), FollowUpPlan(long_term_years=1, integrating_vector=False))
    assert visits[-1].key == "M12"


def test_follow_up_status_flags_missed_visits_and_reminders() -> None:
    plan = FollowUpPlan(long_term_years=5, window_days=14, reminder_days=14)
    visits = follow_up_schedule(date(2026, 3, 2), plan)
    today = date(2026, 9, 20)  # M1 missed, M3 done, M6 (due 2 Sep) window closed 16 Sep: missed
    statuses = {s.visit.key: s for s in follow_up_status(visits, today, {"M3": date(2026, 6, 1)})}
    assert statuses["M1"].status is TaskStatus.OVERDUE
    assert statuses["M3"].status is TaskStatus.DONE
    assert statuses["M6"].status is TaskStatus.OVERDUE
    assert statuses["M12"].status is TaskStatus.UPCOMING and not statuses["M12"].remind
    assert [v.key for v in overdue_visits(statuses.values())] == ["M1", "M6"]


def test_follow_up_reminder_starts_before_the_window_opens() -> None:
    visits = follow_up_schedule(date(2026, 3, 2), FollowUpPlan())
    m1 = visits[0]  # due 2 Apr, window opens 19 Mar, remind from 5 Mar
    assert m1.remind_on == date(2026, 3, 5)
    (status,) = follow_up_status([m1], date(2026, 3, 6), {})
    assert status.status is TaskStatus.UPCOMING and status.remind
    (status,) = follow_up_status([m1], date(2026, 3, 19), {})
    assert status.status is TaskStatus.DUE


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2080, 12, 31)), st.integers(5, 15))
def test_follow_up_visits_are_in_order_and_reach_the_last_year(infusion: date, years: int) -> None:
    visits = follow_up_schedule(infusion, FollowUpPlan(long_term_years=years))
    dues = [v.due for v in visits]
    assert dues == sorted(dues) and len(set(dues)) == len(dues)
    assert visits[-1].due == add_months(infusion, 12 * years)
