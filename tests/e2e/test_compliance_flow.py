"""An auditor opens the clause-by-clause compliance report from the menu, sees the gaps first, narrows the list
in place, and downloads the CSV and the PDF that carry the same content digest as the page (issue 14 item 3;
CHECKLIST T-5.x)."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

pytestmark = pytest.mark.e2e

HOSPITAL = "xiehe-main"


def _pdf_text(content: bytes) -> str:
    document = pdfium.PdfDocument(content)
    return "".join(page.get_textpage().get_text_range() for page in document)


def test_auditor_reads_the_gaps_first_filters_and_downloads_csv_and_pdf(
    page: Any, sign_in: Any, e2e_world: Any
) -> None:
    from cellchain.assessment.tests.factories import answer

    answer(e2e_world, "coordinator_zhou", HOSPITAL, "T-5.2.3", "no")  # a signed "no": a gap
    page.set_viewport_size({"width": 800, "height": 1180})  # a tablet held upright
    sign_in("auditor_xiehe")
    page.click("nav.menu >> text=Compliance report")
    page.wait_for_url(f"{page.base_url}/assessment/compliance/{HOSPITAL}/")

    clauses = page.locator("li.check-item.clause")
    everything = clauses.count()
    assert clauses.first.get_attribute("data-clause") == "T-5.2.3"  # gaps come first
    assert clauses.first.get_attribute("data-state") == "not_met"

    page.select_option("select[name=show]", "gaps")  # htmx swaps the list in place and keeps the URL
    page.wait_for_url(f"{page.base_url}/assessment/compliance/{HOSPITAL}/?show=gaps&type=")
    page.wait_for_function(f"document.querySelectorAll('li.check-item.clause').length < {everything}")
    states = {clauses.nth(n).get_attribute("data-state") for n in range(clauses.count())}
    assert "T-5.2.3" in [clauses.nth(n).get_attribute("data-clause") for n in range(clauses.count())]
    assert "not_assessed" not in states and "met" not in states

    digest = page.locator("[data-digest]").inner_text().strip()
    with page.expect_download() as csv_download:
        page.click("text=Download CSV")
    csv_bytes = Path(csv_download.value.path()).read_bytes()
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert len(rows) - 1 == everything  # the file holds every clause, not just the filtered view
    assert rows[1][0] == "T-5.2.3"
    assert hashlib.sha256(csv_bytes).hexdigest() == digest  # the page names the very file an inspector keeps

    with page.expect_download() as pdf_download:
        page.click("text=Download PDF")
    pdf_bytes = Path(pdf_download.value.path()).read_bytes()
    assert pdf_bytes.startswith(b"%PDF-")
    text = _pdf_text(pdf_bytes)
    assert "T-5.2.3" in text and digest in text.replace("\r", "").replace("\n", "")
