"""Generic qPCR results CSV reader feeding the standard curve (Q-2.3-a)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellchain.domain.qpcr import evaluate_standard_curve, quantify
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.qpcr import NTC, STANDARD, UNKNOWN, parse_qpcr, read_qpcr

DATA = Path(__file__).parent / "data"


def test_run_is_read_with_types_quantities_and_undetermined_cq() -> None:
    export = read_qpcr(DATA / "qpcr_run.csv")
    assert len(export.wells) == 21
    assert [w.well_type for w in export.wells[:1]] == [STANDARD]
    assert export.wells[-1].well_type == NTC and export.wells[-1].cq is None
    assert len(export.unknowns("CAR")) == 2
    assert export.targets() == ("CAR",)
    assert export.sha256 == hashlib.sha256((DATA / "qpcr_run.csv").read_bytes()).hexdigest()


def test_good_run_is_accepted_and_unknowns_quantified() -> None:
    export = read_qpcr(DATA / "qpcr_run.csv")
    curve = export.standard_curve("CAR")
    verdict = evaluate_standard_curve(curve)
    assert verdict.accepted, verdict.reasons
    assert curve.slope == pytest.approx(-3.32, abs=0.02)
    result = quantify(curve, export.unknowns()[0].sample, export.unknowns()[0].cq)
    assert result.quantity == pytest.approx(2.4e4, rel=0.05)
    assert result.within_standards


def test_steep_run_in_semicolon_decimal_comma_csv_is_rejected_by_the_verdict() -> None:
    export = read_qpcr(DATA / "qpcr_run_steep.csv")
    assert export.wells[0].cq == 18.58
    assert export.wells[-1].well_type == UNKNOWN
    verdict = evaluate_standard_curve(export.standard_curve())
    assert not verdict.accepted
    assert any("slope" in r for r in verdict.reasons)


@pytest.mark.parametrize(
    ("old", "new", "message", "column"),
    [
        (",1e+06,", ",,", "standard well without a positive quantity", "Quantity"),
        (",1e+06,", ",ERROR,", "ERROR", "Quantity"),
        ("Undetermined", "#VALUE!", "VALUE", "Cq"),
    ],
)
def test_bad_cells_name_line_and_column(old: str, new: str, message: str, column: str) -> None:
    raw = (DATA / "qpcr_run.csv").read_text().replace(old, new, 1).encode()
    with pytest.raises(InstrumentFileError, match=message) as caught:
        parse_qpcr(raw, source="run.csv")
    assert caught.value.column == column
    assert caught.value.line is not None


def test_missing_required_column_is_named() -> None:
    raw = (DATA / "qpcr_run.csv").read_text().replace("Task", "Kind").encode()
    with pytest.raises(InstrumentFileError, match="missing column\\(s\\) type"):
        parse_qpcr(raw)


def test_cfx_style_content_column_is_understood() -> None:
    raw = b"Well,Fluor,Target,Content,Sample,Cq,Starting Quantity (SQ)\nA01,FAM,CAR,Std-01,S,20.1,100000\n" \
          b"A02,FAM,CAR,Std-02,S,23.4,10000\nA03,FAM,CAR,Unkn-01,X,25.0,\n"  # fmt: skip
    export = parse_qpcr(raw)
    assert [w.well_type for w in export.wells] == [STANDARD, STANDARD, UNKNOWN]
    assert export.standards()[1].quantity == 10000


_VALID = [(DATA / n).read_bytes() for n in ("qpcr_run.csv", "qpcr_run_steep.csv")]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(1, 5))):
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if kind == "flip" and raw:
            raw[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            raw[pos:pos] = draw(
                st.sampled_from([b",", b";", b'"', b"\n", b"ERROR", b"-1", b"1e999", b"\xff"])
            )
        elif kind == "delete":
            del raw[pos : pos + draw(st.integers(1, 10))]
        else:
            del raw[pos:]
    return bytes(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated(), st.binary(max_size=300)))
def test_mutated_exports_are_rejected_or_read(raw: bytes) -> None:
    try:
        export = parse_qpcr(raw, source="fuzz.csv")
    except InstrumentFileError as error:
        assert error.file == "fuzz.csv"
        return
    for well in export.wells:
        assert well.well_type != STANDARD or (well.quantity or 0) > 0


@pytest.mark.parametrize(
    "title",
    [
        b"qPCR run 2026-03-01 VCN assay\n",
        b"Results\n\n",
        b"* Block Type = 96-Well Block (0.2mL)\n* Chemistry = TAQMAN\n* Experiment File Name = C:\\runs\\vcn.eds\n\n"
        b"[Results]\n",
    ],
    ids=["title", "title-and-blank", "quantstudio-preamble"],
)
def test_title_lines_without_a_delimiter_are_skipped(title: bytes) -> None:
    """Issue 16: a title line above the table made the delimiter undetectable; the table decides now."""
    plain = parse_qpcr((DATA / "qpcr_run.csv").read_bytes())
    titled = parse_qpcr(title + (DATA / "qpcr_run.csv").read_bytes())
    assert [(w.well, w.quantity, w.cq) for w in titled.wells] == [
        (w.well, w.quantity, w.cq) for w in plain.wells
    ]
    assert titled.wells[0].line == plain.wells[0].line + title.count(b"\n")
