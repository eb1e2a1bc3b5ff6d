"""The metrics read from built records: definitions, periods, voided rows and who sees what (issue 14 item 5)."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest

from cellchain.core import clock
from cellchain.core.errors import NotFound, ValidationFailed
from cellchain.domain import spc
from cellchain.domain.receipt import CHECKS_BY_ID
from cellchain.ledger.tests.behind import update_unledgered
from cellchain.metrics import selectors
from cellchain.metrics.tests.factories import DAY, Records
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def now() -> Any:
    moment = dt.datetime(2026, 6, 15, 4, 0, tzinfo=dt.UTC)
    with clock.frozen(moment):
        yield moment


@pytest.fixture
def records(world: Any, now: dt.datetime) -> Records:
    return Records(world, now)


def _year(now: dt.datetime) -> selectors.Period:
    return selectors.Period(now.date() - 365 * DAY, now.date())


class TestPeriod:
    def test_by_default_the_year_up_to_today(self, now: dt.datetime) -> None:
        assert selectors.period_of() == selectors.Period(dt.date(2025, 6, 15), dt.date(2026, 6, 15))

    def test_a_reversed_period_is_refused_naming_both_dates(self, now: dt.datetime) -> None:
        with pytest.raises(ValidationFailed, match="2026-06-01, after its end 2026-05-01") as caught:
            selectors.period_of(dt.date(2026, 6, 1), dt.date(2026, 5, 1))
        assert caught.value.field == "since"

    def test_a_period_of_more_than_ten_years_is_refused(self, now: dt.datetime) -> None:
        with pytest.raises(ValidationFailed, match="longer than ten years"):
            selectors.period_of(dt.date(2006, 1, 1), dt.date(2026, 1, 1))

    def test_the_bounds_are_whole_days_in_the_current_zone(self, now: dt.datetime) -> None:
        from django.utils import timezone

        with timezone.override("Asia/Shanghai"):
            start, end = selectors.Period(dt.date(2026, 6, 1), dt.date(2026, 6, 1)).bounds()
        assert start == dt.datetime(2026, 5, 31, 16, 0, tzinfo=dt.UTC)
        assert end - start == DAY


class TestVeinToVein:
    def test_each_journey_from_collection_to_infusion_with_medians(
        self, world: Any, records: Records
    ) -> None:
        """Issue 14 item 5: vein-to-vein time per journey, median per product, per site and per both."""
        records.journeys("xiehe-main", [20, 24, 31])
        records.journeys("renji-east", [18, 22], product="BCMA CAR-T")
        found = selectors.vein_to_vein(world["qa_li"], _year(records.now))
        assert sorted(round(j.days, 3) for j in found.journeys) == [18, 20, 22, 24, 31]
        assert {(g.product, g.median_days) for g in found.by_product} == {
            ("CD19 CAR-T", 24),
            ("BCMA CAR-T", 20),
        }
        sites = {g.site: (g.journeys, g.median_days, g.shortest_days, g.longest_days) for g in found.by_site}
        assert sites == {"仁济医院 东院 / East campus": (2, 20, 18, 22), **{_xiehe(world): (3, 24, 20, 31)}}
        assert len(found.by_product_and_site) == 2
        assert found.overall is not None and found.overall.median_days == 22 and found.overall.journeys == 5

    def test_a_journey_not_yet_infused_has_no_time(self, world: Any, records: Records) -> None:
        waiting, infused = records.journeys("xiehe-main", [None, 25])
        found = selectors.vein_to_vein(world["qa_li"], _year(records.now))
        assert [j.coi for j in found.journeys] == [infused.coi]
        assert waiting.coi not in {j.coi for j in found.journeys}

    def test_the_first_collection_and_the_first_infusion_count_and_voided_ones_do_not(
        self, world: Any, records: Records
    ) -> None:
        from cellchain.clinic.models import Infusion
        from cellchain.journeys.models import Collection

        (journey,) = records.journeys("xiehe-main", [20])
        collection = Collection.objects.get(journey=journey)
        update_unledgered(
            Collection.objects.filter(pk=collection.pk), collected_at=collection.collected_at - 3 * DAY
        )
        assert selectors.vein_to_vein(world["qa_li"], _year(records.now)).journeys[0].days == pytest.approx(
            23
        )
        update_unledgered(Infusion.objects.filter(course__coi=journey.coi), voided_at=records.now)
        assert selectors.vein_to_vein(world["qa_li"], _year(records.now)).journeys == ()

    def test_a_journey_counts_in_the_period_its_infusion_started_in(
        self, world: Any, records: Records
    ) -> None:
        records.journeys("xiehe-main", [20], infused_at=records.now - 400 * DAY)
        records.journeys("xiehe-main", [21])
        assert [
            round(j.days) for j in selectors.vein_to_vein(world["qa_li"], _year(records.now)).journeys
        ] == [21]

    def test_a_hospital_sees_only_its_own_patients_and_the_manufacturer_all(
        self, world: Any, records: Records
    ) -> None:
        """X-7 / T-7.6: a hospital never sees another hospital's journeys; the rows carry COI and pseudonym."""
        (xiehe,) = records.journeys("xiehe-main", [20])
        (renji,) = records.journeys("renji-east", [30])
        period = _year(records.now)
        assert [j.coi for j in selectors.vein_to_vein(world["physician_wang"], period).journeys] == [
            xiehe.coi
        ]
        assert [j.coi for j in selectors.vein_to_vein(world["coordinator_xu"], period).journeys] == [
            renji.coi
        ]
        assert len(selectors.vein_to_vein(world["qa_li"], period).journeys) == 2


def _xiehe(world: Any) -> str:
    return world.sites["xiehe-main"].name


CLEAN = {"viability": 90.0, "car_positive": 40.0, "vcn": 2.0, "dose": 2.4e8}


class TestFirstPassRelease:
    def test_an_oos_or_a_retest_is_not_a_first_pass(self, world: Any, records: Records) -> None:
        """Released first time: no OOS result (even superseded) and no retested result."""
        batches = records.batches([CLEAN] * 4, oos=[1], retested=[2])
        found = selectors.first_pass_release(world["qa_li"], _year(records.now))
        assert [(m.key, m.events, m.total) for m in found.rate.months] == [("2026-06", 2, 4)]
        assert found.rate.total.percent == 50.0
        assert [(m.number, m.had_oos, m.retested) for m in found.misses] == [
            (batches[1].number, True, True),  # its OOS result was retested too
            (batches[2].number, False, True),
        ]

    def test_batches_count_in_the_month_of_their_first_release(self, world: Any, records: Records) -> None:
        records.batches([CLEAN], released_at=dt.datetime(2026, 3, 10, tzinfo=dt.UTC))
        records.batches([CLEAN] * 2, released_at=dt.datetime(2026, 5, 31, 12, tzinfo=dt.UTC), oos=[0])
        records.batches([CLEAN], released=False)
        months = selectors.first_pass_release(world["qa_li"], _year(records.now)).rate.months
        assert [(m.key, m.events, m.total) for m in months] == [("2026-03", 1, 1), ("2026-05", 1, 2)]

    def test_a_hospital_sees_the_batches_made_from_its_apheresis(self, world: Any, records: Records) -> None:
        records.batches([CLEAN] * 2, collection_site="xiehe-main")
        records.batches([CLEAN], collection_site="renji-east")
        period = _year(records.now)
        assert selectors.first_pass_release(world["physician_wang"], period).rate.total.total == 2
        assert selectors.first_pass_release(world["coordinator_xu"], period).rate.total.total == 1
        assert selectors.first_pass_release(world["qa_li"], period).rate.total.total == 3


class TestOosRate:
    def test_out_of_specification_results_over_final_judged_results(
        self, world: Any, records: Records
    ) -> None:
        """Superseded results count (an OOS replaced by a retest was still OOS); pending ones do not."""
        from cellchain.qc.models import QcResult

        records.batches([CLEAN] * 3, oos=[0])  # 12 CQA results + the OOS endotoxin and its retest
        one_vcn = QcResult.objects.filter(item_code="vcn").values("pk")[:1]
        update_unledgered(QcResult.objects.filter(pk__in=one_vcn), verdict="pending", status="ordered")
        found = selectors.oos_rate(world["qa_li"], _year(records.now))
        assert (found.rate.total.events, found.rate.total.total) == (1, 13)
        by_test = {t.key: (t.events, t.total) for t in found.by_test}
        assert by_test["endotoxin"] == (1, 2) and by_test["vcn"] == (0, 2)

    def test_a_voided_result_counts_nowhere(self, world: Any, records: Records) -> None:
        from cellchain.qc.models import QcResult

        records.batches([CLEAN], oos=[0])
        update_unledgered(QcResult.objects.filter(verdict="does_not_conform"), voided_at=records.now)
        assert selectors.oos_rate(world["qa_li"], _year(records.now)).rate.total.events == 0


class TestExcursionRate:
    def test_receipts_failing_the_range_check_over_receipts(self, world: Any, records: Records) -> None:
        """T-8.1.5-b is the excursion; a missing record (T-8.1.5-a) or a damaged package is not one."""
        assert CHECKS_BY_ID[selectors.EXCURSION_CHECK].question_en.startswith("Was the temperature within")
        records.receipts([[], ["T-8.1.3-e", "T-8.1.5-b"], ["T-8.1.5-a"], ["T-8.1.3-b"]])
        records.receipts([["T-8.1.5-b"]], received_at=records.now - 500 * DAY)
        rate = selectors.excursion_rate(world["qa_li"], _year(records.now))
        assert [(m.key, m.events, m.total) for m in rate.months] == [("2026-06", 1, 4)]
        assert rate.total.percent == 25.0

    def test_a_hospital_sees_its_own_receipts_only(self, world: Any, records: Records) -> None:
        records.receipts([["T-8.1.5-b"]])
        period = _year(records.now)
        assert selectors.excursion_rate(world["physician_wang"], period).total.total == 1
        assert selectors.excursion_rate(world["coordinator_xu"], period).total.total == 0


def _declining(count: int, drop_from: int) -> list[dict[str, float]]:
    """Viability steady around 90 % (alternating +/-0.5), then falling 1 point a batch from `drop_from`."""
    rows = []
    for i in range(count):
        viability = 90 + (0.5 if i % 2 else -0.5) if i < drop_from else 89.5 - (i - drop_from + 1)
        rows.append(CLEAN | {"viability": viability, "vcn": 2.0 + (0.1 if i % 2 else -0.1)})
    return rows


class TestCqaTrends:
    def test_a_steady_decline_in_viability_is_flagged_and_a_steady_vcn_is_not(
        self, world: Any, records: Records
    ) -> None:
        """Issue 14 item 5: CQA trends with SPC limits; the drift is flagged, naming the batches."""
        batches = records.batches(_declining(16, 10))
        product, trends = selectors.cqa_trends(world["qa_li"], "cd19-metrics", _year(records.now))
        by_name = {t.attribute: t for t in trends}
        assert product.code == "cd19-metrics" and list(by_name) == [
            "viability",
            "car_positive",
            "vcn",
            "dose",
        ]
        viability = by_name["viability"]
        assert [p.batch for p in viability.points] == [b.number for b in batches]
        trend = [v for v in viability.chart.violations if v.rule is spc.RuleCode.SIX_TRENDING]
        assert trend and {batches[i].number for i in trend[0].points} >= {b.number for b in batches[10:]}
        assert by_name["vcn"].chart.violations == ()
        assert by_name["dose"].unit == "cells" and by_name["dose"].chart.limits.sigma == 0  # type: ignore[union-attr]

    def test_limits_from_a_baseline_flag_the_shift_after_it(self, world: Any, records: Records) -> None:
        records.batches(_declining(16, 10))
        _, trends = selectors.cqa_trends(
            world["qa_li"], "cd19-metrics", _year(records.now), spc.RuleSet.WESTERN_ELECTRIC, baseline=10
        )
        viability = trends[0].chart
        assert viability.limits is not None and viability.limits.baseline == 10
        assert viability.limits.centre == pytest.approx(90.0)
        beyond = {p for v in viability.violations if v.rule is spc.RuleCode.BEYOND_3_SIGMA for p in v.points}
        assert beyond and min(beyond) >= 10

    def test_the_attribute_is_found_by_its_assay_whatever_the_product_calls_it(
        self, world: Any, records: Records
    ) -> None:
        from cellchain.manufacturing.reference_product import SPECIFICATION

        renamed = {**SPECIFICATION, "items": [
            {**item, "code": "viab-aodapi"} if item["code"] == "viability" else item
            for item in SPECIFICATION["items"]
        ]}  # fmt: skip
        version = records.version("cd19-renamed", renamed)
        records.batches([{"viability": 88.0}, {"viability": 91.0}], version=version,
                        items={"viability": "viab-aodapi"})  # fmt: skip
        _, trends = selectors.cqa_trends(world["qa_li"], "cd19-renamed", _year(records.now))
        assert [p.value for p in trends[0].points] == [88.0, 91.0]
        assert all(not t.points for t in trends[1:])

    def test_a_product_with_no_visible_batch_is_not_found(self, world: Any, records: Records) -> None:
        records.batches([CLEAN] * 2, collection_site="xiehe-main")
        assert [p.code for p in selectors.cqa_products(world["physician_wang"])] == ["cd19-metrics"]
        assert selectors.cqa_products(world["coordinator_xu"]) == ()
        with pytest.raises(NotFound, match="cd19-metrics"):
            selectors.cqa_trends(world["coordinator_xu"], "cd19-metrics", _year(records.now))

    def test_a_single_batch_gives_no_limits(self, world: Any, records: Records) -> None:
        records.batches([CLEAN])
        _, trends = selectors.cqa_trends(world["qa_li"], "cd19-metrics", _year(records.now))
        assert all(t.chart.limits is None and len(t.points) == 1 for t in trends)


class TestOnTheDemoRecords:
    """The demo's records, written through the services (signed releases, logger files, receipt inspection)."""

    def test_the_demo_batches_and_shipments(self, world: Any) -> None:
        for app in ("journeys", "manufacturing", "qc", "logistics"):
            importlib.import_module(f"cellchain.{app}.demo").load(world, password=PERSONA_PASSWORD)
        period = selectors.period_of()
        qa = world["qa_li"]
        first = selectors.first_pass_release(qa, period).rate.total
        assert (first.events, first.total) == (2, 2)  # one full, one conditional release; no OOS
        excursions = selectors.excursion_rate(qa, period).total
        assert (excursions.events, excursions.total) == (1, 2)  # the demo logger shows one excursion
        oos = selectors.oos_rate(qa, period).rate.total
        assert oos.events == 0 and oos.total > 20
        product = selectors.cqa_products(qa)[0]
        _, trends = selectors.cqa_trends(qa, product.code, period)
        assert all(len(t.points) == 2 for t in trends)


def test_a_viewer_of_no_organisation_sees_no_figures(world: Any, records: Records) -> None:
    """An account outside any organisation (e.g. a bootstrap superuser) gets empty figures, not everyone's."""
    from types import SimpleNamespace

    records.journeys("xiehe-main", [20])
    records.batches([CLEAN] * 2)
    records.receipts([["T-8.1.5-b"]])
    nobody, period = SimpleNamespace(organisation=None), _year(records.now)
    assert selectors.vein_to_vein(nobody, period).journeys == ()
    assert selectors.first_pass_release(nobody, period).rate.total.total == 0
    assert selectors.oos_rate(nobody, period).rate.total.total == 0
    assert selectors.excursion_rate(nobody, period).total.total == 0
    assert selectors.cqa_products(nobody) == ()
