"""QA takes a deviation through its CAPA in the browser: investigation, an action reported done in place
(htmx), the effectiveness check, and the closure signed with the password (issue 13 item 4; T-6.4-f, T-9.3.2,
T-10.15, X-4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _dispositioned_deviation(world: Any) -> Any:
    from cellchain.quality import services as quality
    from cellchain.quality.models import Deviation

    deviation = quality.deviation_open(
        actor=world["operator_chen"],
        site=world.sites["shenghe-prod"],
        kind=Deviation.Kind.PROCESS,
        title="Incubator CO2 high",
        description="CO2 at 6.2 % for 40 min.",
    )
    return quality.deviation_disposition(
        actor=world["qa_li"], deviation=deviation, investigation="see CAPA", disposition="continue"
    )


def test_qa_investigates_acts_checks_and_closes_with_a_signature(
    page: Any, sign_in: Any, e2e_world: Any
) -> None:
    from cellchain.core import clock
    from conftest import PERSONA_PASSWORD

    deviation = _dispositioned_deviation(e2e_world)
    sign_in("qa_li")
    page.click("nav.menu >> text=CAPA")
    page.wait_for_url(f"{page.base_url}/capa/")
    page.click(f"tr[data-deviation='{deviation.number}'] a")
    page.wait_for_url(f"{page.base_url}/capa/deviations/{deviation.pk}/")
    assert "The investigation is incomplete" in page.locator("#blocking").inner_text()

    form = page.locator("#investigation-form")
    form.locator("select[name=investigator]").select_option(label="郭伟 Guo Wei")
    form.locator("select[name=category]").select_option("equipment")
    form.locator("textarea[name=root_cause]").fill("CO2 sensor drift")
    form.locator("textarea[name=impact_assessment]").fill("No impact on the batch")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "The investigation was recorded." in page.content()

    page.click("#actions ~ details summary")
    action = page.locator("#action-form")
    action.locator("select[name=kind]").select_option("corrective")
    action.locator("textarea[name=description]").fill("Recalibrate the CO2 sensor")
    action.locator("select[name=owner]").select_option(label="李娜 Li Na")
    due = clock.today("Asia/Shanghai") + dt.timedelta(days=7)
    action.locator("input[name=due_on]").fill(due.isoformat())
    action.locator("button[type=submit]").click()
    page.wait_for_load_state()
    row = page.locator("tr.capa-action[data-action='CA-1']")
    row.locator("input[name=note]").fill("Calibrated, certificate CAL-88")
    row.locator("button[type=submit]").click()  # htmx swaps the actions section in place
    page.locator("#actions [role=status]").wait_for()
    assert "The action was reported done." in page.locator("#actions").inner_text()
    assert "CAL-88" in page.locator("tr.capa-action[data-action='CA-1']").inner_text()

    page.reload()
    check = page.locator("#effectiveness-form")
    check.locator("input[name=result][value=effective]").check()
    check.locator("textarea[name=evidence]").fill("No recurrence in 30 days of monitoring")
    check.locator("button[type=submit]").click()
    page.wait_for_load_state()

    close = page.locator("#close-form")
    close.locator("input[name=password]").fill(PERSONA_PASSWORD)
    close.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "The deviation was closed and signed." in page.content()
    assert page.locator("#deviation-status").inner_text() == "Closed"
    assert page.locator(".signature").count() == 1
