"""JSON API of the quality metrics: the figures of the pages (issue 14 item 5)."""

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router

from cellchain.core.errors import ValidationFailed
from cellchain.core.permissions import requires
from cellchain.domain import spc
from cellchain.metrics import selectors
from cellchain.metrics.schemas import (
    ExcursionsOut,
    FirstPassOut,
    OosOut,
    ProductOut,
    TrendsOut,
    VeinToVeinOut,
)

router = Router(tags=["metrics"])


def _period(since: dt.date | None, until: dt.date | None) -> selectors.Period:
    return selectors.period_of(since, until)


def _row(row: selectors.RateRow) -> dict[str, Any]:
    return {"key": row.key, "events": row.events, "total": row.total, "rate": row.rate}


def _rate(rate: selectors.Rate) -> dict[str, Any]:
    return {"months": [_row(m) for m in rate.months], "total": _row(rate.total)}


def _group(group: selectors.GroupMedian) -> dict[str, Any]:
    return dataclasses.asdict(group)


@router.get("/vein-to-vein", response=VeinToVeinOut)
@requires("metrics.view")
def vein_to_vein(
    request: HttpRequest, since: dt.date | None = None, until: dt.date | None = None
) -> dict[str, Any]:
    """Vein-to-vein time of each journey infused in the period, medians per product, site and both."""
    period = _period(since, until)
    found = selectors.vein_to_vein(request.user, period)
    return {
        "period": period,
        "journeys": [dataclasses.asdict(j) | {"hours": j.hours} for j in found.journeys],
        "by_product": [_group(g) for g in found.by_product],
        "by_site": [_group(g) for g in found.by_site],
        "by_product_and_site": [_group(g) for g in found.by_product_and_site],
        "overall": _group(found.overall) if found.overall else None,
    }


@router.get("/first-pass-release", response=FirstPassOut)
@requires("metrics.view")
def first_pass_release(
    request: HttpRequest, since: dt.date | None = None, until: dt.date | None = None
) -> dict[str, Any]:
    """Batches released with no OOS result and no retest / batches released, per month of first release."""
    period = _period(since, until)
    found = selectors.first_pass_release(request.user, period)
    misses = [
        {"batch": m.number, "product": m.product, "released_at": m.released_at, "had_oos": m.had_oos,
         "retested": m.retested}
        for m in found.misses
    ]  # fmt: skip
    return {"period": period, **_rate(found.rate), "not_first_pass": misses}


@router.get("/oos", response=OosOut)
@requires("metrics.view")
def oos_rate(
    request: HttpRequest, since: dt.date | None = None, until: dt.date | None = None
) -> dict[str, Any]:
    """Final QC results out of specification / final results judged, per month and per test."""
    period = _period(since, until)
    found = selectors.oos_rate(request.user, period)
    return {"period": period, **_rate(found.rate), "by_test": [_row(t) for t in found.by_test]}


@router.get("/excursions", response=ExcursionsOut)
@requires("metrics.view")
def excursion_rate(
    request: HttpRequest, since: dt.date | None = None, until: dt.date | None = None
) -> dict[str, Any]:
    """Received shipments with a temperature excursion / received shipments, per month of receipt."""
    period = _period(since, until)
    return {"period": period, **_rate(selectors.excursion_rate(request.user, period))}


@router.get("/products", response=list[ProductOut])
@requires("metrics.view")
def products(request: HttpRequest) -> list[selectors.ProductRef]:
    """Products with batches the caller may see (the keys of /trends/{product_code})."""
    return list(selectors.cqa_products(request.user))


def _trend(trend: selectors.CqaTrend) -> dict[str, Any]:
    chart, flags = trend.chart, trend.chart.flags()
    points = [
        {"batch": p.batch, "started_at": p.at, "value": p.value, "verdict": p.verdict,
         "moving_range": chart.moving_ranges[i - 1] if i else None, "flags": [str(c) for c in flags.get(i, ())]}
        for i, p in enumerate(trend.points)
    ]  # fmt: skip
    violations = [
        {"rule": str(v.rule), "source": spc.RULES[v.rule].source, "text": spc.RULES[v.rule].text,
         "side": str(v.side), "points": list(v.points), "batches": [trend.points[i].batch for i in v.points]}
        for v in (*chart.violations, *chart.mr_violations)
    ]  # fmt: skip
    limits = dataclasses.asdict(chart.limits) if chart.limits else None
    return {"attribute": trend.attribute, "unit": trend.unit, "points": points, "limits": limits,
            "violations": violations}  # fmt: skip


@router.get("/trends/{product_code}", response=TrendsOut)
@requires("metrics.view")
def trends(
    request: HttpRequest,
    product_code: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
    rules: spc.RuleSet = spc.DEFAULT_RULE_SET,
    baseline: int | None = None,
) -> dict[str, Any]:
    """Viability, CAR+ %, VCN and dose of the product's batches with X/mR limits and flagged rule violations.

    `baseline`: the limits come from the first N batches (at least 2; default every batch in the period).
    """
    if baseline is not None and baseline < 2:
        raise ValidationFailed(
            f"baseline {baseline}: the limits need at least two batches.", field="baseline"
        )
    period = _period(since, until)
    product, found = selectors.cqa_trends(request.user, product_code, period, rules, baseline)
    return {
        "product": product,
        "period": period,
        "rule_set": str(rules),
        "attributes": [_trend(t) for t in found],
    }
