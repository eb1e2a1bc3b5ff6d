"""Cell counter readers: Vi-CELL BLU CSV and NucleoCounter (NucleoView) exports (Q-2.1, Q-2.2)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellchain.instruments._text import concentration_factor, normalise_label
from cellchain.instruments.cell_counters import (
    NUCLEOCOUNTER,
    VICELL_BLU,
    parse_nucleocounter,
    parse_vicell_blu,
    read_nucleocounter,
    read_vicell_blu,
)
from cellchain.instruments.errors import InstrumentFileError

DATA = Path(__file__).parent / "data"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("vicell_blu_utf8.csv", "utf-8"),
        ("vicell_blu_utf16.csv", "utf-16"),
        ("vicell_blu_semicolon.csv", "utf-8-sig"),
    ],
)
def test_vicell_blu_exports_in_every_encoding_and_delimiter_give_the_same_readings(
    name: str, encoding: str
) -> None:
    export = read_vicell_blu(DATA / name)
    assert export.encoding == encoding
    assert export.instrument == VICELL_BLU
    assert [r.sample_id for r in export.readings] == ["CT-0001-HARVEST", "CT-0001-FINAL", "CT-0002-HARVEST"]
    first = export.readings[0]
    assert first.total_cells_per_ml == pytest.approx(1.46e6)
    assert first.viable_cells_per_ml == pytest.approx(1.41e6)
    assert (first.total_cells_counted, first.viable_cells_counted) == (4120, 3961)
    assert first.dilution == 1.0
    assert first.analysed_at == "11/20/2025 14:05"
    assert export.readings[1].line == 3


def test_vicell_viability_comes_from_raw_counts_not_rounded_concentrations() -> None:
    """Q-2.1: 1577/2188 = 72.075 %, while 0.56/0.78 (rounded concentrations) would give 71.8 %."""
    reading = read_vicell_blu(DATA / "vicell_blu_utf8.csv").readings[2]
    assert reading.viability_percent == pytest.approx(100 * 1577 / 2188)
    assert reading.viability_percent != pytest.approx(100 * 0.56 / 0.78, abs=0.1)
    assert "1577 viable of 2188" in reading.viability_basis


def test_vicell_reading_records_method_instrument_and_stain() -> None:
    """Q-2.1: each result records method, instrument and stain."""
    reading = read_vicell_blu(DATA / "vicell_blu_utf8.csv").readings[0]
    assert reading.instrument == VICELL_BLU
    assert reading.stain == "trypan blue"
    assert "trypan blue" in reading.method


def test_vicell_mojibake_micro_sign_is_normalised() -> None:
    export = read_vicell_blu(DATA / "vicell_blu_mojibake.csv")
    assert export.readings[0].viable_cells_counted == 3961


def test_vicell_export_hash_is_of_the_raw_bytes() -> None:
    raw = (DATA / "vicell_blu_utf16.csv").read_bytes()
    assert parse_vicell_blu(raw).sha256 == hashlib.sha256(raw).hexdigest()


def test_vicell_sample_with_an_error_is_flagged_and_the_others_are_read() -> None:
    """Issue 16: one sample with an ERROR value no longer blocks the file; it is flagged with line and column."""
    export = read_vicell_blu(DATA / "vicell_blu_error_cell.csv")
    assert [r.sample_id for r in export.readings] == ["CT-0001-HARVEST", "CT-0002-HARVEST"]
    (flag,) = export.flagged
    assert (flag.sample_id, flag.line, flag.column) == ("CT-0001-FINAL", 3, "Viable (x10^6) cells/mL")
    assert "'ERROR'" in flag.reason
    assert export.readings[1].viability_percent == pytest.approx(100 * 1577 / 2188)


def test_vicell_garbage_that_is_not_an_instrument_error_still_refuses_the_file() -> None:
    raw = (DATA / "vicell_blu_utf8.csv").read_text().replace(",4120,", ",41x20,", 1).encode()
    with pytest.raises(InstrumentFileError, match=r"not a whole non-negative count|not a number"):
        parse_vicell_blu(raw, source="x.csv")


def test_vicell_empty_cell_names_line_and_column() -> None:
    raw = (DATA / "vicell_blu_utf8.csv").read_text().replace(",4120,", ",,", 1).encode()
    with pytest.raises(InstrumentFileError, match="empty cell") as caught:
        parse_vicell_blu(raw, source="x.csv")
    assert (caught.value.line, caught.value.column) == (2, "Cell count")


def test_vicell_unknown_concentration_unit_is_rejected() -> None:
    with pytest.raises(InstrumentFileError, match="unknown concentration unit") as caught:
        read_vicell_blu(DATA / "vicell_blu_unknown_unit.csv")
    assert caught.value.line == 1


def test_vicell_viability_disagreeing_with_counts_is_rejected() -> None:
    with pytest.raises(InstrumentFileError, match="inconsistent") as caught:
        read_vicell_blu(DATA / "vicell_blu_inconsistent.csv")
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (("Viable cells", "Live cells"), "missing column"),
        ((",4120,3961,", ",0,0,"), "no cells counted"),
        ((",4120,3961,", ",3961,4120,"), "more viable cells"),
        ((",4120,", ",41.5,"), "whole non-negative count"),
    ],
)
def test_vicell_impossible_content_is_rejected(replace: tuple[str, str], message: str) -> None:
    raw = (DATA / "vicell_blu_utf8.csv").read_text().replace(*replace, 1).encode()
    with pytest.raises(InstrumentFileError, match=message):
        parse_vicell_blu(raw)


def test_vicell_header_only_or_empty_export_is_rejected() -> None:
    header = (DATA / "vicell_blu_utf8.csv").read_text().splitlines()[0]
    with pytest.raises(InstrumentFileError, match="no sample rows"):
        parse_vicell_blu(header.encode())
    with pytest.raises(InstrumentFileError, match="empty"):
        parse_vicell_blu(b"")


def test_nucleocounter_nc200_export_uses_the_instrument_viability() -> None:
    export = read_nucleocounter(DATA / "nucleocounter_nc200.csv")
    reading = export.readings[0]
    assert reading.instrument == f"{NUCLEOCOUNTER} NC-200"
    assert reading.sample_id == "20251121-0007-c-CT-0001-FINAL"
    assert reading.viability_percent == 93.2
    assert reading.total_cells_per_ml == pytest.approx(1.84e6)
    assert reading.viable_cells_per_ml == pytest.approx(1.71e6)
    assert reading.stain == "acridine orange / DAPI"
    assert reading.total_cells_counted is None
    assert "instrument-reported" in reading.viability_basis
    assert reading.analysed_at == "20251121 094500"
    assert reading.line == 4


def test_nucleocounter_nc202_tab_export() -> None:
    reading = read_nucleocounter(DATA / "nucleocounter_nc202.txt").readings[0]
    assert reading.instrument == f"{NUCLEOCOUNTER} NC-202"
    assert reading.sample_id == "CT-0002-HARVEST"
    assert reading.viability_percent == 72.3
    assert reading.dilution == 10.0
    assert reading.analysed_at == "2025-11-21 01:45:00"


def test_nucleocounter_live_concentration_is_total_minus_dead_when_absent() -> None:
    reading = read_nucleocounter(DATA / "nucleocounter_nc200_no_live.csv").readings[0]
    assert reading.viable_cells_per_ml == pytest.approx(1.84e6 - 1.25e5)


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (("Viability (%);93.2;", "Viability (%);80.0;"), "inconsistent"),
        (("Viability (%);93.2;", "Viability (%);ERROR;"), "ERROR"),
        (("Total (cells/ml);1.84E6;", "Total (cells/l);1.84E6;"), "unknown concentration unit"),
        (("Viability (%);93.2;\r\n", ""), "Viability"),
    ],
)
def test_nucleocounter_bad_content_is_rejected(replace: tuple[str, str], message: str) -> None:
    raw = (DATA / "nucleocounter_nc200.csv").read_bytes().decode().replace(*replace).encode()
    with pytest.raises(InstrumentFileError, match=message):
        parse_nucleocounter(raw, source="nc.csv")


def test_nucleocounter_failed_status_is_rejected() -> None:
    raw = (DATA / "nucleocounter_nc202.txt").read_text().replace("Status:\tOK", "Status:\tFocus error")
    with pytest.raises(InstrumentFileError, match="status") as caught:
        parse_nucleocounter(raw.encode())
    assert caught.value.line == 22


@pytest.mark.parametrize(
    ("unit", "factor"),
    [
        ("(x10^6) cells/mL", 1e6),
        ("(x10⁶) cells/mL", 1e6),
        ("(×10^6 cells/mL)", 1e6),
        ("cells/ml", 1.0),
        ("10^5 cells/mL", 1e5),
        ("cells/µL", 1e3),
        ("cells/μL", 1e3),
        ("cells/Âµl", 1e3),
        ("x1e6 cells/mL", 1e6),
    ],
)
def test_concentration_units_are_normalised_to_cells_per_ml(unit: str, factor: float) -> None:
    assert concentration_factor(unit) == factor


@pytest.mark.parametrize("unit", ["cells/L", "x10^6 cells", "cells/mm3", "g/mL", "(x10^6) cells/mL/h"])
def test_unknown_concentration_units_are_rejected(unit: str) -> None:
    with pytest.raises(ValueError, match="unknown concentration unit"):
        concentration_factor(unit)


@pytest.mark.parametrize("variant", ["μm", "µm", "Âµm", "Î¼m"])
def test_every_micro_sign_variant_normalises_to_the_micro_sign(variant: str) -> None:
    assert normalise_label(f"Average diameter ({variant})") == "Average diameter (\u00b5m)"


# ------------------------------------------------------------------ fuzzing


def _reject_or_read(parse, raw: bytes) -> None:
    try:
        export = parse(raw, source="fuzz.csv")
    except InstrumentFileError as error:
        assert error.file == "fuzz.csv"
        return
    for reading in export.readings:
        assert 0.0 <= reading.viability_percent <= 100.0


_VALID = [
    (DATA / name).read_bytes()
    for name in ("vicell_blu_utf8.csv", "vicell_blu_utf16.csv", "vicell_blu_semicolon.csv")
]
_VALID_NC = [(DATA / name).read_bytes() for name in ("nucleocounter_nc200.csv", "nucleocounter_nc202.txt")]


@st.composite
def mutated(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    raw = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "token"]))
        if kind == "flip" and raw:
            raw[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=6))
        elif kind == "delete":
            del raw[pos : pos + draw(st.integers(1, 10))]
        elif kind == "truncate":
            del raw[pos:]
        else:
            raw[pos:pos] = draw(st.sampled_from([b",", b";", b"\t", b'"', b"\n", b"ERROR", b"-1", b"1e400"]))
    return bytes(raw)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_counter_readers(raw: bytes) -> None:
    _reject_or_read(parse_vicell_blu, raw)
    _reject_or_read(parse_nucleocounter, raw)


@FUZZ
@given(mutated(_VALID))
def test_mutated_vicell_exports_are_rejected_or_read(raw: bytes) -> None:
    _reject_or_read(parse_vicell_blu, raw)


@FUZZ
@given(mutated(_VALID_NC))
def test_mutated_nucleoview_exports_are_rejected_or_read(raw: bytes) -> None:
    _reject_or_read(parse_nucleocounter, raw)


def test_nucleoview_lines_ending_in_semicolon_comma_are_read() -> None:
    """Issue 16: some NucleoView versions end each line with ';,' (a CSV cell after the ';' list)."""
    text = (DATA / "nucleocounter_nc200.csv").read_text()
    plain = parse_nucleocounter(text.encode()).readings[0]
    reading = parse_nucleocounter(text.replace(";\n", ";,\n").encode(), source="nc.csv").readings[0]
    assert ";,\n" in text.replace(";\n", ";,\n")
    assert (reading.viability_percent, reading.total_cells_per_ml, reading.viable_cells_per_ml) == (
        plain.viability_percent, plain.total_cells_per_ml, plain.viable_cells_per_ml,
    )  # fmt: skip


def test_a_total_with_the_instruments_note_is_read_and_the_note_kept() -> None:
    """Issue 16: "3.58E3 (Out of optimal range)" is the number 3.58E3 with a remark, not a refusal."""
    text = (DATA / "nucleocounter_nc200.csv").read_text()
    noted = text.replace("Total (cells/ml);1.84E6;", "Total (cells/ml);1.84E6 (Out of optimal range);")
    reading = parse_nucleocounter(noted.encode()).readings[0]
    assert reading.total_cells_per_ml == 1.84e6
    assert reading.notes == ("total (cells/ml): Out of optimal range",)
    with pytest.raises(InstrumentFileError, match="not a number"):  # a note is no licence for garbage
        parse_nucleocounter(
            text.replace("Total (cells/ml);1.84E6;", "Total (cells/ml);1.8x4E6 (ok);").encode()
        )


@pytest.mark.parametrize(
    ("magic", "what"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "Excel 97-2003"),
    ],
)
def test_a_workbook_given_to_a_csv_reader_is_named_as_such(magic: bytes, what: str) -> None:
    """Issue 16: an XLSX export was refused with only "undecodable text"."""
    with pytest.raises(InstrumentFileError, match=f"{what}.*export the results as CSV or TXT"):
        parse_vicell_blu(magic + bytes(range(256)), source="vicell.xlsx")


def test_real_public_vicell_blu_export_is_read_from_raw_counts() -> None:
    """allotropy's Beckman_Vi-Cell-BLU_example01.csv (MIT; see data/SOURCES.md)."""
    export = read_vicell_blu(DATA / "vicell_blu_allotropy_example01.csv")
    assert len(export.readings) == 10 and not export.flagged
    first = export.readings[0]
    assert (first.sample_id, first.total_cells_counted, first.viable_cells_counted) == ("CLB001", 2191, 2123)
    assert (
        first.viability_percent == pytest.approx(100 * 2123 / 2191)
        and first.reported_viability_percent == 96.9
    )
    assert first.total_cells_per_ml == pytest.approx(0.78e6) and first.analysed_at == "3/21/2022 16:56"


def test_real_public_nucleoview_nc200_export_is_read() -> None:
    """allotropy's chemometec_nucleoview_example01.csv (MIT; see data/SOURCES.md)."""
    (reading,) = read_nucleocounter(DATA / "nucleoview_allotropy_example01.csv").readings
    assert reading.instrument == f"{NUCLEOCOUNTER} NC-200" and reading.stain == "acridine orange / DAPI"
    assert (reading.viability_percent, reading.total_cells_per_ml, reading.viable_cells_per_ml) == (
        68.2, 3.58e6, 2.45e6,
    )  # fmt: skip
    assert reading.sample_id == "20231120-0012-c-cellsABCD" and reading.analysed_at == "20231120 163016"
