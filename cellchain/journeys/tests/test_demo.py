"""The journeys demo: loads twice without change, and reaches receipt at the manufacturer (issue 4)."""

from __future__ import annotations

import pytest

from cellchain.journeys import demo
from cellchain.journeys.models import CustodyEvent, Journey, Unit
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def test_demo_walks_a_journey_to_receipt_and_keeps_a_labelled_one_to_pack(world):
    demo.load(world, password=PERSONA_PASSWORD)
    received = Journey.objects.get(patient_identity__wristband_id=demo.RECEIVED_WRISTBAND)
    assert set(Unit.objects.filter(journey=received).values_list("state", flat=True)) == {"received"}
    assert (
        CustodyEvent.objects.filter(journey=received, verdict="blocked", deviation_number__gt="").count() == 1
    )
    waiting = Journey.objects.get(patient_identity__wristband_id=demo.LABELLED_WRISTBAND)
    assert set(Unit.objects.filter(journey=waiting).values_list("state", flat=True)) == {"labelled"}


def test_demo_load_is_idempotent(world):
    demo.load(world, password=PERSONA_PASSWORD)
    counts = (Journey.objects.count(), Unit.objects.count(), CustodyEvent.objects.count())
    demo.load(world, password=PERSONA_PASSWORD)
    assert (Journey.objects.count(), Unit.objects.count(), CustodyEvent.objects.count()) == counts


def test_ledger_replays_to_the_journeys_tables_after_the_demo(world):
    """Every journeys write went through a service that appended to the ledger (STYLE habit 1)."""
    from cellchain.ledger.verify import verify_ledger

    demo.load(world, password=PERSONA_PASSWORD)
    report = verify_ledger()
    assert report.ok, report.lines()
    assert report.records > 0
