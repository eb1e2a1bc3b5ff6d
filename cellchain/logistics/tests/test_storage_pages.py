"""Hospital storage pages and API: stock-in/out by scan, expiry watch, site isolation (issue 6 item 5)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cellchain.logistics import demo, services
from cellchain.logistics.models import StockEvent, StorageLocation
from cellchain.logistics.tests import kit
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def accepted(world):
    shipment = kit.ship_and_arrive(world, tag="000641", excursion=False)
    demo.inspect(world, shipment, PERSONA_PASSWORD)
    return shipment


def location(world, code, mode="liquid_nitrogen"):
    return services.storage_location_create(actor=world["pharmacist_liu"], code=code, name=f"Tank {code}",
                                            storage_mode=mode, monitoring_device=demo.receipt_device(world),
                                            capacity=20)  # fmt: skip


def test_page_stocks_a_unit_in_by_scan_and_lists_it(world, client_for, accepted):
    """The location form takes a registered device and a capacity (T-8.1.2-c/e); a unit goes elsewhere than
    its reserved location only with a reason (T-8.1.2-e)."""
    client = client_for("pharmacist_liu")
    client.post(reverse("logistics:storage_location_add"), {"code": "LN2-A", "name": "Tank A",
                "storage_mode": "liquid_nitrogen", "monitoring_device": demo.RECEIPT_THERMOMETER,
                "capacity": "10"})  # fmt: skip
    assert StorageLocation.objects.get(code="LN2-A").monitoring_device.code == demo.RECEIPT_THERMOMETER
    din = accepted.expected_units[0]
    refused = client.post(reverse("logistics:stock_in"), {"location": "LN2-A", "scan": din}, follow=True)
    assert "T-8.1.2-e" in refused.content.decode() and "LN2-01 reserved" in refused.content.decode()
    response = client.post(
        reverse("logistics:stock_in"),
        {"location": "LN2-A", "scan": din + "X", "limit_days": "3", "note": "LN2-01 lid under repair"},
        follow=True,
    )
    body = response.content.decode()
    assert f"Unit {din} stocked in LN2-A" in body
    assert StockEvent.objects.get(din=din).location.code == "LN2-A"
    watch = client.get(reverse("logistics:storage") + "?days=7").content.decode()
    assert f'<tr data-din="{din}">' in watch.split('id="expiry-watch"')[1].split("</table>")[0]


def test_page_shows_why_a_stock_in_is_refused(world, client_for, accepted):
    """T-7.7-d on the page: the wrong storage mode is named with the location."""
    location(world, "FR-1", "fridge_2_8")
    response = client_for("pharmacist_liu").post(
        reverse("logistics:stock_in"), {"location": "FR-1", "scan": accepted.expected_units[0]}, follow=True
    )
    assert "T-7.7-d" in response.content.decode()
    assert not StockEvent.objects.exists()


def test_api_stock_in_watch_and_stock_out(world, client_for, accepted):
    client = client_for("pharmacist_liu")
    created = client.post("/api/logistics/storage/locations", {"code": "LN2-B", "name": "Tank B",
                          "storage_mode": "liquid_nitrogen", "monitoring_device": demo.RECEIPT_THERMOMETER,
                          "capacity": 4}, content_type="application/json")  # fmt: skip
    assert created.status_code == 201
    assert created.json() | {"occupied": 0} == {
        "code": "LN2-B", "name": "Tank B", "storage_mode": "liquid_nitrogen", "capacity": 4, "occupied": 0,
        "monitoring_reference": demo.RECEIPT_THERMOMETER, "monitoring_device": demo.RECEIPT_THERMOMETER,
    }  # fmt: skip
    din = accepted.expected_units[1]
    stocked = client.post("/api/logistics/storage/stock-in", {"location": "LN2-01", "scanned": din,
                          "storage_time_limit_days": 2}, content_type="application/json")  # fmt: skip
    assert stocked.status_code == 201 and stocked.json()["storage_until"]
    watch = client.get("/api/logistics/storage/expiry-watch?days=3").json()
    assert [(w["din"], w["clause"], w["past"]) for w in watch] == [(din, "T-7.7-e", False)]
    assert [s["din"] for s in client.get("/api/logistics/storage/stock").json()] == [din]
    out = client.post("/api/logistics/storage/stock-out", {"scanned": din, "purpose": "thaw"},
                      content_type="application/json")  # fmt: skip
    assert out.status_code == 201 and out.json()["kind"] == "out"
    again = client.post("/api/logistics/storage/stock-out", {"scanned": din, "purpose": "thaw"},
                        content_type="application/json")  # fmt: skip
    assert again.status_code == 409 and "not in stock" in again.json()["message"]


def test_api_refuses_a_quarantined_unit(world, client_for):
    """T-8.1.6: the excursion shipment's units never enter stock."""
    shipment = kit.ship_and_arrive(world, tag="000642", excursion=True)
    demo.inspect(world, shipment, PERSONA_PASSWORD)
    response = client_for("pharmacist_liu").post(
        "/api/logistics/storage/stock-in", {"location": "LN2-01", "scanned": shipment.expected_units[0]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 409 and "quarantined" in response.json()["message"]


def test_other_hospital_sees_neither_locations_nor_stock(world, client_for, accepted):
    services.stock_in(actor=world["pharmacist_liu"], location=StorageLocation.objects.get(code="LN2-01"),
                      scanned_text=accepted.expected_units[0])  # fmt: skip
    client = client_for("nurse_li")
    assert client.get("/api/logistics/storage/locations").json() == []
    assert client.get("/api/logistics/storage/stock").json() == []
    refused = client.post("/api/logistics/storage/stock-in", {"location": "LN2-01", "scanned": "x"},
                          content_type="application/json")  # fmt: skip
    assert refused.status_code == 404


def test_manufacturer_cannot_open_hospital_storage(client_for):
    assert client_for("logistics_zhao").get(reverse("logistics:storage")).status_code == 403


def test_stock_and_watch_endpoints_use_constant_queries(world, client_for):
    """The stock list does not grow queries with the number of units (select_related)."""
    client = client_for("pharmacist_liu")
    tank = demo.xiehe_storage(world)
    counts = []
    for tag in ("000651", "000652"):
        shipment = kit.ship_and_arrive(world, tag=tag)
        demo.inspect(world, shipment, PERSONA_PASSWORD)
        for din in shipment.expected_units:
            services.stock_in(actor=world["pharmacist_liu"], location=tank, scanned_text=din)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/logistics/storage/stock").status_code == 200
            assert client.get("/api/logistics/storage/expiry-watch?days=365").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
