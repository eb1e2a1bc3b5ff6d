"""A scanned label against the manufacturer register, the journey and the unit on record (issue 12 item 3;
T-8.1.3-a, T-8.2.6-e, T-10.4, G-4)."""

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.identity import (
    LabelFormat,
    LabelPayload,
    ProductCode,
    coi_issue,
    din_issue,
    parse_unit_scan,
)
from cellchain.domain.isbt128 import DinDataStructure, Isbt128Label, Isbt128ProductCode, din_check_flags
from cellchain.domain.label_match import (
    LabelMismatch,
    RegisteredManufacturer,
    UnitOnRecord,
    label_problems,
    manufacturer_of,
)

CELLCHAIN = RegisteredManufacturer("Shenghe", "W1234", frozenset({"S1395V00"}), LabelFormat.CELLCHAIN)
FOREIGN = RegisteredManufacturer(
    "Nordcell", "B7312", frozenset({"S2104100", "S2105100"}), LabelFormat.ISBT128_DS040
)
REGISTER = (CELLCHAIN, FOREIGN)
NOW = datetime(2026, 12, 7, 10, 0)
EXPIRES = datetime(2026, 12, 20, 23, 59)

COI = coi_issue("B7312", 2026, 123)
DIN = din_issue("B7312", 2026, 17)
UNIT = UnitOnRecord(DIN.data, COI.data, "S2104100", EXPIRES)


def foreign_label(din=DIN, coi=COI, product="S2104100", expires: datetime | None = EXPIRES) -> str:
    return Isbt128Label(
        DinDataStructure(din, din_check_flags(din)), Isbt128ProductCode(product), coi, expires
    ).encode()


def kinds(text: str, *, journey=COI.data, unit=UNIT, register=REGISTER, now=NOW) -> list[LabelMismatch]:
    scanned = parse_unit_scan(text)
    problems = label_problems(scanned, journey_coi=journey, unit=unit, register=register, now_local=now)
    for problem in problems:
        assert problem.found in problem.message or problem.expected in problem.message
    return [problem.kind for problem in problems]


def test_both_formats_pass_when_everything_agrees():
    assert kinds(foreign_label()) == []
    own_coi, own_din = coi_issue("W2001", 2026, 5), din_issue("W1234", 2026, 9)
    own = LabelPayload(own_coi, own_din, ProductCode("S1395V00"), EXPIRES).encode()
    assert (
        kinds(own, journey=own_coi.keyboard_form, unit=UnitOnRecord(own_din.data, own_coi.data, "S1395V00"))
        == []
    )


def test_a_din_only_scan_has_no_label_checks():
    assert kinds(DIN.barcode_data, journey="CHX000000000000") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (foreign_label(coi=coi_issue("B7312", 2026, 124)), [LabelMismatch.WRONG_PATIENT]),
        (foreign_label(din=din_issue("B7312", 2026, 18)), [LabelMismatch.WRONG_DIN]),
        (foreign_label(product="S2105100"), [LabelMismatch.WRONG_PRODUCT]),
        (
            foreign_label(product="S9999100"),
            [LabelMismatch.PRODUCT_NOT_OF_MANUFACTURER, LabelMismatch.WRONG_PRODUCT],
        ),
        (
            foreign_label(expires=datetime(2026, 12, 1, 23, 59)),
            [LabelMismatch.EXPIRED, LabelMismatch.EXPIRY_MISMATCH],
        ),
        (foreign_label(expires=datetime(2026, 12, 21, 23, 59)), [LabelMismatch.EXPIRY_MISMATCH]),
        (
            foreign_label(din=din_issue("C4444", 2026, 17)),
            [LabelMismatch.UNKNOWN_MANUFACTURER, LabelMismatch.WRONG_DIN],
        ),
    ],
)
def test_every_mismatch_is_named(text, expected):
    """Issue 12 item 3: another patient's COI, another unit's DIN, a wrong product code, an expired label and an
    unknown manufacturer FIN each block with a message naming what differs."""
    assert kinds(text) == expected


def test_label_coi_other_than_the_units_record():
    """The journey is right but the unit on record belongs to another COI: the label is wrong (G-4)."""
    other = UnitOnRecord(DIN.data, coi_issue("B7312", 2026, 999).data, "S2104100", EXPIRES)
    assert kinds(foreign_label(), unit=other) == [LabelMismatch.LABEL_COI_MISMATCH]


def test_a_cellchain_label_of_a_foreign_maker_is_not_its_format():
    payload = LabelPayload(COI, DIN, ProductCode("S2104100"), EXPIRES).encode()
    assert kinds(payload) == [LabelMismatch.LABEL_FORMAT]


def test_manufacturer_is_found_by_the_fin_of_the_din():
    assert manufacturer_of(parse_unit_scan(foreign_label()), REGISTER) is FOREIGN
    assert manufacturer_of(parse_unit_scan(foreign_label()), (CELLCHAIN,)) is None


@given(st.integers(1, 999_999).filter(lambda n: n != 123))
def test_any_other_coi_blocks(number):
    """DS 040 carries no check character: a COI altered anywhere is caught by the comparison with the journey."""
    assert LabelMismatch.WRONG_PATIENT in kinds(foreign_label(coi=coi_issue("B7312", 2026, number)))


def test_identity_mismatches_are_incidents_and_the_others_block():
    scanned = parse_unit_scan(foreign_label(coi=coi_issue("B7312", 2026, 124), expires=datetime(2026, 1, 1)))
    problems = label_problems(scanned, journey_coi=COI.data, unit=UNIT, register=REGISTER, now_local=NOW)
    assert {(p.kind, p.identity_incident) for p in problems} == {
        (LabelMismatch.WRONG_PATIENT, True),
        (LabelMismatch.EXPIRED, False),
        (LabelMismatch.EXPIRY_MISMATCH, False),
    }
