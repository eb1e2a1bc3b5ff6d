"""QA opens the CQA trends on a tablet: Chart.js draws the X and mR charts under the Content-Security-Policy,
the drifting batches are marked, and the page fits the screen (issue 14 item 5)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_the_trend_charts_draw_and_flag_the_drift_on_a_tablet(
    page: Any, sign_in: Any, e2e_world: Any
) -> None:
    from cellchain.core import clock
    from cellchain.metrics.tests.factories import Records
    from cellchain.metrics.tests.test_selectors import _declining

    records = Records(e2e_world, clock.now())
    batches = records.batches(_declining(16, 10))
    records.receipts([[], ["T-8.1.5-b"]])
    sign_in("qa_li")
    page.set_viewport_size({"width": 768, "height": 1024})  # a tablet held upright

    page.goto(f"{page.base_url}/metrics/trends/?product=cd19-metrics")
    page.wait_for_function("document.querySelector('canvas[data-chart=chart-viability]').chart !== undefined")
    drawn = page.evaluate(
        """() => {
          const x = document.querySelector("canvas[data-chart=chart-viability]:not([data-part])").chart;
          const mr = document.querySelector("canvas[data-chart=chart-viability][data-part=mr]").chart;
          return {points: x.data.datasets[0].data.length, lines: x.data.datasets.length,
                  marked: x.data.datasets[0].pointStyle.filter((s) => s === "triangle").length,
                  mr: mr.data.datasets[0].data.length, width: x.width};
        }"""
    )
    assert drawn["points"] == 16 and drawn["lines"] == 4 and drawn["mr"] == 16
    assert drawn["marked"] >= 6  # the falling batches are red triangles
    assert 0 < drawn["width"] <= 768
    assert (
        page.locator(
            f"#violations-viability li[data-rule=six_trending]:has-text('{batches[-1].number}')"
        ).count()
        == 1
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(f"{page.base_url}/metrics/")
    page.wait_for_function(
        "document.querySelector('canvas[data-chart=chart-excursions]').chart !== undefined"
    )
    assert page.locator("#table-excursions tfoot th").nth(3).inner_text() == "50.0"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
