"""Pages: shipment with chart, receipt form that fails on temperature, signing, printable record (T-8.1.7)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from cellchain.core import clock
from cellchain.logistics import demo
from cellchain.logistics.models import MonitoringDevice, ReceiptInspection, Shipment, StorageReservation
from cellchain.logistics.tests import kit
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def test_shipment_page_shows_chart_and_excursion(world, client_for):
    shipment = kit.ship_and_arrive(world, tag="000801", excursion=True)
    page = client_for("pharmacist_liu").get(reverse("logistics:shipment", args=[shipment.number]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and "polyline" in body and "excursion" in body
    assert "verdict-blocked" in body


def test_receipt_form_failing_on_temperature_quarantines(world, client_for):
    shipment = kit.ship_and_arrive(world, tag="000802", excursion=True)
    client = client_for("pharmacist_liu")
    url = reverse("logistics:receipt", args=[shipment.number])
    assert client.get(url).status_code == 200
    data = {"scanned_units": "\n".join(shipment.expected_units), "monitoring_device": demo.RECEIPT_THERMOMETER,
            "receiving_area": "Receiving room 2"}  # fmt: skip
    data |= {f"answer_{k}": "yes" for k in demo.ALL_YES}
    response = client.post(url, data)
    assert response.status_code == 302
    inspection = ReceiptInspection.objects.get(shipment=shipment)
    assert inspection.outcome == "quarantined"
    assert (inspection.monitoring_device.code, inspection.receiving_area) == (
        "THERM-XH-01",
        "Receiving room 2",
    )
    sign = client.post(
        reverse("logistics:receipt_sign", args=[shipment.number]), {"password": PERSONA_PASSWORD}
    )
    assert sign.status_code == 302
    pdf = client.get(reverse("logistics:receipt_pdf", args=[shipment.number]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_incomplete_receipt_form_shows_what_is_missing(world, client_for):
    shipment = kit.ship_and_arrive(world, tag="000803", excursion=False)
    response = client_for("pharmacist_liu").post(
        reverse("logistics:receipt", args=[shipment.number]),
        {
            "scanned_units": shipment.expected_units[0],
            "monitoring_device": demo.RECEIPT_THERMOMETER,
            "receiving_area": "Room 2",
        },
    )
    assert response.status_code == 200
    assert "incomplete" in response.content.decode()
    assert not ReceiptInspection.objects.filter(shipment=shipment).exists()


def test_other_hospital_cannot_see_the_shipment(world, client_for):
    shipment = kit.ship_and_arrive(world, tag="000804", excursion=False)
    response = client_for("nurse_li").get(reverse("logistics:shipment", args=[shipment.number]))
    assert response.status_code == 404


def test_api_coldchain_lists_the_excursion(world, client_for):
    shipment = kit.ship_and_arrive(world, tag="000805", excursion=True)
    response = client_for("logistics_zhao").get(f"/api/logistics/shipments/{shipment.number}/coldchain")
    assert response.status_code == 200
    (logger,) = response.json()
    assert not logger["within_limits"] and logger["excursions"][0]["extreme_c"] == -142.1


def test_receipt_form_offers_only_usable_devices_and_the_service_refuses_an_overdue_one(world, client_for):
    """T-8.1.2-c, T-10.12: the overdue thermometer is not a choice; posted anyway, it is refused with its due
    date; the page says where the limits come from (T-7.7)."""
    shipment = kit.ship_and_arrive(world, tag="000806")
    client = client_for("pharmacist_liu")
    url = reverse("logistics:receipt", args=[shipment.number])
    page = client.get(url).content.decode()
    assert 'value="THERM-XH-01"' in page and 'value="THERM-XH-02"' not in page
    assert "Limits from product version cart-logistics v1" in page
    data = {"scanned_units": "\n".join(shipment.expected_units), "monitoring_device": "THERM-XH-02",
            "receiving_area": "Receiving room 2"} | {f"answer_{k}": "yes" for k in demo.ALL_YES}  # fmt: skip
    response = client.post(url, data)
    due = MonitoringDevice.objects.get(code="THERM-XH-02").calibration_due.isoformat()
    assert response.status_code == 200 and f"calibration was due {due}" in response.content.decode()
    assert not ReceiptInspection.objects.exists()


def test_receipt_pdf_names_the_limits_source_device_and_area(world):
    """T-8.1.7 with T-7.7 and T-8.1.2-c/d: the printed record says where the limits came from."""
    from cellchain.logistics.charts import build_chart
    from cellchain.logistics.receipt_pdf import receipt_pdf
    from cellchain.logistics.selectors import shipment_chart_series

    shipment = kit.received(world, "000807")
    pdf = receipt_pdf(shipment.receipt, build_chart(shipment, shipment_chart_series(shipment)), [])
    text = _pdf_text(pdf)
    assert "cart-logistics v1" in text and "THERM-XH-01" in text and "Pharmacy cell-therapy" in text


def _pdf_text(pdf: bytes) -> str:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    return "".join(page.get_textpage().get_text_range() for page in document)


def test_new_shipment_page_shows_the_product_limits_and_opens_the_shipment(world, client_for):
    """T-7.7: only the batch, units, shipper and container are chosen; the limits shown are the product's, and
    an incompatible shipper kind is not offered."""
    batch = kit.product_batch(world, "000808")
    client = client_for("logistics_zhao")
    page = client.get(reverse("logistics:shipment_new") + f"?batch={batch}").content.decode()
    limits = page.split('id="shipment-limits"')[1].split("</dl>")[0]
    assert "≤ -150 °C" in limits and "72 h" in limits and "LN2 dry shipper" in limits
    assert ("cart-logistics v1" in page and "Xiehe" in page) or "协和" in page
    assert 'value="ln2_dry_shipper"' in page and 'value="fresh_2_8"' not in page
    response = client.post(reverse("logistics:shipment_new"), {
        "batch": batch, "kind": "ln2_dry_shipper", "container_type": "LN2 dry shipper", "container_code": "DS-9",
        "units": [kit.units_of("000808")[0]]})  # fmt: skip
    shipment = Shipment.objects.get(batch_number=batch)
    assert response.status_code == 302 and response["Location"].endswith(f"/{shipment.number}/")
    assert (
        shipment.expected_units == [kit.units_of("000808")[0]]
        and shipment.limits_source == "cart-logistics v1"
    )
    refused = client.post(reverse("logistics:shipment_new"), {
        "batch": batch, "kind": "fresh_2_8", "container_type": "LN2 dry shipper", "container_code": "DS-10",
        "units": [kit.units_of("000808")[1]]})  # fmt: skip
    assert refused.status_code == 200 and "fresh_2_8 shipper keeps" in refused.content.decode()


def test_hospital_reserves_on_the_shipment_page_and_the_manufacturer_sees_the_state(world, client_for):
    """T-8.1.2-e: the page says dispatch is blocked until the pharmacist reserves a matching location."""
    from cellchain.logistics.tests.test_services import product_shipment

    demo.xiehe_storage(world)
    shipment = product_shipment(world, "000809")
    url = reverse("logistics:shipment", args=[shipment.number])
    manufacturer = client_for("logistics_zhao").get(url).content.decode()
    assert "No storage reserved" in manufacturer and "reserve-form" not in manufacturer
    pharmacist = client_for("pharmacist_liu")
    assert "reserve-form" in pharmacist.get(url).content.decode()
    pharmacist.post(reverse("logistics:reserve", args=[shipment.number]), {"location": demo.TANK})
    reservation = StorageReservation.objects.get(shipment=shipment)
    after = client_for("logistics_zhao").get(url).content.decode()
    section = after.split('id="reservation"')[1].split("</section>")[0]
    assert "LN2-01" in section and "2 positions" in section and "No storage reserved" not in section
    listing = pharmacist.get(reverse("logistics:reservations")).content.decode()
    assert f'data-shipment="{shipment.number}"' in listing
    pharmacist.post(
        reverse("logistics:reservation_cancel", args=[reservation.pk]), {"reason": "tank defrost"}
    )
    reservation.refresh_from_db()
    assert reservation.status == "cancelled" and reservation.cancel_reason == "tank defrost"


def test_devices_page_registers_and_calibrates(world, client_for):
    """T-10.12: an overdue device is marked; recording a calibration makes it usable again."""
    demo.xiehe_storage(world)
    client = client_for("pharmacist_liu")
    page = client.get(reverse("logistics:devices")).content.decode()
    row = page.split('data-device="THERM-XH-02"')[1].split("</tr>")[0]
    assert "Cannot be selected" in row and "calibration was due" in row
    today = clock.now().date()
    client.post(reverse("logistics:device_calibrate", args=["THERM-XH-02"]), {
        "calibrated_on": today.isoformat(), "calibration_due": (today + dt.timedelta(days=365)).isoformat(),
        "certificate": "JL-2026-0042"})  # fmt: skip
    row = client.get(reverse("logistics:devices")).content.decode().split('data-device="THERM-XH-02"')[1]
    assert "Usable" in row.split("</tr>")[0]
    client.post(reverse("logistics:device_add"), {"code": "IR-1", "kind": "infrared_thermometer",
                "name": "IR gun"})  # fmt: skip
    assert MonitoringDevice.objects.get(code="IR-1").calibration_due is None
    assert client_for("nurse_wang").get(reverse("logistics:devices")).status_code == 200
    assert client_for("nurse_wang").post(reverse("logistics:device_add"), {}).status_code == 403
