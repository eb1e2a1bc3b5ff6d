"""The reader is chosen by the file's content within an instrument family (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cellchain.instruments.cell_counters import NUCLEOCOUNTER, VICELL_BLU
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.formats import parse_nucleoview_export, parse_qpcr_export, parse_vicell_export
from cellchain.instruments.vicell_xr import VICELL_XR

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "instrument", "samples"),
    [
        ("vicell_blu_utf8.csv", VICELL_BLU, 3),
        ("vicell_blu_utf16.csv", VICELL_BLU, 3),
        ("vicell_xr_example07.txt", f"{VICELL_XR} 2.06.3", 1),
        ("vicell_xr_workbook.xlsx", f"{VICELL_XR} 2.06.3", 5),
    ],
)
def test_every_vicell_format_goes_to_its_reader(name: str, instrument: str, samples: int) -> None:
    export = parse_vicell_export((DATA / name).read_bytes(), source=name)
    assert export.instrument == instrument and len(export.readings) == samples


def test_a_legacy_xls_given_as_vicell_is_refused_with_what_to_do() -> None:
    with pytest.raises(InstrumentFileError, match=r"\.xls\).*save it as \.xlsx"):
        parse_vicell_export(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), source="xr.xls")


@pytest.mark.parametrize(
    ("name", "samples"),
    [("nucleocounter_nc200.csv", 1), ("nucleocounter_nc202.txt", 1), ("nc_view_table.csv", 30)],
)
def test_every_nucleoview_format_goes_to_its_reader(name: str, samples: int) -> None:
    export = parse_nucleoview_export((DATA / name).read_bytes(), source=name)
    assert export.instrument.startswith(NUCLEOCOUNTER) and len(export.readings) == samples


@pytest.mark.parametrize("name", ["qpcr_run.csv", "qpcr_run.rdml"])
def test_the_qpcr_csv_and_rdml_give_the_same_run(name: str) -> None:
    export = parse_qpcr_export((DATA / name).read_bytes(), source=name)
    assert len(export.standards("CAR")) == 18 and [w.well for w in export.unknowns("CAR")] == ["B7", "B8"]


def test_garbage_is_still_refused_by_the_fallback_reader_with_its_message() -> None:
    with pytest.raises(InstrumentFileError, match="not a Vi-CELL BLU export"):
        parse_vicell_export(b"a,b,c\n1,2,3\n", source="x.csv")
    with pytest.raises(InstrumentFileError, match="not an RDML file: the root element is 'html'"):
        parse_qpcr_export(b"<html>not rdml</html>", source="x.xml")
