"""The limits of a product shipment, taken from the product's approved information package (T-7.7-a/b/c,
T-7.15-a/b/c, T-7.5-e).

A product shipment is judged at receipt against the transport temperature range, the maximum transport time
and the allowed containers that the manufacturer approved for the product version, never against values
typed for the shipment. The sender may *narrow* the range or the transit time (a stricter shipment is still
within the product's requirements) but never loosen them, and the container must be one the product allows.
The shipper kind must be able to keep the product's range: its reference range (cellchain.domain.coldchain
DEFAULT_LIMITS) must lie inside the product's transport range, so a 2-8 °C box never carries a cryopreserved
product.

Pure functions: no Django, no clock. Each refusal is a `Finding` naming the product version and the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from cellchain.domain.coldchain import DEFAULT_LIMITS, ShipperKind
from cellchain.domain.findings import Finding, Gate, format_decimal
from cellchain.domain.product_information import StorageTransport, TemperatureRange


@dataclass(frozen=True, slots=True)
class ProductTransport:
    """What a product version allows in transport (T-7.7-a/b/c) and which version said so."""

    source: str  # e.g. "cd19-cart v3"
    temperature: TemperatureRange
    max_transport: timedelta | None
    containers: tuple[str, ...]


def product_transport(storage: StorageTransport, source: str) -> ProductTransport:
    """The transport part of a product's storage and transport requirements (T-7.15-a/b/c)."""
    return ProductTransport(
        source=source,
        temperature=storage.transport_temperature,
        max_transport=storage.max_transport_time,
        containers=tuple(c.strip() for c in storage.containers if c.strip()),
    )


@dataclass(frozen=True, slots=True)
class RequestedLimits:
    """What the sender asks for; None means "the product's value". Only narrowing is accepted."""

    container: str
    min_c: Decimal | None = None
    max_c: Decimal | None = None
    max_transport: timedelta | None = None


@dataclass(frozen=True, slots=True)
class AppliedLimits:
    """The limits the shipment is created with and judged against at receipt (T-8.1.5-b/c/d)."""

    source: str
    min_c: Decimal | None
    max_c: Decimal | None
    max_transport: timedelta
    containers: tuple[str, ...]
    container: str
    narrowed: tuple[
        str, ...
    ]  # what the sender made stricter, in words; empty when the product's values apply

    def describe_source(self) -> str:
        """E.g. "cd19-cart v3" or "cd19-cart v3, narrowed by the sender: transit ≤ 48 h"."""
        if not self.narrowed:
            return self.source
        return f"{self.source}, narrowed by the sender: {'; '.join(self.narrowed)}"


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _hours(value: timedelta) -> str:
    return format_decimal(Decimal(str(value.total_seconds() / 3600)))


def shipper_fits(kind: ShipperKind, product: TemperatureRange) -> bool:
    """Whether the shipper kind's reference range lies inside the product's transport range (T-7.7-a).

    An open bound of the shipper only fits an open bound of the product: a shipper that guarantees only
    "≤ -130 °C" cannot carry a product that must stay at "≤ -150 °C", nor can an LN2 shipper carry a product
    that must stay at 2-8 °C.
    """
    reference = DEFAULT_LIMITS[kind]
    low, high = _decimal(reference.min_c), _decimal(reference.max_c)
    if product.minimum_c is not None and (low is None or low < product.minimum_c):
        return False
    return product.maximum_c is None or (high is not None and high <= product.maximum_c)


def _missing(product: ProductTransport) -> list[Finding]:
    found = []
    if product.temperature.minimum_c is None and product.temperature.maximum_c is None:
        found.append(Finding("transport_range_missing",
                             f"{product.source} gives no transport temperature range; complete the product "
                             "information before shipping", "T-7.7-a", product.source))  # fmt: skip
    if product.max_transport is None:
        found.append(Finding("transport_time_missing",
                             f"{product.source} gives no maximum transport time; complete the product "
                             "information before shipping", "T-7.7-b", product.source))  # fmt: skip
    if not product.containers:
        found.append(Finding("containers_missing",
                             f"{product.source} lists no transport container; complete the product "
                             "information before shipping", "T-7.7-c", product.source))  # fmt: skip
    return found


def _range_findings(product: ProductTransport, requested: RequestedLimits) -> list[Finding]:
    allowed, found = product.temperature, []
    words = allowed.describe()
    if requested.min_c is not None and allowed.minimum_c is not None and requested.min_c < allowed.minimum_c:
        found.append(Finding("range_looser",
                             f"{product.source} allows transport at {words}; a lowest temperature of "
                             f"{format_decimal(requested.min_c)} °C would loosen it", "T-7.7-a", "min_c",
                             format_decimal(requested.min_c), format_decimal(allowed.minimum_c)))  # fmt: skip
    if requested.max_c is not None and allowed.maximum_c is not None and requested.max_c > allowed.maximum_c:
        found.append(Finding("range_looser",
                             f"{product.source} allows transport at {words}; a highest temperature of "
                             f"{format_decimal(requested.max_c)} °C would loosen it", "T-7.7-a", "max_c",
                             format_decimal(requested.max_c), format_decimal(allowed.maximum_c)))  # fmt: skip
    return found


def _applied_range(
    product: ProductTransport, requested: RequestedLimits
) -> tuple[Decimal | None, Decimal | None, list[str]]:
    low = requested.min_c if requested.min_c is not None else product.temperature.minimum_c
    high = requested.max_c if requested.max_c is not None else product.temperature.maximum_c
    narrowed = []
    if low != product.temperature.minimum_c or high != product.temperature.maximum_c:
        narrowed.append(f"temperature {TemperatureRange(low, high).describe()}")
    return low, high, narrowed


def shipment_limits(
    product: ProductTransport, kind: ShipperKind, requested: RequestedLimits
) -> tuple[AppliedLimits | None, Gate]:
    """The limits of a product shipment, or the findings that refuse it (T-7.7-a/b/c, T-7.15-a/b/c).

    Narrowing is allowed (a higher lowest or lower highest temperature, a shorter transit time) and is said
    in the source; loosening, a container the product does not list, or a shipper kind that cannot keep the
    product's range is refused.
    """
    found = _missing(product)
    if found:
        return None, Gate(tuple(found))
    assert product.max_transport is not None  # checked by _missing
    if not shipper_fits(kind, product.temperature):
        found.append(Finding("shipper_incompatible",
                             f"a {kind.value} shipper keeps {DEFAULT_LIMITS[kind].describe()}, which is not "
                             f"within {product.source}'s transport range {product.temperature.describe()}",
                             "T-7.7-a", kind.value, DEFAULT_LIMITS[kind].describe(),
                             product.temperature.describe()))  # fmt: skip
    found += _range_findings(product, requested)
    transit = requested.max_transport or product.max_transport
    if transit <= timedelta(0) or transit > product.max_transport:
        found.append(Finding("transit_longer",
                             f"{product.source} allows at most {_hours(product.max_transport)} h of transport; "
                             f"{_hours(transit)} h is not allowed", "T-7.7-b", "max_transit_hours",
                             _hours(transit), _hours(product.max_transport)))  # fmt: skip
    by_key = {c.casefold(): c for c in product.containers}
    container = by_key.get(requested.container.strip().casefold())
    if container is None:
        found.append(Finding("container_not_allowed",
                             f"{product.source} allows the containers {', '.join(product.containers)}; "
                             f"{requested.container.strip() or '(none)'!r} is not one of them", "T-7.7-c",
                             "container_type", requested.container.strip(),
                             ", ".join(product.containers)))  # fmt: skip
    low, high, narrowed = _applied_range(product, requested)
    if low is not None and high is not None and low >= high:
        found.append(Finding("range_empty",
                             f"the lowest temperature {format_decimal(low)} °C must be below the highest "
                             f"{format_decimal(high)} °C", "T-7.7-a", "min_c"))  # fmt: skip
    if found:
        return None, Gate(tuple(found))
    assert container is not None
    if transit != product.max_transport:
        narrowed.append(f"transit ≤ {_hours(transit)} h")
    applied = AppliedLimits(
        product.source, low, high, transit, product.containers, container, tuple(narrowed)
    )
    return applied, Gate()


def product_expiry(manufactured_at: datetime, shelf_life: timedelta | None) -> datetime | None:
    """Expiry or use-by time: the shelf life counted from manufacture (fill), as the label prints it (T-7.5-e)."""
    return None if shelf_life is None else manufactured_at + shelf_life
