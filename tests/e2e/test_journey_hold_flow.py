"""A physician suspends a journey's treatment from its page (htmx, e-signed), sees the hold stand, and lifts it;
QA certifies a collection site and a physician records a protocol's eligibility checklist (issue 13 items 6-7;
T-6.4-h, T-9.2.1-2, P-1.3.1-d)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_physician_suspends_and_lifts_a_journey_with_a_signature(
    page: Any, sign_in: Any, e2e_world: Any
) -> None:
    from cellchain.journeys import demo
    from cellchain.journeys.models import JourneyHold
    from conftest import PERSONA_PASSWORD

    journey = demo.labelled_journey(e2e_world, name="暂停", wristband="E2E-HOLD", password=PERSONA_PASSWORD)
    sign_in("physician_wang")
    page.goto(f"{page.base_url}/journeys/{journey.coi}/")
    page.click("#holds details summary")
    form = page.locator("[data-form=hold]")
    form.locator("select[name=kind]").select_option("suspension")
    form.locator("textarea[name=reason]").fill("Neutropenic fever")
    form.locator("input[name=password]").fill(PERSONA_PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_selector("[data-form=hold-lift]")
    assert "Neutropenic fever" in page.locator("#holds").inner_text()
    assert page.url.endswith(f"/journeys/{journey.coi}/")  # swapped in place

    lift = page.locator("[data-form=hold-lift]")
    lift.locator("textarea[name=reason]").fill("Fever resolved")
    lift.locator("input[name=password]").fill(PERSONA_PASSWORD)
    lift.locator("button[type=submit]").click()
    page.wait_for_selector("#holds >> text=Fever resolved")
    assert JourneyHold.objects.get(journey=journey).lift_reason == "Fever resolved"


def test_qa_certifies_a_site_and_a_physician_records_a_checklist(
    page: Any, sign_in: Any, e2e_world: Any
) -> None:
    from cellchain.journeys.models import CollectionSiteCertification, EligibilityChecklist
    from cellchain.journeys.services import ethics_approval_record

    today = dt.date.today()
    ethics_approval_record(
        actor=e2e_world["physician_wang"], site=e2e_world.sites["xiehe-main"], product_code="S1395V00",
        protocol="E2E-PROT", number="EC-E2E-1", approved_on=today - dt.timedelta(days=5),
        valid_until=today + dt.timedelta(days=300),
    )  # fmt: skip
    sign_in("qa_li")
    page.goto(f"{page.base_url}/journeys/collection-sites/")
    form = page.locator("[data-form=certify]")
    form.locator("select[name=site]").select_option(label=e2e_world.sites["xiehe-main"].name)
    form.locator("input[name=number]").fill("CS-E2E-1")
    form.locator("input[name=valid_from]").fill(today.isoformat())
    form.locator("input[name=valid_until]").fill((today + dt.timedelta(days=365)).isoformat())
    form.locator("input[name=may_cryopreserve]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_selector("tr[data-certification=CS-E2E-1]")
    assert CollectionSiteCertification.objects.get(number="CS-E2E-1").may_cryopreserve

    page.context.clear_cookies()
    sign_in("physician_wang")
    page.goto(f"{page.base_url}/journeys/checklists/")
    form = page.locator("[data-form=checklist]")
    form.locator("input[name=protocol]").fill("E2E-PROT")
    form.locator("textarea[name=criteria]").fill("ECOG 0-1\nCD19+ disease")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("tr[data-checklist=E2E-PROT-v1]")
    assert EligibilityChecklist.objects.get(protocol="E2E-PROT").criteria == ["ECOG 0-1", "CD19+ disease"]
