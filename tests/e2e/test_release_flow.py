"""QA releases a batch in the browser: the evaluation shows what blocks release, QA signs the audit-trail
review and then the release with the password, and the certificate of analysis is served (issue 5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cellchain.core import clock

pytestmark = pytest.mark.e2e


@pytest.fixture
def batch_awaiting_release(e2e_world: Any) -> Any:
    """A batch manufactured over the past two weeks and fully tested, through the services."""
    from cellchain.manufacturing.tests.kit import ManufacturingKit
    from cellchain.qc import services as qc
    from conftest import PERSONA_PASSWORD

    start = (clock.now() - dt.timedelta(days=14)).replace(microsecond=0)
    depth = len(clock._frozen)
    with clock.frozen(start):
        try:
            kit = ManufacturingKit(e2e_world, PERSONA_PASSWORD, start).setup()
            batch = kit.manufactured()
            kit.results(batch)
            retained = batch.units.get(purpose="retained")
            qc.retained_sample_register(
                actor=kit.analyst, unit=retained, container="LN2-03", rack="R2", box="B7", position="A1"
            )
        finally:
            del clock._frozen[depth + 1 :]
    return batch


def test_qa_reviews_and_releases_a_batch_in_the_browser(
    page: Any, sign_in: Any, batch_awaiting_release: Any
) -> None:
    batch = batch_awaiting_release
    sign_in("qa_li")
    page.goto(f"{page.base_url}/qc/batches/{batch.pk}/")
    evaluation = page.locator("#evaluation")
    assert "Not releasable" in evaluation.inner_text()
    assert "audit trail has not been reviewed" in evaluation.inner_text()
    assert page.locator("#release-form").count() == 0

    page.fill("#review-form input[name=password]", "wrong-password")
    page.click("#review-form button[type=submit]")
    assert page.locator(".messages .error").count() == 1
    assert "Not releasable" in page.locator("#evaluation").inner_text()

    from conftest import PERSONA_PASSWORD

    page.fill("#review-form input[name=password]", PERSONA_PASSWORD)
    page.fill("#review-form input[name=note]", "Reviewed in the browser test")
    page.click("#review-form button[type=submit]")
    assert page.locator("#evaluation").inner_text().strip().startswith("Releasable")

    page.fill("#release-form input[name=password]", PERSONA_PASSWORD)
    page.click("#release-form button[type=submit]")
    assert page.locator("#batch-status").inner_text() == "Released"
    assert "Released" in page.locator(".signatures").last.inner_text()

    response = page.request.get(f"{page.base_url}/qc/batches/{batch.pk}/certificate.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF")
    batch.refresh_from_db()
    assert batch.status == "released"
