"""X/mR chart limits and the Western Electric / Nelson rules (issue 14 item 5; cellchain.domain.spc)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cellchain.domain.spc import (
    D2,
    D4,
    RULE_SETS,
    RuleCode,
    RuleSet,
    Side,
    SpcError,
    Violation,
    XmrLimits,
    individuals_chart,
    moving_ranges,
    mr_violations,
    rule_violations,
    xmr_limits,
)

NIST_FLOW_RATE = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]

# Limits with centre 0 and sigma 1, so the zones are the integers: a value's distance is its own number.
UNIT = XmrLimits(centre=0.0, sigma=1.0, ucl=3.0, lcl=-3.0, mr_centre=D2, mr_ucl=D4 * D2, baseline=20)


def _found(values: list[float], *codes: RuleCode) -> list[tuple[RuleCode, tuple[int, ...], Side]]:
    return [(v.rule, v.points, v.side) for v in rule_violations(values, UNIT, codes)]


class TestLimits:
    def test_the_nist_flow_rate_example_gives_the_handbooks_limits(self) -> None:
        """NIST/SEMATECH e-Handbook of Statistical Methods, 6.3.2.2 "Individuals Control Charts"
        (https://www.itl.nist.gov/div898/handbook/pmc/section3/pmc322.htm): flow rate of the first ten
        batches of a new process. The handbook gives x-bar = 50.81, mR-bar = 1.8778, mR chart UCL = 6.13,
        X chart UCL = 55.80 and LCL = 45.82; the process is in control (nothing flagged)."""
        chart = individuals_chart(NIST_FLOW_RATE)
        limits = chart.limits
        assert limits is not None
        assert limits.centre == pytest.approx(50.81)
        assert limits.mr_centre == pytest.approx(1.8778, abs=5e-5)
        assert round(limits.mr_ucl, 2) == 6.13
        assert round(limits.ucl, 2) == 55.80
        assert round(limits.lcl, 2) == 45.82
        assert limits.mr_lcl == 0.0
        assert moving_ranges(NIST_FLOW_RATE) == pytest.approx([2.0, 2.3, 1.4, 3.5, 3.4, 1.4, 0.2, 1.2, 1.5])
        assert chart.violations == () and chart.mr_violations == ()

    def test_sigma_is_the_mean_moving_range_over_d2(self) -> None:
        limits = xmr_limits([10, 12, 11, 13])
        assert limits.mr_centre == pytest.approx(5 / 3)
        assert limits.sigma == pytest.approx(5 / 3 / 1.128)
        assert limits.mr_ucl == pytest.approx(3.267 * 5 / 3)

    def test_a_baseline_fixes_the_limits_on_the_first_values_and_judges_the_rest(self) -> None:
        """Phase II: limits from the first ten, a later shift of the mean is flagged against them."""
        values = [*NIST_FLOW_RATE, 60.0, 61.0]
        chart = individuals_chart(values, baseline=10)
        assert chart.limits is not None and chart.limits.baseline == 10
        assert chart.limits.ucl == pytest.approx(individuals_chart(NIST_FLOW_RATE).limits.ucl)  # type: ignore[union-attr]
        beyond = [v for v in chart.violations if v.rule is RuleCode.BEYOND_3_SIGMA]
        assert beyond == [Violation(RuleCode.BEYOND_3_SIGMA, (10,), Side.ABOVE),
                          Violation(RuleCode.BEYOND_3_SIGMA, (11,), Side.ABOVE)]  # fmt: skip

    def test_fewer_than_two_values_give_a_chart_without_limits(self) -> None:
        for values in ([], [5.0]):
            chart = individuals_chart(values)
            assert chart.limits is None and chart.violations == ()
        with pytest.raises(SpcError, match="at least two"):
            xmr_limits([1.0])

    def test_a_value_that_is_not_a_number_is_refused_with_its_position(self) -> None:
        with pytest.raises(SpcError, match="value 2 is nan"):
            individuals_chart([1.0, 2.0, math.nan])

    def test_a_baseline_below_two_is_refused(self) -> None:
        with pytest.raises(SpcError, match="baseline 1"):
            individuals_chart([1.0, 2.0, 3.0], baseline=1)

    def test_constant_values_have_zero_sigma_and_flag_nothing(self) -> None:
        chart = individuals_chart([7.0] * 12)
        assert chart.limits is not None and chart.limits.sigma == 0 and chart.limits.ucl == 7.0
        assert chart.violations == ()


class TestWesternElectricRules:
    """Known answers built on centre 0 and sigma 1 (Western Electric Statistical Quality Control Handbook,
    1956, pp. 25-28; the zones are then the integers)."""

    def test_rule_1_one_point_beyond_three_sigma_either_side(self) -> None:
        assert _found([0.5, 3.2, -0.1, -3.01, 3.0], RuleCode.BEYOND_3_SIGMA) == [
            (RuleCode.BEYOND_3_SIGMA, (1,), Side.ABOVE),
            (RuleCode.BEYOND_3_SIGMA, (3,), Side.BELOW),
        ]  # 3.0 sits on the limit: not beyond it

    def test_rule_2_two_of_three_beyond_two_sigma_on_the_same_side(self) -> None:
        assert _found([2.5, 0.3, 2.1, 0.0, 0.0], RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA) == [
            (RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA, (0, 2), Side.ABOVE)
        ]

    def test_rule_2_needs_the_same_side(self) -> None:
        assert _found([2.5, -2.5, 0.0, 2.2, -2.2], RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA) == []

    def test_rule_3_four_of_five_beyond_one_sigma_on_the_same_side(self) -> None:
        assert _found([-1.5, -1.2, 0.4, -1.1, -2.5, 0.0], RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA) == [
            (RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA, (0, 1, 3, 4), Side.BELOW)
        ]

    def test_rule_3_three_of_five_is_not_enough(self) -> None:
        assert _found([1.5, 1.2, 0.4, 0.1, 2.5], RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA) == []

    def test_rule_4_eight_in_a_row_on_one_side_and_a_longer_run_is_one_violation(self) -> None:
        values = [-0.5, *[0.2] * 10, -0.3]
        assert _found(values, RuleCode.EIGHT_ON_ONE_SIDE) == [
            (RuleCode.EIGHT_ON_ONE_SIDE, tuple(range(1, 11)), Side.ABOVE)
        ]

    def test_rule_4_seven_in_a_row_or_a_point_on_the_centre_line_is_no_run(self) -> None:
        assert _found([0.1] * 7, RuleCode.EIGHT_ON_ONE_SIDE) == []
        assert _found([0.1] * 4 + [0.0] + [0.1] * 4, RuleCode.EIGHT_ON_ONE_SIDE) == []

    def test_a_shifted_process_trips_several_rules_at_once(self) -> None:
        """A sustained shift of +2.5 sigma after five points: rules 2, 3 and 4 all see it."""
        values = [0.1, -0.2, 0.3, -0.1, 0.2, *[2.5] * 8]
        codes = {v.rule for v in rule_violations(values, UNIT, RuleSet.WESTERN_ELECTRIC)}
        assert codes == {
            RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA,
            RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA,
            RuleCode.EIGHT_ON_ONE_SIDE,
        }


class TestNelsonRules:
    """Known answers for Nelson's tests (L. S. Nelson, J. Quality Technology 16(4), 1984, pp. 237-239)."""

    def test_test_2_nine_in_a_row_where_western_electric_needs_eight(self) -> None:
        eight = [0.4] * 8
        assert _found(eight, RuleCode.NINE_ON_ONE_SIDE) == []
        assert _found([*eight, 0.4], RuleCode.NINE_ON_ONE_SIDE) == [
            (RuleCode.NINE_ON_ONE_SIDE, tuple(range(9)), Side.ABOVE)
        ]

    def test_test_3_six_points_steadily_decreasing_is_a_trend(self) -> None:
        values = [0.9, 0.6, 0.2, -0.1, -0.4, -0.8, -0.5]
        assert _found(values, RuleCode.SIX_TRENDING) == [
            (RuleCode.SIX_TRENDING, (0, 1, 2, 3, 4, 5), Side.BOTH)
        ]

    def test_test_3_a_tie_breaks_the_trend(self) -> None:
        assert _found([0.1, 0.2, 0.3, 0.3, 0.4, 0.5], RuleCode.SIX_TRENDING) == []

    def test_test_4_fourteen_alternating(self) -> None:
        values = [0.5 if i % 2 else -0.5 for i in range(14)]
        assert _found(values, RuleCode.FOURTEEN_ALTERNATING)[0][1] == tuple(range(14))
        assert _found(values[:13], RuleCode.FOURTEEN_ALTERNATING) == []

    def test_test_7_fifteen_within_one_sigma(self) -> None:
        values = [0.3, -0.4] * 7 + [0.5]
        assert _found(values, RuleCode.FIFTEEN_WITHIN_1_SIGMA) == [
            (RuleCode.FIFTEEN_WITHIN_1_SIGMA, tuple(range(15)), Side.BOTH)
        ]

    def test_test_8_eight_beyond_one_sigma_on_either_side(self) -> None:
        values = [1.5, -1.5] * 4
        assert _found(values, RuleCode.EIGHT_OUTSIDE_1_SIGMA) == [
            (RuleCode.EIGHT_OUTSIDE_1_SIGMA, tuple(range(8)), Side.BOTH)
        ]

    def test_the_nelson_set_has_his_eight_tests(self) -> None:
        assert len(RULE_SETS[RuleSet.NELSON]) == 8
        assert RuleCode.EIGHT_ON_ONE_SIDE not in RULE_SETS[RuleSet.NELSON]


class TestMovingRangeChart:
    def test_a_jump_above_the_mr_ucl_names_both_values(self) -> None:
        values = [0.0, 0.5, 0.0, 0.5, 0.0, 5.0]
        limits = xmr_limits(values[:5])
        assert mr_violations(values, limits) == (Violation(RuleCode.MR_BEYOND_UCL, (4, 5), Side.ABOVE),)

    def test_mr_is_not_an_x_chart_rule(self) -> None:
        with pytest.raises(SpcError, match="mr_violations"):
            rule_violations([1.0, 2.0], UNIT, [RuleCode.MR_BEYOND_UCL])

    def test_flags_collect_the_rules_per_point(self) -> None:
        chart = individuals_chart([0.0, 0.1, 0.0, 0.1, 0.0, 0.1, 0.0, 9.0], baseline=7)
        assert chart.flags()[7] == (RuleCode.BEYOND_3_SIGMA, RuleCode.MR_BEYOND_UCL)
        assert 6 in chart.flags()  # the mR from 6 to 7 names both values


# -- properties ---------------------------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
series = st.lists(finite, min_size=2, max_size=60)
# Values on a grid of quarters: exact in binary, so negation and reversal keep every comparison exact.
quarters = st.lists(st.integers(min_value=-20, max_value=20).map(lambda q: q / 4), min_size=0, max_size=40)
every_rule = tuple(code for code in RuleCode if code is not RuleCode.MR_BEYOND_UCL)


@settings(max_examples=200, deadline=None)
@given(series)
def test_the_limits_sit_three_sigma_either_side_of_the_mean(values: list[float]) -> None:
    limits = xmr_limits(values)
    assert limits.sigma >= 0
    assert limits.ucl - limits.centre == pytest.approx(3 * limits.sigma, rel=1e-9, abs=1e-6)
    assert limits.centre - limits.lcl == pytest.approx(3 * limits.sigma, rel=1e-9, abs=1e-6)
    assert limits.mr_ucl == pytest.approx(D4 * limits.mr_centre)
    assert min(values) - 1e-6 <= limits.centre <= max(values) + 1e-6


@settings(max_examples=200, deadline=None)
@given(series, st.floats(min_value=0.01, max_value=100), st.floats(min_value=-1e3, max_value=1e3))
def test_limits_follow_a_change_of_units(values: list[float], scale: float, shift: float) -> None:
    """Reading the same batches in other units (x -> a x + b, a > 0) moves and stretches the chart alike."""
    before, after = xmr_limits(values), xmr_limits([scale * v + shift for v in values])
    tol = 1e-6 * (1 + scale) * (1 + max(abs(v) for v in values))
    assert after.centre == pytest.approx(scale * before.centre + shift, abs=tol)
    assert after.sigma == pytest.approx(scale * before.sigma, abs=tol)


@settings(max_examples=300, deadline=None)
@given(quarters)
def test_every_violation_names_points_of_the_series_in_order(values: list[float]) -> None:
    for violation in rule_violations(values, UNIT, every_rule):
        assert violation.points, violation
        assert list(violation.points) == sorted(set(violation.points))
        assert violation.points[0] >= 0 and violation.last < len(values)


@settings(max_examples=300, deadline=None)
@given(quarters)
def test_mirroring_the_series_mirrors_the_sides_and_nothing_else(values: list[float]) -> None:
    """Negating every value about the centre line swaps above and below, for every rule."""
    swap = {Side.ABOVE: Side.BELOW, Side.BELOW: Side.ABOVE, Side.BOTH: Side.BOTH}
    found = {(v.rule, v.points, swap[v.side]) for v in rule_violations(values, UNIT, every_rule)}
    mirrored = {(v.rule, v.points, v.side) for v in rule_violations([-x for x in values], UNIT, every_rule)}
    assert found == mirrored


@settings(max_examples=300, deadline=None)
@given(quarters)
def test_reading_the_series_backwards_finds_the_same_patterns(values: list[float]) -> None:
    """No rule depends on the direction of time (a rising trend read backwards is a falling one)."""
    n = len(values)
    forwards = {(v.rule, v.points, v.side) for v in rule_violations(values, UNIT, every_rule)}
    backwards = {
        (v.rule, tuple(sorted(n - 1 - p for p in v.points)), v.side)
        for v in rule_violations(values[::-1], UNIT, every_rule)
    }
    assert forwards == backwards


@settings(max_examples=300, deadline=None)
@given(quarters)
def test_a_run_of_nine_is_always_inside_a_run_of_eight(values: list[float]) -> None:
    eights = [set(v.points) for v in rule_violations(values, UNIT, [RuleCode.EIGHT_ON_ONE_SIDE])]
    for nine in rule_violations(values, UNIT, [RuleCode.NINE_ON_ONE_SIDE]):
        assert any(set(nine.points) <= eight for eight in eights)


@settings(max_examples=300, deadline=None)
@given(quarters)
def test_a_point_beyond_three_sigma_is_always_flagged_and_nothing_else_is(values: list[float]) -> None:
    flagged = {v.points[0] for v in rule_violations(values, UNIT, [RuleCode.BEYOND_3_SIGMA])}
    assert flagged == {i for i, x in enumerate(values) if abs(x) > 3}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=-0.95, max_value=0.95), min_size=0, max_size=40))
def test_points_within_one_sigma_never_trip_the_zone_rules(values: list[float]) -> None:
    zone_rules = [
        RuleCode.BEYOND_3_SIGMA,
        RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA,
        RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA,
        RuleCode.EIGHT_OUTSIDE_1_SIGMA,
    ]
    assert rule_violations(values, UNIT, zone_rules) == ()
