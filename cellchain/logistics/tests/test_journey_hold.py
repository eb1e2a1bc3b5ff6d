"""A suspended or terminated journey's shipper is not handed to the courier (T-6.4-h)."""

from __future__ import annotations

import pytest

from cellchain.core.errors import Conflict
from cellchain.journeys import services as journeys
from cellchain.journeys.tests.holding import hold, journey_of_coi
from cellchain.logistics.models import Shipment
from cellchain.logistics.tests import kit
from cellchain.logistics.tests.test_release_and_scans import dispatch, ready
from cellchain.signatures.services import SignerCredentials
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def test_T_6_4_h_dispatch_refused_while_the_journey_is_suspended_and_allowed_once_lifted(world) -> None:
    shipment = ready(world, "001901")
    placed = hold(world, journey_of_coi(world, kit.coi_of("001901")))
    with pytest.raises(Conflict, match=r"is suspended.*shipping is refused while it stands \(T-6\.4-h\)"):
        dispatch(world, shipment)
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKED
    journeys.journey_hold_lift(
        actor=world["physician_wang"],
        hold=placed,
        reason="infection treated",
        signer=SignerCredentials(world["physician_wang"], PERSONA_PASSWORD),
    )
    assert dispatch(world, shipment).status == Shipment.Status.IN_TRANSIT


def test_T_6_4_h_dispatch_refused_for_a_terminated_journey(world) -> None:
    shipment = ready(world, "001902")
    hold(world, journey_of_coi(world, kit.coi_of("001902")), kind="termination", who="qa_li")
    with pytest.raises(Conflict, match=r"is terminated.*\(T-6\.4-h\)"):
        dispatch(world, shipment)
