"""Pages: shipment with chart, receipt form that fails on temperature, signing, printable record (T-8.1.7)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cellchain.logistics import demo
from cellchain.logistics.models import ReceiptInspection
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def test_shipment_page_shows_chart_and_excursion(world, client_for):
    shipment = demo.ship_and_arrive(world, tag="000801", excursion=True, password=PERSONA_PASSWORD)
    page = client_for("pharmacist_liu").get(reverse("logistics:shipment", args=[shipment.number]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "<svg" in body and "polyline" in body and "excursion" in body
    assert "verdict-blocked" in body


def test_receipt_form_failing_on_temperature_quarantines(world, client_for):
    shipment = demo.ship_and_arrive(world, tag="000802", excursion=True, password=PERSONA_PASSWORD)
    client = client_for("pharmacist_liu")
    url = reverse("logistics:receipt", args=[shipment.number])
    assert client.get(url).status_code == 200
    data = {"scanned_units": "\n".join(shipment.expected_units)}
    data |= {f"answer_{k}": "yes" for k in demo.ALL_YES}
    response = client.post(url, data)
    assert response.status_code == 302
    inspection = ReceiptInspection.objects.get(shipment=shipment)
    assert inspection.outcome == "quarantined"
    sign = client.post(
        reverse("logistics:receipt_sign", args=[shipment.number]), {"password": PERSONA_PASSWORD}
    )
    assert sign.status_code == 302
    pdf = client.get(reverse("logistics:receipt_pdf", args=[shipment.number]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_incomplete_receipt_form_shows_what_is_missing(world, client_for):
    shipment = demo.ship_and_arrive(world, tag="000803", excursion=False, password=PERSONA_PASSWORD)
    response = client_for("pharmacist_liu").post(
        reverse("logistics:receipt", args=[shipment.number]), {"scanned_units": shipment.expected_units[0]}
    )
    assert response.status_code == 200
    assert "incomplete" in response.content.decode()
    assert not ReceiptInspection.objects.filter(shipment=shipment).exists()


def test_other_hospital_cannot_see_the_shipment(world, client_for):
    shipment = demo.ship_and_arrive(world, tag="000804", excursion=False, password=PERSONA_PASSWORD)
    response = client_for("nurse_li").get(reverse("logistics:shipment", args=[shipment.number]))
    assert response.status_code == 404


def test_api_coldchain_lists_the_excursion(world, client_for):
    shipment = demo.ship_and_arrive(world, tag="000805", excursion=True, password=PERSONA_PASSWORD)
    response = client_for("logistics_zhao").get(f"/api/logistics/shipments/{shipment.number}/coldchain")
    assert response.status_code == 200
    (logger,) = response.json()
    assert not logger["within_limits"] and logger["excursions"][0]["extreme_c"] == -142.1
