"""Limits of a product shipment from the product version: narrowing only, compatible shipper, allowed container,
expiry from the fill (T-7.7-a/b/c, T-7.15-a/b/c, T-7.5-e)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.coldchain import ShipperKind
from cellchain.domain.product_information import TemperatureRange
from cellchain.domain.shipping_limits import (
    ProductTransport,
    RequestedLimits,
    product_expiry,
    shipment_limits,
    shipper_fits,
)

CRYO = ProductTransport(
    "cd19 v3", TemperatureRange(None, Decimal(-150)), timedelta(hours=72), ("LN2 dry shipper",)
)
FRESH = ProductTransport(
    "fresh v1", TemperatureRange(Decimal(2), Decimal(8)), timedelta(hours=24), ("2-8 box",)
)


def test_the_products_values_apply_when_nothing_is_asked():
    limits, gate = shipment_limits(CRYO, ShipperKind.LN2_DRY_SHIPPER, RequestedLimits("LN2 dry shipper"))
    assert gate.allowed and limits is not None
    assert (limits.min_c, limits.max_c, limits.max_transport) == (None, Decimal(-150), timedelta(hours=72))
    assert limits.containers == ("LN2 dry shipper",) and limits.describe_source() == "cd19 v3"


def test_loosening_is_refused_with_the_version_and_the_values():
    """T-7.7-a/b/c: a warmer maximum, a longer transit and another container each give a finding."""
    asked = RequestedLimits("dry ice", max_c=Decimal(-120), max_transport=timedelta(hours=96))
    limits, gate = shipment_limits(CRYO, ShipperKind.LN2_DRY_SHIPPER, asked)
    assert limits is None
    assert gate.checks == ("range_looser", "transit_longer", "container_not_allowed")
    assert [f.clause for f in gate.findings] == ["T-7.7-a", "T-7.7-b", "T-7.7-c"]
    assert all("cd19 v3" in f.message for f in gate.findings)
    assert (gate.findings[0].value, gate.findings[0].limit) == ("-120", "-150")
    assert (gate.findings[1].value, gate.findings[1].limit) == ("96", "72")


def test_a_lower_minimum_than_the_product_allows_is_loosening():
    _, gate = shipment_limits(FRESH, ShipperKind.FRESH_2_8, RequestedLimits("2-8 box", min_c=Decimal(0)))
    assert gate.checks == ("range_looser",) and gate.findings[0].subject == "min_c"


def test_narrowing_is_accepted_and_said():
    asked = RequestedLimits("2-8 BOX", min_c=Decimal(3), max_transport=timedelta(hours=12))
    limits, gate = shipment_limits(FRESH, ShipperKind.FRESH_2_8, asked)
    assert gate.allowed and limits is not None
    assert (limits.min_c, limits.max_c, limits.container) == (Decimal(3), Decimal(8), "2-8 box")
    assert (
        limits.describe_source() == "fresh v1, narrowed by the sender: temperature 3 to 8 °C; transit ≤ 12 h"
    )


def test_narrowing_to_an_empty_range_is_refused():
    _, gate = shipment_limits(FRESH, ShipperKind.FRESH_2_8, RequestedLimits("2-8 box", min_c=Decimal(8)))
    assert gate.checks == ("range_empty",)


def test_shipper_must_keep_the_products_range():
    """T-7.7-a: the shipper's reference range must lie inside the product's transport range."""
    assert shipper_fits(ShipperKind.LN2_DRY_SHIPPER, CRYO.temperature)
    assert not shipper_fits(ShipperKind.CRYOPRESERVED_APHERESIS, CRYO.temperature)  # ≤ -130 is not ≤ -150
    assert not shipper_fits(ShipperKind.FRESH_2_8, CRYO.temperature)
    assert shipper_fits(ShipperKind.FRESH_2_8, FRESH.temperature)
    assert not shipper_fits(ShipperKind.LN2_DRY_SHIPPER, FRESH.temperature)
    assert shipper_fits(ShipperKind.CRYOPRESERVED_APHERESIS, TemperatureRange(None, Decimal(-120)))
    _, gate = shipment_limits(CRYO, ShipperKind.FRESH_2_8, RequestedLimits("LN2 dry shipper"))
    assert (
        gate.checks == ("shipper_incompatible",)
        and "fresh_2_8 shipper keeps 2.0 to 8.0 °C" in gate.findings[0].message
    )


def test_incomplete_product_information_is_named_before_anything_else():
    empty = ProductTransport("draft v0", TemperatureRange(), None, ())
    _, gate = shipment_limits(empty, ShipperKind.FRESH_2_8, RequestedLimits("box", max_c=Decimal(99)))
    assert gate.checks == ("transport_range_missing", "transport_time_missing", "containers_missing")


def test_expiry_counts_the_shelf_life_from_the_fill():
    """T-7.5-e, as the label prints it."""
    filled = datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert product_expiry(filled, timedelta(hours=8760)) == datetime(2027, 3, 1, 8, tzinfo=UTC)
    assert product_expiry(filled, None) is None


bounds = st.one_of(st.none(), st.integers(min_value=-200, max_value=40).map(Decimal))


@given(low=bounds, high=bounds, hours=st.integers(min_value=1, max_value=200))
def test_accepted_limits_never_lie_outside_the_product(low, high, hours):
    """Property: whatever is asked, accepted limits are within the product's range and transit time."""
    asked = RequestedLimits("LN2 dry shipper", low, high, timedelta(hours=hours))
    limits, gate = shipment_limits(CRYO, ShipperKind.LN2_DRY_SHIPPER, asked)
    if limits is None:
        assert not gate.allowed
        return
    assert limits.max_c is not None and limits.max_c <= Decimal(-150)
    assert limits.max_transport <= timedelta(hours=72)
    assert limits.min_c is None or limits.min_c < limits.max_c
