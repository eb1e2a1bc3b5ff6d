"""Vi-CELL XR readers: the TXT report (a real public file) and the XLSX workbook (Q-2.1; issue 16)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellchain.instruments.cell_counters import parse_vicell_blu
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.tests.xlsx_writer import CLB_SAMPLES, UPPER, vicell_xr_workbook
from cellchain.instruments.vicell_xr import (
    VICELL_XR,
    parse_vicell_xr_txt,
    parse_vicell_xr_xlsx,
    read_vicell_xr_txt,
    read_vicell_xr_xlsx,
)

DATA = Path(__file__).parent / "data"
TXT = DATA / "vicell_xr_example07.txt"
XLSX = DATA / "vicell_xr_workbook.xlsx"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _txt(old: str, new: str) -> bytes:
    text = TXT.read_bytes().decode()
    assert old in text
    return text.replace(old, new, 1).encode()


def test_real_xr_txt_report_is_read_with_raw_count_viability() -> None:
    export = read_vicell_xr_txt(TXT)
    assert export.instrument == f"{VICELL_XR} 2.06.3" and export.serial_number == "AW123456789"
    assert export.sha256 == hashlib.sha256(TXT.read_bytes()).hexdigest()
    (reading,) = export.readings
    assert reading.sample_id == "CLB001" and reading.line == 3
    assert (reading.total_cells_counted, reading.viable_cells_counted) == (4263, 4133)
    assert reading.viability_percent == pytest.approx(100 * 4133 / 4263)
    assert reading.reported_viability_percent == 97.0
    assert reading.total_cells_per_ml == pytest.approx(90.2e6)
    assert reading.viable_cells_per_ml == pytest.approx(87.4e6)
    assert reading.dilution == 20.0 and reading.analysed_at == "29 Sep 2023  5:21:32 AM"
    assert reading.stain == "trypan blue" and reading.instrument == VICELL_XR


@pytest.mark.parametrize(
    ("old", "new", "message", "column"),
    [
        ("Viability (%) : 97.0", "Viability (%) : 95.0", "disagrees with the raw counts", "Viability (%)"),
        ("Nonviable cells : 130", "Nonviable cells : 131", "is not the total", "Nonviable cells"),
        ("Total cells : 4263", "Total cells : ERROR", "instrument reported 'ERROR'", "Total cells"),
        ("Viable cells : 4133", "Viable cells : 41.5", "whole non-negative count", "Viable cells"),
        ("Total viable cells / ml (x 10^6) : 87.4", "Total viable cells / ml (x 10^6) :", "empty cell|missing",
         "Total viable cells / ml (x 10^6)"),
        ("Total cells / ml (x 10^6)", "Total cells / ml (x 10^3 per L)", "unknown concentration unit",
         "Total cells / ml (x 10^3 per L)"),
    ],
)  # fmt: skip
def test_xr_txt_with_a_wrong_or_missing_number_is_refused_naming_line_and_key(
    old: str, new: str, message: str, column: str
) -> None:
    with pytest.raises(InstrumentFileError, match=message) as caught:
        parse_vicell_xr_txt(_txt(old, new), source="xr.txt")
    assert caught.value.column == column and caught.value.line is not None and caught.value.file == "xr.txt"


def test_xr_txt_missing_sample_id_or_model_line_is_refused() -> None:
    with pytest.raises(InstrumentFileError, match="missing 'Sample ID'"):
        parse_vicell_xr_txt(_txt("Sample ID : CLB001", "Sample : CLB001"))
    with pytest.raises(InstrumentFileError, match="not a Vi-CELL XR report") as caught:
        parse_vicell_xr_txt(_txt("Vi-CELL XR 2.06.3", "Vi-CELL BLU 1.2"))
    assert caught.value.line == 1


def test_xr_workbook_is_read_and_its_hidden_first_row_listed_not_dropped() -> None:
    export = read_vicell_xr_xlsx(XLSX)
    assert export.encoding == "xlsx" and export.serial_number == "AW123456789"
    assert export.instrument == f"{VICELL_XR} 2.06.3"
    assert [r.sample_id for r in export.readings] == [s[0] for s in CLB_SAMPLES]
    first = export.readings[0]
    assert (first.total_cells_counted, first.viable_cells_counted) == (135, 68)
    assert first.viability_percent == pytest.approx(100 * 68 / 135)
    assert first.viable_cells_per_ml == pytest.approx(7.8e6) and first.total_cells_per_ml == pytest.approx(
        15.5e6
    )
    assert first.dilution == 100.0 and first.line == 8
    (hidden,) = export.flagged
    assert hidden.line == 7 and "hidden" in hidden.reason


def test_xr_workbook_sample_with_an_error_is_flagged_and_the_others_read() -> None:
    samples = [list(s) for s in CLB_SAMPLES]
    samples[1][9] = "ERROR"
    export = parse_vicell_xr_xlsx(vicell_xr_workbook(samples, hidden_first_row=False), source="xr.xlsx")
    assert [r.sample_id for r in export.readings] == ["CLB001", "CLB003", "CLB004", "CLB005"]
    (flag,) = export.flagged
    assert (flag.sample_id, flag.line, flag.column) == ("CLB002", 8, "Viable cells/ml (x10^6)")
    assert "Sheet1!J8" in flag.reason


@pytest.mark.parametrize(
    ("index", "value", "message", "cell"),
    [
        (7, 60.0, "disagrees with the raw counts", "Sheet1!H7"),
        (6, 136, "more viable cells", "Sheet1!G7"),
        (5, "1 35", "not a number|whole", "Sheet1!F7"),
        (9, None, "empty cell", "Sheet1!J7"),
    ],
)
def test_xr_workbook_wrong_numbers_refuse_the_file_naming_the_cell(
    index: int, value: object, message: str, cell: str | None
) -> None:
    samples = [list(s) for s in CLB_SAMPLES]
    samples[0][index] = value
    with pytest.raises(InstrumentFileError, match=message) as caught:
        parse_vicell_xr_xlsx(vicell_xr_workbook(samples, hidden_first_row=False), source="xr.xlsx")
    assert caught.value.line == 7
    if cell:
        assert caught.value.cell == cell and cell in str(caught.value)


def test_xr_workbook_without_the_model_or_headings_is_refused() -> None:
    with pytest.raises(InstrumentFileError, match="A1 does not read 'Vi-CELL XR"):
        parse_vicell_xr_xlsx(vicell_xr_workbook(model="Some other instrument"))
    upper = ["Name", *UPPER[1:]]
    with pytest.raises(InstrumentFileError, match="no heading row starting with 'Sample ID'"):
        parse_vicell_xr_xlsx(vicell_xr_workbook(upper=upper))


def test_legacy_xls_and_non_workbooks_are_refused_by_what_they_are() -> None:
    with pytest.raises(InstrumentFileError, match=r"Excel 97-2003 workbook \(\.xls\).*save it as \.xlsx"):
        parse_vicell_xr_xlsx(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    with pytest.raises(InstrumentFileError, match="not an XLSX workbook"):
        parse_vicell_xr_xlsx(TXT.read_bytes())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(InstrumentFileError, match=r"no xl/workbook\.xml"):
        parse_vicell_xr_xlsx(archive.getvalue())


def test_the_blu_csv_reader_given_an_xr_workbook_says_so_and_names_the_reader() -> None:
    """Issue 16: the refusal said only "undecodable text"."""
    with pytest.raises(InstrumentFileError, match=r"Excel workbook \(\.xlsx\).*Vi-CELL XR workbook reader"):
        parse_vicell_blu(XLSX.read_bytes(), source="xr.xlsx")


_VALID_XLSX = XLSX.read_bytes()


@FUZZ
@given(st.data())
def test_damaged_workbooks_are_refused_or_read_never_crash(data: st.DataObject) -> None:
    raw = bytearray(_VALID_XLSX)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        if data.draw(st.booleans()):
            raw[pos] = data.draw(st.integers(0, 255))
        else:
            del raw[pos:]
            break
    try:
        export = parse_vicell_xr_xlsx(bytes(raw), source="fuzz.xlsx")
    except InstrumentFileError as error:
        assert error.file == "fuzz.xlsx"
        return
    for reading in export.readings:
        assert 0.0 <= reading.viability_percent <= 100.0


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_xr_txt_reader(raw: bytes) -> None:
    try:
        parse_vicell_xr_txt(raw, source="fuzz.txt")
    except InstrumentFileError as error:
        assert error.file == "fuzz.txt"


def test_a_zip_whose_version_byte_is_damaged_is_refused_not_raised() -> None:
    """Found by the fuzz test: zipfile raises NotImplementedError for a made-up 'version needed' field."""
    raw = bytearray(_VALID_XLSX)
    central = raw.rfind(b"PK\x01\x02")
    raw[central + 6] = 64  # version needed to extract: 6.4, which zipfile refuses to open
    with pytest.raises(InstrumentFileError, match="damaged XLSX workbook"):
        parse_vicell_xr_xlsx(bytes(raw), source="damaged.xlsx")
