"""ISBT 128 data structures of another maker's CAR-T label: DS 001, DS 003, DS 004/005, DS 040 (issue 12 item 3;
ICCBBA ST-001 v6.2.2 §2.4.1, §2.4.3-2.4.5, §2.4.40; T-10.4, T-10.6)."""

from datetime import datetime, timedelta
from itertools import permutations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.identity import (
    ChainOfIdentityIdentifier,
    DonationIdentificationNumber,
    IdentifierError,
    IdentifierFault,
    LabelFormat,
    LabelPayload,
    ProductCode,
    coi_issue,
    din_issue,
    parse_unit_scan,
)
from cellchain.domain.isbt128 import (
    DinDataStructure,
    Isbt128Label,
    Isbt128ProductCode,
    din_check_flags,
    looks_like_isbt128_label,
    parse_isbt128_label,
)

DIGITS = "0123456789"
ALNUM = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

FIN_FIRST = LETTERS.replace("O", "")  # ST-001 §2.4.1: α is {A-N; P-Z; 1-9}
fins = st.builds(lambda a, b: a + b, st.sampled_from(FIN_FIRST), st.text(DIGITS, min_size=4, max_size=4))
years = st.text(DIGITS, min_size=2, max_size=2)
dins = st.builds(DonationIdentificationNumber, fins, years, st.text(DIGITS, min_size=6, max_size=6))
cois = st.builds(ChainOfIdentityIdentifier, fins, years, st.text(ALNUM, min_size=6, max_size=6))
product_codes = st.builds(
    lambda a, o, t, d, s: Isbt128ProductCode(a + o + t + d + s),
    st.sampled_from(LETTERS),
    st.text(ALNUM, min_size=4, max_size=4),
    st.sampled_from(ALNUM + "abcdefghijklmnopqrstuvwxyz"),
    st.sampled_from(ALNUM),
    st.sampled_from(DIGITS + "abcdefghijklmnopqrstuvwxyz"),
)
expiries = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


@st.composite
def labels(draw: st.DrawFn) -> Isbt128Label:
    din = draw(dins)
    flags = draw(st.sampled_from([din_check_flags(din), "00", "01", "59"]))
    has_time = draw(st.booleans())
    expires = draw(st.one_of(st.none(), expiries))
    if expires is None:
        has_time = True
    elif not has_time:
        expires = expires.replace(hour=23, minute=59)
    return Isbt128Label(DinDataStructure(din, flags), draw(product_codes), draw(cois), expires, has_time)


FOREIGN = Isbt128Label(
    DinDataStructure(din_issue("B7312", 2026, 17), din_check_flags(din_issue("B7312", 2026, 17))),
    Isbt128ProductCode("S2104100"),
    coi_issue("B7312", 2026, 123),
    datetime(2026, 12, 20, 23, 59),
)


def test_foreign_label_reads_every_data_structure():
    """DS 001 with check flags, DS 003, DS 005 and DS 040 as ST-001 lays them out (issue 12 item 3)."""
    text = "=B73122600001766=<S2104100&>0263542359&/CHB731226000123"
    label = parse_isbt128_label(text)
    assert label == FOREIGN
    assert label.din.check_verified
    assert label.coi.data == "CHB731226000123"
    assert label.encode() == text


@given(labels(), st.sampled_from(["", " ", "\n", "\r\n"]))
def test_label_round_trip(label, separator):
    assert parse_isbt128_label(label.encode(separator)) == label


@given(labels())
def test_data_structures_may_come_in_any_order(label):
    for order in permutations(label.data_structures()):
        assert parse_isbt128_label(" ".join(order)) == label


@given(labels())
def test_compound_message_header_is_read_and_its_count_checked(label):
    count = len(label.data_structures())
    assert parse_isbt128_label(f"=+{count:02d}001" + label.encode()) == label
    with pytest.raises(IdentifierError):
        parse_isbt128_label(f"=+{count + 1:02d}001" + label.encode())


@given(dins, st.integers(0, 12), st.sampled_from(ALNUM))
def test_any_single_change_of_the_din_is_caught_by_the_check_flags(din, position, replacement):
    """The DS 001 check flags (Mod 37-2 + 60) detect every single substitution in the 13 DIN characters."""
    data = din.data
    if data[position] == replacement:
        return
    altered = data[:position] + replacement + data[position + 1 :]
    text = "=" + altered + din_check_flags(din) + "=<S2104100&/CHB731226000123"
    with pytest.raises(IdentifierError):
        parse_isbt128_label(text)


@given(dins)
def test_any_other_check_flag_value_is_refused(din):
    right = int(din_check_flags(din))
    for value in range(60, 100):
        if value == right:
            continue
        with pytest.raises(IdentifierError) as caught:
            parse_isbt128_label(f"={din.data}{value}=<S2104100&/CHB731226000123")
        assert caught.value.problem.fault is IdentifierFault.FLAG


def test_process_control_flags_carry_no_check_and_are_accepted():
    """ST-001 Table 3: 00 (not used) and 01-59 are process-control flags, not a check."""
    label = parse_isbt128_label("=B73122600001700=<S2104100&/CHB731226000123")
    assert label.din.flags == "00" and not label.din.check_verified


def test_expiry_date_only_ds004_is_the_end_of_that_day():
    label = parse_isbt128_label("=B73122600001766=<S2104100=>026354&/CHB731226000123")
    assert label.expires == datetime(2026, 12, 20, 23, 59)
    assert not label.expiry_has_time
    assert label.encode() == "=B73122600001766=<S2104100=>026354&/CHB731226000123"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("=B73122600001766=<S2104100", "DS 040"),
        ("=<S2104100&/CHB731226000123", "DS 001"),
        ("=B73122600001766&/CHB731226000123", "DS 003"),
        ("=B73122600001766=<S2104100&/CHB731226000123&/CHB731226000124", "once"),
        ("=B73122600001766=<S2104100&/XXB731226000123", "'CH'"),
        ("=B73122600001766=<S2104100&/CHB7312260001", "15 characters"),
        ("=B73122600001766=<S2104100&/CHB731226000123=#12345", "data identifier"),
        ("=B73122600001766=<S2104100&>0263542359=>026354&/CHB731226000123", "one expiry"),
        ("=B73122600001799=<S2104100&/CHB731226000123", "reserved"),
    ],
)
def test_malformed_labels_are_refused_naming_what(text, names):
    with pytest.raises(IdentifierError) as caught:
        parse_isbt128_label(text)
    assert names in str(caught.value)


def test_other_fixed_length_data_structures_are_read_past():
    """A label may also carry e.g. DS 002 blood groups and DS 007 collection date and time."""
    label = parse_isbt128_label("=B73122600001766 =%5100 =<S2104100 &*0262002359 &/CHB731226000123")
    assert label.skipped == ("=%", "&*")
    assert label.coi == FOREIGN.coi


def test_isbt_product_code_allows_what_st001_allows_and_refuses_the_rest():
    assert Isbt128ProductCode("SA1B2r0a").code == "SA1B2r0a"
    for bad in ("s2104100", "S2104100X", "S21041a0", "S2104!00"):
        with pytest.raises(IdentifierError):
            Isbt128ProductCode(bad)


def test_unit_scan_accepts_both_label_formats():
    """CellChain's payload and an ISBT 128 DS 040 label resolve to the same identifiers (issue 12 item 3)."""
    own = LabelPayload(
        coi_issue("W2001", 2026, 5),
        din_issue("W1234", 2026, 9),
        ProductCode("S1395V00"),
        datetime(2026, 12, 1, 12, 0),
    )
    scanned = parse_unit_scan(own.encode())
    assert scanned.label_format is LabelFormat.CELLCHAIN
    assert (scanned.coi, scanned.din) == (own.coi, own.din)
    foreign = parse_unit_scan(FOREIGN.encode(" "))
    assert foreign.label_format is LabelFormat.ISBT128_DS040
    assert foreign.coi == FOREIGN.coi and foreign.din == FOREIGN.din.din
    assert foreign.product_code is not None and foreign.product_code.code == "S2104100"
    assert foreign.expires == FOREIGN.expires
    din_only = parse_unit_scan(FOREIGN.din.din.barcode_data)
    assert din_only.label_format is None and not din_only.is_label
    assert looks_like_isbt128_label(FOREIGN.encode()) and not looks_like_isbt128_label(own.encode())


def test_the_din_keyboard_check_still_guards_a_typed_foreign_din():
    din = FOREIGN.din.din
    assert parse_unit_scan(din.keyboard_form).din == din
    wrong = din.data + ("0" if din.check_character != "0" else "1")
    with pytest.raises(IdentifierError):
        parse_unit_scan(wrong)


def test_expired_dates_keep_their_minute():
    label = Isbt128Label(
        FOREIGN.din, FOREIGN.product_code, FOREIGN.coi, datetime(2026, 1, 1) + timedelta(minutes=61)
    )
    assert parse_isbt128_label(label.encode()).expires == datetime(2026, 1, 1, 1, 1)
