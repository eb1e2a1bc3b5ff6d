"""Temperature-monitoring devices: register, calibrate, working status, and their use at receipt (T-8.1.2-c/d,
T-10.12); service and API. Also the shipment API with limits from the product version (T-7.7)."""

from __future__ import annotations

import datetime as dt

import pytest

from cellchain.core import clock
from cellchain.core.errors import Conflict, NotAllowed, ValidationFailed
from cellchain.ledger.models import LedgerEntry
from cellchain.logistics import demo, selectors, services
from cellchain.logistics.models import MonitoringDevice, ReceiptInspection
from cellchain.logistics.tests import kit

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 1)


def register(world, code="T-1", **fields):
    data = {"kind": "probe_thermometer", "name": "Probe", "calibrated_on": TODAY - dt.timedelta(days=10),
            "calibration_due": TODAY + dt.timedelta(days=355)} | fields  # fmt: skip
    return services.monitoring_device_register(actor=world["pharmacist_liu"], code=code, **data)


class TestDeviceRegister:
    def test_device_is_registered_at_the_actors_hospital_site_and_ledgered(self, world):
        device = register(world)
        assert device.site == world.sites["xiehe-main"] and device.in_service
        assert LedgerEntry.objects.filter(event="monitoring_device:register").count() == 1
        assert selectors.device_gate(device, TODAY).allowed

    def test_manufacturer_staff_and_duplicates_are_refused(self, world):
        register(world)
        with pytest.raises(NotAllowed):
            services.monitoring_device_register(actor=world["logistics_zhao"], code="T-2", kind="data_logger",
                                                name="x")  # fmt: skip
        with pytest.raises(Conflict, match="registered already"):
            register(world)
        with pytest.raises(ValidationFailed, match="kind"):
            register(world, "T-3", kind="sundial")

    def test_the_facility_rule_decides_whether_a_device_may_be_selected(self, world):
        """T-10.12 via cellchain.domain.facility.equipment_use_check: never calibrated, overdue, out of service."""
        never = register(world, "T-N", calibrated_on=None, calibration_due=None)
        assert selectors.device_gate(never, TODAY).checks == ("calibration_unknown",)
        due = register(world)
        assert selectors.device_gate(due, due.calibration_due + dt.timedelta(days=1)).checks == (
            "calibration_overdue",
        )


class TestDeviceCalibrateAndService:
    def test_calibration_moves_the_due_date_and_keeps_the_old_one_in_the_ledger(self, world):
        device = register(world, calibration_due=TODAY - dt.timedelta(days=1))
        with clock.frozen(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)):
            assert not selectors.device_gate(device, TODAY).allowed
            services.monitoring_device_calibrate(actor=world["pharmacist_liu"], device=device, calibrated_on=TODAY,
                                                 calibration_due=TODAY + dt.timedelta(days=365),
                                                 certificate="JL-26-001")  # fmt: skip
        device.refresh_from_db()
        assert selectors.device_gate(device, TODAY).allowed and device.calibration_certificate == "JL-26-001"
        assert LedgerEntry.objects.filter(event="monitoring_device:calibrate").count() == 1

    def test_bad_calibrations_are_refused(self, world):
        device, liu = register(world), world["pharmacist_liu"]
        with clock.frozen(dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)):
            with pytest.raises(ValidationFailed, match="future"):
                services.monitoring_device_calibrate(actor=liu, device=device, calibrated_on=TODAY + dt.timedelta(1),
                                                     calibration_due=TODAY + dt.timedelta(9), certificate="c")  # fmt: skip
            with pytest.raises(ValidationFailed, match="after the calibration"):
                services.monitoring_device_calibrate(actor=liu, device=device, calibrated_on=TODAY,
                                                     calibration_due=TODAY, certificate="c")  # fmt: skip
            with pytest.raises(ValidationFailed, match="certificate"):
                services.monitoring_device_calibrate(actor=liu, device=device, calibrated_on=TODAY,
                                                     calibration_due=TODAY + dt.timedelta(9), certificate=" ")  # fmt: skip
        with pytest.raises(NotAllowed, match="another site"):
            services.monitoring_device_calibrate(actor=world["nurse_li"], device=device, calibrated_on=TODAY,
                                                 calibration_due=TODAY + dt.timedelta(9), certificate="c")  # fmt: skip

    def test_out_of_service_needs_a_reason_and_blocks_selection(self, world):
        device, liu = register(world), world["pharmacist_liu"]
        with pytest.raises(ValidationFailed, match="why"):
            services.monitoring_device_set_in_service(actor=liu, device=device, in_service=False, reason="")
        services.monitoring_device_set_in_service(
            actor=liu, device=device, in_service=False, reason="probe broken"
        )
        device.refresh_from_db()
        assert selectors.device_gate(device, TODAY).checks == ("equipment_out_of_service",)
        with pytest.raises(Conflict, match="out of service already"):
            services.monitoring_device_set_in_service(
                actor=liu, device=device, in_service=False, reason="again"
            )


class TestReceiptDevice:
    def test_receipt_records_the_device_and_the_area(self, world):
        """T-8.1.2-c/d."""
        inspection = kit.received(world, "000551").receipt
        assert inspection.monitoring_device.code == demo.RECEIPT_THERMOMETER
        assert inspection.receiving_area == demo.RECEIVING_AREA

    def test_overdue_out_of_service_or_missing_device_and_missing_area_are_refused(self, world):
        """T-8.1.2-c, T-10.12: the due date is in the message; nothing is recorded."""
        shipment = kit.ship_and_arrive(world, tag="000552")
        overdue = MonitoringDevice.objects.get(code="THERM-XH-02")
        args = {"actor": world["pharmacist_liu"], "shipment": shipment, "scanned_units": shipment.expected_units,
                "answers": demo.ALL_YES, "receiving_area": "Room 1"}  # fmt: skip
        due = overdue.calibration_due.isoformat()
        with pytest.raises(
            ValidationFailed, match=f"T-10.12: device THERM-XH-02 .*calibration was due {due}"
        ):
            services.receipt_inspect(**args, monitoring_device=overdue)
        with pytest.raises(ValidationFailed, match=r"T-8\.1\.2-c"):
            services.receipt_inspect(**args, monitoring_device=None)
        good = demo.receipt_device(world)
        with pytest.raises(ValidationFailed, match=r"T-8\.1\.2-d"):
            services.receipt_inspect(**{**args, "receiving_area": " "}, monitoring_device=good)
        services.monitoring_device_set_in_service(actor=world["pharmacist_liu"], device=good, in_service=False,
                                                  reason="dropped")  # fmt: skip
        good.refresh_from_db()
        with pytest.raises(ValidationFailed, match="out of service"):
            services.receipt_inspect(**args, monitoring_device=good)
        assert not ReceiptInspection.objects.exists()


class TestApi:
    def test_device_register_calibrate_and_list(self, world, client_for):
        client = client_for("pharmacist_liu")
        made = client.post("/api/logistics/storage/devices", {"code": "IR-9", "kind": "infrared_thermometer",
                           "name": "IR"}, content_type="application/json")  # fmt: skip
        assert made.status_code == 201 and made.json()["usable"] is False
        assert made.json()["problems"] == ["IR-9 has no calibration on record"]
        today = clock.now().date()
        calibrated = client.post("/api/logistics/storage/devices/IR-9/calibration", {
            "calibrated_on": today.isoformat(), "calibration_due": (today + dt.timedelta(days=90)).isoformat(),
            "certificate": "JL-9"}, content_type="application/json")  # fmt: skip
        assert calibrated.status_code == 200 and calibrated.json()["usable"] is True
        off = client.post("/api/logistics/storage/devices/IR-9/service", {"in_service": False, "reason": "lost"},
                          content_type="application/json")  # fmt: skip
        assert off.json()["usable"] is False
        assert [d["code"] for d in client.get("/api/logistics/storage/devices").json()] == ["IR-9"]
        assert client_for("nurse_li").get("/api/logistics/storage/devices").json() == []

    def test_receipt_api_needs_a_usable_device(self, world, client_for):
        shipment = kit.ship_and_arrive(world, tag="000553")
        client = client_for("pharmacist_liu")
        body = {"scanned_units": shipment.expected_units, "answers": demo.ALL_YES, "receiving_area": "Room 1"}
        refused = client.post(f"/api/logistics/shipments/{shipment.number}/receipt",
                              body | {"monitoring_device": "THERM-XH-02"}, content_type="application/json")  # fmt: skip
        assert refused.status_code == 400 and "THERM-XH-02" in refused.json()["message"]
        made = client.post(f"/api/logistics/shipments/{shipment.number}/receipt",
                           body | {"monitoring_device": "THERM-XH-01"}, content_type="application/json")  # fmt: skip
        assert made.status_code == 201
        assert (
            made.json()["monitoring_device"] == "THERM-XH-01"
            and made.json()["limits_source"] == "cart-logistics v1"
        )

    def test_shipment_api_plans_and_creates_with_the_product_limits(self, world, client_for):
        """T-7.7: the plan shows the product's limits and shippers; a wider range is refused (400)."""
        batch = kit.product_batch(world, "000554")
        client = client_for("logistics_zhao")
        plan = client.get(f"/api/logistics/shipments/plan?batch={batch}").json()
        assert plan["source"] == "cart-logistics v1" and plan["transport"] == "≤ -150 °C"
        assert plan["shipper_kinds"] == ["ln2_dry_shipper"] and plan["storage_mode"] == "liquid_nitrogen"
        body = {"batch_number": batch, "kind": "ln2_dry_shipper", "container_type": "LN2 dry shipper",
                "container_code": "DS-7"}  # fmt: skip
        wider = client.post(
            "/api/logistics/shipments", body | {"max_c": "-120"}, content_type="application/json"
        )
        assert wider.status_code == 400 and "cart-logistics v1" in wider.json()["message"]
        assert wider.json()["detail"]["field"] == "max_c"
        made = client.post("/api/logistics/shipments", body, content_type="application/json")
        assert made.status_code == 201
        out = made.json()
        assert (out["limits_source"], float(out["max_c"]), out["allowed_containers"]) == (
            "cart-logistics v1", -150, ["LN2 dry shipper"]
        )  # fmt: skip
        assert out["reservation"] is None and out["to_site"] == "xiehe-main"
        assert client_for("pharmacist_liu").post("/api/logistics/shipments", body,
                                                 content_type="application/json").status_code == 403  # fmt: skip
        assert client.get("/api/logistics/shipments/plan?batch=B26-NONE").status_code == 404
