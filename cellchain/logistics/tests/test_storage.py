"""Hospital storage: locations with a storage mode, stock-in/out by scan, expiry watch (issue 6 item 5;
T-7.7-d, T-7.7-e, T-8.1.1, T-8.1.3-d)."""

from __future__ import annotations

import datetime as dt

import pytest

from cellchain.core import clock
from cellchain.core.errors import Conflict, IdentityMismatch, NotAllowed, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.logistics import demo, selectors, services
from cellchain.logistics.models import MonitoringDevice, StockEvent, StorageLocation
from cellchain.logistics.tests import kit

pytestmark = pytest.mark.django_db


def location(world, code="LN2-01", mode=StorageLocation.Mode.LIQUID_NITROGEN):
    """The demo's LN2 tank LN2-01 (reserved for the kit's shipments), or a new location of 20 positions."""
    demo.xiehe_storage(world)
    existing = StorageLocation.objects.filter(code=code).first()
    if existing is not None:
        return existing
    return services.storage_location_create(
        actor=world["pharmacist_liu"], code=code, name=f"Tank {code}", storage_mode=mode,
        monitoring_device=demo.receipt_device(world), capacity=20,
    )  # fmt: skip


def received(world, tag, *, excursion=False, sign=True):
    return kit.received(world, tag, excursion=excursion, sign=sign)


class TestStorageLocationCreate:
    def test_location_is_created_at_the_actors_site_with_its_device_and_ledgered(self, world):
        """T-8.1.2-c: the location's temperature monitoring points at a registered device."""
        row = location(world, "LN2-A")
        assert row.site == world.sites["xiehe-main"] and row.capacity == 20
        assert row.monitoring_device.code == demo.RECEIPT_THERMOMETER == row.monitoring_reference
        assert LedgerEntry.objects.filter(event="storage_location:create", record_id=str(row.pk)).count() == 1

    def test_manufacturer_staff_cannot_add_hospital_locations(self, world):
        with pytest.raises(NotAllowed):
            services.storage_location_create(actor=world["logistics_zhao"], code="X", name="X",
                                             storage_mode="liquid_nitrogen", monitoring_device=None,
                                             capacity=5)  # fmt: skip

    def test_location_needs_a_usable_temperature_monitor_and_a_capacity(self, world):
        """T-8.1.2-c, T-10.12: no device, or one overdue for calibration, is refused; so is no capacity."""
        demo.xiehe_storage(world)
        liu, overdue = world["pharmacist_liu"], MonitoringDevice.objects.get(code="THERM-XH-02")
        with pytest.raises(ValidationFailed, match="registered device"):
            services.storage_location_create(actor=liu, code="X", name="X", storage_mode="liquid_nitrogen",
                                             monitoring_device=None, capacity=5)  # fmt: skip
        with pytest.raises(ValidationFailed, match=r"T-10\.12: device THERM-XH-02 .*calibration was due"):
            services.storage_location_create(actor=liu, code="X", name="X", storage_mode="liquid_nitrogen",
                                             monitoring_device=overdue, capacity=5)  # fmt: skip
        with pytest.raises(ValidationFailed, match="capacity"):
            services.storage_location_create(actor=liu, code="X", name="X", storage_mode="liquid_nitrogen",
                                             monitoring_device=demo.receipt_device(world), capacity=0)  # fmt: skip


class TestStockIn:
    def test_accepted_and_signed_unit_is_stocked_with_its_limits(self, world):
        """T-8.1.1, T-7.7-e: the storage time limit counts from the stock-in."""
        shipment = received(world, "000611")
        tank = location(world)
        din = shipment.expected_units[0]
        event = services.stock_in(actor=world["pharmacist_liu"], location=tank, scanned_text=kit.keyboard(din),
                                  storage_time_limit=dt.timedelta(days=30))  # fmt: skip
        assert event.din == din and event.expires_at == shipment.expires_at
        assert event.storage_until - event.at == dt.timedelta(days=30)
        assert list(selectors.stock_list(world["pharmacist_liu"])) == [event]
        assert LedgerEntry.objects.filter(event="unit:stock:in").count() == 1

    def test_unit_cannot_go_into_a_location_of_another_storage_mode(self, world):
        """T-7.7-d: a cryopreserved unit is not put into a 2-8 °C refrigerator."""
        shipment = received(world, "000612")
        fridge = location(world, "FR-1", StorageLocation.Mode.FRIDGE_2_8)
        with pytest.raises(Conflict, match=r"T-7\.7-d.*liquid_nitrogen.*fridge_2_8"):
            services.stock_in(actor=world["pharmacist_liu"], location=fridge,
                              scanned_text=shipment.expected_units[0])  # fmt: skip
        assert not StockEvent.objects.exists()

    def test_quarantined_unit_is_refused(self, world):
        """T-8.1.6: a unit quarantined at receipt does not enter stock."""
        shipment = received(world, "000613", excursion=True)
        with pytest.raises(Conflict, match=r"T-8\.1\.6.*quarantined"):
            services.stock_in(actor=world["pharmacist_liu"], location=location(world),
                              scanned_text=shipment.expected_units[0])  # fmt: skip

    def test_unit_without_a_signed_receipt_is_refused(self, world):
        """T-8.1.1: units enter clinic stock only when the receipt record is complete and signed."""
        shipment = received(world, "000614", sign=False)
        with pytest.raises(Conflict, match="not signed"):
            services.stock_in(actor=world["pharmacist_liu"], location=location(world),
                              scanned_text=shipment.expected_units[0])  # fmt: skip

    def test_unit_not_yet_inspected_is_refused(self, world):
        shipment = kit.ship_and_arrive(world, tag="000615", excursion=False)
        with pytest.raises(Conflict, match="no receipt inspection"):
            services.stock_in(actor=world["pharmacist_liu"], location=location(world),
                              scanned_text=shipment.expected_units[0])  # fmt: skip

    def test_unknown_scan_and_double_stock_in_are_refused(self, world):
        shipment = received(world, "000616")
        tank, liu = location(world), world["pharmacist_liu"]
        with pytest.raises(IdentityMismatch):
            services.stock_in(actor=liu, location=tank, scanned_text="W999999999999")
        services.stock_in(actor=liu, location=tank, scanned_text=shipment.expected_units[0])
        with pytest.raises(Conflict, match="already in stock at LN2-01"):
            services.stock_in(
                actor=liu, location=location(world, "LN2-B"), scanned_text=shipment.expected_units[0]
            )

    def test_stocking_needs_the_stock_qualification(self, world):
        shipment = received(world, "000617")
        with pytest.raises(NotAllowed, match="stock"):
            services.stock_in(actor=world["coordinator_zhou"], location=location(world),
                              scanned_text=shipment.expected_units[0])  # fmt: skip


class TestStockOut:
    def test_stock_out_closes_the_stock_in(self, world):
        shipment = received(world, "000621")
        liu, din = world["pharmacist_liu"], shipment.expected_units[0]
        stocked = services.stock_in(actor=liu, location=location(world), scanned_text=din)
        out = services.stock_out(actor=liu, scanned_text=din, purpose=StockEvent.Purpose.THAW)
        assert out.stock_in == stocked and out.location == stocked.location
        assert not selectors.stock_list(liu).exists()
        with pytest.raises(Conflict, match="not in stock"):
            services.stock_out(actor=liu, scanned_text=din, purpose=StockEvent.Purpose.THAW)

    def test_unit_past_its_storage_time_limit_is_not_issued_for_thaw(self, world):
        """T-7.7-e: a unit past its storage time limit is rejected; it may only be returned or discarded."""
        shipment = received(world, "000622")
        liu, din = world["pharmacist_liu"], shipment.expected_units[0]
        services.stock_in(actor=liu, location=location(world), scanned_text=din,
                          storage_time_limit=dt.timedelta(days=2))  # fmt: skip
        with clock.frozen(clock.now() + dt.timedelta(days=3)):
            with pytest.raises(Conflict, match=r"T-7\.7-e.*storage time limit"):
                services.stock_out(actor=liu, scanned_text=din, purpose=StockEvent.Purpose.THAW)
            with pytest.raises(ValidationFailed, match="why"):
                services.stock_out(actor=liu, scanned_text=din, purpose=StockEvent.Purpose.DISCARD)
            out = services.stock_out(actor=liu, scanned_text=din, purpose=StockEvent.Purpose.DISCARD,
                                     note="storage time limit passed")  # fmt: skip
        assert out.purpose == "discard"


class TestExpiryWatch:
    def test_watch_lists_units_near_or_past_a_limit_nearest_first(self, world):
        """T-7.7-e, T-8.1.3-d: the nearest of expiry and storage time limit decides."""
        liu = world["pharmacist_liu"]
        tank = location(world)
        near = received(world, "000631")
        far = received(world, "000632")
        services.stock_in(actor=liu, location=tank, scanned_text=near.expected_units[0],
                          storage_time_limit=dt.timedelta(days=5))  # fmt: skip
        # Without a typed limit, the product's storage time limit (8760 h) applies; the expiry comes first.
        services.stock_in(actor=liu, location=tank, scanned_text=far.expected_units[0])
        now = clock.now()
        watched = selectors.expiry_watch(liu, dt.timedelta(days=7), now)
        assert [(e.din, w.clause, w.past) for e, w in watched] == [(near.expected_units[0], "T-7.7-e", False)]
        later = selectors.expiry_watch(liu, dt.timedelta(days=7), far.expires_at - dt.timedelta(days=4))
        assert [(e.din, w.clause, w.past) for e, w in later] == [
            (near.expected_units[0], "T-7.7-e", True),
            (far.expected_units[0], "T-8.1.3-d", False),
        ]

    def test_other_sites_do_not_see_the_stock(self, world):
        shipment = received(world, "000633")
        services.stock_in(actor=world["pharmacist_liu"], location=location(world),
                          scanned_text=shipment.expected_units[0])  # fmt: skip
        assert not selectors.stock_list(world["nurse_li"]).exists()
        assert selectors.expiry_watch(world["nurse_li"], dt.timedelta(days=9999), clock.now()) == []
