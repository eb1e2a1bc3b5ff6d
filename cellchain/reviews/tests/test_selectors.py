"""What a review counts over its period (T-6.4-e, T-5.3.2.3, T-5.3.2.4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.accounts.models import Qualification
from cellchain.core import clock
from cellchain.ledger.tests.behind import create_unledgered
from cellchain.metrics.tests.factories import Records
from cellchain.reviews import selectors
from cellchain.reviews.tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
SINCE, UNTIL = dt.date(2026, 1, 1), dt.date(2026, 6, 14)
DAY = dt.timedelta(days=1)


@pytest.fixture
def records(world: Any) -> Any:
    with clock.frozen(NOW):
        yield Records(world, NOW)


def _content(
    world: Any, kind: str, viewer: str, site: str | None = None, product: Any = None
) -> dict[str, Any]:
    return selectors.review_content(
        world[viewer],
        kind,
        site=world.sites[site] if site else None,
        product=product,
        since=SINCE,
        until=UNTIL,
    )


class TestDeviationsAndCapa:
    def test_deviations_opened_closed_and_open_counted_by_kind_within_the_period(
        self, world: Any, records: Any
    ) -> None:
        site = world.sites["shenghe-prod"]
        inside = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
        factories.deviations(site, inside, 2, kind="oos")
        factories.deviations(site, dt.datetime(2025, 12, 1, tzinfo=dt.UTC), 1, kind="oos", closed_at=inside)
        factories.deviations(
            site,
            dt.datetime(2025, 11, 1, tzinfo=dt.UTC),
            1,
            closed_at=dt.datetime(2025, 12, 2, tzinfo=dt.UTC),
        )
        factories.deviations(site, dt.datetime(2026, 6, 20, tzinfo=dt.UTC), 1)  # after the period
        factories.deviations(world.sites["xiehe-main"], inside, 3)  # another site
        content = _content(world, "periodic", "qa_li", "shenghe-prod")
        assert content["deviations"]["by_kind"] == [{"kind": "oos", "opened": 2, "closed": 1, "open": 2}]
        assert len(content["deviations"]["records"]) == 3
        assert content["deviations"]["records"][0]["link"].startswith("/quality/deviations/")

    def test_capa_open_and_overdue_at_the_period_end(self, world: Any, records: Any) -> None:
        site = world.sites["xiehe-main"]
        found = factories.deviations(site, dt.datetime(2026, 2, 1, tzinfo=dt.UTC), 2, kind="protocol")
        factories.capa(found[:1], world["physician_wang"], due=dt.date(2026, 3, 1))
        factories.capa(found[1:], world["physician_wang"], due=dt.date(2026, 7, 1))
        capa = _content(world, "periodic", "coordinator_zhou", "xiehe-main")["capa"]
        assert (capa["open"], capa["overdue"]) == (2, 1)
        assert [c["overdue"] for c in capa["records"]] == [True, False]

    def test_complaints_are_said_to_have_no_register(self, world: Any, records: Any) -> None:
        assert _content(world, "periodic", "qa_li", "shenghe-prod")["complaints"] is None


class TestAdverseEventsAndMetrics:
    def test_adverse_events_by_grade_and_seriousness(self, world: Any, records: Any) -> None:
        records.journeys("xiehe-main", [20, 25], infused_at=NOW - 90 * DAY)
        site = world.sites["xiehe-main"]
        factories.adverse_events(site, world["physician_wang"], NOW - 80 * DAY, grade=3, serious=True)
        factories.adverse_events(
            site, world["physician_wang"], NOW - 400 * DAY, grade=1, serious=False
        )  # before
        ae = _content(world, "periodic", "physician_wang", "xiehe-main")["adverse_events"]
        assert ae["by_grade"] == [{"grade": 3, "events": 2, "serious": 2}]
        assert ae["serious"] == 2 and len(ae["records"]) == 2

    def test_the_manufacturer_sees_the_adverse_events_of_its_products(self, world: Any, records: Any) -> None:
        records.journeys("xiehe-main", [20], infused_at=NOW - 90 * DAY)
        factories.adverse_events(world.sites["xiehe-main"], world["physician_wang"], NOW - 80 * DAY, 2, False)
        assert _content(world, "periodic", "qa_li", "shenghe-prod")["adverse_events"]["serious"] == 0
        assert len(_content(world, "periodic", "qa_li", "shenghe-prod")["adverse_events"]["records"]) == 1

    def test_oos_excursions_and_first_pass_come_from_the_metrics(self, world: Any, records: Any) -> None:
        clean = {"viability": 90, "car_positive": 40, "vcn": 2, "dose": 1e8}
        records.batches([clean] * 4, oos=[1], released_at=NOW - 30 * DAY)
        records.receipts([["T-8.1.5-b"], []], received_at=NOW - 20 * DAY)
        figures = _content(world, "periodic", "qa_li", "shenghe-prod")["metrics"]
        assert figures["excursions"] == {"events": 1, "total": 2, "percent": 50.0}
        assert figures["first_pass_release"]["total"] == 4
        assert figures["first_pass_release"]["events"] == 3
        assert figures["oos"]["events"] >= 1

    def test_annual_product_review_lists_cqa_trends(self, world: Any, records: Any) -> None:
        clean = {"viability": 90, "car_positive": 40, "vcn": 2, "dose": 1e8}
        version = records.version()
        records.batches([clean] * 3, released_at=NOW - 30 * DAY)
        content = _content(world, "annual_product", "qa_li", product=version.product)
        assert [t["attribute"] for t in content["cqa_trends"]] == ["viability", "car_positive", "vcn", "dose"]
        assert "members" not in content


class TestOversightMembers:
    def test_every_member_with_qualification_state_and_training(self, world: Any, records: Any) -> None:
        nurse = world["nurse_zhou"]
        for code, until in (("t-expired", UNTIL - DAY), ("t-expiring", UNTIL + 10 * DAY)):
            create_unledgered(
                Qualification, user=nurse, kind="training", code=code, title=code,
                valid_from=SINCE - 400 * DAY, valid_until=until,
            )  # fmt: skip
        content = _content(world, "oversight", "physician_wang", "xiehe-main")
        members = {m["name"]: m for m in content["members"]}
        from cellchain.accounts.models import User

        at_site = User.objects.filter(site=world.sites["xiehe-main"], is_active=True).count()
        assert len(members) == at_site
        zhou = members[nurse.printed_name]
        states = {q["code"]: q["state"] for q in zhou["qualifications"]}
        assert states["t-expired"] == "expired" and states["t-expiring"] == "expiring"
        assert zhou["training"] == "expired"

    def test_overdue_reports_are_listed(self, world: Any, records: Any) -> None:
        records.journeys("xiehe-main", [20], infused_at=NOW - 90 * DAY)
        factories.adverse_events(world.sites["xiehe-main"], world["physician_wang"], NOW - 80 * DAY, 3, True)
        content = _content(world, "oversight", "physician_wang", "xiehe-main")
        assert len(content["overdue_reports"]) == 1
