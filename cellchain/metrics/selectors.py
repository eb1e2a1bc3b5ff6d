"""Quality metrics, each read with a fixed number of queries however many records there are (issue 14 item 5).

Every figure is counted or grouped in SQL (correlated subqueries, conditional counts, month truncation);
Python only takes medians of the per-journey times the page lists anyway and runs the SPC rules on the
series of one product. Definitions (docs/decisions/0014-quality-metrics.md):

* vein-to-vein time of a journey: from its first apheresis collection (`Collection.collected_at`, the
  collection time the apheresis operator records) to the start of the first infusion of a unit for the same
  chain of identity (`Infusion.started_at` of a treatment course with the journey's COI); journeys counted in
  the period their infusion started in; medians per product, per hospital site and per both;
* first-pass release: a batch whose first release decision (full or conditional) falls in the month and none
  of whose results was ever out of specification (a "does not conform" verdict or an OOS investigation) or
  retested (a final result superseded by a new one; a retest needs a reason, so it is deviation-driven);
* OOS rate: final QC results judged "does not conform" / final results judged at all (conforms or not),
  superseded ones included: an OOS result replaced by a retest was still an OOS result;
* excursion rate: received shipments whose receipt inspection failed T-8.1.5-b ("was the temperature within
  the specified range throughout?", failed by the cold-chain analysis when a logger shows an excursion) /
  shipments whose receipt was recorded;
* CQA series: the current final result of each batch for viability, CAR+ %, VCN and dose (the viable cell
  count), found through the assay of the item in the batch's own specification, in batch start order.

Voided records count nowhere. A manufacturer sees its own batches, shipments and journeys; a hospital the
journeys of its patients, the batches made from its apheresis and the shipments to or from it (X-7: the
journey rows carry the COI and pseudonym only).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, DateField, Exists, F, OuterRef, Q, Subquery, TextField
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone

from cellchain.clinic.models import Infusion
from cellchain.core import clock
from cellchain.core.errors import NotFound, ValidationFailed
from cellchain.domain import spc
from cellchain.journeys.models import Collection, Journey
from cellchain.logistics.models import ReceiptInspection
from cellchain.manufacturing.models import Batch, Product, ProductVersion
from cellchain.qc.models import QcResult, ReleaseDecision

EXCURSION_CHECK = "T-8.1.5-b"
"""The receipt check the cold-chain analysis fails on an excursion (cellchain.domain.receipt)."""

MAX_PERIOD_DAYS = 3700
"""About ten years: a longer period is almost certainly a typing error in a year."""


# -- period and scope ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days `since`..`until` (both included) in the current time zone (the viewer's site)."""

    since: dt.date
    until: dt.date

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.since, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start, end


def period_of(since: dt.date | None = None, until: dt.date | None = None) -> Period:
    """The period asked for; by default the year up to today. A reversed or decade-long period is refused."""
    today = timezone.localtime(clock.now()).date()
    until = until or today
    since = since or until - dt.timedelta(days=365)
    if since > until:
        raise ValidationFailed(
            f"The period starts on {since.isoformat()}, after its end {until.isoformat()}: swap the dates.",
            field="since",
        )
    if (until - since).days > MAX_PERIOD_DAYS:
        raise ValidationFailed(
            f"The period {since.isoformat()} to {until.isoformat()} is longer than ten years: check the year.",
            field="since",
        )
    return Period(since, until)


@dataclass(frozen=True)
class Scope:
    """The viewer's organisation and whether it is the manufacturer (what its figures may include)."""

    organisation_id: int | None
    manufacturer: bool

    def _or_nothing(self, q: Q) -> Q:
        return q if self.organisation_id is not None else Q(pk__in=[])

    def journeys(self) -> Q:
        side = "manufacturer_site" if self.manufacturer else "hospital_site"
        return self._or_nothing(Q(**{f"{side}__organisation_id": self.organisation_id}))

    def batches(self, prefix: str = "") -> Q:
        site = "site" if self.manufacturer else "intake__collection_site"
        return self._or_nothing(Q(**{f"{prefix}{site}__organisation_id": self.organisation_id}))

    def shipments(self, prefix: str = "") -> Q:
        org = self.organisation_id
        return self._or_nothing(
            Q(**{f"{prefix}from_site__organisation_id": org})
            | Q(**{f"{prefix}to_site__organisation_id": org})
        )


def scope_of(viewer: Any) -> Scope:
    organisation = getattr(viewer, "organisation", None)
    if organisation is None:
        return Scope(None, False)
    return Scope(organisation.pk, organisation.is_manufacturer)


# -- vein-to-vein -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JourneyTime:
    """One journey's vein-to-vein time."""

    coi: str
    pseudonym: str
    product: str
    site: str
    collected_at: dt.datetime
    infused_at: dt.datetime

    @property
    def hours(self) -> float:
        return (self.infused_at - self.collected_at).total_seconds() / 3600

    @property
    def days(self) -> float:
        return self.hours / 24


@dataclass(frozen=True)
class GroupMedian:
    """The median vein-to-vein time of a group of journeys (a product, a site, or both)."""

    product: str
    site: str
    journeys: int
    median_hours: float
    shortest_hours: float
    longest_hours: float

    @property
    def median_days(self) -> float:
        return self.median_hours / 24

    @property
    def shortest_days(self) -> float:
        return self.shortest_hours / 24

    @property
    def longest_days(self) -> float:
        return self.longest_hours / 24


@dataclass(frozen=True)
class VeinToVein:
    journeys: tuple[JourneyTime, ...]
    by_product: tuple[GroupMedian, ...]
    by_site: tuple[GroupMedian, ...]
    by_product_and_site: tuple[GroupMedian, ...]
    overall: GroupMedian | None


def _medians(
    journeys: Iterable[JourneyTime], key: Callable[[JourneyTime], tuple[str, str]]
) -> tuple[GroupMedian, ...]:
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for journey in journeys:
        groups[key(journey)].append(journey.hours)
    return tuple(
        GroupMedian(product, site, len(hours), statistics.median(hours), min(hours), max(hours))
        for (product, site), hours in sorted(groups.items())
    )


def vein_to_vein(viewer: Any, period: Period) -> VeinToVein:
    """Vein-to-vein time per journey infused in the period, with medians (one query; module docstring)."""
    start, end = period.bounds()
    collected = Collection.objects.filter(journey=OuterRef("pk"), voided_at__isnull=True).order_by(
        "collected_at"
    )
    infused = Infusion.objects.filter(
        course__coi=OuterRef("coi"), voided_at__isnull=True, course__voided_at__isnull=True
    ).order_by("started_at")
    rows = (
        Journey.objects.filter(scope_of(viewer).journeys(), voided_at__isnull=True)
        .annotate(
            collected_at=Subquery(collected.values("collected_at")[:1]),
            infused_at=Subquery(infused.values("started_at")[:1]),
        )
        .filter(infused_at__gte=start, infused_at__lt=end, collected_at__lte=F("infused_at"))
        .order_by("infused_at", "coi")
        .values("coi", "pseudonym", "product_name", "hospital_site__name", "collected_at", "infused_at")
    )
    journeys = tuple(
        JourneyTime(
            r["coi"],
            r["pseudonym"],
            r["product_name"],
            r["hospital_site__name"],
            r["collected_at"],
            r["infused_at"],
        )
        for r in rows
    )
    overall = _medians(journeys, lambda j: ("", ""))
    return VeinToVein(
        journeys=journeys,
        by_product=_medians(journeys, lambda j: (j.product, "")),
        by_site=_medians(journeys, lambda j: ("", j.site)),
        by_product_and_site=_medians(journeys, lambda j: (j.product, j.site)),
        overall=overall[0] if overall else None,
    )


# -- rates per month ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateRow:
    """Events out of a total in one month (or one group)."""

    key: str  # "YYYY-MM", or the group's name
    events: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.events / self.total if self.total else None

    @property
    def percent(self) -> float | None:
        rate = self.rate
        return None if rate is None else round(100 * rate, 1)


@dataclass(frozen=True)
class Rate:
    """A rate per month with its total over the period."""

    months: tuple[RateRow, ...]
    total: RateRow


def _rate(rows: Iterable[dict[str, Any]], events: str, total: str) -> Rate:
    months = tuple(RateRow(r["month"].strftime("%Y-%m"), r[events], r[total]) for r in rows)
    return Rate(months, RateRow("total", sum(m.events for m in months), sum(m.total for m in months)))


def _month(field: str) -> TruncMonth:
    return TruncMonth(field, output_field=DateField())


@dataclass(frozen=True)
class BatchMiss:
    """A released batch that was not released first time, and why."""

    number: str
    product: str
    released_at: dt.datetime
    had_oos: bool
    retested: bool


@dataclass(frozen=True)
class FirstPass:
    rate: Rate  # events = released first time, total = released
    misses: tuple[BatchMiss, ...]


def _released_batches(viewer: Any, period: Period) -> Any:
    start, end = period.bounds()
    first_release = ReleaseDecision.objects.filter(batch=OuterRef("pk"), voided_at__isnull=True).order_by(
        "decided_at"
    )
    results = QcResult.objects.filter(batch=OuterRef("pk"), voided_at__isnull=True)
    oos = results.filter(Q(verdict=QcResult.Verdict.DOES_NOT_CONFORM) | Q(investigation__isnull=False))
    retest = results.filter(status=QcResult.Status.FINAL, superseded_by__isnull=False)
    return (
        Batch.objects.filter(scope_of(viewer).batches(), voided_at__isnull=True)
        .annotate(
            released_at=Subquery(first_release.values("decided_at")[:1]),
            had_oos=Exists(oos),
            retested=Exists(retest),
        )
        .filter(released_at__gte=start, released_at__lt=end)
    )


def first_pass_release(viewer: Any, period: Period) -> FirstPass:
    """Batches released first time / batches released, per month of their first release (two queries)."""
    batches = _released_batches(viewer, period)
    rows = (
        batches.annotate(month=_month("released_at"))
        .values("month")
        .annotate(released=Count("pk"), first=Count("pk", filter=Q(had_oos=False, retested=False)))
        .order_by("month")
    )
    misses = (
        batches.filter(Q(had_oos=True) | Q(retested=True))
        .order_by("released_at", "number")
        .values("number", "product_version__product__code", "released_at", "had_oos", "retested")
    )
    return FirstPass(
        _rate(rows, "first", "released"),
        tuple(
            BatchMiss(
                m["number"],
                m["product_version__product__code"],
                m["released_at"],
                m["had_oos"],
                m["retested"],
            )
            for m in misses
        ),
    )


@dataclass(frozen=True)
class OosRate:
    rate: Rate  # events = out of specification, total = judged results
    by_test: tuple[RateRow, ...]


def oos_rate(viewer: Any, period: Period) -> OosRate:
    """Final results out of specification / final results judged, per month and per test (two queries)."""
    start, end = period.bounds()
    results = QcResult.objects.filter(
        scope_of(viewer).batches("batch__"),
        voided_at__isnull=True,
        batch__voided_at__isnull=True,
        status=QcResult.Status.FINAL,
        verdict__in=[QcResult.Verdict.CONFORMS, QcResult.Verdict.DOES_NOT_CONFORM],
        performed_at__gte=start,
        performed_at__lt=end,
    )
    counts = {"judged": Count("pk"), "oos": Count("pk", filter=Q(verdict=QcResult.Verdict.DOES_NOT_CONFORM))}
    months = (
        results.annotate(month=_month("performed_at")).values("month").annotate(**counts).order_by("month")
    )
    tests = results.values("item_code").annotate(**counts).order_by("item_code")
    return OosRate(
        _rate(months, "oos", "judged"), tuple(RateRow(t["item_code"], t["oos"], t["judged"]) for t in tests)
    )


def excursion_rate(viewer: Any, period: Period) -> Rate:
    """Received shipments with a temperature excursion / received shipments, per month of receipt (one query).

    The receipt keeps its failed checks as JSON; the text of the list is searched for the check's quoted id,
    which reads the same on SQLite and PostgreSQL (`["T-8.1.5-b"]` cannot occur inside a reason's text).
    """
    start, end = period.bounds()
    rows = (
        ReceiptInspection.objects.filter(
            scope_of(viewer).shipments("shipment__"),
            voided_at__isnull=True,
            shipment__voided_at__isnull=True,
            received_at__gte=start,
            received_at__lt=end,
        )
        .annotate(month=_month("received_at"), failed=Cast("failures", TextField()))
        .values("month")
        .annotate(
            received=Count("pk"), excursions=Count("pk", filter=Q(failed__contains=f'"{EXCURSION_CHECK}"'))
        )
        .order_by("month")
    )
    return _rate(rows, "excursions", "received")


# -- CQA trends ---------------------------------------------------------------------------------------------


CQA_ASSAYS = {"viability": "viability", "car_positive": "car_positive", "vcn": "vcn", "cell_count": "dose"}
"""Specification assay -> the critical quality attribute it measures (Q-2.1, Q-2.2, Q-2.3)."""
CQA_ORDER = ("viability", "car_positive", "vcn", "dose")


@dataclass(frozen=True)
class ProductRef:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class CqaPoint:
    batch: str
    at: dt.datetime  # when the batch started (production order)
    value: float
    verdict: str


@dataclass(frozen=True)
class CqaTrend:
    """One attribute of one product: its points in production order and their X/mR chart."""

    attribute: str
    unit: str
    points: tuple[CqaPoint, ...]
    chart: spc.XmrChart


def cqa_products(viewer: Any) -> tuple[ProductRef, ...]:
    """Products with batches the viewer may see (one query)."""
    visible = Batch.objects.filter(scope_of(viewer).batches(), product_version__product=OuterRef("pk"))
    rows = Product.objects.filter(Exists(visible), voided_at__isnull=True).order_by("code")
    return tuple(ProductRef(p.code, p.name_zh, p.name_en) for p in rows.only("code", "name_zh", "name_en"))


def _attribute_of_items(product: ProductRef) -> dict[tuple[int, str], str]:
    """(product version id, item code) -> attribute, from each version's specification (one query)."""
    mapping: dict[tuple[int, str], str] = {}
    versions = ProductVersion.objects.filter(product__code=product.code).values_list("pk", "specification")
    for version_id, specification in versions:
        for item in (specification or {}).get("items", []):
            attribute = CQA_ASSAYS.get(str(item.get("assay", "")))
            if attribute is not None:
                mapping[(version_id, str(item.get("code", "")))] = attribute
    return mapping


def cqa_trends(
    viewer: Any,
    product_code: str,
    period: Period,
    rule_set: spc.RuleSet = spc.DEFAULT_RULE_SET,
    baseline: int | None = None,
) -> tuple[ProductRef, tuple[CqaTrend, ...]]:
    """The four CQA series of a product's batches started in the period, each with its X/mR chart and
    flagged rule violations (three queries). An unknown or invisible product is NotFound."""
    product = next((p for p in cqa_products(viewer) if p.code == product_code), None)
    if product is None:
        raise NotFound(f"No product {product_code!r} with batches you may see.")
    items = _attribute_of_items(product)
    start, end = period.bounds()
    rows = (
        QcResult.objects.filter(
            scope_of(viewer).batches("batch__"),
            batch__product_version__product__code=product.code,
            batch__voided_at__isnull=True,
            batch__started_at__gte=start,
            batch__started_at__lt=end,
            item_code__in=sorted({code for _, code in items}),
            is_current=True,
            status=QcResult.Status.FINAL,
            voided_at__isnull=True,
            value__isnull=False,
        )
        .order_by("batch__started_at", "batch_id")
        .values(
            "batch__number",
            "batch__started_at",
            "batch__product_version_id",
            "item_code",
            "value",
            "unit",
            "verdict",
        )
    )
    series: dict[str, list[CqaPoint]] = {name: [] for name in CQA_ORDER}
    units: dict[str, str] = {}
    for r in rows:
        attribute = items.get((r["batch__product_version_id"], r["item_code"]))
        if attribute is None:
            continue  # the code names another assay in this batch's version
        series[attribute].append(
            CqaPoint(r["batch__number"], r["batch__started_at"], float(r["value"]), r["verdict"])
        )
        units.setdefault(attribute, r["unit"])
    return product, tuple(
        CqaTrend(name, units.get(name, ""), tuple(points), _chart(points, rule_set, baseline))
        for name, points in series.items()
    )


def _chart(points: list[CqaPoint], rule_set: spc.RuleSet, baseline: int | None) -> spc.XmrChart:
    values = [p.value for p in points]
    if baseline is not None and baseline > len(values):
        baseline = None  # fewer batches than the baseline asks for: the limits use them all
    return spc.individuals_chart(values, rule_set, baseline)
