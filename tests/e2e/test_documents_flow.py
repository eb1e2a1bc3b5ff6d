"""A nurse finds the SOP in force she has not read, signs its read-and-understood training with her password,
and the register's overdue filter swaps in place (htmx) (issue 13 item 1; T-6.1, T-6.4, T-6.5-d)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _thaw_sop(world: Any) -> Any:
    from cellchain.core import clock
    from cellchain.documents import services
    from cellchain.signatures.services import SignerCredentials
    from conftest import PERSONA_PASSWORD

    document = services.document_register(
        actor=world["coordinator_zhou"], code="SOP-THAW", title="Thawing a unit", kind="sop", step="thaw"
    )
    version = services.version_draft(
        actor=world["nurse_wang"],
        document=document,
        label="1",
        effective_from=clock.today("Asia/Shanghai"),
        review_interval_months=12,
        text="Thaw at 37 °C; do not shake.",
    )
    for step, who in (("submit", "nurse_wang"), ("review", "pharmacist_liu"), ("approve", "physician_wang")):
        services.version_sign(
            actor=world[who],
            version=version,
            step=step,
            signer=SignerCredentials(world[who], PERSONA_PASSWORD),
        )
    return version


def test_nurse_signs_the_training_on_the_sop_in_force(page: Any, sign_in: Any, e2e_world: Any) -> None:
    from conftest import PERSONA_PASSWORD

    version = _thaw_sop(e2e_world)
    sign_in("nurse_zhou")
    page.click("nav.menu >> a[href='/documents/']")
    page.wait_for_url(f"{page.base_url}/documents/")
    training = page.locator("#my-training")
    assert "in force: the step is refused until you sign" in training.inner_text()
    training.locator("a").first.click()
    page.wait_for_url(f"{page.base_url}/documents/versions/{version.pk}/")
    form = page.locator("#acknowledge-form")
    form.locator("input[name=password]").fill(PERSONA_PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "You signed the training on this version." in page.locator("#trained").inner_text()

    page.goto(f"{page.base_url}/documents/")
    assert page.locator("tr[data-document='SOP-THAW']").count() == 1
    page.check("input[name=overdue]")  # htmx swaps the register: nothing is overdue today
    page.locator("#register >> text=No document is overdue for review.").wait_for()
