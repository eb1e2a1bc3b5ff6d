"""The logistics demo: the QC demo's released batch shipped, accepted and stocked, its conditionally released
batch quarantined after an excursion (issue 6); limits from the product version (T-7.7), storage reserved before
dispatch (T-8.1.2-e), a calibrated receipt thermometer (T-8.1.2-c)."""

from __future__ import annotations

import pytest

from cellchain.ledger.models import LedgerEntry
from cellchain.ledger.verify import verify_ledger
from cellchain.logistics import demo, selectors
from cellchain.logistics.models import MonitoringDevice, Shipment, StockEvent, StorageReservation
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def load_upstream(world) -> None:
    """The demos the logistics demo ships from (journeys, manufacturing, QC), in `cellchain demo` order."""
    from cellchain.core.demo_loader import load_reference
    from cellchain.journeys import demo as journeys
    from cellchain.manufacturing import demo as manufacturing
    from cellchain.qc import demo as qc

    load_reference()
    for module in (journeys, manufacturing, qc):
        module.load(world, password=PERSONA_PASSWORD)


def test_demo_ships_the_released_batch_and_quarantines_the_excursion_and_loads_once_and_replays(world):
    load_upstream(world)
    demo.load(world, password=PERSONA_PASSWORD)
    entries = LedgerEntry.objects.count()
    demo.load(world, password=PERSONA_PASSWORD)
    assert LedgerEntry.objects.count() == entries
    clean = Shipment.objects.get(status=Shipment.Status.ACCEPTED)
    excursion = Shipment.objects.get(status=Shipment.Status.QUARANTINED)
    assert clean.limits_source == excursion.limits_source == "cd19-cart-demo v1"
    assert (clean.max_c, clean.max_transit_hours, clean.allowed_containers) == (-150, 72, ["LN2 dry shipper"])
    stocked = {e.din for e in selectors.stock_list(world["pharmacist_liu"])}
    assert stocked == set(clean.expected_units) and len(stocked) == 2
    assert not StockEvent.objects.filter(din__in=excursion.expected_units).exists()
    assert clean.reservations.get().status == StorageReservation.Status.FULFILLED
    assert excursion.reservations.get().status == StorageReservation.Status.ACTIVE
    assert clean.receipt.monitoring_device.code == demo.RECEIPT_THERMOMETER
    overdue = MonitoringDevice.objects.get(code="THERM-XH-02")
    assert overdue not in selectors.usable_devices_for(world["pharmacist_liu"], clean.arrived_at.date())
    findings = [f.message for f in verify_ledger().findings if (f.record_type or "").startswith("logistics.")]
    assert findings == []


def test_demo_without_the_upstream_batches_makes_only_the_storage_and_devices(world):
    demo.load(world, password=PERSONA_PASSWORD)
    assert not Shipment.objects.exists()
    assert MonitoringDevice.objects.count() == len(demo.DEVICES)
    assert selectors.storage_locations_for(world["pharmacist_liu"]).get().code == demo.TANK
