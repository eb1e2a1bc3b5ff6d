"""The metrics API: the figures of the pages as JSON, refusals in the one error shape (issue 14 item 5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.metrics.tests.factories import Records
from cellchain.metrics.tests.test_selectors import CLEAN, _declining

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(world: Any) -> Any:
    moment = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
    with clock.frozen(moment):
        yield Records(world, moment)


def test_vein_to_vein_per_journey_and_medians(records: Records, client_for: Any) -> None:
    records.journeys("xiehe-main", [20, 24, 31])
    body = client_for("qa_li").get("/api/metrics/vein-to-vein").json()
    assert [round(j["hours"]) for j in body["journeys"]] == [480, 576, 744]
    assert body["overall"]["median_hours"] == pytest.approx(576)
    assert body["by_product"][0]["product"] == "CD19 CAR-T" and body["by_site"][0]["journeys"] == 3
    assert body["period"] == {"since": "2025-06-15", "until": "2026-06-15"}


def test_the_rates_with_their_months_and_totals(records: Records, client_for: Any) -> None:
    batches = records.batches([CLEAN] * 4, oos=[0])
    records.receipts([[], ["T-8.1.5-b"], [], []])
    client = client_for("qc_zhang")
    first = client.get("/api/metrics/first-pass-release").json()
    assert first["total"] == {"key": "total", "events": 3, "total": 4, "rate": 0.75}
    assert first["not_first_pass"][0]["batch"] == batches[0].number
    oos = client.get("/api/metrics/oos").json()
    assert (
        oos["total"]["events"] == 1
        and {"key": "endotoxin", "events": 1, "total": 2, "rate": 0.5} in oos["by_test"]
    )
    excursions = client.get("/api/metrics/excursions").json()
    assert excursions["months"] == [{"key": "2026-06", "events": 1, "total": 4, "rate": 0.25}]


def test_trends_with_limits_and_violations_naming_batches(records: Records, client_for: Any) -> None:
    batches = records.batches(_declining(16, 10))
    client = client_for("qa_li")
    assert client.get("/api/metrics/products").json()[0]["code"] == "cd19-metrics"
    body = client.get("/api/metrics/trends/cd19-metrics").json()
    assert body["rule_set"] == "western_electric_trend"
    viability = body["attributes"][0]
    assert viability["attribute"] == "viability" and viability["unit"] == "%"
    assert viability["limits"]["ucl"] == pytest.approx(
        viability["limits"]["centre"] + 3 * viability["limits"]["sigma"]
    )
    trend = next(v for v in viability["violations"] if v["rule"] == "six_trending")
    assert trend["source"] == "Nelson 3" and batches[-1].number in trend["batches"]
    assert "six_trending" in viability["points"][-1]["flags"]
    assert viability["points"][0]["moving_range"] is None


def test_bad_input_is_refused_with_a_sentence(records: Records, client_for: Any) -> None:
    records.batches([CLEAN] * 3)
    client = client_for("qa_li")
    reversed_ = client.get("/api/metrics/oos?since=2026-06-01&until=2026-05-01")
    assert reversed_.status_code == 400 and "swap the dates" in reversed_.json()["message"]
    assert reversed_.json()["code"] == "validation_failed"
    assert client.get("/api/metrics/oos?since=not-a-date").status_code == 422
    assert client.get("/api/metrics/trends/cd19-metrics?rules=shewhart").status_code == 422
    low = client.get("/api/metrics/trends/cd19-metrics?baseline=1")
    assert low.status_code == 400 and "at least two" in low.json()["message"]
    missing = client.get("/api/metrics/trends/no-such-product")
    assert missing.status_code == 404 and "no-such-product" in missing.json()["message"]


def test_a_hospital_gets_its_own_figures_and_other_roles_are_refused(
    records: Records, client_for: Any
) -> None:
    records.journeys("xiehe-main", [20])
    records.journeys("renji-east", [30])
    assert len(client_for("coordinator_xu").get("/api/metrics/vein-to-vein").json()["journeys"]) == 1
    refused = client_for("nurse_wang").get("/api/metrics/vein-to-vein")
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
