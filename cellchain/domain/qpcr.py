"""qPCR standard curve, run acceptance against the product's limits, and quantification (Q-2.3-a).

Q-2.3-a allows VCN by qPCR against a standard curve (e.g. plasmid dilutions) after method validation;
the same curve serves the rapid qPCR methods (mycoplasma Q-2.5-a, RCL Q-2.6-b).

The curve is the least-squares line ``Cq = slope x log10(quantity) + intercept`` over every standard
well with a Cq (replicates count as separate points). ``efficiency = 10^(-1/slope) - 1`` (a slope of
-3.32 is 100 %). A run is accepted only when every limit in :class:`CurveLimits` holds; the verdict
lists each check with its value and limit. Unknowns are read back as ``10^((Cq - intercept)/slope)``;
a Cq outside the standards' Cq range is flagged as extrapolated and a missing Cq as not detected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


class QpcrError(ValueError):
    """The standards cannot give a curve (too few levels, non-positive quantity, flat line)."""


@dataclass(frozen=True)
class CurveLimits:
    """Run acceptance limits; defaults are common practice and the product's method may set others.

    Defaults: slope -3.6..-3.1 (efficiency about 90-110 %), R² >= 0.98, efficiency 90-110 %, at least
    3 quantity levels with a Cq.
    """

    slope_min: float = -3.6
    slope_max: float = -3.1
    min_r_squared: float = 0.98
    efficiency_min: float = 0.90
    efficiency_max: float = 1.10
    min_levels: int = 3
    source: str = "CellChain default qPCR run limits"


@dataclass(frozen=True)
class StandardPoint:
    """One standard well: known quantity (copies) and its Cq, None when it did not amplify."""

    quantity: float
    cq: float | None
    well: str = ""


@dataclass(frozen=True)
class StandardCurve:
    """The fitted line with its inputs: points used, wells left out (no Cq), number of levels."""

    slope: float
    intercept: float
    r_squared: float
    points: tuple[StandardPoint, ...]
    excluded: tuple[StandardPoint, ...]

    @property
    def efficiency(self) -> float:
        return _power_of_ten(-1.0 / self.slope) - 1.0

    @property
    def levels(self) -> int:
        return len({p.quantity for p in self.points})

    @property
    def cq_range(self) -> tuple[float, float]:
        cqs = [p.cq for p in self.points if p.cq is not None]
        return min(cqs), max(cqs)

    def quantity_at(self, cq: float) -> float:
        return _power_of_ten((cq - self.intercept) / self.slope)


def _power_of_ten(exponent: float) -> float:
    try:
        return math.pow(10.0, exponent)
    except OverflowError:
        return math.inf


def fit_standard_curve(standards: Sequence[StandardPoint]) -> StandardCurve:
    """Least-squares Cq vs log10(quantity) over standards with a Cq (Q-2.3-a)."""
    for point in standards:
        if not (math.isfinite(point.quantity) and point.quantity > 0):
            raise QpcrError(f"standard {point.well or '?'} has quantity {point.quantity}; must be > 0")
        if point.cq is not None and not math.isfinite(point.cq):
            raise QpcrError(f"standard {point.well or '?'} has Cq {point.cq}")
    used = tuple(p for p in standards if p.cq is not None)
    excluded = tuple(p for p in standards if p.cq is None)
    if len({p.quantity for p in used}) < 2:
        raise QpcrError(f"{len(used)} standard wells with a Cq over fewer than 2 quantity levels: no curve")
    slope, intercept, r_squared = _least_squares(
        [math.log10(p.quantity) for p in used], [_cq(p) for p in used]
    )
    if slope == 0 or not math.isfinite(slope):
        raise QpcrError("the standards give a flat curve (slope 0): Cq does not change with quantity")
    return StandardCurve(slope, intercept, r_squared, used, excluded)


def _cq(point: StandardPoint) -> float:
    assert point.cq is not None
    return point.cq


def _least_squares(x: list[float], y: list[float]) -> tuple[float, float, float]:
    n = len(x)
    mean_x, mean_y = sum(x) / n, sum(y) / n
    sxx = sum((xi - mean_x) ** 2 for xi in x)
    sxy = sum((xi - mean_x) * (yi - mean_y) for xi, yi in zip(x, y, strict=True))
    syy = sum((yi - mean_y) ** 2 for yi in y)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    r_squared = (sxy * sxy) / (sxx * syy) if syy > 0 else 0.0
    return slope, intercept, r_squared


@dataclass(frozen=True)
class CurveCheck:
    """One acceptance check: what, the value, the limit, and whether it holds."""

    check: str
    value: float
    limit: str
    passed: bool

    def __str__(self) -> str:
        return f"{self.check} {self.value:.4g} {'within' if self.passed else 'outside'} {self.limit}"


@dataclass(frozen=True)
class CurveVerdict:
    """Whether the run is accepted, and every check that led there (Q-2.3-a)."""

    accepted: bool
    curve: StandardCurve
    limits: CurveLimits
    checks: tuple[CurveCheck, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        failed = [str(c) for c in self.checks if not c.passed]
        return tuple(failed) if failed else tuple(str(c) for c in self.checks)


def evaluate_standard_curve(curve: StandardCurve, limits: CurveLimits | None = None) -> CurveVerdict:
    """Accept the run only when slope, R², efficiency and number of levels are within ``limits``."""
    limits = limits or CurveLimits()
    efficiency = curve.efficiency
    checks = (
        CurveCheck("slope", curve.slope, f"{limits.slope_min:g}..{limits.slope_max:g}",
                   limits.slope_min <= curve.slope <= limits.slope_max),
        CurveCheck("R²", curve.r_squared, f">= {limits.min_r_squared:g}", curve.r_squared >= limits.min_r_squared),
        CurveCheck("efficiency %", 100 * efficiency,
                   f"{100 * limits.efficiency_min:g}..{100 * limits.efficiency_max:g} %",
                   limits.efficiency_min <= efficiency <= limits.efficiency_max),
        CurveCheck("quantity levels", curve.levels, f">= {limits.min_levels}", curve.levels >= limits.min_levels),
    )  # fmt: skip
    return CurveVerdict(all(c.passed for c in checks), curve, limits, checks)


@dataclass(frozen=True)
class Quantification:
    """Quantity of an unknown read from the curve, with why it can or cannot be trusted."""

    sample: str
    cq: float | None
    quantity: float | None
    within_standards: bool
    reason: str


def quantify(curve: StandardCurve, sample: str, cq: float | None) -> Quantification:
    """Quantity of ``sample`` from its Cq; flags no amplification and extrapolation beyond the standards."""
    if cq is None:
        return Quantification(sample, None, None, False, "no amplification (no Cq): not detected")
    if not math.isfinite(cq):
        raise QpcrError(f"sample {sample} has Cq {cq}")
    low, high = curve.cq_range
    quantity = curve.quantity_at(cq)
    if low <= cq <= high:
        return Quantification(sample, cq, quantity, True, f"Cq {cq:g} within standards' Cq {low:g}..{high:g}")
    return Quantification(
        sample, cq, quantity, False, f"Cq {cq:g} outside standards' Cq {low:g}..{high:g}: extrapolated"
    )
