"""Journeys API: pseudonymous to the manufacturer, identity for the hospital only, scans (X-7, G-4, T-10.4)."""

from __future__ import annotations

import pytest

from cellchain.journeys.models import CustodyEvent
from cellchain.journeys.tests.test_services import _labelled

pytestmark = pytest.mark.django_db


def test_manufacturer_reads_journeys_without_any_patient_identity(kit, world, client_for):
    """X-7, T-7.6: no manufacturer-facing API response carries name, birth date, record number or wristband."""
    journey, (unit, _) = _labelled(kit, world)
    identity = journey.patient_identity
    client = client_for("qa_li")
    bodies = [
        client.get(url)
        for url in (
            "/api/journeys/",
            f"/api/journeys/{journey.coi}",
            f"/api/journeys/{journey.coi}/trace",
            f"/api/journeys/{journey.coi}/epcis",
            f"/api/journeys/units/{unit.din}",
        )
    ]
    assert [r.status_code for r in bodies] == [200] * 5
    text = b"".join(r.content for r in bodies).decode()
    assert journey.coi in text and journey.pseudonym in text
    for value in (
        identity.name,
        identity.hospital_record_number,
        identity.wristband_id,
        identity.birth_date.isoformat(),
    ):
        assert value not in text


def test_patient_identity_only_for_the_patients_hospital(kit, world, client_for):
    journey = kit.enrol(name="赵六")
    assert client_for("qa_li").get(f"/api/journeys/{journey.coi}/patient").status_code == 403
    assert client_for("coordinator_xu").get(f"/api/journeys/{journey.coi}/patient").status_code == 404
    response = client_for("nurse_wang").get(f"/api/journeys/{journey.coi}/patient")
    assert response.status_code == 200
    assert response.json()["name"] == "赵六"


def test_other_hospital_cannot_see_the_journey(kit, client_for):
    journey = kit.enrol()
    assert client_for("coordinator_xu").get(f"/api/journeys/{journey.coi}").status_code == 404
    assert client_for("coordinator_xu").get("/api/journeys/").json() == []


def test_scan_of_the_wrong_bag_is_409_and_recorded(kit, world, client_for):
    _, (unit, other) = _labelled(kit, world)
    response = client_for("apheresis_sun").post(
        f"/api/journeys/units/{unit.din}/scan",
        {"step": "pack", "scanned": other.din_keyboard, "shipper_code": "SHIP-1"},
        content_type="application/json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "identity_mismatch"
    assert body["detail"]["verdict"] == "blocked"
    assert body["detail"]["identity_incident"]
    assert CustodyEvent.objects.filter(unit=unit, verdict="blocked").count() == 1


def test_scan_of_the_right_bag_moves_it(kit, world, client_for):
    _, (unit, _) = _labelled(kit, world)
    response = client_for("apheresis_sun").post(
        f"/api/journeys/units/{unit.din}/scan",
        {"step": "pack", "scanned": unit.din_keyboard, "shipper_code": "SHIP-1"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "packed"


def test_epcis_export_is_refused_to_roles_without_export(kit, world, client_for):
    journey = kit.enrol()
    assert client_for("operator_chen").get(f"/api/journeys/{journey.coi}/epcis").status_code == 403


def _directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as directive -> values."""
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


def test_patient_identity_answers_are_not_stored_and_carry_the_policies(kit, client_for):
    """Issue 15: no-store, Permissions-Policy and a strict CSP on the page and API answer with identity."""
    journey = kit.enrol(name="赵六")
    client = client_for("nurse_wang")
    api = client.get(f"/api/journeys/{journey.coi}/patient")
    page = client.get(f"/journeys/{journey.coi}/")
    for response in (api, page):
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        assert "camera=()" in response["Permissions-Policy"]
        csp = _directives(response["Content-Security-Policy"])
        assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
        assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
        assert "'unsafe-inline'" not in csp["style-src"]
