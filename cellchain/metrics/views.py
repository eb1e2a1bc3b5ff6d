"""Metrics pages: overview of the rates, vein-to-vein times, CQA trends with SPC (issue 14 item 5).

Read-only pages: a filter form (GET), the figures in tables, the same figures as chart data for Chart.js.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from cellchain.core.errors import ServiceError
from cellchain.core.permissions import requires
from cellchain.domain import spc
from cellchain.metrics import charts, selectors
from cellchain.metrics.forms import RULE_SET_LABELS, PeriodForm, TrendForm
from cellchain.metrics.labels import ATTRIBUTE_LABELS, RULE_LABELS


def _period(form: forms.Form) -> selectors.Period:
    """The period the form asks for; an invalid one is shown on the form and the default year used."""
    if not form.is_valid():
        return selectors.period_of()
    try:
        return selectors.period_of(form.cleaned_data.get("since"), form.cleaned_data.get("until"))
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return selectors.period_of()


@requires("metrics.view")
def overview(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    period = _period(form)
    first_pass = selectors.first_pass_release(request.user, period)
    oos = selectors.oos_rate(request.user, period)
    excursions = selectors.excursion_rate(request.user, period)
    v2v = selectors.vein_to_vein(request.user, period)
    context = {
        "form": form,
        "period": period,
        "first_pass": first_pass,
        "oos": oos,
        "excursions": excursions,
        "v2v": v2v,
        "charts": {
            "first_pass": charts.rate_chart(first_pass.rate, _("Released first time (%)")),
            "oos": charts.rate_chart(oos.rate, _("Out-of-specification results (%)")),
            "excursions": charts.rate_chart(excursions, _("Shipments with an excursion (%)")),
            "v2v_product": charts.median_chart(v2v.by_product, _("Median vein-to-vein time (days)")),
        },
    }
    return render(request, "metrics/overview.html", context)


@requires("metrics.view")
def vein_to_vein(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    period = _period(form)
    v2v = selectors.vein_to_vein(request.user, period)
    context = {
        "form": form,
        "period": period,
        "v2v": v2v,
        "charts": {
            "journeys": charts.journey_chart(v2v.journeys),
            "by_site": charts.median_chart(v2v.by_site, _("Median vein-to-vein time (days)")),
        },
    }
    return render(request, "metrics/vein_to_vein.html", context)


def _product_name(product: selectors.ProductRef) -> str:
    zh = (get_language() or "").lower().startswith("zh")
    return product.name_zh if zh else product.name_en


def _trend_view(trend: selectors.CqaTrend) -> dict[str, Any]:
    """Rows for the tables of one attribute: points with their flags, the limits, the violations."""
    flags = trend.chart.flags()
    points = [
        {"point": p, "mr": trend.chart.moving_ranges[i - 1] if i else None,
         "flags": [RULE_LABELS[code] for code in flags.get(i, ())]}
        for i, p in enumerate(trend.points)
    ]  # fmt: skip
    violations = [
        {
            "rule": RULE_LABELS[v.rule],
            "code": v.rule.value,
            "batches": [trend.points[i].batch for i in v.points],
        }
        for v in (*trend.chart.violations, *trend.chart.mr_violations)
    ]
    return {
        "code": trend.attribute,
        "label": ATTRIBUTE_LABELS[trend.attribute],
        "trend": trend,
        "limits": trend.chart.limits,
        "points": points,
        "violations": violations,
        "chart": charts.spc_chart(trend),
        "chart_id": f"chart-{trend.attribute}",
    }


@requires("metrics.view")
def trends(request: HttpRequest) -> HttpResponse:
    products = selectors.cqa_products(request.user)
    form = TrendForm(request.GET or None, products=[(p.code, _product_name(p)) for p in products])
    period = _period(form)
    data = form.cleaned_data if form.is_valid() else {}
    code = data.get("product") or (products[0].code if products else "")
    rule_set = spc.RuleSet(data.get("rules") or spc.DEFAULT_RULE_SET)
    context: dict[str, Any] = {
        "form": form,
        "period": period,
        "rule_set": RULE_SET_LABELS[rule_set],
        "product": None,
        "trends": [],
    }
    if code:
        product, found = selectors.cqa_trends(request.user, code, period, rule_set, data.get("baseline"))
        context |= {"product": _product_name(product), "trends": [_trend_view(t) for t in found]}
    return render(request, "metrics/trends.html", context)
