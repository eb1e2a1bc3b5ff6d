"""Journeys pages: enrolment, no patient identity for the manufacturer, scan-to-verdict (X-7, G-4)."""

from __future__ import annotations

import pytest

from cellchain.domain.custody import CustodyStep
from cellchain.journeys import services
from cellchain.journeys.models import CustodyEvent, Journey
from cellchain.journeys.tests.test_services import _labelled

pytestmark = pytest.mark.django_db


def test_enrolment_page_enrols_and_shows_the_coi(kit, client_for):
    client = client_for("physician_wang")
    response = client.post(
        "/journeys/enrol/",
        {
            "name": "钱七",
            "birth_date": "1975-05-05",
            "hospital_record_number": "MRN-777",
            "wristband_id": "WB-777",
            "product_code": "S1395V00",
            "product_name": "CAR-T demo",
            "manufacturer_site": kit.manufacturer.pk,
            "starting_material": "fresh",
        },
    )
    journey = Journey.objects.get(patient_identity__wristband_id="WB-777")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert journey.coi in page and "钱七" in page


def test_enrolment_without_ethics_approval_shows_the_reason(kit, client_for):
    response = client_for("physician_wang").post(
        "/journeys/enrol/",
        {
            "name": "钱七",
            "birth_date": "1975-05-05",
            "hospital_record_number": "MRN-8",
            "wristband_id": "WB-8",
            "product_code": "S0000V00",
            "product_name": "x",
            "manufacturer_site": kit.manufacturer.pk,
            "starting_material": "fresh",
        },
    )
    assert response.status_code == 200
    assert "ethics approval" in response.content.decode()


def test_manufacturer_pages_never_show_the_patient_identity(kit, world, client_for):
    """X-7: pages a manufacturer user opens carry the COI and pseudonym only."""
    journey, (unit, _) = _labelled(kit, world)
    identity = journey.patient_identity
    client = client_for("logistics_zhao")
    pages = [
        client.get(url)
        for url in ("/journeys/", f"/journeys/{journey.coi}/", f"/journeys/units/{unit.din}/scan/")
    ]
    assert [p.status_code for p in pages] == [200, 200, 200]
    text = "".join(p.content.decode() for p in pages)
    assert journey.pseudonym in text
    for value in (identity.name, identity.hospital_record_number, identity.wristband_id):
        assert value not in text
    assert identity.name in client_for("nurse_wang").get(f"/journeys/{journey.coi}/").content.decode()


def test_scan_page_shows_a_blocked_verdict_for_the_wrong_bag(kit, world, client_for):
    _, (unit, other) = _labelled(kit, world)
    response = client_for("apheresis_sun").post(
        f"/journeys/units/{unit.din}/scan/",
        {"step": "pack", "scan": other.din_keyboard, "shipper_code": "SHIP-1"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-verdict="blocked"' in body and "<html" not in body
    assert "another bag of the same journey" in body
    assert CustodyEvent.objects.filter(unit=unit, verdict="blocked").exists()


def test_scan_page_records_a_match(kit, world, client_for):
    _, (unit, _) = _labelled(kit, world)
    response = client_for("apheresis_sun").post(
        f"/journeys/units/{unit.din}/scan/",
        {"step": "pack", "scan": unit.din_keyboard, "shipper_code": "S-1"},
    )
    assert 'data-verdict="match"' in response.content.decode()
    unit.refresh_from_db()
    assert unit.state == "packed"


def test_scan_form_does_not_offer_the_start_of_manufacture(kit, world, client_for):
    """A received bag is consumed only by starting its batch in manufacturing (P-1-a), not on this form."""
    _, (unit, _) = _labelled(kit, world)
    for actor, step, details in (
        ("apheresis_sun", CustodyStep.PACK, services.ScanDetails(shipper_code="S-1")),
        ("apheresis_sun", CustodyStep.HAND_TO_COURIER, None),
        ("logistics_zhao", CustodyStep.RECEIVE_AT_MANUFACTURER, None),
    ):
        services.unit_custody_scan(
            actor=world[actor], unit=unit, step=step, scanned_text=unit.din_keyboard, details=details
        )
    client = client_for("logistics_zhao")
    page = client.get(f"/journeys/units/{unit.din}/scan/").content.decode()
    assert '<option value="store">' in page and 'value="start_manufacture"' not in page
    response = client.post(
        f"/journeys/units/{unit.din}/scan/", {"step": "start_manufacture", "scan": unit.din_keyboard}
    )
    assert "start_manufacture is not one of the available choices" in response.content.decode()
    unit.refresh_from_db()
    assert unit.state == "received"


def test_label_files_render_for_a_printed_label(kit, world, client_for):
    journey, (unit, _) = _labelled(kit, world)
    client = client_for("apheresis_sun")
    pdf = client.get(f"/journeys/units/{unit.din}/label.pdf")
    zpl = client.get(f"/journeys/units/{unit.din}/label.zpl")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "FOR AUTOLOGOUS USE ONLY" in zpl.content.decode() and journey.coi in zpl.content.decode()


def _said(response):
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]


def test_consent_form_names_the_field_that_is_wrong(kit, client_for, settings):
    settings.LANGUAGE_CODE = "en"
    journey = kit.enrol()
    response = client_for("physician_wang").post(
        f"/journeys/{journey.coi}/consent/",
        {"form_version": "ICF v3", "signed_on": "not a date", "signer": "patient"},
    )
    assert response.status_code == 302 and response["Location"] == f"/journeys/{journey.coi}/"
    assert _said(response) == ["Signed on: Enter a valid date."]
    assert not journey.consents.exists()


def test_consent_form_records_with_its_message(kit, client_for, settings):
    settings.LANGUAGE_CODE = "en"
    journey = kit.enrol()
    response = client_for("physician_wang").post(
        f"/journeys/{journey.coi}/consent/",
        {"form_version": "ICF v3", "signed_on": "2026-01-05", "signer": "patient"},
    )
    assert _said(response) == ["Consent recorded."]
    assert journey.consents.get().form_version == "ICF v3"


def test_label_check_with_an_unknown_verifier_says_so(kit, world, client_for, settings):
    settings.LANGUAGE_CODE = "en"
    _, (unit, _) = _labelled(kit, world)
    response = client_for("apheresis_sun").post(
        f"/journeys/units/{unit.din}/label/verify/",
        {"scan": unit.din_keyboard, "password": "x", "verifier": "nobody_here", "verifier_password": "x"},
    )
    assert response.status_code == 302
    assert _said(response) == ["No such verifier."]


def test_label_fate_is_recorded_through_the_unit_page_form(kit, world, client_for, settings):
    """FACT-JACIE CM7.2.2.1: the collecting site records each label's fate; a witness is named by username."""
    from cellchain.journeys.models import LabelDisposition
    from cellchain.journeys.services import label_print

    settings.LANGUAGE_CODE = "en"
    journey, (unit, _) = _labelled(kit, world)
    label_print(actor=world["apheresis_sun"], unit=unit, reprint_reason="spare")
    client = client_for("apheresis_sun")
    page = client.get(f"/journeys/{journey.coi}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"/journeys/units/{unit.din}/label/2/fate/" in page
    url = f"/journeys/units/{unit.din}/label/2/fate/"
    unknown = client.post(url, {"fate": "destroyed", "reason": "spare", "witness": "nobody"})
    assert any("witness" in m for m in _said(unknown))
    response = client.post(url, {"fate": "destroyed", "reason": "spare", "witness": "apheresis_gao"})
    assert response.status_code == 302
    fate = LabelDisposition.objects.get(label__unit=unit, label__print_number=2)
    assert fate.fate == "destroyed" and fate.witness == world["apheresis_gao"]
    again = client.post(url, {"fate": "voided", "reason": "again"})
    assert any("already has its fate" in m for m in _said(again))
    assert client_for("logistics_zhao").post(url, {"fate": "used"}).status_code == 403
