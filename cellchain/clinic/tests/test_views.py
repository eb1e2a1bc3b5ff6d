"""Clinic pages: every page renders for its roles, the bedside scan swaps a verdict, bad input shows a message."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from cellchain.clinic import samples as factories
from cellchain.clinic.models import AdverseEvent, BedsideCheck, ClinicUnit
from cellchain.clinic.tests.conftest import NOW
from cellchain.core import clock
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def en(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def test_overview_lists_courses_by_stage_and_countdowns(
    client_for: Any, course: Any, thawed_unit: Any
) -> None:
    response = client_for("nurse_wang").get(reverse("clinic:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert course.journey_ref in body and thawed_unit.unit_id in body
    assert 'data-stage="thawed"' in body


def test_manufacturer_user_sees_no_clinic_pages(client_for: Any, course: Any) -> None:
    assert client_for("qa_li").get(reverse("clinic:home")).status_code == 403
    assert client_for("qa_li").get(reverse("clinic:course", args=[course.pk])).status_code == 403


def test_other_hospital_gets_404_for_this_course(client_for: Any, course: Any) -> None:
    assert client_for("physician_chen").get(reverse("clinic:course", args=[course.pk])).status_code == 404


@pytest.mark.parametrize("name", ["course", "bedside", "event_new"])
def test_course_pages_render(client_for: Any, course: Any, thawed_unit: Any, name: str) -> None:
    url = reverse(f"clinic:{name}", args=[course.pk])
    assert client_for("physician_wang").get(url).status_code == 200


@pytest.mark.parametrize("name", ["reporting", "follow_up", "deviations", "risk_plans", "products"])
def test_lists_render(client_for: Any, profile: Any, name: str) -> None:
    assert client_for("physician_wang").get(reverse(f"clinic:{name}")).status_code == 200


def test_unit_page_shows_the_countdown_and_htmx_refreshes_it(client_for: Any, thawed_unit: Any) -> None:
    client = client_for("nurse_wang")
    page = client.get(reverse("clinic:unit", args=[thawed_unit.pk])).content.decode()
    assert 'id="countdown"' in page and "85" in page  # 90 min from thaw end 5 min ago
    fragment = client.get(
        reverse("clinic:unit", args=[thawed_unit.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert fragment.strip().startswith('<div id="countdown"') and "<html" not in fragment


def test_bedside_scan_with_wrong_wristband_shows_stop(
    client_for: Any, course: Any, thawed_unit: Any, en: None
) -> None:
    response = client_for("nurse_wang").post(
        reverse("clinic:bedside", args=[course.pk]),
        {"wristband": "MRN-WRONG", "unit": factories.din_barcode(1)},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert (
        response.status_code == 200
        and 'data-verdict="blocked"' in body
        and 'data-code="wrong_patient"' in body
    )
    assert BedsideCheck.objects.get().deviation_number in body


def test_bedside_two_person_flow_through_the_pages(client_for: Any, course: Any, thawed_unit: Any) -> None:
    client = client_for("nurse_wang")
    client.post(
        reverse("clinic:bedside", args=[course.pk]),
        {"wristband": course.patient_wristband_id, "unit": factories.din_barcode(1)},
    )
    check = BedsideCheck.objects.get()
    response = client.post(
        reverse("clinic:bedside_verify", args=[check.pk]),
        {
            "wristband": course.patient_wristband_id,
            "unit": factories.din_barcode(1),
            "verifier_username": "nurse_zhou",
            "verifier_password": PERSONA_PASSWORD,
            "performer_password": PERSONA_PASSWORD,
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "clinic:infusion_new", args=[check.pk]
    )
    form = {
        "route": "intravenous",
        "rate_ml_h": "900",
        "infusion_set": "IV-STD-200",
        "volume_ml": "68",
        "car_positive_viable_cells": "2.1e8",
        "weight_kg": "70",
        "emergency_contact": "ICU 6120",
        "rescue_staff_present": "on",
        **{f"check_{i}": "on" for i in range(5)},
    }
    refused = client.post(reverse("clinic:infusion_new", args=[check.pk]), form)
    assert refused.status_code == 200 and "60-600 mL/h" in refused.content.decode()
    started = client.post(reverse("clinic:infusion_new", args=[check.pk]), {**form, "rate_ml_h": "300"})
    assert started.status_code == 302
    assert ClinicUnit.objects.get().state == ClinicUnit.State.INFUSED


def test_grade_preview_shows_reasoning_and_refuses_ice_11(client_for: Any, profile: Any, en: None) -> None:
    client = client_for("physician_wang")
    url = reverse("clinic:grade_preview")
    body = client.post(
        url, {"category": "crs", "temperature_c": "39", "oxygen_device": "facemask"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-grade="3"' in body and "facemask" in body
    body = client.post(url, {"category": "icans", "ice_score": "11"}, HTTP_HX_REQUEST="true").content.decode()
    assert "ICE score 11 is out of range" in body


def test_adverse_event_form_records_and_redirects(client_for: Any, course: Any, infusion: Any) -> None:
    with clock.frozen(NOW + dt.timedelta(hours=2)):
        response = client_for("physician_wang").post(
            reverse("clinic:event_new", args=[course.pk]),
            {
                "category": "crs",
                "event_type": "adverse_reaction",
                "term": "CRS",
                "description": "fever, hypotension",
                "onset_at": (NOW + dt.timedelta(hours=1))
                .astimezone(dt.timezone(dt.timedelta(hours=8)))
                .strftime("%Y-%m-%dT%H:%M"),
                "serious": "on",
                "relation": "related",
                "outcome": "ongoing",
                "temperature_c": "39.0",
                "hypotension": "on",
                "vasopressors": ["norepinephrine"],
                "oxygen_device": "none",
            },
        )
    event = AdverseEvent.objects.get()
    assert response.status_code == 302 and event.grade == 3
    page = client_for("physician_wang").get(reverse("clinic:event", args=[event.pk])).content.decode()
    assert 'data-duty="to_manufacturer"' in page


def test_printable_ethics_report_has_the_reports(client_for: Any, course: Any) -> None:
    from cellchain.clinic import services

    report = services.protocol_deviation_record(
        actor=course.physician,
        site=course.site,
        title="Late visit",
        description="M1 late",
        occurred_on=NOW.date(),
        course=course,
    )
    page = (
        client_for("physician_wang").get(reverse("clinic:deviation_print", args=[report.pk])).content.decode()
    )
    assert report.deviation.number in page and course.coi in page


def test_unit_hand_over_page_scans_or_takes_typed_values(client_for: Any, course: Any) -> None:
    client = client_for("pharmacist_liu")
    url = reverse("clinic:unit_admit", args=[course.pk])
    assert "data-scan" in client.get(url).content.decode()
    unknown = client.post(url, {"scan": factories.din_issue("W1234", 2026, 8).keyboard_form})
    assert "not known to manufacturing" in unknown.content.decode()
    typed = client.post(
        url,
        {
            "unit_id": factories.din_issue("W1234", 2026, 8).keyboard_form,
            "coi": factories.coi_issue("W2001", 2026, factories.SAMPLE_SEQUENCE + 1).keyboard_form,
            "batch_number": "B-8",
            "release": "released",
        },
    )
    assert typed.status_code == 302 and ClinicUnit.objects.get().batch_number == "B-8"


def test_agreement_page_needs_every_item(client_for: Any, profile: Any) -> None:
    client = client_for("coordinator_zhou")
    url = reverse("clinic:agreement_new")
    form = {"product": profile.pk, "effective_from": NOW.date().isoformat(), "attachment_ref": "AGR-9"}
    refused = client.post(url, {**form, "a_eligibility": "on"})
    assert refused.status_code == 200 and "b_collection" in refused.content.decode()
    items = (
        "a_eligibility",
        "b_collection",
        "c_storage_transport",
        "d_identity_check",
        "e_pre_infusion_steps",
        "f_traceability",
        "g_cancellation_delay",
        "h_responsibilities",
    )
    assert client.post(url, {**form, **dict.fromkeys(items, "on")}).status_code == 302


def test_expired_unit_gets_its_over_time_handling(client_for: Any, thawed_unit: Any) -> None:
    overtime_url = reverse("clinic:unit_overtime", args=[thawed_unit.pk])
    with clock.frozen(thawed_unit.use_by + dt.timedelta(minutes=1)):
        client = client_for("nurse_wang")
        assert overtime_url in client.get(reverse("clinic:unit", args=[thawed_unit.pk])).content.decode()
        client.post(overtime_url)
    thawed_unit.refresh_from_db()
    assert thawed_unit.release == ClinicUnit.Release.REJECTED


# --------------------------------------------------------------------------- bad input says what is wrong


def _said(response: Any) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]


def test_bedside_scan_without_the_unit_names_the_missing_field(
    client_for: Any, course: Any, thawed_unit: Any, en: None
) -> None:
    """An incomplete scan was swapped back without a word; now the fragment says which scan is missing."""
    response = client_for("nurse_wang").post(
        reverse("clinic:bedside", args=[course.pk]), {"wristband": "MRN-1"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "Product unit: This field is required." in body
    assert not BedsideCheck.objects.exists()


def test_bedside_verify_refuses_a_colleague_of_another_hospital_on_that_field(
    client_for: Any, verified_check: Any, en: None
) -> None:
    response = client_for("nurse_wang").post(
        reverse("clinic:bedside_verify", args=[verified_check.pk]),
        {
            "wristband": "x",
            "unit": "y",
            "verifier_username": "nurse_li",  # Renji, not Xiehe
            "verifier_password": PERSONA_PASSWORD,
            "performer_password": PERSONA_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"verifier_username": ["No such colleague at this hospital."]}
    assert _said(response) == []


def test_adverse_event_with_bad_findings_says_so_and_records_nothing(
    client_for: Any, course: Any, infusion: Any, en: None
) -> None:
    with clock.frozen(NOW + dt.timedelta(hours=2)):
        response = client_for("physician_wang").post(
            reverse("clinic:event_new", args=[course.pk]),
            {
                "category": "crs",
                "event_type": "adverse_reaction",
                "term": "CRS",
                "description": "fever",
                "onset_at": (NOW + dt.timedelta(hours=1))
                .astimezone(dt.timezone(dt.timedelta(hours=8)))
                .strftime("%Y-%m-%dT%H:%M"),
                "relation": "related",
                "outcome": "ongoing",
                "temperature_c": "hot",
            },
        )
    assert response.status_code == 200
    assert "Highest temperature (°C): Enter a number." in response.content.decode()
    assert not AdverseEvent.objects.exists()


@pytest.mark.parametrize("action_id", ["999999", "abc", ""])
def test_closing_an_unknown_corrective_action_says_so(client_for: Any, course: Any, action_id: str) -> None:
    """It was silently ignored (and a non-numeric id was a server error)."""
    from cellchain.clinic import services

    report = services.protocol_deviation_record(
        actor=course.physician,
        site=course.site,
        title="Late visit",
        description="M1 late",
        occurred_on=NOW.date(),
        course=course,
    )
    response = client_for("physician_wang").post(
        reverse("clinic:deviation", args=[report.pk]),
        {
            "step": "close_action",
            "action_id": action_id,
            "done_on": "2026-01-05",
            "effectiveness_check": "ok",
        },
    )
    assert response.status_code == 302
    assert _said(response) == ["No such corrective action on this protocol deviation."]


def test_report_sent_without_its_reference_names_the_field(
    client_for: Any, course: Any, infusion: Any, en: None
) -> None:
    """Marking a reporting duty sent without the reference was silently ignored."""
    from cellchain.clinic import services

    with clock.frozen(NOW + dt.timedelta(hours=2)):
        event = services.adverse_event_record(
            actor=course.physician,
            course=course,
            findings={"temperature_c": 38.5},
            category="crs",
            event_type="adverse_reaction",
            term="CRS",
            description="fever",
            onset_at=NOW + dt.timedelta(hours=1),
            serious=False,
            relation="related",
            outcome="ongoing",
        )
        duty = event.duties.filter(sent_at__isnull=True).first()
        response = client_for("physician_wang").post(
            reverse("clinic:duty_sent", args=[duty.pk]), {"reference": ""}
        )
    assert response.status_code == 302
    assert _said(response) == ["Report reference: This field is required."]
    duty.refresh_from_db()
    assert duty.sent_at is None
