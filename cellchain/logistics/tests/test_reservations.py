"""Storage reserved at the hospital before dispatch (T-8.1.2-e, T-7.7-d): reserve, cancel, capacity, dispatch
gate, fulfilment at stock-in; service and API."""

from __future__ import annotations

import pytest

from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.logistics import demo, selectors, services
from cellchain.logistics.models import Shipment, StorageReservation
from cellchain.logistics.tests import kit
from cellchain.logistics.tests.test_services import new_shipment, product_shipment, ready_to_dispatch

pytestmark = pytest.mark.django_db


def location(world, code, mode="liquid_nitrogen", capacity=20):
    demo.xiehe_storage(world)
    return services.storage_location_create(actor=world["pharmacist_liu"], code=code, name=code, storage_mode=mode,
                                            monitoring_device=demo.receipt_device(world), capacity=capacity)  # fmt: skip


class TestDispatchNeedsAReservation:
    def test_dispatch_is_refused_until_the_hospital_reserves_storage(self, world):
        """T-8.1.2-e: the message says who must do what."""
        shipment = ready_to_dispatch(world, product_shipment(world, "000531"))
        zhao = world["logistics_zhao"]
        with pytest.raises(
            Conflict, match=r"T-8\.1\.2-e: .* has not reserved storage .* liquid_nitrogen location"
        ):
            services.shipment_dispatch(actor=zhao, shipment=shipment, courier="SF")
        services.storage_reservation_create(actor=world["pharmacist_liu"], shipment=shipment,
                                            location=demo.xiehe_storage(world))  # fmt: skip
        services.shipment_dispatch(actor=zhao, shipment=shipment, courier="SF")
        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.IN_TRANSIT

    def test_a_cancelled_reservation_blocks_dispatch_again(self, world):
        shipment = ready_to_dispatch(world, product_shipment(world, "000532"))
        liu = world["pharmacist_liu"]
        reservation = services.storage_reservation_create(actor=liu, shipment=shipment,
                                                          location=demo.xiehe_storage(world))  # fmt: skip
        with pytest.raises(ValidationFailed, match="why"):
            services.storage_reservation_cancel(actor=liu, reservation=reservation, reason=" ")
        services.storage_reservation_cancel(actor=liu, reservation=reservation, reason="tank to be defrosted")
        with pytest.raises(Conflict, match=r"T-8\.1\.2-e"):
            services.shipment_dispatch(actor=world["logistics_zhao"], shipment=shipment, courier="SF")
        entry = LedgerEntry.objects.filter(event="storage:reserve:cancel").get()
        assert b'"reason":"tank to be defrosted"' in bytes(entry.canonical)
        with pytest.raises(Conflict, match="nothing to cancel"):
            services.storage_reservation_cancel(actor=liu, reservation=reservation, reason="again")

    def test_a_shipment_to_the_manufacturer_needs_no_hospital_reservation(self, world):
        """Apheresis going to the manufacturer: T-8.1.2-e is about the clinic's receipt."""
        shipment = new_shipment(world, to_site=world.sites["shenghe-qc"])
        assert not services.needs_reservation(shipment)
        ready_to_dispatch(world, shipment)
        services.shipment_dispatch(actor=world["logistics_zhao"], shipment=shipment, courier="SF")


class TestReservationCreate:
    def test_reservation_holds_one_position_per_unit_and_is_ledgered(self, world):
        shipment = product_shipment(world, "000533")
        row = services.storage_reservation_create(actor=world["pharmacist_liu"], shipment=shipment,
                                                  location=demo.xiehe_storage(world))  # fmt: skip
        assert (row.positions, row.status, row.location.code) == (2, "active", "LN2-01")
        assert selectors.location_occupied(row.location) == 2
        entry = LedgerEntry.objects.get(event="storage:reserve")
        assert entry.record_id == str(row.pk)

    def test_location_of_another_storage_mode_is_refused(self, world):
        """T-7.7-d: a cryopreserved product's shipment cannot reserve a 2-8 °C refrigerator."""
        shipment = product_shipment(world, "000534")
        fridge = location(world, "FR-1", "fridge_2_8")
        with pytest.raises(
            Conflict, match=r"T-7\.7-d: shipment .* needs storage mode liquid_nitrogen; location FR-1"
        ):
            services.storage_reservation_create(
                actor=world["pharmacist_liu"], shipment=shipment, location=fridge
            )

    def test_capacity_counts_stock_and_other_reservations(self, world):
        """T-8.1.2-e: a 3-position tank holds one 2-unit shipment; the next one does not fit."""
        small = location(world, "LN2-S", capacity=3)
        liu = world["pharmacist_liu"]
        first, second = product_shipment(world, "000535"), product_shipment(world, "000536")
        services.storage_reservation_create(actor=liu, shipment=first, location=small)
        with pytest.raises(Conflict, match=r"LN2-S has 1 of 3 positions free; shipment .* needs 2"):
            services.storage_reservation_create(actor=liu, shipment=second, location=small)
        with pytest.raises(Conflict, match="already has LN2-S reserved"):
            services.storage_reservation_create(actor=liu, shipment=first, location=demo.xiehe_storage(world))

    def test_only_qualified_staff_of_the_destination_reserve(self, world):
        shipment = product_shipment(world, "000537")
        tank = demo.xiehe_storage(world)
        with pytest.raises(NotAllowed, match="stock"):
            services.storage_reservation_create(
                actor=world["coordinator_zhou"], shipment=shipment, location=tank
            )
        with pytest.raises(NotAllowed):
            services.storage_reservation_create(
                actor=world["logistics_zhao"], shipment=shipment, location=tank
            )

    def test_location_whose_monitor_is_overdue_cannot_be_reserved(self, world):
        """T-10.12: storage monitored by a device overdue for calibration is not "available"."""
        from cellchain.core import clock
        from cellchain.logistics.models import MonitoringDevice

        tank = location(world, "LN2-M")
        device = tank.monitoring_device
        later = clock.now() + (device.calibration_due - clock.now().date()) + _days(2)
        shipment = product_shipment(world, "000538")
        with (
            clock.frozen(later),
            pytest.raises(ValidationFailed, match=r"T-10\.12: device THERM-XH-01 .*was due"),
        ):
            services.storage_reservation_create(
                actor=world["pharmacist_liu"], shipment=shipment, location=tank
            )
        assert MonitoringDevice.objects.filter(code="THERM-XH-01").exists()


def _days(n):
    import datetime as dt

    return dt.timedelta(days=n)


class TestFulfilment:
    def test_stock_in_of_the_last_unit_fulfils_the_reservation(self, world):
        """T-8.1.2-e: the reservation is fulfilled once every unit is in stock at the site."""
        shipment = kit.received(world, "000539")
        liu, tank = world["pharmacist_liu"], demo.xiehe_storage(world)
        reservation = shipment.reservations.get()
        services.stock_in(actor=liu, location=tank, scanned_text=shipment.expected_units[0])
        reservation.refresh_from_db()
        assert reservation.status == StorageReservation.Status.ACTIVE
        assert selectors.held_positions(reservation) == 1 and selectors.location_occupied(tank) == 2
        services.stock_in(actor=liu, location=tank, scanned_text=shipment.expected_units[1])
        reservation.refresh_from_db()
        assert reservation.status == StorageReservation.Status.FULFILLED and reservation.closed_by == liu
        assert selectors.location_occupied(tank) == 2

    def test_another_location_needs_a_reason_which_the_ledger_keeps(self, world):
        shipment = kit.received(world, "000540")
        other, liu = location(world, "LN2-B"), world["pharmacist_liu"]
        with pytest.raises(Conflict, match="LN2-01 reserved; stock it there, or give the reason"):
            services.stock_in(actor=liu, location=other, scanned_text=shipment.expected_units[0])
        event = services.stock_in(actor=liu, location=other, scanned_text=shipment.expected_units[0],
                                  note="LN2-01 alarm")  # fmt: skip
        entry = LedgerEntry.objects.get(event="unit:stock:in", record_id=str(event.pk))
        assert b'"reserved_location":"LN2-01"' in bytes(entry.canonical)


class TestApi:
    def test_pharmacist_reserves_and_cancels_through_the_api(self, world, client_for):
        demo.xiehe_storage(world)
        shipment = product_shipment(world, "000541")
        client = client_for("pharmacist_liu")
        made = client.post(f"/api/logistics/shipments/{shipment.number}/reservation", {"location": "LN2-01"},
                           content_type="application/json")  # fmt: skip
        assert made.status_code == 201 and made.json()["positions"] == 2
        seen = client_for("logistics_zhao").get(f"/api/logistics/shipments/{shipment.number}").json()
        assert seen["reservation"]["location"] == "LN2-01" and seen["limits_source"] == "cart-logistics v1"
        again = client.post(f"/api/logistics/shipments/{shipment.number}/reservation", {"location": "LN2-01"},
                            content_type="application/json")  # fmt: skip
        assert again.status_code == 409 and "already has LN2-01 reserved" in again.json()["message"]
        assert [r["shipment"] for r in client.get("/api/logistics/storage/reservations").json()] == [
            shipment.number
        ]
        rid = made.json()["id"]
        cancelled = client.post(f"/api/logistics/storage/reservations/{rid}/cancel", {"reason": "moved"},
                                content_type="application/json")  # fmt: skip
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert client_for("logistics_zhao").post(
            f"/api/logistics/shipments/{shipment.number}/reservation", {"location": "LN2-01"},
            content_type="application/json",
        ).status_code == 403  # fmt: skip
        assert client_for("nurse_li").get("/api/logistics/storage/reservations").json() == []
