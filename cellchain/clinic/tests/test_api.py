"""Clinic API: bedside scan to verdict (409 when blocked), grading, adverse events, overdue lists, thaw."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from cellchain.clinic import samples
from cellchain.clinic.models import BedsideCheck
from cellchain.clinic.tests.conftest import NOW

pytestmark = pytest.mark.django_db


def post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_bedside_scan_proceeds_with_matching_scans(client_for: Any, course: Any, thawed_unit: Any) -> None:
    response = post(
        client_for("nurse_wang"),
        f"/api/clinic/courses/{course.pk}/bedside-scan",
        {"wristband": course.patient_wristband_id, "unit": samples.din_barcode(1)},
    )
    assert response.status_code == 200 and response.json()["verdict"] == "proceed"


def test_bedside_scan_with_wrong_wristband_answers_409_and_is_recorded(
    client_for: Any, course: Any, thawed_unit: Any
) -> None:
    response = post(
        client_for("nurse_wang"),
        f"/api/clinic/courses/{course.pk}/bedside-scan",
        {"wristband": "MRN-OTHER", "unit": samples.din_barcode(1)},
    )
    body = response.json()
    assert response.status_code == 409 and body["code"] == "identity_mismatch"
    assert body["message"].startswith("Infusion blocked: wrong patient")
    assert body["detail"]["reasons"][0]["code"] == "wrong_patient"
    assert BedsideCheck.objects.get().verdict == "blocked"


def test_grading_endpoint_returns_grade_and_reasoning(client_for: Any, profile: Any) -> None:
    response = post(
        client_for("physician_wang"),
        "/api/clinic/grading",
        {"category": "crs", "findings": {"temperature_c": 38.4, "oxygen_device": "cpap"}},
    )
    assert response.status_code == 200 and response.json()["grade"] == 4


def test_grading_endpoint_refuses_ice_score_11(client_for: Any, profile: Any) -> None:
    response = post(
        client_for("physician_wang"),
        "/api/clinic/grading",
        {"category": "icans", "findings": {"ice_score": 11}},
    )
    assert response.status_code == 400 and "ICE score 11 is out of range" in response.json()["message"]
    assert response.json()["detail"]["field"] == "ice_score"


def test_adverse_event_creates_duties(client_for: Any, course: Any, infusion: Any) -> None:
    response = post(
        client_for("physician_wang"),
        f"/api/clinic/courses/{course.pk}/adverse-events",
        {
            "category": "crs",
            "term": "CRS",
            "description": "fever",
            "onset_at": NOW.isoformat(),
            "serious": True,
            "relation": "related",
            "findings": {"temperature_c": 39.0, "oxygen_device": "facemask"},
        },
    )
    body = response.json()
    assert response.status_code == 201 and body["grade"] == 3
    assert {d["duty"] for d in body["duties"]} == {"to_manufacturer", "adr_serious"}


def test_thaw_in_the_future_is_refused(client_for: Any, unit: Any) -> None:
    response = post(
        client_for("nurse_wang"),
        f"/api/clinic/units/{unit.pk}/thaw",
        {
            "started_at": (NOW + dt.timedelta(minutes=5)).isoformat(),
            "ended_at": (NOW + dt.timedelta(minutes=9)).isoformat(),
            "temperature_c": 37,
            "method": "water_bath",
            "area": "A",
            "device": "D",
            "appearance_normal": True,
            "no_shaking_confirmed": True,
            "precautions_acknowledged": True,
        },
    )
    assert response.status_code == 400 and "in the future" in response.json()["message"]


def test_overdue_lists_are_visible_to_the_hospital_only(client_for: Any, course: Any) -> None:
    assert client_for("coordinator_zhou").get("/api/clinic/reporting/overdue").json() == []
    assert client_for("qa_li").get("/api/clinic/follow-up/overdue").status_code == 403


def test_manufacturer_cannot_scan(client_for: Any, course: Any) -> None:
    response = post(
        client_for("qa_li"), f"/api/clinic/courses/{course.pk}/bedside-scan", {"wristband": "x", "unit": "y"}
    )
    assert response.status_code == 403
