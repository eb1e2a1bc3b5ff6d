"""A hospital receiver inspects a shipment whose logger shows an excursion: the receipt fails on temperature,
the units are quarantined, and the page says so (issue 6; T-8.1.5-b, T-8.1.6-d, T-8.1.7, T-8.1.2-c/d)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def shipment_with_excursion(e2e_world: Any) -> Any:
    """An LN2 shipment packed, handed over and arrived at Xiehe, its logger file showing -142 °C."""
    from cellchain.logistics.tests import kit

    return kit.ship_and_arrive(e2e_world, tag="000951", excursion=True)


def test_receiver_inspects_a_shipment_with_an_excursion_and_the_units_are_quarantined(
    page: Any, sign_in: Any, shipment_with_excursion: Any
) -> None:
    """T-8.1.5-b: the receiver's "yes" to every question cannot overturn the logger's excursion."""
    from cellchain.logistics import selectors
    from cellchain.logistics.models import ReceiptInspection
    from cellchain.quality.models import Deviation
    from conftest import PERSONA_PASSWORD

    shipment = shipment_with_excursion
    sign_in("pharmacist_liu")
    page.goto(f"{page.base_url}/logistics/shipments/{shipment.number}/")
    logger = page.locator(f"[data-logger='{shipment.loggers.get().serial}']")
    assert "not within limits" in logger.inner_text()
    assert "excursion above -150.0 °C" in logger.inner_text()

    page.click("a:has-text('Inspect the receipt')")
    page.wait_for_selector("#receipt-form")
    page.fill("#receipt-form textarea[name=scanned_units]", "\n".join(shipment.expected_units))
    # T-8.1.2-c/d: a calibrated thermometer (the overdue one is not offered) and the receiving area.
    assert (
        page.locator("#receipt-form select[name=monitoring_device] option[value='THERM-XH-02']").count() == 0
    )
    page.select_option("#receipt-form select[name=monitoring_device]", "THERM-XH-01")
    page.fill("#receipt-form input[name=receiving_area]", "Pharmacy receiving room")
    for check in page.locator("#receipt-form input[type=radio][value=yes]").all():
        check.check()
    page.fill("#receipt-form textarea[name=anomaly_handling]", "Shipper kept closed; QA of Shenghe called.")
    page.click("#receipt-form button[type=submit]")
    page.wait_for_selector("#receipt-outcome")

    outcome = page.locator("#receipt-outcome").inner_text()
    assert "Quarantined" in outcome
    assert "T-8.1.5-b" in outcome and "excursion" in outcome
    assert "Quarantined at receipt" in page.locator("#shipment-status").inner_text()
    inspection = ReceiptInspection.objects.get(shipment=shipment)
    assert inspection.deviation_number and inspection.deviation_number in outcome
    assert (inspection.monitoring_device.code, inspection.receiving_area) == (
        "THERM-XH-01",
        "Pharmacy receiving room",
    )
    assert Deviation.objects.get(number=inspection.deviation_number).site_id == shipment.from_site_id
    assert selectors.unit_clinic_status(shipment.expected_units[0]) == "quarantined"

    page.fill("input[name=password]", PERSONA_PASSWORD)
    page.click("button:has-text('Sign the receipt record')")
    page.wait_for_selector(".messages .success")
    assert "signed" in page.locator(".messages").inner_text()
    assert "Quarantined" in page.locator("#receipt-outcome").inner_text()
