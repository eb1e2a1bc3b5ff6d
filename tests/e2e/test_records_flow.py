"""A journey's archive in the browser: open the checklist, see what is missing, file a scan with its paper
location, tick an item with evidence, and close with the signature once nothing is missing (issue 13 item 9;
T-10.16, T-6.4-g, T-5.2.9, X-6, X-4)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def course(e2e_world: Any) -> Any:
    from cellchain.clinic import samples
    from conftest import PERSONA_PASSWORD

    world = e2e_world
    product = samples.product(world["physician_wang"], world.organisations["shenghe"])
    samples.site_ready(world["physician_wang"], world.sites["xiehe-main"], product, PERSONA_PASSWORD)
    return samples.course(
        world["coordinator_zhou"], world.sites["xiehe-main"], product, 1, physician=world["physician_wang"]
    )


def test_archive_checklist_scan_tick_and_signed_close(
    page: Any, sign_in: Any, e2e_world: Any, course: Any
) -> None:
    from cellchain.records import selectors, services
    from cellchain.records.models import ArchiveChecklist
    from conftest import PERSONA_PASSWORD

    sign_in("coordinator_zhou")
    page.click("nav.menu >> text=Archive")
    page.wait_for_url(f"{page.base_url}/records/")
    page.fill("#open-form input[name=coi]", course.coi)
    page.click("#open-form button[type=submit]")
    checklist = ArchiveChecklist.objects.get()
    page.wait_for_url(f"{page.base_url}/records/archive/{checklist.pk}/")
    assert page.locator("tr[data-item='follow_up']").get_attribute("data-present") == "no"
    assert "T-10.16" in page.locator("#missing").inner_text()

    page.goto(f"{page.base_url}/records/scans/new/?record_type=clinic.treatmentcourse&record_id={course.pk}")
    form = page.locator("#scan-form")
    form.locator("input[name=title]").fill("Signed treatment plan (paper)")
    form.locator("input[name=file]").set_input_files(
        {"name": "plan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 plan"}
    )
    form.locator("input[name=paper_archive]").fill("Central archive room")
    form.locator("input[name=paper_shelf]").fill("S4")
    form.locator("input[name=paper_box]").fill("B2026-07")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{page.base_url}/records/scans/")
    assert "Central archive room / S4 / B2026-07" in page.locator("#scan-list").inner_text()

    page.goto(f"{page.base_url}/records/archive/{checklist.pk}/")
    page.click("#tick-form >> xpath=.. >> summary")
    tick = page.locator("#tick-form")
    tick.locator("select[name=item]").select_option("medical_record")
    tick.locator("textarea[name=evidence]").fill("EMR print in the patient binder")
    tick.locator("select[name=scanned_document]").select_option(index=1)
    tick.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("tr[data-item='medical_record']").get_attribute("data-present") == "yes"

    # The rest are held by the manufacturer's installation: ticked with their evidence (through the service).
    for row in selectors.checklist_rows(checklist):
        if not row.present:
            services.archive_tick(
                actor=e2e_world["coordinator_zhou"],
                checklist=checklist,
                item=row.item.value,
                evidence="copy filed",
            )

    page.click("button:has-text('Sign out')")
    page.wait_for_url("**/accounts/login/**")
    sign_in("physician_wang")
    page.goto(f"{page.base_url}/records/archive/{checklist.pk}/")
    close = page.locator("#close-form")
    close.locator("input[name=archive_location]").fill("Central archive room, cabinet 7")
    close.locator("input[name=password]").fill(PERSONA_PASSWORD)
    close.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "The archive was closed and signed." in page.content()
    assert page.locator("#checklist-status").inner_text() == "Closed"
