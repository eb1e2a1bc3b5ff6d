"""The metrics pages, API and selectors cost the same queries with ten times the records (issue 14 item 5).

Pinned per page and endpoint (STYLE habit 7): a figure aggregated row by row in Python, or a lazy relation
read per journey or batch, would add queries as the data grows and fail here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.metrics import selectors
from cellchain.metrics.tests.factories import Records
from cellchain.metrics.tests.test_selectors import CLEAN, _declining

pytestmark = pytest.mark.django_db

PERIOD = selectors.Period(dt.date(2025, 6, 16), dt.date(2026, 6, 15))

SELECTORS: list[tuple[str, Callable[[Any], Any], int]] = [
    # name, call, queries: the viewer's organisation, then the figures
    ("vein_to_vein", lambda viewer: selectors.vein_to_vein(viewer, PERIOD), 2),
    ("first_pass_release", lambda viewer: selectors.first_pass_release(viewer, PERIOD), 3),
    ("oos_rate", lambda viewer: selectors.oos_rate(viewer, PERIOD), 3),
    ("excursion_rate", lambda viewer: selectors.excursion_rate(viewer, PERIOD), 2),
    ("cqa_products", lambda viewer: selectors.cqa_products(viewer), 2),
    ("cqa_trends", lambda viewer: selectors.cqa_trends(viewer, "cd19-metrics", PERIOD), 4),
]

_SPAN = "since=2025-06-16&until=2026-06-15"
PAGES = [
    # path, queries: session, user, roles, site zone, menu (7 with the organisation), then the selectors'
    (f"/metrics/?{_SPAN}", 14),
    (f"/metrics/vein-to-vein/?{_SPAN}", 9),
    (f"/metrics/trends/?{_SPAN}&product=cd19-metrics", 12),
    (f"/api/metrics/vein-to-vein?{_SPAN}", 9),
    (f"/api/metrics/first-pass-release?{_SPAN}", 10),
    (f"/api/metrics/oos?{_SPAN}", 10),
    (f"/api/metrics/excursions?{_SPAN}", 9),
    ("/api/metrics/products", 9),
    (f"/api/metrics/trends/cd19-metrics?{_SPAN}&rules=nelson&baseline=10", 11),
]


@pytest.fixture
def records(world: Any) -> Any:
    moment = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
    with clock.frozen(moment):
        yield Records(world, moment)


def _grow(records: Records, copies: int) -> None:
    """`copies` times: four journeys at two hospitals, sixteen batches (a drift, an OOS, a retest), four
    receipts (one excursion)."""
    for _ in range(copies):
        records.journeys("xiehe-main", [20, 25, 31])
        records.journeys("renji-east", [22], product="BCMA CAR-T")
        records.batches([*_declining(14, 9), CLEAN, CLEAN], oos=[3], retested=[5])
        records.receipts([[], ["T-8.1.3-e", "T-8.1.5-b"], [], ["T-8.1.5-a"]])


def _fresh(username: str) -> Any:
    from cellchain.accounts.models import User

    return User.objects.get(username=username)  # as a request loads it: no related object cached


@pytest.mark.parametrize("username", ["qa_li", "physician_wang"])
def test_selectors_cost_the_same_queries_with_ten_times_the_records(
    records: Records, django_assert_num_queries: Any, username: str
) -> None:
    for copies, batches in ((1, 16), (9, 160)):
        _grow(records, copies)
        for _name, call, queries in SELECTORS:
            viewer = _fresh(username)
            with django_assert_num_queries(queries):
                call(viewer)
        _, trends = selectors.cqa_trends(_fresh(username), "cd19-metrics", PERIOD)
        assert len(trends[0].points) == batches


@pytest.mark.parametrize(("path", "pinned"), PAGES, ids=[p.split("?")[0] for p, _ in PAGES])
def test_pages_and_endpoints_cost_the_same_queries_with_ten_times_the_records(
    records: Records, client_for: Callable[[str], Any], django_assert_num_queries: Any, path: str, pinned: int
) -> None:
    client, rows = client_for("qa_li"), []
    for copies in (1, 9):
        _grow(records, copies)
        with django_assert_num_queries(pinned):
            response = client.get(path)
        assert response.status_code == 200, response.content[:500]
        rows.append(response.content.count(b"BM-") + response.content.count(b'"P-'))
    if rows[0]:  # pages listing batches or journeys list about ten times as many: the data did grow
        assert rows[1] >= 9 * rows[0]
