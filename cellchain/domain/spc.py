"""Statistical process control for individual values: X/mR chart limits and the run rules that flag drift.

Used for the trends of critical quality attributes (viability, CAR+ %, VCN, dose) batch after batch
(issue 14 item 5). One batch gives one value, so the chart is the Shewhart individuals (X) chart with its
moving-range (mR) companion:

* centre line = the mean of the values; mR_i = |x_i - x_(i-1)|; mR-bar = the mean of the n-1 moving ranges;
* sigma = mR-bar / d2, d2 = 1.128 (the expected range of two normal values in sigma units);
* X chart: UCL/LCL = centre +/- 3 sigma; mR chart: centre = mR-bar, UCL = D4 x mR-bar with D4 = 3.267,
  LCL = 0 (D3 = 0 for ranges of two).

Sources: NIST/SEMATECH e-Handbook of Statistical Methods, 6.3.2.2 "Individuals Control Charts"
(https://www.itl.nist.gov/div898/handbook/pmc/section3/pmc322.htm); D. C. Montgomery, Introduction to
Statistical Quality Control, 7th ed., Wiley 2013, section 6.4 (individual measurements).

The run rules (`RULES`) are the Western Electric rules (Western Electric Co., Statistical Quality Control
Handbook, 1956, pp. 25-28) and Nelson's eight tests (L. S. Nelson, "The Shewhart Control Chart - Tests for
Special Causes", Journal of Quality Technology 16(4), 1984, pp. 237-239). Conventions, stated because the
sources leave them open:

* "beyond k sigma" is strictly beyond: a value exactly on a limit is not beyond it;
* a value exactly on the centre line is on neither side and ends a run of points on one side;
* equal consecutive values end a trend (a trend is strictly increasing or strictly decreasing);
* every window of the rule's length that shows the pattern is found; windows of the same rule (and side)
  that overlap are reported as one violation, naming every point that makes the pattern: for "k of n" rules
  the points beyond the zone, for runs and trends every point of the run.

No Django, no I/O: values in, a verdict with its reasons out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

D2 = 1.128
"""d2 for moving ranges of two consecutive values (NIST e-Handbook 6.3.2.2; Montgomery, Appendix VI)."""

D4 = 3.267
"""D4 for moving ranges of two consecutive values: mR chart UCL = D4 x mR-bar (D3 = 0, so LCL = 0)."""

SIGMA_LIMIT = 3.0
"""The X chart limits sit at three sigma from the centre line (Shewhart)."""


class SpcError(ValueError):
    """The values cannot give a chart (fewer than two values, a value that is not a finite number)."""


class Side(StrEnum):
    """Which side of the centre line a violation lies on; `BOTH` for rules that look at both sides."""

    ABOVE = "above"
    BELOW = "below"
    BOTH = "both"


class RuleCode(StrEnum):
    """The tests for special causes, named by what they look for."""

    BEYOND_3_SIGMA = "beyond_3_sigma"
    TWO_OF_THREE_BEYOND_2_SIGMA = "two_of_three_beyond_2_sigma"
    FOUR_OF_FIVE_BEYOND_1_SIGMA = "four_of_five_beyond_1_sigma"
    EIGHT_ON_ONE_SIDE = "eight_on_one_side"
    NINE_ON_ONE_SIDE = "nine_on_one_side"
    SIX_TRENDING = "six_trending"
    FOURTEEN_ALTERNATING = "fourteen_alternating"
    FIFTEEN_WITHIN_1_SIGMA = "fifteen_within_1_sigma"
    EIGHT_OUTSIDE_1_SIGMA = "eight_outside_1_sigma"
    MR_BEYOND_UCL = "mr_beyond_ucl"


@dataclass(frozen=True)
class Rule:
    """One test for a special cause: its code, where it comes from and what it says."""

    code: RuleCode
    source: str
    text: str
    length: int  # the window the pattern is looked for in


RULES: dict[RuleCode, Rule] = {
    rule.code: rule
    for rule in (
        Rule(RuleCode.BEYOND_3_SIGMA, "Western Electric 1; Nelson 1", "one point beyond 3 sigma", 1),
        Rule(
            RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA,
            "Western Electric 2; Nelson 5",
            "two of three consecutive points beyond 2 sigma on the same side",
            3,
        ),
        Rule(
            RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA,
            "Western Electric 3; Nelson 6",
            "four of five consecutive points beyond 1 sigma on the same side",
            5,
        ),
        Rule(RuleCode.EIGHT_ON_ONE_SIDE, "Western Electric 4", "eight points in a row on one side", 8),
        Rule(RuleCode.NINE_ON_ONE_SIDE, "Nelson 2", "nine points in a row on one side", 9),
        Rule(RuleCode.SIX_TRENDING, "Nelson 3", "six points in a row steadily increasing or decreasing", 6),
        Rule(
            RuleCode.FOURTEEN_ALTERNATING, "Nelson 4", "fourteen points in a row alternating up and down", 14
        ),
        Rule(RuleCode.FIFTEEN_WITHIN_1_SIGMA, "Nelson 7", "fifteen points in a row within 1 sigma", 15),
        Rule(
            RuleCode.EIGHT_OUTSIDE_1_SIGMA,
            "Nelson 8",
            "eight points in a row beyond 1 sigma, on either side",
            8,
        ),
        Rule(RuleCode.MR_BEYOND_UCL, "Shewhart mR chart", "one moving range above the mR chart UCL", 1),
    )
}
"""Every test this module knows (module docstring for the sources)."""


class RuleSet(StrEnum):
    """Named selections of rules a chart is judged by."""

    WESTERN_ELECTRIC = "western_electric"
    WESTERN_ELECTRIC_TREND = "western_electric_trend"
    NELSON = "nelson"


RULE_SETS: dict[RuleSet, tuple[RuleCode, ...]] = {
    RuleSet.WESTERN_ELECTRIC: (
        RuleCode.BEYOND_3_SIGMA,
        RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA,
        RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA,
        RuleCode.EIGHT_ON_ONE_SIDE,
    ),
    # The default for CQA trends: the four Western Electric rules plus Nelson's trend test, which catches
    # a slow drift (a declining viability) before it crosses a zone.
    RuleSet.WESTERN_ELECTRIC_TREND: (
        RuleCode.BEYOND_3_SIGMA,
        RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA,
        RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA,
        RuleCode.EIGHT_ON_ONE_SIDE,
        RuleCode.SIX_TRENDING,
    ),
    RuleSet.NELSON: (
        RuleCode.BEYOND_3_SIGMA,
        RuleCode.NINE_ON_ONE_SIDE,
        RuleCode.SIX_TRENDING,
        RuleCode.FOURTEEN_ALTERNATING,
        RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA,
        RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA,
        RuleCode.FIFTEEN_WITHIN_1_SIGMA,
        RuleCode.EIGHT_OUTSIDE_1_SIGMA,
    ),
}
DEFAULT_RULE_SET = RuleSet.WESTERN_ELECTRIC_TREND


@dataclass(frozen=True)
class XmrLimits:
    """The limits of an individuals chart and its moving-range chart, and how many values gave them."""

    centre: float
    sigma: float
    ucl: float
    lcl: float
    mr_centre: float
    mr_ucl: float
    baseline: int  # the number of values (the first ones) the limits were computed from

    @property
    def mr_lcl(self) -> float:
        return 0.0

    def zone(self, k: float) -> tuple[float, float]:
        """The band centre +/- k sigma."""
        return self.centre - k * self.sigma, self.centre + k * self.sigma


@dataclass(frozen=True)
class Violation:
    """A pattern one rule found: the points (0-based indexes into the values) that make it, ascending."""

    rule: RuleCode
    points: tuple[int, ...]
    side: Side

    @property
    def last(self) -> int:
        """The point that completed the pattern (the one a chart marks)."""
        return self.points[-1]


@dataclass(frozen=True)
class XmrChart:
    """Values, moving ranges, limits (None below two values) and what the rules found."""

    values: tuple[float, ...]
    moving_ranges: tuple[float, ...]  # mR_i for i = 1..n-1 (index i-1 here)
    limits: XmrLimits | None
    rule_set: RuleSet
    violations: tuple[Violation, ...]  # on the X chart
    mr_violations: tuple[Violation, ...]  # on the mR chart; points are indexes of the values (i >= 1)

    def flags(self) -> dict[int, tuple[RuleCode, ...]]:
        """Per value index, the rules that name it (X chart and mR chart together)."""
        found: dict[int, list[RuleCode]] = {}
        for violation in (*self.violations, *self.mr_violations):
            for point in violation.points:
                codes = found.setdefault(point, [])
                if violation.rule not in codes:
                    codes.append(violation.rule)
        return {point: tuple(codes) for point, codes in sorted(found.items())}


def _finite(values: Sequence[float]) -> tuple[float, ...]:
    out = tuple(float(v) for v in values)
    for index, value in enumerate(out):
        if not math.isfinite(value):
            raise SpcError(f"value {index} is {value!r}: a chart needs finite numbers")
    return out


def moving_ranges(values: Sequence[float]) -> tuple[float, ...]:
    """|x_i - x_(i-1)| for i = 1..n-1."""
    xs = _finite(values)
    return tuple(abs(b - a) for a, b in itertools.pairwise(xs))


def xmr_limits(values: Sequence[float], baseline: int | None = None) -> XmrLimits:
    """X and mR chart limits from the first `baseline` values (all when None), NIST e-Handbook 6.3.2.2."""
    xs = _finite(values)
    used = xs if baseline is None else xs[:baseline]
    if len(used) < 2:
        raise SpcError(f"{len(used)} value(s): limits need at least two (one moving range)")
    centre = math.fsum(used) / len(used)
    mr_bar = math.fsum(moving_ranges(used)) / (len(used) - 1)
    sigma = mr_bar / D2
    return XmrLimits(
        centre=centre,
        sigma=sigma,
        ucl=centre + SIGMA_LIMIT * sigma,
        lcl=centre - SIGMA_LIMIT * sigma,
        mr_centre=mr_bar,
        mr_ucl=D4 * mr_bar,
        baseline=len(used),
    )


# -- the rules ----------------------------------------------------------------------------------------------


def _side(x: float, limits: XmrLimits) -> int:
    """+1 above the centre line, -1 below, 0 on it."""
    return (x > limits.centre) - (x < limits.centre)


def _beyond(x: float, limits: XmrLimits, k: float, side: int) -> bool:
    low, high = limits.zone(k)
    return x > high if side > 0 else x < low


def _k_of_n(k_needed: int, sigmas: float) -> Callable[[Sequence[float], XmrLimits, int], list[Finding]]:
    """k of n consecutive points beyond `sigmas` on the same side (n = the rule's window)."""

    def find(xs: Sequence[float], limits: XmrLimits, n: int) -> list[Finding]:
        found: list[Finding] = []
        for start in range(len(xs) - n + 1):
            window = range(start, start + n)
            for side in (1, -1):
                hits = tuple(i for i in window if _beyond(xs[i], limits, sigmas, side))
                if len(hits) >= k_needed:
                    found.append(Finding(start, start + n - 1, hits, _SIDES[side]))
        return found

    return find


def _same_side_run(xs: Sequence[float], limits: XmrLimits, n: int) -> list[Finding]:
    found = []
    for start in range(len(xs) - n + 1):
        sides = {_side(xs[i], limits) for i in range(start, start + n)}
        if len(sides) == 1 and 0 not in sides:
            found.append(Finding(start, start + n - 1, tuple(range(start, start + n)), _SIDES[sides.pop()]))
    return found


def _trend(xs: Sequence[float], _limits: XmrLimits, n: int) -> list[Finding]:
    found = []
    for start in range(len(xs) - n + 1):
        steps = [xs[i + 1] - xs[i] for i in range(start, start + n - 1)]
        if all(s > 0 for s in steps) or all(s < 0 for s in steps):
            found.append(Finding(start, start + n - 1, tuple(range(start, start + n)), Side.BOTH))
    return found


def _alternating(xs: Sequence[float], _limits: XmrLimits, n: int) -> list[Finding]:
    found = []
    for start in range(len(xs) - n + 1):
        steps = [xs[i + 1] - xs[i] for i in range(start, start + n - 1)]
        signs = [(s > 0) - (s < 0) for s in steps]
        if 0 not in signs and all(a == -b for a, b in itertools.pairwise(signs)):
            found.append(Finding(start, start + n - 1, tuple(range(start, start + n)), Side.BOTH))
    return found


def _all_in_window(test: Callable[[float, XmrLimits], bool]) -> Callable[..., list[Finding]]:
    def find(xs: Sequence[float], limits: XmrLimits, n: int) -> list[Finding]:
        return [
            Finding(start, start + n - 1, tuple(range(start, start + n)), Side.BOTH)
            for start in range(len(xs) - n + 1)
            if all(test(xs[i], limits) for i in range(start, start + n))
        ]

    return find


def _within_1(x: float, limits: XmrLimits) -> bool:
    low, high = limits.zone(1)
    return low <= x <= high


def _outside_1(x: float, limits: XmrLimits) -> bool:
    return not _within_1(x, limits)


def _beyond_3(xs: Sequence[float], limits: XmrLimits, _n: int) -> list[Finding]:
    return [
        Finding(i, i, (i,), _SIDES[_side(x, limits)])
        for i, x in enumerate(xs)
        if _beyond(x, limits, SIGMA_LIMIT, 1) or _beyond(x, limits, SIGMA_LIMIT, -1)
    ]


@dataclass(frozen=True)
class Finding:
    """One window that shows a rule's pattern (merged into violations afterwards)."""

    first: int
    last: int
    points: tuple[int, ...]
    side: Side


_SIDES = {1: Side.ABOVE, -1: Side.BELOW}

_FINDERS: dict[RuleCode, Callable[[Sequence[float], XmrLimits, int], list[Finding]]] = {
    RuleCode.BEYOND_3_SIGMA: _beyond_3,
    RuleCode.TWO_OF_THREE_BEYOND_2_SIGMA: _k_of_n(2, 2.0),
    RuleCode.FOUR_OF_FIVE_BEYOND_1_SIGMA: _k_of_n(4, 1.0),
    RuleCode.EIGHT_ON_ONE_SIDE: _same_side_run,
    RuleCode.NINE_ON_ONE_SIDE: _same_side_run,
    RuleCode.SIX_TRENDING: _trend,
    RuleCode.FOURTEEN_ALTERNATING: _alternating,
    RuleCode.FIFTEEN_WITHIN_1_SIGMA: _all_in_window(_within_1),
    RuleCode.EIGHT_OUTSIDE_1_SIGMA: _all_in_window(_outside_1),
}


def _merge(rule: RuleCode, findings: list[Finding]) -> list[Violation]:
    """Overlapping windows of one rule and side become one violation naming all their points."""
    merged: list[Violation] = []
    for side in (Side.ABOVE, Side.BELOW, Side.BOTH):
        group: list[Finding] = []
        for finding in sorted((f for f in findings if f.side is side), key=lambda f: f.first):
            if group and finding.first > max(g.last for g in group):
                merged.append(_violation(rule, side, group))
                group = []
            group.append(finding)
        if group:
            merged.append(_violation(rule, side, group))
    return sorted(merged, key=lambda v: (v.points[0], v.side.value))


def _violation(rule: RuleCode, side: Side, group: list[Finding]) -> Violation:
    return Violation(rule, tuple(sorted({p for f in group for p in f.points})), side)


def rule_violations(
    values: Sequence[float], limits: XmrLimits, rules: Sequence[RuleCode] | RuleSet = DEFAULT_RULE_SET
) -> tuple[Violation, ...]:
    """Every pattern the chosen rules find in `values` against `limits`, in rule order, then by first point."""
    xs = _finite(values)
    codes = RULE_SETS[rules] if isinstance(rules, RuleSet) else tuple(rules)
    found: list[Violation] = []
    for code in codes:
        if code is RuleCode.MR_BEYOND_UCL:
            raise SpcError("mr_beyond_ucl is a test of the moving ranges: use mr_violations()")
        rule = RULES[code]
        found.extend(_merge(code, _FINDERS[code](xs, limits, rule.length)))
    return tuple(found)


def mr_violations(values: Sequence[float], limits: XmrLimits) -> tuple[Violation, ...]:
    """Moving ranges above the mR chart UCL; each names the two values whose difference it is."""
    mrs = moving_ranges(values)
    return tuple(
        Violation(RuleCode.MR_BEYOND_UCL, (i, i + 1), Side.ABOVE)
        for i, mr in enumerate(mrs)
        if mr > limits.mr_ucl
    )


def individuals_chart(
    values: Sequence[float], rule_set: RuleSet = DEFAULT_RULE_SET, baseline: int | None = None
) -> XmrChart:
    """The X/mR chart of `values` in production order, judged by `rule_set`.

    Limits come from the first `baseline` values (all when None: a retrospective, phase I chart); the rules
    are applied to every value. Fewer than two values (in the baseline) give a chart without limits.
    """
    xs = _finite(values)
    mrs = moving_ranges(xs)
    if baseline is not None and baseline < 2:
        raise SpcError(f"baseline {baseline}: limits need at least two values")
    if len(xs[: baseline or len(xs)]) < 2:
        return XmrChart(xs, mrs, None, rule_set, (), ())
    limits = xmr_limits(xs, baseline)
    return XmrChart(
        xs, mrs, limits, rule_set, rule_violations(xs, limits, rule_set), mr_violations(xs, limits)
    )
