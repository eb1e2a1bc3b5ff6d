"""Final product label: each patient dose's DataMatrix decodes to its identifiers and expiry, and the scan
parsers of custody receipt, clinic admission and the bedside identify the unit from it (T-7.5-e, T-10.4,
T-10.6, G-4)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pypdfium2
import pytest
import zxingcpp
from django.test import Client

from cellchain.clinic import upstream
from cellchain.domain.identity import parse_unit_scan
from cellchain.ledger.tests.behind import update_unledgered
from cellchain.manufacturing.models import Product, ProductUnit
from cellchain.qc import selectors, services

pytestmark = pytest.mark.django_db


def _released(mfg):  # type: ignore[no-untyped-def]
    batch = mfg.ready_for_release(mfg.manufactured())
    services.batch_release(actor=mfg.qa, batch=batch, signer=mfg.signer("qa_li"), outcome="releasable")
    batch.refresh_from_db()
    return batch


def _qa(mfg) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(mfg.world["qa_li"])
    return client


def _pages(pdf: bytes) -> list[pypdfium2.PdfPage]:
    return list(pypdfium2.PdfDocument(pdf))


def _decoded(page: pypdfium2.PdfPage, dpi: int) -> list[str]:
    image = page.render(scale=dpi / 72).to_pil()
    return [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.DataMatrix)]


@pytest.mark.parametrize("dpi", [150, 300])
def test_final_label_datamatrix_scans_as_its_unit_at_the_bedside(mfg, dpi) -> None:
    batch = _released(mfg)
    response = _qa(mfg).get(f"/qc/batches/{batch.pk}/label/?format=pdf")
    assert response.status_code == 200
    patient_units = sorted(
        batch.units.filter(purpose=ProductUnit.Purpose.PATIENT).values_list("din", flat=True)
    )
    pages = _pages(response.content)
    assert (
        len(pages) == len(patient_units) == 2
    )  # one label per patient dose; QC and retained units have none
    zone = ZoneInfo(mfg.qa.site.time_zone)
    expires = selectors.label_for(batch).expires_at
    assert expires is not None
    for page, din in zip(pages, patient_units, strict=True):
        [text] = _decoded(page, dpi)
        scanned = parse_unit_scan(text)  # the parser of custody receipt, clinic admission and the bedside
        assert scanned.din.data == din
        assert scanned.coi is not None and scanned.coi.data == batch.intake.coi
        assert scanned.product_code is not None and scanned.product_code.code == "S1395V00"
        assert scanned.expires == expires.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
        facts = upstream.unit_facts(scanned.din.data)  # what the clinic looks the scanned unit up with
        assert facts is not None
        assert (facts.din, facts.batch_number, facts.coi) == (din, batch.number, batch.intake.coi)
        assert scanned.din.eye_readable[:-4] in page.get_textpage().get_text_range()


def test_final_label_is_refused_without_an_isbt_product_code(mfg) -> None:
    """No product code, no DataMatrix: the label is not printed without its symbol (T-10.6)."""
    batch = _released(mfg)
    update_unledgered(Product.objects.filter(pk=mfg.product.pk), isbt_product_code="")
    qa = _qa(mfg)
    response = qa.get(f"/qc/batches/{batch.pk}/label/?format=pdf", follow=True)
    assert response.redirect_chain[-1][0] == f"/qc/batches/{batch.pk}/label/"
    assert "has no ISBT 128 product code" in response.content.decode()
