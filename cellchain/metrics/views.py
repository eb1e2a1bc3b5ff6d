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


def _form[F: forms.Form](cls: type[F], request: HttpRequest, **kwargs: Any) -> F:
    """The filter form, bound to the query string; unbound it shows the default year in its date fields."""
    default = selectors.period_of()
    initial = {"since": default.since, "until": default.until}
    return cls(request.GET or None, initial=initial, **kwargs)


def _num(value: float) -> str:
    """Six significant digits: 88.5, 91.3369, 2.4e+08 (tables of limits and values)."""
    return f"{value:.6g}"


def _period(form: forms.Form) -> selectors.Period:
    """The period the form asks for; an invalid one is shown on the form and the default year used."""
    if not form.is_bound:
        return selectors.period_of()
    if not form.is_valid():
        return selectors.period_of()
    try:
        return selectors.period_of(form.cleaned_data.get("since"), form.cleaned_data.get("until"))
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return selectors.period_of()


@requires("metrics.view")
def overview(request: HttpRequest) -> HttpResponse:
    form = _form(PeriodForm, request)
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
    form = _form(PeriodForm, request)
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
        {"point": p, "value": _num(p.value), "mr": _num(trend.chart.moving_ranges[i - 1]) if i else "—",
         "flags": [RULE_LABELS[code] for code in flags.get(i, ())]}
        for i, p in enumerate(trend.points)
    ]  # fmt: skip
    limits = trend.chart.limits
    shown = None
    if limits is not None:
        names = ("centre", "lcl", "ucl", "sigma", "mr_centre", "mr_ucl")
        shown = {name: _num(getattr(limits, name)) for name in names} | {"baseline": limits.baseline}
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
        "limits": shown,
        "points": points,
        "violations": violations,
        "chart": charts.spc_chart(trend),
        "chart_id": f"chart-{trend.attribute}",
    }


@requires("metrics.view")
def trends(request: HttpRequest) -> HttpResponse:
    products = selectors.cqa_products(request.user)
    form = _form(TrendForm, request, products=[(p.code, _product_name(p)) for p in products])
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
