"""Metrics pages: who may open them, what they show in tables and chart data, in zh-Hans and English."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.metrics.tests.factories import Records
from cellchain.metrics.tests.test_selectors import CLEAN, _declining

pytestmark = pytest.mark.django_db
URLS = ["/metrics/", "/metrics/vein-to-vein/", "/metrics/trends/"]


@pytest.fixture
def records(world: Any) -> Any:
    moment = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
    with clock.frozen(moment):
        yield Records(world, moment)


def _chart_data(body: str, chart_id: str) -> Any:
    found = re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', body, re.S)
    assert found, f"no chart data {chart_id}"
    return json.loads(found.group(1))


@pytest.mark.parametrize("username", ["nurse_wang", "operator_chen", "logistics_zhao", "admin_shenghe"])
def test_roles_outside_the_grant_are_refused(client_for: Any, username: str) -> None:
    client = client_for(username)
    for url in URLS:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize(
    "username", ["qa_li", "qc_zhang", "auditor_shenghe", "physician_wang", "coordinator_xu"]
)
def test_quality_roles_and_the_hospital_leads_may_read_them(client_for: Any, username: str) -> None:
    client = client_for(username)
    for url in URLS:
        assert client.get(url).status_code == 200, url


def test_signed_out_visitors_go_to_sign_in(client: Any, world: Any) -> None:
    response = client.get("/metrics/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_menu_offers_the_metrics_to_those_who_may_read_them(client_for: Any) -> None:
    assert 'href="/metrics/"' in client_for("qa_li").get("/").content.decode()
    assert 'href="/metrics/"' not in client_for("nurse_wang").get("/").content.decode()


def test_the_overview_shows_every_rate_in_a_table_and_as_chart_data(
    records: Records, client_for: Any
) -> None:
    records.batches([CLEAN] * 4, oos=[1])
    records.receipts([[], ["T-8.1.5-b"]])
    records.journeys("xiehe-main", [20, 30])
    body = client_for("qa_li").get("/metrics/").content.decode()
    first_pass = re.search(r'<table id="table-first-pass">.*?</table>', body, re.S).group(0)  # type: ignore[union-attr]
    assert re.search(
        r'<tr data-month="2026-06"><td>2026-06</td><td>3</td><td>4</td><td>75.0</td>', first_pass
    )
    assert _chart_data(body, "chart-first-pass")["series"][0]["data"] == [75.0]
    assert _chart_data(body, "chart-excursions")["series"][0]["data"] == [50.0]
    assert '<table id="table-oos">' in body and '<table id="table-excursions">' in body
    assert 'data-hours="600' in body  # the median of 20 and 30 days, also in the table
    assert "/static/cellchain/chartjs/chart.umd.min.js" in body and "/static/metrics/metrics.js" in body
    assert "<script>" not in body  # no inline script (CSP)


def test_each_journey_is_listed_with_its_days(records: Records, client_for: Any) -> None:
    journey, _ = records.journeys("xiehe-main", [20, 26.5])
    body = client_for("physician_wang").get("/metrics/vein-to-vein/").content.decode()
    assert f'data-coi="{journey.coi}"' in body and journey.pseudonym in body
    assert "<td>26.5</td>" in body
    assert _chart_data(body, "chart-v2v-journeys")["series"][0]["data"] == [20.0, 26.5]


def test_the_trends_page_names_the_drift_and_the_batches(records: Records, client_for: Any) -> None:
    batches = records.batches(_declining(16, 10))
    body = client_for("qa_li").get("/metrics/trends/?product=cd19-metrics").content.decode()
    violations = re.search(r'<ul class="violations" id="violations-viability">.*?</ul>', body, re.S)
    assert violations and 'data-rule="six_trending"' in violations.group(0)
    assert batches[-1].number in violations.group(0)
    assert 'id="in-control-vcn"' in body
    chart = _chart_data(body, "chart-viability")
    assert chart["kind"] == "spc" and len(chart["values"]) == 16 and 15 in chart["flagged"]
    assert chart["ucl"] > chart["centre"] > chart["lcl"]
    assert re.search(rf'<tr data-batch="{batches[-1].number}" class="flagged">', body)


def test_the_trend_filters_choose_the_rules_and_the_baseline(records: Records, client_for: Any) -> None:
    records.batches(_declining(16, 10))
    body = (
        client_for("qa_li")
        .get("/metrics/trends/?product=cd19-metrics&rules=nelson&baseline=10")
        .content.decode()
    )
    assert "Nelson&#x27;s eight tests" in body or "Nelson's eight tests" in body
    assert "the first 10 batches" in body


def test_a_reversed_period_is_told_on_the_form_and_the_default_year_shown(client_for: Any) -> None:
    body = client_for("qa_li").get("/metrics/?since=2026-06-01&until=2026-05-01").content.decode()
    assert "after its end 2026-05-01: swap the dates" in body
    assert 'id="metrics-period"' in body


def test_a_date_that_is_not_a_date_is_told_on_the_form(client_for: Any) -> None:
    body = client_for("qa_li").get("/metrics/?since=2026-13-45").content.decode()
    assert "Enter a valid date" in body


def test_a_product_the_viewer_may_not_see_is_a_form_error_not_a_crash(
    records: Records, client_for: Any
) -> None:
    records.batches([CLEAN] * 2, collection_site="xiehe-main")
    response = client_for("coordinator_xu").get("/metrics/trends/?product=cd19-metrics")
    assert response.status_code == 200
    assert 'id="trends-empty"' in response.content.decode()


def test_the_pages_speak_chinese(records: Records, client_for: Any) -> None:
    """Pages zh-Hans + en (issue 14 item 5): headings, table heads and chart labels are translated."""
    records.batches(_declining(12, 6))
    client = client_for("qa_li")
    overview = client.get("/metrics/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "质量指标" in overview and "一次放行率" in overview and "超标率" in overview
    trends = client.get("/metrics/trends/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "关键质量属性趋势" in trends and "中心线" in trends
    assert _chart_data(trends, "chart-viability")["text"]["ucl"] == "控制上限"
    english = client.get("/metrics/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "First-pass release rate" in english and "质量指标" not in english
