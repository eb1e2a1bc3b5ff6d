"""Signatures on screen and in printed output (21 CFR 11.50(b); X-4; REGULATORY item 15)."""

from __future__ import annotations

import pypdfium2
import pytest
from django.template import Context, Template
from django.utils import translation
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from cellchain.signatures.pdf import draw_signature_lines, signature_lines_for, signature_pdf
from cellchain.signatures.services import SignerCredentials, record_amend, record_sign
from conftest import PERSONA_PASSWORD

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


@pytest.fixture
def signed(world):
    record = world.organisations["xiehe"]
    signature = record_sign(
        record=record, signer=SignerCredentials(world["admin_xiehe"], PERSONA_PASSWORD), meaning="approved"
    )
    return record, signature


def test_signature_block_shows_name_meaning_time_and_superseded(world, signed):
    record, _signature = signed
    template = Template('{% include "signatures/signature_block.html" with record=record %}')
    with translation.override("en"):
        html = template.render(Context({"record": record}))
        assert "何晓 He Xiao" in html and "Approved" in html and "superseded" not in html
        record_amend(actor=world["admin_xiehe"], record=record, changes={"name_en": "PUMCH"}, reason="name")
        html = template.render(Context({"record": record}))
    assert "superseded" in html


def test_pdf_prints_each_signature_in_chinese_and_english(world, signed):
    record, signature = signed
    with translation.override("zh-hans"):
        data = signature_pdf(record, title="电子签名 Electronic signatures", time_zone="Asia/Shanghai")
    text = pdf_text(data)
    assert "何晓 He Xiao" in text and "电子签名" in text
    assert signature.content_hash[:32] in text.replace("\n", "").replace("\r", "")
    assert "Asia/Shanghai" in text


def test_pdf_marks_a_superseded_signature(world, signed):
    record, _ = signed
    record_amend(
        actor=world["admin_xiehe"], record=record, changes={"name_en": "PUMCH"}, reason="official name"
    )
    with translation.override("en"):
        text = pdf_text(signature_pdf(record, title="Signatures"))
    assert "SUPERSEDED" in text and "official name" in text


def test_pdf_marks_a_superseded_signature_in_chinese(world, signed):
    """X-4, REGULATORY item 15: the superseded mark is translatable; under zh-Hans the PDF reads 已失效."""
    record, _ = signed
    record_amend(
        actor=world["admin_xiehe"], record=record, changes={"name_en": "PUMCH"}, reason="official name"
    )
    with translation.override("zh-hans"):
        text = pdf_text(signature_pdf(record, title="电子签名", time_zone="Asia/Shanghai"))
    flat = "".join(text.split())  # the status cell wraps
    assert "已失效：" in flat and "official" in flat  # the stored reason follows the translated mark
    assert "SUPERSEDED" not in text


def test_canvas_helper_draws_lines_and_blank_lines(world, signed, tmp_path):
    import io

    record, _ = signed
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    with translation.override("en"):
        bottom = draw_signature_lines(
            canvas, signature_lines_for(record), x=20 * mm, y=200 * mm, width=170 * mm, blank=["Received by"]
        )
    canvas.save()
    assert bottom < 200 * mm
    text = pdf_text(buffer.getvalue())
    assert "何晓 He Xiao" in text and "Received by" in text
