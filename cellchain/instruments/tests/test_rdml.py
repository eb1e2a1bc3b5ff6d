"""RDML reader: schema-validated, feeding the same standard curve and unknowns as the qPCR CSV (Q-2.3-a; issue 16)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellchain.domain.qpcr import evaluate_standard_curve, quantify
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.qpcr import NTC, STANDARD, UNKNOWN, read_qpcr
from cellchain.instruments.rdml import looks_like_rdml, parse_rdml, read_rdml
from cellchain.instruments.tests.rdml_writer import rdml_from_csv

DATA = Path(__file__).parent / "data"
RDML = DATA / "qpcr_run.rdml"


def _rdml(old: str, new: str, count: int = 1) -> bytes:
    text = RDML.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, count).encode()


def _zipped(xml: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rdml_data.xml", xml)
    return out.getvalue()


def test_rdml_gives_the_same_wells_curve_and_quantities_as_the_csv_of_the_run() -> None:
    rdml, csv = read_rdml(RDML), read_qpcr(DATA / "qpcr_run.csv")
    assert [(w.well, w.sample, w.target, w.well_type, w.quantity, w.cq) for w in rdml.wells] == [
        (w.well, w.sample, w.target, w.well_type, w.quantity, w.cq) for w in csv.wells
    ]
    verdict = evaluate_standard_curve(rdml.standard_curve("CAR"))
    assert verdict.accepted, verdict.reasons
    assert verdict.curve.slope == pytest.approx(csv.standard_curve("CAR").slope)
    unknown = rdml.unknowns("CAR")[0]
    assert quantify(verdict.curve, unknown.sample, unknown.cq).quantity == pytest.approx(2.4e4, rel=0.05)
    assert rdml.wells[-1].well_type == NTC and rdml.wells[-1].cq is None  # <cq>-1.0</cq>: not available
    assert rdml.encoding == "UTF-8 (XML, RDML 1.3)" and rdml.wells[0].line > 1


def test_zipped_rdml_is_read_like_the_plain_xml() -> None:
    raw = _zipped(RDML.read_bytes())
    assert looks_like_rdml(raw) and looks_like_rdml(RDML.read_bytes())
    export = parse_rdml(raw, source="run.rdml")
    assert export.wells == read_rdml(RDML).wells and "zipped RDML" in export.encoding


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'<rdml version="1.3" xmlns="http://www.rdml.org"><sample id="a">', "not well-formed XML"),
        (b"<rdml version='1.3'/>", "root element is 'rdml', not <rdml> in http://www.rdml.org"),
        (b'<rdml version="1.4" xmlns="http://www.rdml.org"/>', "RDML version '1.4'"),
        (b'<?xml version="1.0"?><!DOCTYPE rdml [<!ENTITY a "b">]><rdml version="1.3" xmlns="http://www.rdml.org"/>',
         "no DOCTYPE"),
        (b'<rdml version="1.3" xmlns="http://www.rdml.org"/>', "no reaction with data"),
    ],
)  # fmt: skip
def test_malformed_or_foreign_xml_is_refused_naming_why(raw: bytes, message: str) -> None:
    with pytest.raises(InstrumentFileError, match=message) as caught:
        parse_rdml(raw, source="bad.rdml")
    assert caught.value.line is not None and caught.value.file == "bad.rdml"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<cq>18.13</cq>", "<cq>eighteen</cq>", "not valid RDML 1.3.*cq.*float"),
        ('<sample id="CT-0001-FINAL"/>', '<sample id="CT-0009"/>', "not valid RDML 1.3.*sampleIdKeyRef"),
        ('<tar id="CAR"/>\n          <cq>18.13', '<tar id="RPP30"/>\n          <cq>18.13', "targetIdKeyRef"),
        ("<type>std</type>", "<type>standard</type>", "not valid RDML 1.3.*enumeration"),
        ("<rows>8</rows>", "<rowz>8</rowz>", "not valid RDML 1.3.*rowz"),
    ],
)
def test_schema_invalid_rdml_is_refused_with_the_schema_message_and_line(
    old: str, new: str, message: str
) -> None:
    with pytest.raises(InstrumentFileError, match=message) as caught:
        parse_rdml(_rdml(old, new), source="run.rdml")
    assert caught.value.line is not None and caught.value.line > 1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<unit>cop</unit>", "<unit>dil</unit>", "quantity in 'dil'.*copies"),
        ("<value>1e+06</value>", "<value>0</value>", "quantity 0.0: must be > 0"),
        ("<cq>18.13</cq>", "<cq>-5</cq>", "not a cycle number"),
        ("<cq>18.13</cq>", "<cq>NaN</cq>", "not a cycle number"),
        ('<react id="1">', '<react id="97">', "outside the 8 x 12 plate"),
        ('<react id="2">', '<react id="1">', "Duplicate key-sequence.*runUniId"),
    ],
)
def test_valid_rdml_whose_numbers_cannot_be_trusted_is_refused(old: str, new: str, message: str) -> None:
    with pytest.raises(InstrumentFileError, match=message) as caught:
        parse_rdml(_rdml(old, new), source="run.rdml")
    assert caught.value.line is not None


def test_a_standard_without_quantity_is_refused() -> None:
    raw = _rdml("    <quantity>\n      <value>1e+06</value>\n      <unit>cop</unit>\n    </quantity>\n", "")
    with pytest.raises(InstrumentFileError, match="'STD-1000000' has no quantity for target 'CAR'"):
        parse_rdml(raw)


def test_an_excluded_well_is_kept_with_its_reason_but_used_neither_as_standard_nor_unknown() -> None:
    raw = _rdml("<cq>23.458</cq>", "<cq>23.458</cq>\n          <excl>bubble in well</excl>")
    export = parse_rdml(raw)
    excluded = next(w for w in export.wells if w.well == "B7")
    assert excluded.excluded == "bubble in well" and excluded.well_type == UNKNOWN
    assert [w.well for w in export.unknowns("CAR")] == ["B8"]
    raw = _rdml("<cq>18.13</cq>", "<cq>18.13</cq>\n          <excl/>")
    assert "A1" not in {p.well for p in parse_rdml(raw).standards("CAR")}


def test_a_sample_type_given_per_target_is_used_for_that_target() -> None:
    text = RDML.read_text(encoding="utf-8").replace(
        '<sample id="NTC">\n    <type>ntc</type>', '<sample id="NTC">\n    <type targetId="CAR">pos</type>'
    )
    assert parse_rdml(text.encode()).wells[-1].well_type == "pos"


def test_older_rdml_versions_are_validated_against_their_own_schema() -> None:
    text = rdml_from_csv((DATA / "qpcr_run.csv").read_text(encoding="utf-8-sig"), version="1.2")
    assert parse_rdml(text.encode()).standards("CAR")[0].quantity == 1e6
    with pytest.raises(InstrumentFileError, match=r"not valid RDML 1\.0"):
        parse_rdml(text.replace('version="1.2"', 'version="1.0"').encode())  # pcrFormat came with 1.1


def test_a_zip_that_is_not_rdml_is_refused_by_what_it_is() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InstrumentFileError, match=r"without rdml_data\.xml"):
        parse_rdml(out.getvalue())


_VALID = RDML.read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_rdml_is_refused_or_read_never_crashes(data: st.DataObject) -> None:
    raw = bytearray(_VALID if data.draw(st.booleans()) else _zipped(_VALID))
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        token = data.draw(st.sampled_from([b"<", b">", b'"', b"-", b"9", b"e", b"\xff", b"", b"</data>"]))
        raw[pos : pos + data.draw(st.integers(0, 3))] = token
    try:
        export = parse_rdml(bytes(raw), source="fuzz.rdml")
    except InstrumentFileError as error:
        assert error.file == "fuzz.rdml"
        return
    for well in export.wells:
        assert well.well_type != STANDARD or (well.quantity or 0) > 0
        assert well.cq is None or well.cq >= 0


def test_a_well_without_cq_is_refused_but_minus_one_reads_as_no_cq() -> None:
    """Issue 16: a data element with no <cq> was not analysed; only RDML's -1 says "no Cq" (a negative)."""
    with pytest.raises(InstrumentFileError, match=r"well B7 \(CAR\) has no <cq>") as caught:
        parse_rdml(_rdml("<cq>23.458</cq>", ""), source="run.rdml")
    assert caught.value.line is not None
    unknown = next(w for w in parse_rdml(_rdml("<cq>23.458</cq>", "<cq>-1</cq>")).wells if w.well == "B7")
    assert unknown.cq is None
