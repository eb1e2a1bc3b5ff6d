"""The data each chart draws, as JSON for the page (`json_script`); metrics.js hands it to Chart.js.

Labels are translated here, so the script has no text of its own. Every figure a chart shows is also in a
table on the same page: the chart is never the only way to read a number.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from cellchain.metrics.labels import ATTRIBUTE_LABELS
from cellchain.metrics.selectors import CqaTrend, GroupMedian, JourneyTime, Rate


def rate_chart(rate: Rate, label: str) -> dict[str, Any]:
    """A line of percentages per month."""
    return {
        "kind": "line",
        "labels": [m.key for m in rate.months],
        "unit": "%",
        "series": [{"label": label, "data": [m.percent for m in rate.months]}],
    }


def median_chart(groups: tuple[GroupMedian, ...], by: str) -> dict[str, Any]:
    """Median vein-to-vein days per group (bars)."""
    return {
        "kind": "bar",
        "labels": [" · ".join(x for x in (g.product, g.site) if x) for g in groups],
        "unit": _("days"),
        "series": [{"label": by, "data": [round(g.median_days, 2) for g in groups]}],
    }


def journey_chart(journeys: tuple[JourneyTime, ...]) -> dict[str, Any]:
    """Vein-to-vein days of each journey, in infusion order (bars)."""
    return {
        "kind": "bar",
        "labels": [j.pseudonym for j in journeys],
        "unit": _("days"),
        "series": [{"label": _("Vein-to-vein time (days)"), "data": [round(j.days, 2) for j in journeys]}],
    }


def spc_chart(trend: CqaTrend) -> dict[str, Any]:
    """The X chart (values, centre line, limits, flagged points) and the mR chart of one attribute."""
    chart, limits = trend.chart, trend.chart.limits
    flags = chart.flags()
    data: dict[str, Any] = {
        "kind": "spc",
        "labels": [p.batch for p in trend.points],
        "unit": trend.unit,
        "values": list(chart.values),
        "flagged": sorted(flags),
        "mr": [None, *chart.moving_ranges],
        "text": {
            "value": str(ATTRIBUTE_LABELS[trend.attribute]),
            "centre": _("Centre line"),
            "ucl": _("Upper control limit"),
            "lcl": _("Lower control limit"),
            "mr": _("Moving range"),
            "mr_ucl": _("Moving-range upper limit"),
        },
    }
    if limits is not None:
        data |= {"centre": limits.centre, "ucl": limits.ucl, "lcl": limits.lcl, "mr_ucl": limits.mr_ucl}
    return data
