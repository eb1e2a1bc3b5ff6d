"""Test helpers for journey holds (T-6.4-h): a journey of a given COI and a signed hold on it.

The other contexts' tests build their records without walking a journey; `journey_of_coi` gives such a COI a
journey of its own (written through `record_create`, as every regulated write), so a hold can stand on it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cellchain.core import clock
from cellchain.journeys import services
from cellchain.journeys.models import EthicsApproval, Journey, JourneyHold
from cellchain.ledger.records import record_create
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD


def journey_of_coi(world: Any, coi: str) -> Journey:
    """The journey of `coi` (15 data characters, or the keyboard form with its check character)."""
    data = "".join(coi.split())[:15]
    existing = Journey.objects.filter(coi=data).first()
    if existing:
        return existing
    doctor, site = world["physician_wang"], world.sites["xiehe-main"]
    today = clock.now().date()
    approval = EthicsApproval.objects.filter(site=site, number="EC-HOLD").first() or services.ethics_approval_record(
        actor=doctor, site=site, product_code="S1395V00", protocol="HOLD-01", number="EC-HOLD",
        approved_on=today - dt.timedelta(days=60), valid_until=today + dt.timedelta(days=300),
    )  # fmt: skip
    return record_create(
        actor=doctor,
        record=Journey(
            coi=data,
            coi_check=(coi.strip()[15:16] or "0"),
            pseudonym=f"P-H{data[-7:]}",
            hospital_site=site,
            manufacturer_site=world.sites["shenghe-prod"],
            product_code="S1395V00",
            product_name="CAR-T demo",
            starting_material="fresh",
            ethics_approval=approval,
            enrolled_at=clock.now(),
            enrolled_by=doctor,
        ),
        event="journey:enrol",
    )


def hold(world: Any, journey: Journey, kind: str = "suspension", who: str = "physician_wang") -> JourneyHold:
    """A signed hold placed by `who` (a physician of the hospital, or QA of the manufacturer)."""
    return services.journey_hold_place(
        actor=world[who],
        journey=journey,
        kind=kind,
        reason=f"{kind} for the test",
        signer=SignerCredentials(world[who], PERSONA_PASSWORD),
    )
