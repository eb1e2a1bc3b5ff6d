"""Reads of the clean-zone records (T-5.1.3, T-5.1.5, T-5.1.6)."""

from __future__ import annotations

from typing import Any

from django.db.models import Max, OuterRef, QuerySet, Subquery

from cellchain.domain import environment as env
from cellchain.domain.findings import Finding
from cellchain.environment.models import AreaCleaning, MonitoringLimit, MonitoringResult, StoragePlacement
from cellchain.manufacturing.models import ProductionArea, ProductUnit


def limit_for(site: Any, grade: str, parameter: str) -> MonitoringLimit | None:
    """The site's limit for that grade and parameter, or None."""
    return MonitoringLimit.objects.filter(site=site, grade=grade, parameter=parameter).first()


def limits_of(viewer: Any) -> QuerySet[MonitoringLimit]:
    return MonitoringLimit.objects.filter(site__organisation_id=viewer.organisation_id).select_related("site")


def areas_of(viewer: Any) -> QuerySet[ProductionArea]:
    return ProductionArea.objects.filter(
        site__organisation_id=viewer.organisation_id, voided_at__isnull=True
    ).select_related("site")


def cleanings_of(area: ProductionArea, limit: int = 20) -> list[AreaCleaning]:
    return list(area.cleanings.select_related("performed_by")[:limit])


def results_of(area: ProductionArea, limit: int = 50) -> list[MonitoringResult]:
    return list(area.monitoring_results.select_related("recorded_by", "deviation")[:limit])


def hvac_warnings(areas: list[ProductionArea]) -> tuple[Finding, ...]:
    """Virus areas without an HVAC system of their own (T-5.1.5), over these areas."""
    return env.hvac_warnings([env.AreaAir(a.code, a.purpose, a.hvac_system) for a in areas])


def area_overview(viewer: Any) -> QuerySet[ProductionArea]:
    """The viewer's areas, each with its last cleaning and its latest result's time and outcome (one query,
    whatever the number of records)."""
    latest = MonitoringResult.objects.filter(area=OuterRef("pk")).order_by("-sampled_at")
    return areas_of(viewer).annotate(
        last_cleaned_at=Max("cleanings__performed_at"),
        last_sampled_at=Subquery(latest.values("sampled_at")[:1]),
        last_outcome=Subquery(latest.values("outcome")[:1]),
    )


def placements_in(area: ProductionArea, limit: int = 50) -> list[StoragePlacement]:
    return list(area.placements.select_related("lot", "unit", "placed_by")[:limit])


def unit_by_din(viewer: Any, din: str) -> ProductUnit | None:
    """A cell unit of the viewer's organisation by its DIN."""
    return ProductUnit.objects.filter(
        din=din.strip(), batch__site__organisation_id=viewer.organisation_id
    ).first()
