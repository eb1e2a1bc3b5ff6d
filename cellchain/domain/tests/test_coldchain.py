"""Cold-chain analysis (T-7.7-a/b, T-8.1.5-a..c, T-8.1.6-d, P-1.3.1-e/f)."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cellchain.domain.coldchain import (
    DEFAULT_LIMITS,
    ColdChainSpec,
    FindingKind,
    MktFormula,
    ShipperKind,
    TemperatureLimits,
    analyse_cold_chain,
    mean_kinetic_temperature,
    mean_kinetic_temperature_equal_weight,
    readings_trace,
    trace_of,
)

T0 = 1_772_323_200.0  # 2026-03-01T00:00:00Z
MINUTE = 60.0
LN2 = ColdChainSpec(DEFAULT_LIMITS[ShipperKind.LN2_DRY_SHIPPER], interval_s=MINUTE, transit_limit_s=72 * 3600)
FRESH = ColdChainSpec(DEFAULT_LIMITS[ShipperKind.FRESH_2_8], interval_s=MINUTE, transit_limit_s=48 * 3600)


def minutes(n: int) -> np.ndarray:
    return T0 + MINUTE * np.arange(n)


def analyse(celsius, spec=LN2, times=None, **window):
    celsius = np.asarray(celsius, dtype=float)
    times = minutes(celsius.size) if times is None else np.asarray(times, dtype=float)
    window.setdefault("dispatched_at", float(times[0]) if times.size else T0)
    window.setdefault("arrived_at", float(times[-1]) if times.size else T0 + 3600)
    return analyse_cold_chain(trace_of(times, celsius, "logger.csv"), spec, **window)


def kinds(verdict):
    return [f.kind for f in verdict.findings]


# --- limits -----------------------------------------------------------------------------------------


def test_default_limits_follow_the_clauses():
    """Shipper limits: LN2 <= -150 °C; cryo apheresis <= -130 °C (P-1.3.1-f); fresh 2-8 °C (P-1.3.1-e)."""
    assert DEFAULT_LIMITS[ShipperKind.LN2_DRY_SHIPPER].max_c == -150.0
    assert DEFAULT_LIMITS[ShipperKind.CRYOPRESERVED_APHERESIS].max_c == -130.0
    fresh = DEFAULT_LIMITS[ShipperKind.FRESH_2_8]
    assert (fresh.min_c, fresh.max_c) == (2.0, 8.0)


def test_limits_refuse_an_inverted_range():
    with pytest.raises(ValueError, match="below maximum"):
        TemperatureLimits(ShipperKind.FRESH_2_8, 8.0, 2.0)


def test_limit_itself_is_within_range():
    verdict = analyse([-150.0] * 10)
    assert verdict.within_limits
    assert verdict.excursions == ()


# --- clean record -----------------------------------------------------------------------------------


def test_clean_cryogenic_record_is_within_limits_and_has_no_mkt():
    """MKT is never applied to cryogenic shipments, and the result says so (USP <1079.2>)."""
    verdict = analyse(np.full(500, -185.0))
    assert verdict.within_limits
    assert verdict.findings == ()
    assert verdict.mkt_c is None
    assert "cryogenic" in verdict.mkt_note
    assert verdict.summary.readings_analysed == 500


def test_readings_accept_aware_datetimes():
    start = datetime(2026, 3, 1, 8, tzinfo=UTC)
    trace = readings_trace([(start + timedelta(minutes=i), -180.0) for i in range(5)])
    verdict = analyse_cold_chain(trace, LN2, dispatched_at=start, arrived_at=start + timedelta(minutes=4))
    assert verdict.within_limits
    assert verdict.transit_s == 240


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        readings_trace([(datetime(2026, 3, 1, 8), -180.0)])


# --- excursions -------------------------------------------------------------------------------------


def test_excursion_reports_start_end_duration_and_extreme():
    """T-8.1.5-b: a run above the limit with its start, return into range and warmest reading."""
    celsius = np.full(100, -185.0)
    celsius[40:46] = [-149.0, -140.0, -132.5, -141.0, -145.0, -149.9]
    verdict = analyse(celsius)
    assert not verdict.within_limits
    (exc,) = verdict.excursions
    assert exc.start == T0 + 40 * MINUTE
    assert exc.last_out_at == T0 + 45 * MINUTE
    assert exc.end == T0 + 46 * MINUTE  # first reading back in range
    assert exc.duration_s == 6 * MINUTE
    assert exc.extreme_c == -132.5
    assert exc.limit_c == -150.0
    assert exc.side == "above"
    assert verdict.time_out_of_range_s == 6 * MINUTE
    (finding,) = verdict.findings
    assert finding.kind is FindingKind.EXCURSION and finding.clause == "T-8.1.5-b"
    assert "-132.5 °C" in finding.reason and "6 min" in finding.reason


def test_fresh_excursion_below_range_reports_coldest_reading():
    celsius = np.full(30, 5.0)
    celsius[10:12] = [1.0, 0.4]
    (exc,) = analyse(celsius, FRESH).excursions
    assert exc.side == "below" and exc.extreme_c == 0.4 and exc.limit_c == 2.0


def test_excursions_are_maximal_runs_and_summed():
    celsius = np.full(50, -185.0)
    celsius[[5, 6, 20, 49]] = -100.0
    verdict = analyse(celsius)
    assert [(e.readings, e.open_ended) for e in verdict.excursions] == [(2, False), (1, False), (1, True)]
    assert verdict.time_out_of_range_s == 2 * MINUTE + MINUTE + 0.0


def test_record_ending_out_of_range_is_open_ended():
    celsius = np.full(20, -185.0)
    celsius[-3:] = -120.0
    verdict = analyse(celsius)
    assert verdict.excursions[-1].open_ended
    assert "ends out of range" in verdict.reasons[0]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(min_value=-200, max_value=-100, allow_nan=False), min_size=2, max_size=300))
def test_every_reading_out_of_range_lies_inside_an_excursion(celsius):
    """Property (T-8.1.5-b): no out-of-range reading escapes the excursion list."""
    verdict = analyse(celsius)
    times = minutes(len(celsius))
    for t, c in zip(times, celsius, strict=True):
        if c > -150.0:
            assert any(e.start <= t <= e.last_out_at for e in verdict.excursions)
    assert verdict.within_limits == all(c <= -150.0 for c in celsius)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(min_value=-200, max_value=-100, allow_nan=False), min_size=2, max_size=200),
    st.lists(st.integers(min_value=1, max_value=199), max_size=5),
    st.randoms(use_true_random=False),
)
def test_splitting_a_record_into_files_never_hides_an_excursion(celsius, cuts, rnd):
    """Property: the same readings split into several files, given in any order, give the same verdict."""
    times = minutes(len(celsius))
    whole = analyse(celsius)
    bounds = sorted({c for c in cuts if c < len(celsius)} | {0, len(celsius)})
    parts = [
        trace_of(times[a:b], np.asarray(celsius[a:b]), f"part{a}") for a, b in itertools.pairwise(bounds)
    ]
    rnd.shuffle(parts)
    split = analyse_cold_chain(parts, LN2, dispatched_at=times[0], arrived_at=times[-1])
    assert split.within_limits == whole.within_limits
    assert split.excursions == whole.excursions


# --- gaps, coverage, arming, arrival ------------------------------------------------------------------


def test_gap_longer_than_twice_the_interval_is_a_finding():
    """T-8.1.5-a: missing readings for more than two intervals make the record not continuous."""
    times = np.concatenate([minutes(10), T0 + MINUTE * np.arange(13, 20)])
    verdict = analyse(np.full(times.size, -185.0), times=times)
    assert not verdict.within_limits
    (gap,) = verdict.gaps
    assert (gap.start, gap.end) == (T0 + 9 * MINUTE, T0 + 13 * MINUTE)
    assert kinds(verdict) == [FindingKind.GAP]


def test_one_missed_reading_is_listed_but_not_a_gap():
    times = np.delete(minutes(20), 5)
    verdict = analyse(np.full(times.size, -185.0), times=times)
    assert verdict.within_limits
    assert kinds(verdict) == [FindingKind.LATE_READINGS]


def test_record_not_covering_dispatch_or_arrival_is_not_within_limits():
    verdict = analyse(np.full(10, -185.0), dispatched_at=T0 - 3600, arrived_at=T0 + 9 * MINUTE + 3600)
    assert not verdict.within_limits
    assert [(g.start, g.end) for g in verdict.gaps] == [
        (T0 - 3600, T0),
        (T0 + 9 * MINUTE, T0 + 9 * MINUTE + 3600),
    ]


def test_readings_before_arming_are_ignored_and_reported():
    spec = ColdChainSpec(LN2.limits, MINUTE, LN2.transit_limit_s, armed_at=T0 + 5 * MINUTE)
    celsius = np.full(30, -185.0)
    celsius[:5] = 20.0  # room temperature while the shipper was being packed
    verdict = analyse(celsius, spec, dispatched_at=T0 + 5 * MINUTE)
    assert verdict.within_limits
    assert verdict.excursions == ()
    (note,) = verdict.findings
    assert note.kind is FindingKind.BEFORE_ARMING and not note.blocking and note.count == 5
    assert verdict.summary.readings_before_arming == 5


def test_logger_armed_after_dispatch_leaves_the_start_uncovered():
    spec = ColdChainSpec(LN2.limits, MINUTE, LN2.transit_limit_s, armed_at=T0 + 30 * MINUTE)
    verdict = analyse(np.full(60, -185.0), spec)
    assert not verdict.within_limits
    assert FindingKind.GAP in kinds(verdict) and FindingKind.BEFORE_ARMING in kinds(verdict)


def test_readings_after_arrival_are_ignored_and_reported():
    celsius = np.full(30, -185.0)
    celsius[25:] = 15.0  # shipper opened at the hospital
    verdict = analyse(celsius, arrived_at=T0 + 24 * MINUTE)
    assert verdict.within_limits
    assert kinds(verdict) == [FindingKind.AFTER_ARRIVAL]


# --- never a false "within limits" ------------------------------------------------------------------


def test_no_readings_is_not_within_limits():
    verdict = analyse([], times=[], dispatched_at=T0, arrived_at=T0 + 3600)
    assert not verdict.within_limits
    assert kinds(verdict) == [FindingKind.NO_READINGS]


def test_single_reading_is_too_little_data():
    verdict = analyse([-185.0], dispatched_at=T0, arrived_at=T0)
    assert not verdict.within_limits
    assert FindingKind.TOO_FEW_READINGS in kinds(verdict)


def test_unknown_dispatch_or_arrival_is_not_within_limits():
    assert kinds(analyse(np.full(5, -185.0), dispatched_at=None)) == [FindingKind.DISPATCH_UNKNOWN]
    assert kinds(analyse(np.full(5, -185.0), arrived_at=None)) == [FindingKind.ARRIVAL_UNKNOWN]


@pytest.mark.parametrize("sentinel", [999.0, -999.0, math.nan])
def test_disconnected_probe_is_a_fault_not_a_temperature(sentinel):
    """A 999 from a disconnected probe is neither a temperature nor silently dropped (T-8.1.6-d)."""
    celsius = np.full(20, -185.0)
    celsius[7] = sentinel
    verdict = analyse(celsius)
    assert not verdict.within_limits
    assert verdict.excursions == ()
    (fault,) = [f for f in verdict.findings if f.kind is FindingKind.PROBE_FAULT]
    assert fault.count == 1 and fault.start == T0 + 7 * MINUTE
    assert verdict.summary.probe_faults == 1
    assert verdict.summary.highest_c == -185.0


def test_sentinels_are_configurable():
    spec = ColdChainSpec(LN2.limits, MINUTE, LN2.transit_limit_s, sentinels_c=frozenset({-300.0}))
    celsius = np.full(10, -185.0)
    celsius[3] = -300.0
    assert FindingKind.PROBE_FAULT in kinds(analyse(celsius, spec))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([-185.0, -120.0, 999.0, math.nan]), min_size=0, max_size=60), st.data())
def test_within_limits_only_when_every_analysed_reading_is_a_good_temperature(values, data):
    """Property: "within limits" implies enough good readings, none out of range, no fault and no gap."""
    keep = data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    times = minutes(len(values))[np.asarray(keep, dtype=bool)] if values else np.empty(0)
    chosen = np.asarray(values, dtype=float)[np.asarray(keep, dtype=bool)] if values else np.empty(0)
    verdict = analyse(chosen, times=times, dispatched_at=T0, arrived_at=T0 + MINUTE * max(len(values) - 1, 0))
    if verdict.within_limits:
        assert chosen.size >= 2
        assert bool(np.all(chosen == -185.0))
        assert bool(np.all(np.diff(np.concatenate([[T0], times, [T0 + MINUTE * (len(values) - 1)]])) <= 120))


# --- clock trouble ----------------------------------------------------------------------------------


def test_out_of_order_times_are_reported_and_block():
    times = minutes(10)
    times[[4, 5]] = times[[5, 4]]
    verdict = analyse(np.full(10, -185.0), times=times)
    assert not verdict.within_limits
    (finding,) = verdict.findings
    assert finding.kind is FindingKind.OUT_OF_ORDER and finding.count == 1
    assert "reading 6" in finding.reason


def test_identical_duplicates_are_noted_conflicting_ones_block():
    times = np.concatenate([minutes(10), minutes(10)[[3]]])
    times.sort()
    same = analyse(np.full(11, -185.0), times=times)
    assert same.within_limits and kinds(same) == [FindingKind.DUPLICATE]
    celsius = np.full(11, -185.0)
    celsius[4] = -184.0
    conflicting = analyse(celsius, times=times)
    assert not conflicting.within_limits
    assert kinds(conflicting) == [FindingKind.CONFLICTING_DUPLICATE]


def test_overlapping_exports_of_one_logger_are_noted_not_blocking():
    times, celsius = minutes(100), np.full(100, -185.0)
    first = trace_of(times[:60], celsius[:60], "export-1.csv")
    second = trace_of(times[40:], celsius[40:], "export-2.csv")
    verdict = analyse_cold_chain([second, first], LN2, dispatched_at=times[0], arrived_at=times[-1])
    assert verdict.within_limits
    assert kinds(verdict) == [FindingKind.DUPLICATE]
    assert verdict.findings[0].count == 20


# --- transit ----------------------------------------------------------------------------------------


def test_transit_over_the_limit_is_a_finding():
    """T-8.1.5-c / T-7.7-b: fresh apheresis shipped longer than 48 h."""
    times = T0 + 3600.0 * np.arange(50)
    spec = ColdChainSpec(FRESH.limits, 3600.0, 48 * 3600)
    verdict = analyse(np.full(50, 5.0), spec, times=times)
    (finding,) = verdict.findings
    assert finding.kind is FindingKind.TRANSIT_TOO_LONG and finding.clause == "T-8.1.5-c"
    assert finding.value == 49 * 3600 and finding.limit == 48 * 3600


def test_arrival_before_dispatch_is_a_finding():
    verdict = analyse(np.full(5, -185.0), dispatched_at=T0 + 300, arrived_at=T0)
    assert FindingKind.ARRIVAL_BEFORE_DISPATCH in kinds(verdict)


# --- mean kinetic temperature -----------------------------------------------------------------------


def test_mkt_of_a_constant_temperature_is_that_temperature():
    verdict = analyse(np.full(50, 5.0), FRESH)
    assert verdict.mkt_c == pytest.approx(5.0, abs=1e-9)
    assert "10,000 K" in verdict.mkt_note


def test_mkt_matches_the_usp_formula_for_even_intervals():
    """USP <1079.2>: MKT = (ΔH/R) / -ln(mean(exp(-ΔH/RT))) with ΔH/R = 10,000 K."""
    celsius = np.array([2.0, 8.0, 5.0, 7.0, 3.0, 6.0])
    # Trapezoid weights for even intervals: half weight at both ends.
    weights = np.array([0.5, 1, 1, 1, 1, 0.5])
    kelvin = celsius + 273.15
    expected = 10_000 / -np.log(np.sum(weights * np.exp(-10_000 / kelvin)) / weights.sum()) - 273.15
    assert mean_kinetic_temperature(minutes(6), celsius) == pytest.approx(expected, abs=1e-9)


def test_mkt_weighs_readings_by_the_time_they_cover():
    """Uneven intervals: a long warm stretch counts more than a short cold one."""
    times = np.array([0.0, 60.0, 3600.0, 3660.0])
    celsius = np.array([3.0, 8.0, 8.0, 3.0])
    mkt = mean_kinetic_temperature(times, celsius)
    assert mkt > 7.5
    assert mkt > float(np.mean(celsius))


HOURLY = ColdChainSpec(DEFAULT_LIMITS[ShipperKind.FRESH_2_8], interval_s=3600.0, transit_limit_s=48 * 3600)


def test_equal_weight_and_time_weighted_mkt_differ_as_usp_example_shows():
    """Issue 16: hourly 4, 4, 4, 4, 16 °C is 6.80 °C time-weighted and 8.11 °C equal-weight (USP <1079.2>)."""
    import dataclasses

    celsius = [4.0, 4.0, 4.0, 4.0, 16.0]
    times = T0 + 3600.0 * np.arange(5)
    timed = analyse(celsius, HOURLY, times)
    equal = analyse(celsius, dataclasses.replace(HOURLY, mkt_formula=MktFormula.EQUAL_WEIGHT), times)
    assert round(timed.mkt_c, 2) == 6.80 and "time-weighted" in timed.mkt_note
    assert round(equal.mkt_c, 2) == 8.11 and "equal weight per reading" in equal.mkt_note
    assert mean_kinetic_temperature_equal_weight(np.array(celsius)) == pytest.approx(equal.mkt_c)


def test_equal_weight_mkt_is_not_used_on_unevenly_spaced_readings():
    """Equal weights would misstate a trace with a missing reading: time-weighted is used and said so."""
    import dataclasses

    times = T0 + 3600.0 * np.array([0, 1, 2, 4, 5])
    verdict = analyse([4.0, 4.0, 4.0, 4.0, 16.0], dataclasses.replace(HOURLY, mkt_formula=MktFormula.EQUAL_WEIGHT),
                      times)  # fmt: skip
    assert verdict.mkt_c == pytest.approx(mean_kinetic_temperature(times, np.array([4.0, 4, 4, 4, 16])))
    assert "not equally spaced" in verdict.mkt_note


def test_mkt_lies_between_mean_and_maximum():
    rng = np.random.default_rng(7)
    celsius = rng.uniform(2, 8, 1000)
    mkt = mean_kinetic_temperature(minutes(1000), celsius)
    assert float(np.mean(celsius)) <= mkt <= float(celsius.max())


def test_large_record_is_analysed_in_one_pass():
    """10^5 readings with a probe fault and an excursion: both found, nothing else."""
    celsius = np.full(100_000, -185.0)
    celsius[50_000:50_005] = -120.0
    celsius[70_000] = 999.0
    spec = ColdChainSpec(LN2.limits, MINUTE, transit_limit_s=100 * 24 * 3600)
    verdict = analyse(celsius, spec)
    # The fault leaves one interval without a temperature: listed as late, below the gap threshold.
    assert kinds(verdict) == [FindingKind.EXCURSION, FindingKind.PROBE_FAULT, FindingKind.LATE_READINGS]
    assert verdict.summary.readings_analysed == 99_999


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.0, 60.0, 60.0, 60.0, 100.0, 150.0, 600.0]),
            st.sampled_from([-185.0, -185.0, -140.0, 5.0, 999.0, -999.0, math.nan]),
        ),
        min_size=0,
        max_size=60,
    ),
    st.integers(min_value=0, max_value=60),
    st.sampled_from([ShipperKind.LN2_DRY_SHIPPER, ShipperKind.FRESH_2_8]),
    st.sampled_from([None, T0 - 60, T0 + 300]),
    st.sampled_from([None, T0 + 600, T0 + 3000]),
    st.sampled_from([1.0, 1.2, 2.0]),
)
def test_one_file_and_the_same_readings_in_two_files_give_the_same_verdict(
    steps, cut, kind, armed_at, arrived_at, gap_factor
):
    """Property (T-8.1.5-a): the one-file shortcuts (bisection of the window, no copies when nothing is
    left out, shared intervals) give exactly the verdict of the general path over joined files."""
    times = T0 + np.cumsum([s for s, _ in steps])
    celsius = np.array([c for _, c in steps], dtype=float)
    spec = ColdChainSpec(
        DEFAULT_LIMITS[kind], MINUTE, transit_limit_s=3600.0, armed_at=armed_at, gap_factor=gap_factor
    )
    window = {"dispatched_at": T0, "arrived_at": arrived_at}
    cut = min(cut, len(steps))
    whole = analyse_cold_chain(trace_of(times, celsius, "a.csv"), spec, **window)
    # In file order: a file given later wins ties in time (stable sort), which would reorder duplicates.
    parts = [trace_of(times[:cut], celsius[:cut], "a.csv"), trace_of(times[cut:], celsius[cut:], "b.csv")]
    split = analyse_cold_chain(parts, spec, **window)
    assert split.findings == whole.findings
    assert (split.excursions, split.gaps, split.summary) == (whole.excursions, whole.gaps, whole.summary)
    assert (split.mkt_c, split.time_out_of_range_s) == (whole.mkt_c, whole.time_out_of_range_s)
