"""The logistics demo: a clean shipment accepted and stocked, one with an excursion quarantined (issue 6)."""

from __future__ import annotations

import pytest

from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.verify import verify_ledger
from cellchain.logistics import demo, selectors
from cellchain.logistics.models import Shipment, StockEvent
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def test_demo_has_an_accepted_stocked_shipment_and_a_quarantined_one_and_loads_once_and_replays(world):
    demo.load(world, password=PERSONA_PASSWORD)
    entries = LedgerEntry.objects.count()
    demo.load(world, password=PERSONA_PASSWORD)
    assert LedgerEntry.objects.count() == entries
    clean = Shipment.objects.get(batch_number="B26-000901")
    excursion = Shipment.objects.get(batch_number="B26-000902")
    assert (clean.status, excursion.status) == (Shipment.Status.ACCEPTED, Shipment.Status.QUARANTINED)
    stocked = {e.din for e in selectors.stock_list(world["pharmacist_liu"])}
    assert stocked == set(clean.expected_units)
    assert not StockEvent.objects.filter(din__in=excursion.expected_units).exists()
    findings = [f.message for f in verify_ledger().findings if (f.record_type or "").startswith("logistics.")]
    assert findings == []
