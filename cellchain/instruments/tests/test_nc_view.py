"""NC-View table export: several NucleoCounter measurements in one file, a real public example (Q-2.1; issue 16)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellchain.instruments._text import parse_number
from cellchain.instruments.cell_counters import NUCLEOCOUNTER
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.nc_view import looks_like_nc_view_table, parse_nc_view_table, read_nc_view_table

DATA = Path(__file__).parent / "data"
TABLE = DATA / "nc_view_table.csv"


def _table(old: str, new: str) -> bytes:
    text = TABLE.read_bytes().decode()
    assert old in text
    return text.replace(old, new, 1).encode()


def test_real_table_export_is_read_one_reading_per_row() -> None:
    export = read_nc_view_table(TABLE)
    assert export.sha256 == hashlib.sha256(TABLE.read_bytes()).hexdigest()
    assert export.serial_number == "9002020102201902" and export.instrument == f"{NUCLEOCOUNTER} NC-202"
    assert len(export.readings) == 30
    first = export.readings[0]
    assert (first.sample_id, first.line, first.analysed_at) == ("1", 2, "20240219-00019")
    assert (first.total_cells_per_ml, first.viable_cells_per_ml, first.viability_percent) == (
        274e3,
        124e3,
        45.1,
    )
    assert first.stain == "acridine orange / DAPI" and first.dilution == 1.0
    assert "instrument-reported" in first.viability_basis
    assert export.readings[20].total_cells_per_ml == 1.12e6  # written 1.12E+06


def test_measurements_whose_status_is_not_ok_are_flagged_and_the_others_read() -> None:
    export = read_nc_view_table(TABLE)
    assert [(f.sample_id, f.line, f.column) for f in export.flagged] == [
        ("8", 9, "STATUS"),
        ("11", 12, "STATUS"),
    ]
    assert all("Foreign object detected" in f.reason for f in export.flagged)
    assert {"8", "11"}.isdisjoint(r.sample_id for r in export.readings)


def test_an_error_token_flags_that_measurement_only() -> None:
    export = parse_nc_view_table(_table(",OK,274 000,124 000,", ",OK,274 000,ERROR,"))
    assert export.flagged[0].sample_id == "1" and export.flagged[0].column == "LIVE (cells/ml)"
    assert len(export.readings) == 29


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (",274 000,124 000,150 000,45.1,", ",274 000,124 000,150 000,55.1,", "disagrees with live/total"),
        (",274 000,124 000,150 000,45.1,", ",274 000,124 000,190 000,45.1,", "is not the total"),
        (",274 000,124 000,", ",274 000,12 4000,", "not a number"),
        (",274 000,124 000,", ",274 000,,", "empty cell"),
        (",274 000,124 000,150 000,45.1,", ",274 000,324 000,150 000,45.1,", "impossible"),
        ("TOTAL (cells/ml)", "TOTAL (cells/l)", "unknown concentration unit"),
        ("SAMPLE ID", "SAMPLE", "missing column"),
        ("20240219-00019,1,", "20240219-00019,,", "empty SAMPLE ID"),
    ],
)
def test_a_wrong_number_refuses_the_file_naming_where_and_why(old: str, new: str, message: str) -> None:
    with pytest.raises(InstrumentFileError, match=message) as caught:
        parse_nc_view_table(_table(old, new), source="ncv.csv")
    assert caught.value.file == "ncv.csv" and caught.value.line is not None


def test_measurements_of_two_instruments_in_one_file_are_refused() -> None:
    raw = _table("S/N: 9002020102201902", "S/N: 1")
    with pytest.raises(InstrumentFileError, match="several instruments"):
        parse_nc_view_table(raw)


def test_the_table_header_is_recognised_and_a_single_measurement_file_is_not() -> None:
    assert looks_like_nc_view_table(TABLE.read_text(encoding="utf-8"))
    assert not looks_like_nc_view_table((DATA / "nucleocounter_nc200.csv").read_text())
    assert not looks_like_nc_view_table((DATA / "nucleocounter_nc202.txt").read_text())


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("274 000", 274000.0),
        ("1\u00a0234\u00a0567", 1234567.0),
        ("12\u202f000.5", 12000.5),
        ("-1 000", -1000.0),
    ],
)
def test_spaces_are_read_as_thousands_separators_in_groups_of_three(cell: str, value: float) -> None:
    assert parse_number(cell, "f", 1, "c") == value


@pytest.mark.parametrize("cell", ["1 35", "12 4000", "1 2 3", "1.5 000", "ER ROR"])
def test_spaces_anywhere_else_make_the_cell_not_a_number(cell: str) -> None:
    """Before issue 16 every space was dropped, so "1 35" silently read as 135."""
    with pytest.raises(InstrumentFileError, match="not a number"):
        parse_number(cell, "f", 1, "c")


def test_a_file_of_delimiters_only_is_empty() -> None:
    with pytest.raises(InstrumentFileError, match="empty"):
        parse_nc_view_table(b",,,\n,,\n")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_table_exports_are_refused_or_read(data: st.DataObject) -> None:
    raw = bytearray(TABLE.read_bytes())
    for _ in range(data.draw(st.integers(1, 5))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        token = data.draw(st.sampled_from([b",", b";", b"\n", b"ERROR", b" ", b"9", b"\xff", b""]))
        raw[pos : pos + data.draw(st.integers(0, 4))] = token
    try:
        export = parse_nc_view_table(bytes(raw), source="fuzz.csv")
    except InstrumentFileError as error:
        assert error.file == "fuzz.csv"
        return
    for reading in export.readings:
        assert 0.0 <= reading.viability_percent <= 100.0
        assert reading.viable_cells_per_ml <= reading.total_cells_per_ml * 1.01


def test_a_value_with_the_instruments_remark_is_read_and_the_remark_kept() -> None:
    """Issue 16: "3.58E3 (Out of optimal range)" is a number with a note, in the table export too."""
    export = parse_nc_view_table(_table(",OK,274 000,", ",OK,274 000 (Out of optimal range),"))
    first = export.readings[0]
    assert first.total_cells_per_ml == 274e3 and first.notes == ("TOTAL (cells/ml): Out of optimal range",)
    with pytest.raises(InstrumentFileError, match="not a number"):
        parse_nc_view_table(_table(",OK,274 000,", ",OK,27x4 000 (ok),"))
