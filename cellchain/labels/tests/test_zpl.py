"""Unit label ZPL: the ^BX DataMatrix field carries the identifiers (T-10.6; REGULATORY item 40)."""

import re
from dataclasses import replace

from cellchain.domain.identity import parse_label_payload
from cellchain.labels import AUTOLOGOUS_ONLY_EN, AUTOLOGOUS_ONLY_ZH, unit_label_zpl
from cellchain.labels.zpl import zpl_field_hex


def _fields(zpl: str) -> list[tuple[str, str]]:
    """(field commands before ^FD, field data) for every ^FD ... ^FS field."""
    return re.findall(r"\^FO[^\^]*((?:\^(?!FD)[^\^]*)*)\^FD(.*?)\^FS", zpl)


def _datamatrix_data(zpl: str) -> list[str]:
    return [data for commands, data in _fields(zpl) if commands.startswith("^BX")]


def test_zpl_datamatrix_field_carries_the_label_payload(unit_label):
    data = _datamatrix_data(unit_label_zpl(unit_label))
    assert data == [unit_label.payload.encode()]
    assert parse_label_payload(data[0]) == unit_label.payload


def test_zpl_datamatrix_is_ecc200(unit_label):
    zpl = unit_label_zpl(unit_label)
    assert re.search(r"\^BXN,\d+,200\^FD", zpl)


def test_zpl_is_one_utf8_label(unit_label):
    zpl = unit_label_zpl(unit_label)
    assert zpl.startswith("^XA\n^CI28\n")
    assert zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == zpl.count("^XZ") == 1


def test_zpl_reads_for_autologous_use_only_in_english_and_chinese(unit_label):
    """REGULATORY item 40: the rendered ZPL contains the phrase in both languages."""
    texts = [data for _, data in _fields(unit_label_zpl(unit_label))]
    assert any(AUTOLOGOUS_ONLY_EN in text and AUTOLOGOUS_ONLY_ZH in text for text in texts)


def test_zpl_escapes_printer_commands_in_free_text(unit_label):
    zpl = unit_label_zpl(replace(unit_label, collection_site="Ward ^XZ~JR"))
    assert zpl.count("^XZ") == 1
    assert "Ward _5EXZ_7EJR" in zpl


def test_zpl_field_hex_escapes_control_characters_as_utf8_bytes():
    assert zpl_field_hex("a_b\n") == "a_5Fb_0A"
    assert zpl_field_hex("仅供") == "仅供"


def test_zpl_uses_the_named_cjk_font(unit_label):
    zpl = unit_label_zpl(unit_label, cjk_font="E:NOTOSANSCJK.TTF")
    assert "^A@N,30,30,E:NOTOSANSCJK.TTF^FH_^FDFOR AUTOLOGOUS USE ONLY" in zpl
