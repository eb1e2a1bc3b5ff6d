"""Demo clean-zone records: the site's alert/action limits for grades B and C, yesterday's cleaning of every area,
and this morning's monitoring with one alert in room 2 (T-5.1.6).

Runs after the manufacturing demo (environment comes after manufacturing in CELLCHAIN_CONTEXTS), which registers
the areas with their grades. Idempotent: nothing is made twice (checked by the limits and the demo agent's name).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from cellchain.core import clock
from cellchain.domain.environment import ANNEX1_CEILINGS, Grade, Parameter
from cellchain.environment import services
from cellchain.environment.models import AreaCleaning, MonitoringLimit
from cellchain.manufacturing.models import ProductionArea

AGENT = "75 % ethanol, lot ETH-2612 (demo)"
# Room 2's settle plate this morning: above the site's alert limit, below Annex 1's action limit for grade C.
RESULTS = (
    ("unit-a", Parameter.SETTLE_PLATE, "0"),
    ("unit-a", Parameter.PARTICLES_0_5, "1200"),
    ("room-1", Parameter.VIABLE_AIR, "2"),
    ("room-2", Parameter.SETTLE_PLATE, "30"),
)


def load(world: Any) -> None:
    """Set the limits, log the cleanings and record the monitoring results once."""
    site = world.sites["shenghe-prod"]
    qa, operator, analyst = world["qa_li"], world["operator_chen"], world["qc_zhang"]
    if not MonitoringLimit.objects.filter(site=site).exists():
        for grade in (Grade.B, Grade.C):
            for parameter, ceiling in ANNEX1_CEILINGS[grade].items():
                if ceiling is None:
                    continue
                services.monitoring_limit_set(
                    actor=qa, site=site, grade=grade, parameter=parameter, alert=ceiling / 2, action=ceiling
                )
    areas = {a.code: a for a in ProductionArea.objects.filter(site=site)}
    if AreaCleaning.objects.filter(agent=AGENT).exists() or not areas:
        return
    yesterday = clock.now().replace(microsecond=0) - dt.timedelta(hours=20)
    for area in areas.values():
        services.area_cleaning_record(
            actor=operator, area=area, kind="disinfection", agent=AGENT, at=yesterday
        )
    for code, parameter, value in RESULTS:
        if code in areas:
            services.monitoring_result_record(
                actor=analyst,
                area=areas[code],
                parameter=parameter,
                value=Decimal(value),
                sample_point="demo point 1",
                at=yesterday + dt.timedelta(hours=12),
            )
