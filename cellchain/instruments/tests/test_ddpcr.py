"""ddPCR readers: Bio-Rad QX Manager and QuantaSoft CSV exports feeding VCN (Q-2.3-a, Q-2.3-b)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellchain.domain.vcn import vcn_release_check
from cellchain.instruments.ddpcr import QUANTASOFT, QX_MANAGER, parse_ddpcr, read_ddpcr
from cellchain.instruments.errors import InstrumentFileError

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("name", "software"), [("qx_manager.csv", QX_MANAGER), ("quantasoft.csv", QUANTASOFT)]
)
def test_both_exports_give_the_same_wells(name: str, software: str) -> None:
    export = read_ddpcr(DATA / name)
    assert export.software == software
    assert len(export.wells) == 6
    car = export.find("A1", "CAR")
    assert (car.well, car.sample, car.accepted_droplets, car.positives, car.negatives) == (
        "A01", "CT-0001-FINAL", 17000, 7021, 9979,
    )  # fmt: skip
    assert car.copies_per_ul == pytest.approx(626.7, abs=0.05)
    assert car.line == 2


def test_no_call_concentration_is_kept_as_none_with_its_droplets() -> None:
    ntc = read_ddpcr(DATA / "quantasoft.csv").find("C01", "CAR")
    assert ntc.copies_per_ul is None
    assert ntc.negatives == 16020


def test_vcn_of_a_duplex_well_from_the_export() -> None:
    """Q-2.3-a: VCN = 2 x CAR / RPP30 from the droplets; the default 0.85 nL volume is recorded."""
    export = read_ddpcr(DATA / "qx_manager.csv")
    result = export.vcn("A01", "CAR", "RPP30", transduced_fraction=0.4)
    assert result.copies_per_diploid_cell == pytest.approx(2 * 626.74 / 325.88, rel=1e-4)
    assert result.copies_per_transduced_cell == pytest.approx(result.copies_per_diploid_cell / 0.4)
    assert result.droplet_volume_nl == 0.85
    assert vcn_release_check(result).passed


def test_release_blocked_when_vcn_from_export_above_limit() -> None:
    """Q-2.3-b."""
    result = read_ddpcr(DATA / "quantasoft.csv").vcn("B01", "CAR", "RPP30")
    verdict = vcn_release_check(result)
    assert not verdict.passed
    assert verdict.value == pytest.approx(2 * 2405.1 / 187.1, rel=1e-3)


def test_exported_droplet_volume_is_used_and_stored() -> None:
    export = read_ddpcr(DATA / "ddpcr_droplet_volume.csv")
    car = export.find("A01", "CAR")
    assert car.droplet_volume_nl == 0.795
    result = export.vcn("A01", "CAR", "RPP30")
    assert result.droplet_volume_nl == 0.795
    assert result.target_droplets is not None
    assert result.target_droplets.copies_per_ul == pytest.approx(-math.log(9979 / 17000) / 0.000795)


def test_export_hash_is_of_the_raw_bytes() -> None:
    raw = (DATA / "qx_manager.csv").read_bytes()
    assert parse_ddpcr(raw).sha256 == hashlib.sha256(raw).hexdigest()


def test_title_lines_above_the_header_are_skipped() -> None:
    raw = b"QX Manager export,plate 42\n\n" + (DATA / "quantasoft.csv").read_bytes()
    assert parse_ddpcr(raw).find("B01", "RPP30").line == 7


def _broken(old: str, new: str, name: str = "quantasoft.csv") -> bytes:
    text = (DATA / name).read_bytes().decode("utf-8-sig")
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "message", "line", "column"),
    [
        (",7021,9979,", ",ERROR,9979,", "ERROR", 2, "Positives"),
        (",7021,9979,", ",,9979,", "empty cell", 2, "Positives"),
        (",7021,9979,", ",7022,9979,", "!= accepted droplets", 2, None),
        (",7021,9979,", ",70.5,9979,", "whole non-negative", 2, "Positives"),
        ("AcceptedDroplets", "Droplets", "missing column", 1, None),
    ],
)
def test_bad_cells_name_line_and_column(
    old: str, new: str, message: str, line: int, column: str | None
) -> None:
    with pytest.raises(InstrumentFileError, match=message) as caught:
        parse_ddpcr(_broken(old, new), source="plate.csv")
    assert caught.value.line == line
    assert caught.value.column == column


def test_unknown_concentration_unit_is_rejected() -> None:
    raw = _broken("Conc(copies/µL)", "Conc(copies/mL)", "qx_manager.csv")
    with pytest.raises(InstrumentFileError, match="unknown concentration unit"):
        parse_ddpcr(raw)


def test_greek_mu_and_mojibake_in_the_unit_are_accepted() -> None:
    for variant in ("μ", "Âµ"):
        raw = _broken("Conc(copies/µL)", f"Conc(copies/{variant}L)", "qx_manager.csv")
        assert parse_ddpcr(raw).find("A01", "CAR").copies_per_ul == pytest.approx(626.74)


def test_not_a_ddpcr_export_is_rejected() -> None:
    with pytest.raises(InstrumentFileError, match="no header row"):
        parse_ddpcr(b"a,b,c\n1,2,3\n")


_VALID = [(DATA / n).read_bytes() for n in ("qx_manager.csv", "quantasoft.csv", "ddpcr_droplet_volume.csv")]


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
                st.sampled_from([b",", b";", b'"', b"\n", b"ERROR", b"-1", b"No Call", b"\xff"])
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
        export = parse_ddpcr(raw, source="fuzz.csv")
    except InstrumentFileError as error:
        assert error.file == "fuzz.csv"
        return
    for well in export.wells:
        assert well.positives + well.negatives == well.accepted_droplets


def test_quantasoft_export_with_an_assay_column_is_read() -> None:
    """Issue 16: QuantaSoft versions that name the target column 'Assay' were refused."""
    raw = (DATA / "quantasoft.csv").read_bytes().replace(b",Target,", b",Assay,", 1)
    assert b",Assay," in raw
    export = parse_ddpcr(raw, source="assay.csv")
    original = read_ddpcr(DATA / "quantasoft.csv")
    assert [(w.well, w.target, w.positives) for w in export.wells] == [
        (w.well, w.target, w.positives) for w in original.wells
    ]
    vcn = export.vcn("A1", "CAR", "RPP30").copies_per_diploid_cell
    assert vcn == pytest.approx(original.vcn("A1", "CAR", "RPP30").copies_per_diploid_cell)
