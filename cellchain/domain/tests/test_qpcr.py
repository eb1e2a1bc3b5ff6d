"""qPCR standard curve, run acceptance limits and quantification (Q-2.3-a)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cellchain.domain.qpcr import (
    CurveLimits,
    QpcrError,
    StandardPoint,
    evaluate_standard_curve,
    fit_standard_curve,
    quantify,
)


def _standards(
    slope: float, intercept: float = 38.0, levels: int = 6, noise: float = 0.0
) -> list[StandardPoint]:
    points = []
    for level in range(levels):
        quantity = 10.0 ** (6 - level)
        for rep, sign in enumerate((-1, 0, 1)):
            cq = slope * math.log10(quantity) + intercept + sign * noise
            points.append(StandardPoint(quantity, cq, f"{'ABCDEFGH'[level]}{rep + 1}"))
    return points


def test_perfect_dilution_series_has_100_percent_efficiency() -> None:
    curve = fit_standard_curve(_standards(-1 / math.log10(2)))
    assert curve.efficiency == pytest.approx(1.0)
    assert curve.r_squared == pytest.approx(1.0)
    assert curve.levels == 6
    assert evaluate_standard_curve(curve).accepted


def test_fit_recovers_slope_and_intercept() -> None:
    curve = fit_standard_curve(_standards(-3.4, 37.5, noise=0.1))
    assert curve.slope == pytest.approx(-3.4)
    assert curve.intercept == pytest.approx(37.5)
    assert curve.efficiency == pytest.approx(10 ** (1 / 3.4) - 1)


def test_run_rejected_when_slope_is_too_shallow_with_the_failing_checks_named() -> None:
    verdict = evaluate_standard_curve(fit_standard_curve(_standards(-2.9)))
    assert not verdict.accepted
    assert any(r.startswith("slope -2.9 outside -3.6..-3.1") for r in verdict.reasons)
    assert any(r.startswith("efficiency %") and "outside 90..110 %" in r for r in verdict.reasons)


def test_run_rejected_when_r_squared_below_limit() -> None:
    verdict = evaluate_standard_curve(fit_standard_curve(_standards(-3.32, noise=1.5)))
    failing = [c for c in verdict.checks if not c.passed]
    assert [c.check for c in failing] == ["R²"]
    assert not verdict.accepted


def test_run_rejected_with_too_few_levels() -> None:
    verdict = evaluate_standard_curve(fit_standard_curve(_standards(-3.32, levels=2)))
    assert [c.check for c in verdict.checks if not c.passed] == ["quantity levels"]


def test_product_limits_replace_the_defaults() -> None:
    curve = fit_standard_curve(_standards(-3.5))
    assert evaluate_standard_curve(curve).accepted
    strict = CurveLimits(slope_min=-3.45, slope_max=-3.2, source="mycoplasma qPCR method v2")
    verdict = evaluate_standard_curve(curve, strict)
    assert not verdict.accepted
    assert verdict.limits.source == "mycoplasma qPCR method v2"


def test_standards_without_cq_are_excluded_and_listed() -> None:
    points = [*_standards(-3.32), StandardPoint(10.0, None, "H12")]
    curve = fit_standard_curve(points)
    assert [p.well for p in curve.excluded] == ["H12"]
    assert len(curve.points) == 18


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([StandardPoint(100.0, 30.0), StandardPoint(100.0, 30.1)], "fewer than 2 quantity levels"),
        ([StandardPoint(0.0, 30.0), StandardPoint(10.0, 33.0)], "must be > 0"),
        ([StandardPoint(100.0, 30.0), StandardPoint(10.0, 30.0)], "flat curve"),
        ([StandardPoint(100.0, float("nan")), StandardPoint(10.0, 30.0)], "Cq nan"),
    ],
)
def test_impossible_standards_are_refused(points: list[StandardPoint], message: str) -> None:
    with pytest.raises(QpcrError, match=message):
        fit_standard_curve(points)


def test_unknown_within_standards_is_quantified() -> None:
    curve = fit_standard_curve(_standards(-3.32))
    result = quantify(curve, "CT-0001", -3.32 * math.log10(2.4e4) + 38.0)
    assert result.quantity == pytest.approx(2.4e4)
    assert result.within_standards


def test_unknown_outside_standards_is_flagged_as_extrapolated() -> None:
    curve = fit_standard_curve(_standards(-3.32))
    result = quantify(curve, "high", 10.0)
    assert not result.within_standards
    assert "extrapolated" in result.reason


def test_unknown_without_cq_is_not_detected() -> None:
    result = quantify(fit_standard_curve(_standards(-3.32)), "NTC", None)
    assert result.quantity is None and "not detected" in result.reason


@settings(max_examples=100, deadline=None)
@given(st.floats(-4.5, -2.5), st.floats(30, 45), st.floats(1.5, 7.0))
def test_quantity_read_back_from_an_exact_curve_is_the_quantity(
    slope: float, intercept: float, log_q: float
) -> None:
    curve = fit_standard_curve(_standards(slope, intercept))
    cq = slope * log_q + intercept
    assert math.log10(quantify(curve, "x", cq).quantity or 0) == pytest.approx(log_q, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.floats(-4.5, -2.5), st.floats(0, 1.0))
def test_verdict_accepts_iff_every_check_passes(slope: float, noise: float) -> None:
    verdict = evaluate_standard_curve(fit_standard_curve(_standards(slope, noise=noise)))
    assert verdict.accepted == all(c.passed for c in verdict.checks)
    assert 0.0 <= verdict.curve.r_squared <= 1.0 + 1e-12
