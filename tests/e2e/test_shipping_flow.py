"""The manufacturer's logistics staff pack a conditionally released batch by scanning its final labels, sign
the two-person packing check, link a logger and hand the shipper to the courier in the browser (issue 6
follow-up; G-4, X-5, Q-2-b, T-8.1.2-e)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def shipment_to_pack(e2e_world: Any) -> tuple[Any, list[str]]:
    """A product shipment of a conditionally released batch, storage reserved at Xiehe, and the DataMatrix
    text of each patient dose's final label."""
    from cellchain.logistics import demo, services
    from cellchain.logistics.models import Shipment
    from cellchain.logistics.tests import kit

    batch = kit.product_batch(e2e_world, "000961", release=kit.CONDITIONAL)
    shipment = services.shipment_create(actor=e2e_world["logistics_zhao"], data=services.ShipmentInput(
        batch_number=batch, kind=Shipment.Kind.LN2_DRY_SHIPPER, container_type="LN2 dry shipper",
        container_code="DS-961"))  # fmt: skip
    services.storage_reservation_create(
        actor=e2e_world["pharmacist_liu"], shipment=shipment, location=demo.xiehe_storage(e2e_world)
    )
    return shipment, kit.final_label_scans(e2e_world, batch)


def test_sender_packs_checks_and_hands_off_in_the_browser(
    page: Any, sign_in: Any, shipment_to_pack: tuple[Any, list[str]]
) -> None:
    from cellchain.domain.identity import parse_label_payload
    from cellchain.logistics.models import Shipment
    from cellchain.manufacturing.models import ProductUnit
    from conftest import PERSONA_PASSWORD

    shipment, labels = shipment_to_pack
    sign_in("logistics_zhao")
    page.goto(f"{page.base_url}/logistics/shipments/{shipment.number}/")
    assert "Conditionally released" in page.locator("#release").inner_text()

    for label in labels:  # a keyboard-wedge scanner types the DataMatrix text and Enter
        din = parse_label_payload(label).din.data
        page.fill("#pack-form input[name=scan]", label)
        page.press("#pack-form input[name=scan]", "Enter")
        page.wait_for_selector(f"#packing-list tr[data-unit='{din}'] .badge.ok")
        assert f"Unit {din} packed." in page.locator("#handoff .messages").inner_text()
    assert page.locator("#packing-list .badge.ok").count() == len(labels) == 2

    page.fill("#verify-form input[name=password]", PERSONA_PASSWORD)
    page.fill("#verify-form input[name=verifier_username]", "logistics_qian")
    page.fill("#verify-form input[name=verifier_password]", PERSONA_PASSWORD)
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#handoff[data-status='packed']")
    assert "Packed and checked" in page.locator("#shipment-status").inner_text()

    page.fill("#logger-form input[name=serial]", "TL-961")
    page.click("#logger-form button[type=submit]")
    page.wait_for_selector("[data-logger-link='TL-961']")

    page.fill("#dispatch-form input[name=courier]", "SF Cold Chain")
    page.click("#dispatch-form button[type=submit]")
    page.wait_for_selector("#handoff[data-status='in_transit']")
    assert "In transit" in page.locator("#shipment-status").inner_text()
    handoff = page.locator("#handoff").inner_text()
    assert "Conditionally released" in handoff and "sterility, mycoplasma" in handoff

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.IN_TRANSIT and shipment.courier == "SF Cold Chain"
    statuses = ProductUnit.objects.filter(din__in=shipment.expected_units).values_list("status", flat=True)
    assert set(statuses) == {ProductUnit.Status.SHIPPED}
