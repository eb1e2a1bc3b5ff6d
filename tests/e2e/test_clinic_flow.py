"""Thaw -> bedside check (a wrong wristband blocked) -> infusion -> observation -> a grade-3 CRS event that reaches
the manufacturer (issue 7 "Done means"; T-8.2.4, T-8.2.6-e, T-8.2.7-a, T-9.2.6-1, T-10.8, T-7.10).

The live server runs in this process, so `clock.frozen` moves its clock too: the 30-minute observation is
walked through without waiting.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def clinic_ready(e2e_world: Any) -> Any:
    from cellchain.clinic import samples
    from conftest import PERSONA_PASSWORD

    world = e2e_world
    product = samples.product(world["physician_wang"], world.organisations["shenghe"])
    samples.site_ready(world["physician_wang"], world.sites["xiehe-main"], product, PERSONA_PASSWORD)
    course = samples.course(
        world["coordinator_zhou"], world.sites["xiehe-main"], product, 1, physician=world["physician_wang"]
    )
    return course, samples.unit(world["pharmacist_liu"], course, 1), samples.din_barcode(1)


def test_thaw_bedside_infusion_observation_and_grade_3_crs(
    page: Any, sign_in: Any, browser: Any, clinic_ready: Any
) -> None:
    from django.core import mail

    from cellchain.clinic.models import AdverseEvent, BedsideCheck
    from cellchain.core import clock
    from conftest import PERSONA_PASSWORD

    course, unit, unit_barcode = clinic_ready
    start = clock.now().replace(second=0, microsecond=0)
    base = page.base_url
    with clock.frozen(start):
        sign_in("nurse_wang")
        # thaw: the use-by countdown starts at thaw end (T-7.8-a)
        page.goto(f"{base}/clinic/unit/{unit.pk}/thaw/")
        page.fill("input[name=started_at]", local(start - dt.timedelta(minutes=10)))
        page.fill("input[name=ended_at]", local(start - dt.timedelta(minutes=2)))
        page.fill("input[name=temperature_c]", "37")
        page.select_option("select[name=method]", "water_bath")
        page.fill("input[name=area]", "Cell therapy preparation room")
        page.fill("input[name=device]", "Water bath WB-02")
        page.check("input[name=no_shaking_confirmed]")
        page.check("input[name=precautions_acknowledged]")
        page.click("button:has-text('Record thaw')")
        assert re.search(r"\d+ min left", page.locator("#countdown").inner_text())

        # bedside: the wrong wristband is blocked and recorded as an identity incident
        page.goto(f"{base}/clinic/course/{course.pk}/bedside/")
        page.fill("input[name=wristband]", "MRNW200199999")
        page.press("input[name=wristband]", "Enter")  # the scanner's Enter moves to the unit field
        page.fill("input[name=unit]", unit_barcode)
        page.press("input[name=unit]", "Enter")
        blocked = page.locator("[data-verdict=blocked]")
        assert "STOP" in blocked.inner_text() and blocked.locator("[data-code=wrong_patient]").count() == 1
        assert BedsideCheck.objects.get(verdict="blocked").deviation_number
        page.fill("input[name=wristband]", course.patient_wristband_id)
        page.press("input[name=wristband]", "Enter")
        page.fill("input[name=unit]", unit_barcode)
        page.press("input[name=unit]", "Enter")
        page.locator("[data-verdict=proceed]").wait_for()

        # second person scans again, both sign
        page.click("text=Second person: verify")
        page.fill("input[name=wristband]", course.patient_wristband_id)
        page.fill("input[name=unit]", unit_barcode)
        page.fill("input[name=verifier_username]", "nurse_zhou")
        page.fill("input[name=verifier_password]", PERSONA_PASSWORD)
        page.fill("input[name=performer_password]", PERSONA_PASSWORD)
        page.click("button:has-text('Verify and sign')")
        page.wait_for_url(re.compile(r".*/clinic/bedside/\d+/infusion/$"))

        # infusion within the product's values
        page.fill("input[name=rate_ml_h]", "300")
        page.fill("input[name=infusion_set]", "IV-STD-200")
        page.fill("input[name=volume_ml]", "68")
        page.fill("input[name=car_positive_viable_cells]", "210000000")
        page.fill("input[name=emergency_contact]", "ICU on call, ext. 6120")
        page.check("input[name=rescue_staff_present]")
        for box in page.locator("input[name^=check_]").all():
            box.check()
        page.click("button:has-text('Start infusion')")
        page.wait_for_url(re.compile(r".*/clinic/infusion/\d+/$"))
        infusion_url = page.url

    with clock.frozen(start + dt.timedelta(minutes=20)):
        page.click("button:has-text('Infusion ended')")
        for name, value in (
            ("temperature_c", "37.2"),
            ("heart_rate", "88"),
            ("systolic", "118"),
            ("diastolic", "72"),
            ("respiratory_rate", "16"),
            ("spo2", "98"),
        ):
            page.fill(f"input[name={name}]", value)
        page.click("button:has-text('Record vital signs')")
    with clock.frozen(start + dt.timedelta(minutes=40)):  # only 20 min after the infusion end
        page.click("button:has-text('End observation')")
        assert "it must last at least 30 min" in page.locator(".messages").inner_text()
    with clock.frozen(start + dt.timedelta(minutes=55)):
        page.goto(infusion_url)
        page.click("button:has-text('End observation')")
        page.locator("[data-observation=closed]").wait_for()

    with clock.frozen(start + dt.timedelta(hours=6)):
        doctor = browser.new_context(locale="en-GB", viewport={"width": 1180, "height": 820})
        page = signed_in(doctor.new_page(), base, "physician_wang", "en")
        page.goto(f"{base}/clinic/course/{course.pk}/adverse-event/")
        page.select_option("select[name=category]", "crs")
        page.fill("input[name=term]", "Cytokine release syndrome")
        page.fill("textarea[name=description]", "Fever 39.2 °C, hypotension on norepinephrine")
        page.fill("input[name=onset_at]", local(start + dt.timedelta(hours=5)))
        page.check("input[name=serious]")
        page.select_option("select[name=relation]", "related")
        page.fill("input[name=temperature_c]", "39.2")
        page.check("input[name=hypotension]")
        page.check("input[name=vasopressors][value=norepinephrine]")
        page.locator("#grade [data-grade='3']").wait_for()
        assert "one vasopressor" in page.locator("#grade").inner_text()
        page.click("button:has-text('Record and send to the manufacturer')")
        page.wait_for_url(re.compile(r".*/clinic/adverse-event/\d+/$"))
        assert page.locator("[data-grade]").first.get_attribute("data-grade") == "3"
        assert "sent_on_time" in page.locator("[data-duty=to_manufacturer]").inner_text()

        doctor.close()

    event = AdverseEvent.objects.get()
    assert any(event.number in message.subject for message in mail.outbox)
    manufacturer = browser.new_context(locale="en-GB")
    qa = signed_in(manufacturer.new_page(), base, "qa_li", "en")
    qa.goto(f"{base}/quality/notifications/")
    assert event.number in qa.content() and course.patient_wristband_id not in qa.content()
    manufacturer.close()


def signed_in(page: Any, base: str, username: str, language: str) -> Any:
    from conftest import PERSONA_PASSWORD

    page.set_default_timeout(15000)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PERSONA_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    if page.locator("html").get_attribute("lang") != language:
        page.select_option("select[name=language]", language)
        page.wait_for_load_state()
    return page
