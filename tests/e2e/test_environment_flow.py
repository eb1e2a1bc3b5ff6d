"""QC records a settle plate above the action limit on a tablet and is told of the deviation; QA sees the alert
on the list (issue 13 item 3; T-5.1.6)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_qc_records_an_excursion_and_the_list_shows_it(page: Any, sign_in: Any, e2e_world: Any) -> None:
    from cellchain.environment import services
    from cellchain.manufacturing import services as manufacturing

    site = e2e_world.sites["shenghe-prod"]
    qa = e2e_world["qa_li"]
    room = manufacturing.area_create(
        actor=qa,
        site=site,
        code="room-9",
        name="Room 9",
        mode="room_based",
        purpose="cell_preparation",
        grade="B",
    )
    services.monitoring_limit_set(
        actor=qa, site=site, grade="B", parameter="settle_plate", alert="2", action="5"
    )

    page.set_viewport_size({"width": 800, "height": 1180})  # a tablet held upright
    sign_in("qc_zhang")
    page.click("nav.menu >> text=Environment")
    page.wait_for_url(f"{page.base_url}/environment/")
    page.click("tr[data-area='room-9'] a")
    page.wait_for_url(f"{page.base_url}/environment/areas/{room.pk}/")
    page.click("text=Record a result")
    page.select_option("select[name=parameter]", "settle_plate")
    page.fill("input[name=value]", "7")
    page.fill("input[name=sample_point]", "BSC 2 left")
    page.click("form[action$='/results/'] button[type=submit]")
    page.wait_for_load_state()
    assert "Above the action limit: deviation DEV-" in page.content()
    assert page.locator("tr[data-outcome='action']").count() == 1
    assert page.locator("tr[data-outcome='action'] a[href^='/capa/deviations/']").count() == 1

    page.goto(f"{page.base_url}/environment/")
    assert page.locator("tr[data-area='room-9'] .badge.bad").count() == 1
