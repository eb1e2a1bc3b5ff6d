"""Response bodies of the metrics API (issue 14 item 5): the same figures as the pages, one component each."""

import datetime as dt

from ninja import Schema


class PeriodOut(Schema):
    since: dt.date
    until: dt.date


class RateRowOut(Schema):
    key: str  # "YYYY-MM", "total", or the test's code
    events: int
    total: int
    rate: float | None  # events / total; null when total is 0


class JourneyTimeOut(Schema):
    coi: str
    pseudonym: str
    product: str
    site: str
    collected_at: dt.datetime
    infused_at: dt.datetime
    hours: float


class GroupMedianOut(Schema):
    product: str  # empty when the group is a site
    site: str  # empty when the group is a product
    journeys: int
    median_hours: float
    shortest_hours: float
    longest_hours: float


class VeinToVeinOut(Schema):
    period: PeriodOut
    journeys: list[JourneyTimeOut]
    by_product: list[GroupMedianOut]
    by_site: list[GroupMedianOut]
    by_product_and_site: list[GroupMedianOut]
    overall: GroupMedianOut | None


class BatchMissOut(Schema):
    batch: str
    product: str
    released_at: dt.datetime
    had_oos: bool
    retested: bool


class FirstPassOut(Schema):
    """events = batches released first time, total = batches released (by the month of the first release)."""

    period: PeriodOut
    months: list[RateRowOut]
    total: RateRowOut
    not_first_pass: list[BatchMissOut]


class OosOut(Schema):
    """events = final results out of specification, total = final results judged."""

    period: PeriodOut
    months: list[RateRowOut]
    total: RateRowOut
    by_test: list[RateRowOut]


class ExcursionsOut(Schema):
    """events = received shipments with a temperature excursion (T-8.1.5-b failed), total = received."""

    period: PeriodOut
    months: list[RateRowOut]
    total: RateRowOut


class ProductOut(Schema):
    code: str
    name_zh: str
    name_en: str


class LimitsOut(Schema):
    centre: float
    sigma: float
    ucl: float
    lcl: float
    mr_centre: float
    mr_ucl: float
    baseline: int


class PointOut(Schema):
    batch: str
    started_at: dt.datetime
    value: float
    moving_range: float | None
    verdict: str
    flags: list[str]  # rule codes naming this point


class ViolationOut(Schema):
    rule: str
    source: str
    text: str
    side: str
    points: list[int]  # 0-based indexes into points
    batches: list[str]


class AttributeTrendOut(Schema):
    attribute: str  # viability | car_positive | vcn | dose
    unit: str
    points: list[PointOut]
    limits: LimitsOut | None
    violations: list[ViolationOut]


class TrendsOut(Schema):
    product: ProductOut
    period: PeriodOut
    rule_set: str
    attributes: list[AttributeTrendOut]
