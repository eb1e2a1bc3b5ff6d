"""QA answers a self-assessment item on a tablet: filter the checklist, open an item, attach the evidence, sign
(issue 14 item 2; CHECKLIST)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_qa_answers_an_item_with_a_file_and_signs_on_a_tablet(
    page: Any, sign_in: Any, e2e_world: Any, tmp_path: Path
) -> None:
    from conftest import PERSONA_PASSWORD

    page.set_viewport_size({"width": 800, "height": 1180})  # a tablet held upright
    sign_in("qa_li")
    page.click("nav.menu >> text=Self-assessment")
    page.wait_for_url(f"{page.base_url}/assessment/shenghe-prod/")
    assert page.locator("li.check-item").count() == 15

    page.select_option("select[name=state]", "unanswered")  # htmx swaps the list in place
    page.wait_for_url(f"{page.base_url}/assessment/shenghe-prod/?state=unanswered")
    item = page.locator("li.check-item[data-item='T-5.1.1']")
    item.locator("a.button").click()
    page.wait_for_url(f"{page.base_url}/assessment/shenghe-prod/T-5.1.1/")

    licence = tmp_path / "licence.pdf"
    licence.write_bytes(b"%PDF-1.4\n% production licence\n%%EOF\n")
    page.check("input[name=answer][value=yes]")
    page.set_input_files("input[name=evidence_file]", str(licence))
    page.fill("input[name=evidence_reference]", "苏20260001")
    page.fill("input[name=password]", PERSONA_PASSWORD)
    page.click("#answer-form button[type=submit]")
    page.wait_for_load_state()
    assert "The answer was recorded and signed." in page.content()
    assert page.locator(".signature").count() == 1 and "licence.pdf" in page.content()

    page.goto(f"{page.base_url}/assessment/shenghe-prod/?state=yes")
    assert page.locator("li.check-item").count() == 1
