"""Adverse-event reporting clocks: product limit (T-7.10-b) and REGULATORY.md §F items 50-51, table (b).

Table-driven over every row of table (b) (REGULATORY.md item 50's test).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cellchain.domain.reporting_clocks import (
    REGULATORY_CLOCKS,
    DutyState,
    EventFacts,
    ReportingRule,
    Setting,
    due_time,
    duty_status,
    overdue_duties,
    product_reporting_duty,
    regulatory_reporting_duties,
)

CST = timezone(timedelta(hours=8))
AWARE = datetime(2026, 3, 2, 15, 30, tzinfo=CST)  # day 0


def end_of_day(days_after: int) -> datetime:
    return datetime(2026, 3, 3, 0, 0, tzinfo=CST) + timedelta(days=days_after)


TRIAL_SUSAR_FATAL = EventFacts(
    Setting.TRIAL, serious=True, unexpected=True, suspected_related=True, fatal=True
)
TRIAL_SUSAR_OTHER = EventFacts(Setting.TRIAL, serious=True, unexpected=True, suspected_related=True)
MARKET_SERIOUS = EventFacts(Setting.MARKETED, serious=True)
MARKET_SERIOUS_UNEXPECTED = EventFacts(Setting.MARKETED, serious=True, unexpected=True)
MARKET_DEATH = EventFacts(Setting.MARKETED, serious=True, fatal=True)
MARKET_NON_SERIOUS = EventFacts(Setting.MARKETED, serious=False)

TABLE_B = [
    # jurisdiction, facts, expected {duty: due}
    ("CN", MARKET_SERIOUS, {"adr_serious": end_of_day(15)}),
    ("CN", MARKET_DEATH, {"adr_serious": end_of_day(15), "adr_death": AWARE + timedelta(hours=24)}),
    ("CN", MARKET_NON_SERIOUS, {"adr_non_serious": end_of_day(30)}),
    ("CN", TRIAL_SUSAR_FATAL, {"susar_fatal": end_of_day(7), "sae_to_sponsor": AWARE + timedelta(hours=24)}),
    ("CN", TRIAL_SUSAR_OTHER, {"susar_other": end_of_day(15), "sae_to_sponsor": AWARE + timedelta(hours=24)}),
    ("US", MARKET_SERIOUS_UNEXPECTED, {"adr_serious_unexpected": end_of_day(15)}),
    ("US", MARKET_SERIOUS, {}),  # serious but expected: periodic reporting only
    ("US", MARKET_NON_SERIOUS, {}),  # periodic: quarterly, then annual
    ("US", TRIAL_SUSAR_FATAL, {"susar_fatal": end_of_day(7), "sae_to_sponsor": AWARE + timedelta(hours=24)}),
    ("US", TRIAL_SUSAR_OTHER, {"susar_other": end_of_day(15), "sae_to_sponsor": AWARE + timedelta(hours=24)}),
    ("EU", MARKET_SERIOUS, {"adr_serious": end_of_day(15)}),
    ("EU", MARKET_NON_SERIOUS, {"adr_non_serious": end_of_day(90)}),
    ("EU", TRIAL_SUSAR_FATAL, {"susar_fatal": end_of_day(7), "sae_to_sponsor": AWARE + timedelta(hours=24)}),
    ("EU", TRIAL_SUSAR_OTHER, {"susar_other": end_of_day(15), "sae_to_sponsor": AWARE + timedelta(hours=24)}),
]


@pytest.mark.parametrize(
    ("jurisdiction", "facts", "expected"), TABLE_B, ids=[f"{r[0]}-{i}" for i, r in enumerate(TABLE_B)]
)
def test_regulatory_clock_due_dates_follow_table_b(
    jurisdiction: str, facts: EventFacts, expected: dict[str, datetime]
) -> None:
    duties = regulatory_reporting_duties(facts, AWARE, jurisdiction)
    assert {d.duty: d.due for d in duties} == expected


def test_every_table_row_is_exercised_by_the_table_driven_test() -> None:
    exercised = set()
    for jurisdiction, facts, _ in TABLE_B:
        exercised |= {
            (jurisdiction, r.setting, r.duty)
            for r in REGULATORY_CLOCKS
            if r.jurisdiction == jurisdiction and r.applies(facts)
        }
    assert exercised == {(r.jurisdiction, r.setting, r.duty) for r in REGULATORY_CLOCKS}


def test_non_serious_trial_event_has_no_expedited_clock() -> None:
    assert regulatory_reporting_duties(EventFacts(Setting.TRIAL, serious=False), AWARE, "CN") == ()


def test_serious_expected_trial_event_goes_to_the_sponsor_but_is_not_a_susar() -> None:
    duties = regulatory_reporting_duties(
        EventFacts(Setting.TRIAL, serious=True, suspected_related=True), AWARE, "EU"
    )
    assert [d.duty for d in duties] == ["sae_to_sponsor"]


def test_day_0_is_awareness_and_calendar_clocks_end_at_midnight_local() -> None:
    late_evening = datetime(2026, 3, 2, 23, 59, tzinfo=CST)
    assert due_time(late_evening, timedelta(days=7), calendar_days=True) == datetime(
        2026, 3, 10, 0, 0, tzinfo=CST
    )


def test_fatal_event_must_be_serious() -> None:
    with pytest.raises(ValueError, match="serious by definition"):
        EventFacts(Setting.MARKETED, serious=False, fatal=True)


def test_a_site_can_configure_its_own_clock() -> None:
    stricter = (
        ReportingRule(
            "CN",
            Setting.MARKETED,
            "adr_serious",
            "regulator",
            timedelta(days=7),
            True,
            "site SOP",
            serious=True,
        ),
    )
    (duty,) = regulatory_reporting_duties(MARKET_SERIOUS, AWARE, "CN", stricter)
    assert duty.due == end_of_day(7) and duty.basis == "site SOP"


def test_product_deadline_counts_from_awareness() -> None:
    duty = product_reporting_duty(AWARE, timedelta(hours=24))
    assert (duty.recipient, duty.due) == ("manufacturer", AWARE + timedelta(hours=24))
    with pytest.raises(ValueError, match="must be positive"):
        product_reporting_duty(AWARE, timedelta(0))


def test_unsent_duty_past_due_is_on_the_overdue_list() -> None:
    to_manufacturer = product_reporting_duty(AWARE, timedelta(hours=48))
    duties = (*regulatory_reporting_duties(TRIAL_SUSAR_FATAL, AWARE, "CN"), to_manufacturer)
    now = AWARE + timedelta(hours=30)
    overdue = overdue_duties(duties, {}, now)
    assert [s.duty.duty for s in overdue] == ["sae_to_sponsor"]
    assert overdue[0].late_by == timedelta(hours=6)
    assert overdue_duties(duties, {"sae_to_sponsor": AWARE + timedelta(hours=2)}, now) == ()


def test_duty_sent_late_is_recorded_as_late_not_overdue() -> None:
    duty = product_reporting_duty(AWARE, timedelta(hours=24))
    status = duty_status(duty, AWARE + timedelta(hours=25), AWARE + timedelta(hours=30))
    assert (status.state, status.late_by) == (DutyState.SENT_LATE, timedelta(hours=1))
    assert duty_status(duty, None, AWARE + timedelta(hours=1)).state is DutyState.PENDING
    assert duty_status(duty, AWARE, AWARE + timedelta(days=9)).state is DutyState.SENT_ON_TIME


def test_naive_awareness_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        product_reporting_duty(datetime(2026, 3, 2, 15, 30), timedelta(hours=24))


def test_unverified_sources_are_marked() -> None:
    by_key = {(r.jurisdiction, r.duty): r for r in REGULATORY_CLOCKS}
    assert by_key[("US", "susar_fatal")].verified
    assert not by_key[("EU", "susar_fatal")].verified
