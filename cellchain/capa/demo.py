"""Demo CAPA and change control (issue 13 item 4): at the manufacturer, a deviation with its CAPA in progress
(investigated, one corrective action done, one preventive action overdue, no effectiveness check yet) and a
change request to the demo product's process, assessed and approved by QA, waiting for its implementation.

Runs after the manufacturing demo (capa comes later in CELLCHAIN_CONTEXTS); on its own it makes the demo
product's approved version first (`approved_version`).
Idempotent: nothing is made twice (checked by the demo deviation's title and the change's title).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cellchain.accounts.world import DEMO_PASSWORD
from cellchain.capa import services
from cellchain.capa.models import ChangeRequest
from cellchain.core import clock
from cellchain.manufacturing.demo import approved_version
from cellchain.quality import services as quality
from cellchain.quality.models import Deviation
from cellchain.signatures.services import SignerCredentials

DEVIATION_TITLE = "Incubator INC-01 CO2 at 6.2 % for 40 min (demo)"
CHANGE_TITLE = "Expansion medium: X-VIVO 15 to TexMACS (demo)"
DAY = dt.timedelta(days=1)


def load(world: Any, password: str = DEMO_PASSWORD) -> None:
    """Make the demo deviation with CAPA in progress and the demo change request once."""
    site = world.sites["shenghe-prod"]
    qa, guo, operator = world["qa_li"], world["qa_guo"], world["operator_chen"]
    start = clock.now().replace(microsecond=0) - 20 * DAY
    today = clock.today(site.time_zone)
    if not Deviation.objects.filter(title=DEVIATION_TITLE).exists():
        with clock.frozen(start):
            deviation = quality.deviation_open(
                actor=operator,
                site=site,
                kind=Deviation.Kind.PROCESS,
                title=DEVIATION_TITLE,
                description="The CO2 reading of INC-01 rose above the 5.5 % alarm limit during expansion.",
                blocks_subject=False,
            )
        with clock.frozen(start + 2 * DAY):
            quality.deviation_disposition(
                actor=qa,
                deviation=deviation,
                investigation="See the CAPA investigation.",
                disposition="Batches in the incubator continue; viability within limits.",
            )
            services.investigation_record(
                actor=qa,
                deviation=deviation,
                investigator=guo,
                category="equipment",
                root_cause="CO2 sensor drift: last calibration 11 months ago, interval 12 months.",
                impact_assessment="Viability and growth of the two batches in INC-01 within limits; no product impact.",
            )
            done = services.capa_action_add(
                actor=qa,
                deviation=deviation,
                kind="corrective",
                description="Recalibrate the CO2 sensor of INC-01.",
                owner=operator,
                due_on=today - 15 * DAY,
            )
            services.capa_action_add(
                actor=qa,
                deviation=deviation,
                kind="preventive",
                description="Shorten the CO2 sensor calibration interval to 6 months in SOP-EQ-014.",
                owner=guo,
                due_on=today - 3 * DAY,
            )
        with clock.frozen(start + 4 * DAY):
            services.capa_action_complete(
                actor=operator, action=done, note="Calibrated; certificate CAL-2026-088."
            )
    if ChangeRequest.objects.filter(title=CHANGE_TITLE).exists():
        return
    version = approved_version(world, password)
    with clock.frozen(start + 5 * DAY):
        change = services.change_raise(
            actor=operator,
            kind="process",
            title=CHANGE_TITLE,
            description="Replace X-VIVO 15 by TexMACS in the expansion step.",
            reason="The supplier discontinues X-VIVO 15 at the end of the year.",
            risk_level="high",
            risk_assessment="Expansion kinetics and phenotype may change: comparability of three runs needed.",
            affected_versions=[version],
            affected_items="SOP-PRD-007 v5 (expansion)",
        )
        services.change_assess(
            actor=qa,
            change=change,
            impact_assessment="Process validation of the expansion step, SOP-PRD-007 revision, operator training.",
        )
        services.change_approve(actor=qa, change=change, signer=SignerCredentials(qa, password))
