"""The shipment page's packing, two-person check, logger, hand-off and arrival actions (htmx), with the release
gate (Q-2-b, Q-2.5-c), the reservation (T-8.1.2-e) and label scans (G-4) as the sender and receiver see them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from cellchain.accounts.models import LoginEvent
from cellchain.ledger.tests.behind import update_unledgered
from cellchain.logistics import demo, services
from cellchain.logistics.models import ReceiptInspection, Shipment
from cellchain.logistics.tests import kit
from cellchain.logistics.tests.test_release_and_scans import product_shipment, relabelled
from cellchain.logistics.tests.test_services import ready_to_dispatch
from cellchain.quality.models import Deviation
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, shipment: Shipment) -> str:
    return reverse(f"logistics:{name}", args=[shipment.number])


def test_sender_packs_by_label_scan_and_the_section_swaps_in(world, client_for):
    """G-4: each bag's final-label DataMatrix (spaces and all) packs it; htmx gets the section back."""
    shipment = product_shipment(world, "001201")
    client = client_for("logistics_zhao")
    page = client.get(url("shipment", shipment)).content.decode()
    assert 'id="pack-form"' in page and "data-scan" in page
    assert 'data-release="released"' in page
    first, second = kit.final_label_scans(world, shipment.batch_number)
    response = client.post(url("pack_scan", shipment), {"scan": first}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section id="handoff"')
    din = kit.units_of("001201")[0]
    assert f"Unit {din} packed." in body
    assert body.split(f'data-unit="{din}"')[1].split("</tr>")[0].count("packed") == 1
    assert 'id="verify-form"' not in body  # one bag still to scan
    plain = client.post(url("pack_scan", shipment), {"scan": second})
    assert plain.status_code == 302 and plain["Location"] == url("shipment", shipment)
    after = client.get(url("shipment", shipment)).content.decode()
    assert 'id="verify-form"' in after


def test_a_label_of_another_patient_is_refused_on_the_page_with_both_cois(world, client_for):
    shipment = product_shipment(world, "001202")
    wrong = relabelled(kit.final_label_scans(world, shipment.batch_number)[0], kit.coi_of("001299"))
    body = (
        client_for("logistics_zhao")
        .post(url("pack_scan", shipment), {"scan": wrong}, **HTMX)
        .content.decode()
    )
    assert kit.coi_of("001299") in body and kit.coi_of("001202") in body
    deviation = Deviation.objects.get(kind=Deviation.Kind.IDENTITY)
    assert deviation.number in body and not shipment.packed_units.exists()


def test_two_person_check_on_the_page_and_a_wrong_password_counts(world, client_for):
    """X-5: the packer and a second packer re-enter their passwords; a wrong one is refused and recorded
    (the lockout counts it: the check runs outside the page's transaction)."""
    shipment = product_shipment(world, "001203")
    zhao = world["logistics_zhao"]
    for din in shipment.expected_units:
        services.shipment_pack_scan(actor=zhao, shipment=shipment, scanned_text=din)
    client = client_for("logistics_zhao")
    form = {"password": PERSONA_PASSWORD, "verifier_username": "logistics_qian", "verifier_password": "wrong"}
    body = client.post(url("pack_verify", shipment), form, **HTMX).content.decode()
    assert "password for" in body and "is wrong" in body
    assert LoginEvent.objects.filter(
        username="logistics_qian", outcome=LoginEvent.Outcome.REAUTH_FAILURE
    ).exists()
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKING
    nobody = client.post(url("pack_verify", shipment), form | {"verifier_username": "nobody"}, **HTMX)
    assert "No active user nobody" in nobody.content.decode()
    body = client.post(url("pack_verify", shipment), form | {"verifier_password": PERSONA_PASSWORD}, **HTMX)
    body = body.content.decode()
    assert "Packing checked by two people." in body
    assert 'id="shipment-status" hx-swap-oob="true">Packed and checked' in body
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.PACKED


def test_logger_is_linked_with_its_armed_time_in_site_time(world, client_for):
    shipment = product_shipment(world, "001204")
    client = client_for("logistics_zhao")
    body = client.post(
        url("logger_link", shipment),
        {"serial": "TL-77", "interval_s": "300", "armed_at": "2026-03-01T08:30"},
        **HTMX,
    ).content.decode()
    assert "Logger TL-77 linked." in body and 'data-logger-link="TL-77"' in body
    link = shipment.loggers.get()
    zone = ZoneInfo(world["logistics_zhao"].site.time_zone)
    assert link.armed_at == dt.datetime(2026, 3, 1, 8, 30, tzinfo=zone)
    bad = client.post(url("logger_link", shipment), {"serial": "TL-78", "interval_s": "0"}, **HTMX)
    assert "Logging interval (s): Ensure this value is greater than or equal to 1." in bad.content.decode()
    assert shipment.loggers.count() == 1


def test_dispatch_is_refused_without_release_then_without_reservation_and_then_goes(world, client_for):
    """Q-2-b and T-8.1.2-e on the page: each refusal names the batch or the hospital and what is missing."""
    client = client_for("logistics_zhao")
    unreleased = ready_to_dispatch(world, product_shipment(world, "001205", release=None))
    page = client.get(url("shipment", unreleased)).content.decode()
    assert 'id="dispatch-form"' in page and "cannot be handed to the courier" in page
    body = client.post(url("dispatch", unreleased), {"courier": "SF"}, **HTMX).content.decode()
    assert "batch B26-001205 has no release decision" in body
    shipment = ready_to_dispatch(world, product_shipment(world, "001206", release=kit.CONDITIONAL))
    body = client.post(url("dispatch", shipment), {"courier": "SF"}, **HTMX).content.decode()
    assert "T-8.1.2-e" in body and "has not reserved storage" in body
    services.storage_reservation_create(
        actor=world["pharmacist_liu"], shipment=shipment, location=demo.xiehe_storage(world)
    )
    empty = client.post(url("dispatch", shipment), {"courier": ""}, **HTMX).content.decode()
    assert "Courier: This field is required." in empty
    body = client.post(url("dispatch", shipment), {"courier": "SF Cold Chain"}, **HTMX).content.decode()
    assert "Handed to SF Cold Chain." in body and 'hx-swap-oob="true">In transit' in body
    assert "Batch release at hand-off: Conditionally released" in body and "sterility, mycoplasma" in body
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.IN_TRANSIT
    hospital = client_for("pharmacist_liu").get(url("shipment", shipment)).content.decode()
    assert "Conditionally released" in hospital and 'id="dispatch-form"' not in hospital


def test_hospital_sees_no_sender_forms(world, client_for):
    shipment = product_shipment(world, "001207")
    page = client_for("pharmacist_liu").get(url("shipment", shipment)).content.decode()
    assert 'id="packing-list"' in page and 'id="pack-form"' not in page and 'id="logger-form"' not in page
    assert client_for("pharmacist_liu").post(url("pack_scan", shipment), {"scan": "x"}).status_code == 403


def test_arrival_by_htmx_goes_on_to_the_receipt_and_a_wrong_scan_says_why(world, client_for):
    batch = kit.product_batch(world, "001208", release=kit.CONDITIONAL)
    shipment = demo.ship_and_arrive(world, batch_number=batch, tag="001208", excursion=False,
                                    password=PERSONA_PASSWORD)  # fmt: skip
    update_unledgered(
        Shipment.objects.filter(pk=shipment.pk), status=Shipment.Status.IN_TRANSIT, arrived_at=None
    )
    client = client_for("pharmacist_liu")
    page = client.get(url("shipment", shipment)).content.decode()
    assert (
        'id="arrival-form"' in page and "hx-post" in page.split('id="arrival-form"')[0].rsplit("<form", 1)[1]
    )
    wrong = client.post(url("arrive", shipment), {"scan": "DS-OTHER"}, **HTMX)
    assert wrong.status_code == 200 and "is neither shipment" in wrong.content.decode()
    done = client.post(url("arrive", shipment), {"scan": shipment.container_code}, **HTMX)
    assert done["HX-Redirect"] == url("receipt", shipment)
    receipt = client.get(url("receipt", shipment)).content.decode()
    assert 'data-release="conditionally_released"' in receipt and "sterility, mycoplasma" in receipt
    release = receipt.split('id="release"')[1].split("</div>")[0]
    # The units have left the manufacturer, as they should: only the batch's release state shows.
    assert 'class="verdict-ok"' in release and "not in stock" not in release


def test_receipt_form_takes_one_label_barcode_per_line(world, client_for):
    """The scan field splits on lines, not spaces: a DataMatrix's tokens stay together (G-4, T-8.1.3-a)."""
    shipment = kit.ship_and_arrive(world, tag="001209")
    labels = kit.final_label_scans(world, shipment.batch_number)
    data = {"scanned_units": "\r\n".join(labels) + "\r\n", "monitoring_device": demo.RECEIPT_THERMOMETER,
            "receiving_area": "Receiving room 2"} | {f"answer_{k}": "yes" for k in demo.ALL_YES}  # fmt: skip
    client = client_for("pharmacist_liu")
    response = client.post(url("receipt", shipment), data)
    assert response.status_code == 302
    inspection = ReceiptInspection.objects.get(shipment=shipment)
    assert inspection.outcome == "accepted" and sorted(inspection.scanned_units) == shipment.expected_units
    assert inspection.release_status == "released"
    page = client.get(url("shipment", shipment)).content.decode()
    assert 'id="receipt-release" data-release="released"' in page


def test_api_packs_verifies_links_and_dispatches(world, client_for):
    """The same commands over the API: the release gate answers 409 naming the batch (Q-2-b)."""
    shipment = product_shipment(world, "001210", release=None)
    api = client_for("logistics_zhao")
    base = f"/api/logistics/shipments/{shipment.number}"
    for label in kit.final_label_scans(world, shipment.batch_number):
        assert (
            api.post(f"{base}/pack", {"scanned": label}, content_type="application/json").status_code == 201
        )
    verify = {"password": PERSONA_PASSWORD, "verifier_username": "logistics_qian",
              "verifier_password": PERSONA_PASSWORD}  # fmt: skip
    assert (
        api.post(f"{base}/pack/verify", verify, content_type="application/json").json()["status"] == "packed"
    )
    linked = api.post(
        f"{base}/loggers", {"serial": "TL-A", "interval_s": 60}, content_type="application/json"
    )
    assert linked.status_code == 201 and linked.json()["loggers"] == ["TL-A"]
    refused = api.post(f"{base}/dispatch", {"courier": "SF"}, content_type="application/json")
    assert (
        refused.status_code == 409 and "batch B26-001210 has no release decision" in refused.json()["message"]
    )
