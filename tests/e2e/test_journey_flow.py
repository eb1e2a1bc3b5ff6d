"""A new user walks a journey from enrolment to receipt at the manufacturer; a wrong bag is blocked (issue 4).

G-4, T-10.4, T-10.6, X-5, X-7; REGULATORY item 37.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.e2e


def _sign_out(page: Any) -> None:
    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/accounts/login/**")


def _post_scan(page: Any, step: str, scan: str, shipper: str = "") -> str:
    page.select_option("select[name=step]", step)
    if shipper:
        page.fill("input[name=shipper_code]", shipper)
    page.fill("input[name=scan]", scan)
    page.evaluate("document.querySelector('#verdict').dataset.verdict = ''")  # wait for this scan's verdict
    page.press("input[name=scan]", "Enter")  # a keyboard-wedge scanner ends with Enter
    page.wait_for_selector("#verdict[data-verdict]:not([data-verdict=''])")
    return page.locator("#verdict").inner_text()


def test_journey_from_enrolment_to_receipt_with_a_blocked_wrong_bag(
    page: Any, sign_in: Any, e2e_world: Any
) -> None:
    from cellchain.journeys import demo
    from cellchain.journeys.models import Journey, LabelPrint, Slot, Unit
    from conftest import PERSONA_PASSWORD

    demo.open_slots(e2e_world, days=2)
    other = demo.labelled_journey(e2e_world, name="他人", wristband="E2E-OTHER", password=PERSONA_PASSWORD)
    other_bag = Unit.objects.filter(journey=other).first()

    sign_in("physician_wang")
    page.goto(f"{page.base_url}/journeys/enrol/")
    page.fill("input[name=name]", "测试 Patient")
    page.fill("input[name=birth_date]", "1971-02-03")
    page.fill("input[name=hospital_record_number]", "MRN-E2E-1")
    page.fill("input[name=wristband_id]", "WB-E2E-1")
    page.select_option("select[name=manufacturer_site]", label=e2e_world.sites["shenghe-prod"].name)
    page.click("button:has-text('Enrol')")
    page.wait_for_selector("[data-coi]")
    journey = Journey.objects.get(patient_identity__wristband_id="WB-E2E-1")
    assert journey.coi in page.inner_text("[data-coi]")

    page.fill("input[name=form_version]", "ICF v3.1")
    page.fill("input[name=signed_on]", dt.date.today().isoformat())
    page.click("[data-form=consent] button")
    page.wait_for_selector("[data-form=eligibility]")
    for box in page.locator("[data-form=eligibility] input[type=radio][value=yes]").all():
        box.check()
    page.click("[data-form=eligibility] button")
    page.wait_for_selector("[data-form=book]")
    now = dt.datetime.now(dt.UTC)
    apheresis = Slot.objects.filter(kind="apheresis", starts_at__gt=now).order_by("starts_at").first()
    manufacturing = (
        Slot.objects.filter(kind="manufacturing", starts_at__gte=apheresis.starts_at)
        .order_by("starts_at")
        .first()
    )
    for slot in (manufacturing, apheresis):
        page.select_option("[data-form=book] select[name=slot]", str(slot.pk))
        page.click("[data-form=book] button")
        page.wait_for_load_state()
    page.wait_for_selector("[data-screening]")
    assert "blocked" in page.inner_text("[data-screening]").lower()
    for marker in ("hiv_1_2", "hbv", "hcv", "syphilis"):
        page.select_option("[data-form=screening] select[name=marker]", marker)
        page.select_option("[data-form=screening] select[name=outcome]", "non_reactive")
        page.fill("[data-form=screening] input[name=tested_on]", dt.date.today().isoformat())
        page.click("[data-form=screening] button")
        page.wait_for_selector("[data-screening]")
    assert "may proceed" in page.inner_text("[data-screening]")
    _sign_out(page)

    sign_in("apheresis_sun")
    page.goto(f"{page.base_url}/journeys/{journey.coi}/")
    local = dt.datetime.now(ZoneInfo("Asia/Shanghai")) - dt.timedelta(hours=1)
    page.fill("[data-form=collect] input[name=collected_at]", local.strftime("%Y-%m-%dT%H:%M"))
    page.click("[data-form=collect] button")
    page.wait_for_selector("[data-unit]")
    unit = Unit.objects.get(journey=journey)
    page.click(f"[data-unit='{unit.din}'] button:has-text('Print label')")
    page.wait_for_selector("[data-form=verify]")
    payload = LabelPrint.objects.get(unit=unit).payload
    page.fill("[data-form=verify] input[name=scan]", payload)
    page.fill("[data-form=verify] input[name=password]", PERSONA_PASSWORD)
    page.fill("[data-form=verify] input[name=verifier]", "nurse_wang")
    page.fill("[data-form=verify] input[name=verifier_password]", PERSONA_PASSWORD)
    page.click("[data-form=verify] button")
    page.wait_for_load_state()
    unit.refresh_from_db()
    assert unit.state == "labelled"

    page.goto(f"{page.base_url}/journeys/units/{unit.din}/scan/")
    blocked = _post_scan(page, "pack", other_bag.din_keyboard, shipper="SHIP-E2E")
    assert "Blocked" in blocked and "another patient" in blocked and "QA notified" in blocked
    unit.refresh_from_db()
    assert unit.state == "labelled"
    assert "Match" in _post_scan(page, "pack", unit.din_keyboard, shipper="SHIP-E2E")
    page.reload()  # the step list follows the unit's new state
    assert "Match" in _post_scan(page, "hand_to_courier", unit.din_keyboard)
    _sign_out(page)

    sign_in("logistics_zhao")
    page.goto(f"{page.base_url}/journeys/units/{unit.din}/scan/")
    assert "Match" in _post_scan(page, "receive_at_manufacturer", unit.din_keyboard)
    page.goto(f"{page.base_url}/journeys/{journey.coi}/")
    trace = page.inner_text("[data-trace]")
    assert "receive_at_manufacturer" in trace and "blocked" in trace
    assert "测试 Patient" not in page.content()  # the manufacturer never sees the patient
    unit.refresh_from_db()
    assert unit.state == "received"
