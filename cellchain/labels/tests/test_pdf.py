"""Unit label PDF: the rendered DataMatrix decodes to the identifiers (T-10.6; REGULATORY items 39, 40)."""

from dataclasses import replace

import pypdfium2
import pytest
import zxingcpp

from cellchain.domain.identity import din_issue, parse_label_payload
from cellchain.labels import AUTOLOGOUS_ONLY_EN, AUTOLOGOUS_ONLY_ZH, UnitLabel, unit_label_pdf
from cellchain.labels.content import BIOHAZARD_ZH


def _page(pdf_bytes: bytes):
    document = pypdfium2.PdfDocument(pdf_bytes)
    assert len(document) == 1
    return document[0]


def _decoded(pdf_bytes: bytes, dpi: int) -> list[str]:
    image = _page(pdf_bytes).render(scale=dpi / 72).to_pil()
    return [
        barcode.text for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.DataMatrix)
    ]


def _text(pdf_bytes: bytes) -> str:
    return _page(pdf_bytes).get_textpage().get_text_range()


@pytest.mark.parametrize("dpi", [150, 300])
def test_pdf_datamatrix_decodes_to_the_label_identifiers(unit_label, dpi):
    decoded = _decoded(unit_label_pdf(unit_label), dpi)
    assert decoded == [unit_label.payload.encode()]
    assert parse_label_payload(decoded[0]) == unit_label.payload


def test_pdf_datamatrix_of_another_unit_decodes_to_that_unit(unit_label, payload):
    other = replace(unit_label, payload=replace(payload, din=din_issue("W1234", 2025, 43)))
    decoded = parse_label_payload(_decoded(unit_label_pdf(other), 200)[0])
    assert decoded.din.data == "W123425000043"
    assert decoded.din != unit_label.payload.din


def test_pdf_reads_for_autologous_use_only_in_english_and_chinese(unit_label):
    """REGULATORY item 40: the rendered PDF contains the phrase in both languages."""
    text = _text(unit_label_pdf(unit_label))
    assert AUTOLOGOUS_ONLY_EN in text
    assert AUTOLOGOUS_ONLY_ZH in text


def test_pdf_shows_eye_readable_identifiers_product_and_template_version(unit_label):
    text = _text(unit_label_pdf(unit_label))
    payload = unit_label.payload
    din_body = payload.din.eye_readable[:-4]
    assert din_body in text and payload.din.check_character in text
    assert payload.coi.eye_readable[:-4] in text
    assert "单采外周血单个核细胞" in text
    assert "S1395V00" in text
    assert "UL-1.0" in text


def test_pdf_warns_biohazard_only_for_infectious_material(unit_label):
    assert BIOHAZARD_ZH not in _text(unit_label_pdf(unit_label))
    assert BIOHAZARD_ZH in _text(unit_label_pdf(replace(unit_label, infectious=True)))


def test_label_refuses_a_collection_time_without_time_zone(unit_label):
    with pytest.raises(ValueError, match="time zone"):
        replace(unit_label, collected_at=unit_label.collected_at.replace(tzinfo=None))


def test_label_has_no_field_for_patient_identifying_data():
    """X-7, T-7.6: the unit travels to the manufacturer, so the label cannot carry PII."""
    fields = set(UnitLabel.__dataclass_fields__)
    assert not fields & {"name", "patient_name", "birth_date", "hospital_record_number", "wristband_id"}
