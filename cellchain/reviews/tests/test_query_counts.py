"""The review content costs the same queries with ten times the records (STYLE habit 7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.accounts.models import User
from cellchain.core import clock
from cellchain.metrics.tests.factories import Records
from cellchain.reviews import selectors
from cellchain.reviews.tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
CLEAN = {"viability": 90, "car_positive": 40, "vcn": 2, "dose": 1e8}


def _grow(world: Any, records: Records, copies: int) -> None:
    for _ in range(copies):
        records.journeys("xiehe-main", [20, 25], infused_at=NOW - 90 * dt.timedelta(days=1))
        records.batches([CLEAN] * 4, oos=[1], released_at=NOW - 30 * dt.timedelta(days=1))
        records.receipts([["T-8.1.5-b"], []])
        for site in ("shenghe-prod", "xiehe-main"):
            found = factories.deviations(
                world.sites[site], NOW - 60 * dt.timedelta(days=1), 3, kind="protocol"
            )
            factories.capa(found, world["physician_wang"], due=dt.date(2026, 3, 1))


@pytest.mark.parametrize(
    ("username", "kind", "site", "pinned"),
    [("qa_li", "periodic", "shenghe-prod", 11), ("physician_wang", "oversight", "xiehe-main", 14)],
)
def test_content_costs_the_same_queries_with_ten_times_the_records(
    world: Any, django_assert_num_queries: Any, username: str, kind: str, site: str, pinned: int
) -> None:
    with clock.frozen(NOW):
        records = Records(world, NOW)
        sizes = []
        for copies in (1, 9):
            _grow(world, records, copies)
            viewer = User.objects.select_related("organisation").get(username=username)
            place = world.sites[site]
            with django_assert_num_queries(pinned):
                content = selectors.review_content(
                    viewer,
                    kind,
                    site=place,
                    product=None,
                    since=dt.date(2026, 1, 1),
                    until=dt.date(2026, 6, 14),
                )
            sizes.append(len(content["deviations"]["records"]))
        assert sizes[1] == 10 * sizes[0]
