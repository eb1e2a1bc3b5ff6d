"""Identifier rules: COI and DIN layout, Mod 37-2 check characters (T-10.4, T-10.6; REGULATORY item 35)."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cellchain.domain.identity import (
    MOD37_2_ALPHABET,
    ChainOfIdentityIdentifier,
    DonationIdentificationNumber,
    IdentifierError,
    IdentifierFault,
    IdentifierKind,
    LabelPayload,
    ProductCode,
    coi_issue,
    din_issue,
    expiry_barcode_data,
    mod37_2_check_character,
    mod37_2_checksum,
    mod37_2_is_valid,
    parse_coi,
    parse_din,
    parse_expiry,
    parse_label_payload,
    parse_product_code,
    parse_unit_scan,
)

DATA_ALPHABET = MOD37_2_ALPHABET[:-1]


# --------------------------------------------------------------------------- published examples


def test_mod37_2_matches_jpac_red_book_annex_2_worked_example():
    """JPAC Red Book Annex 2, Table A2.2: DIN G123 498 654 321 -> checksum 17, barcode flags 77, check 'H'.

    https://www.transfusionguidelines.org/red-book/annex-2-isbt-128-check-character-calculation
    """
    assert mod37_2_checksum("G123498654321") == 17
    assert mod37_2_check_character("G123498654321") == "H"
    din = parse_din("G1234 98 654321 [H]")
    assert din.flag_characters == "77"
    assert din.barcode_data == "=G12349865432177"


def test_mod37_2_matches_python_stdnum_published_doctest_example():
    """python-stdnum ``stdnum/iso7064/mod_37_2.py`` doctest: calc_check_digit('G123489654321') == 'Y'."""
    assert mod37_2_check_character("G123489654321") == "Y"
    assert parse_din("G123489654321Y").data == "G123489654321"


def test_mod37_2_validity_of_published_examples_and_a_corruption():
    assert mod37_2_is_valid("G123498654321H")
    assert mod37_2_is_valid("G123489654321Y")
    assert not mod37_2_is_valid("G123498654321Y")


# --------------------------------------------------------------------------- error detection (properties)

data_strings = st.text(alphabet=DATA_ALPHABET, min_size=2, max_size=20)


@given(data=data_strings, position=st.integers(min_value=0), replacement=st.sampled_from(MOD37_2_ALPHABET))
def test_mod37_2_detects_every_single_character_substitution(data, position, replacement):
    full = data + mod37_2_check_character(data)
    index = position % len(full)
    if full[index] == replacement:
        replacement = MOD37_2_ALPHABET[(MOD37_2_ALPHABET.index(replacement) + 1) % 37]
    if index < len(data) and replacement == "*":
        replacement = "0" if full[index] != "0" else "1"
    corrupted = full[:index] + replacement + full[index + 1 :]
    assert not mod37_2_is_valid(corrupted)


@given(data=data_strings, position=st.integers(min_value=0))
def test_mod37_2_detects_every_adjacent_transposition(data, position):
    full = data + mod37_2_check_character(data)
    index = position % (len(full) - 1)
    if full[index] == full[index + 1]:
        return  # swapping equal characters changes nothing
    swapped = full[:index] + full[index + 1] + full[index] + full[index + 2 :]
    if "*" in swapped[:-1]:
        return  # '*' is a check value only; such a string is refused as malformed before any check
    assert not mod37_2_is_valid(swapped)


facilities = st.builds(
    lambda letter, digits: letter + digits,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
)
dins = st.builds(din_issue, facilities, st.integers(2000, 2099), st.integers(1, 999_999))


@given(din=dins, position=st.integers(min_value=0), replacement=st.sampled_from(DATA_ALPHABET))
def test_parse_din_rejects_every_single_substitution_of_a_typed_din(din, position, replacement):
    typed = din.keyboard_form
    index = position % len(typed)
    if typed[index] == replacement:
        return
    with pytest.raises(IdentifierError):
        parse_din(typed[:index] + replacement + typed[index + 1 :])


@given(din=dins, position=st.integers(min_value=0))
def test_parse_din_rejects_every_adjacent_transposition_of_a_typed_din(din, position):
    typed = din.keyboard_form
    index = position % (len(typed) - 1)
    if typed[index] == typed[index + 1]:
        return
    with pytest.raises(IdentifierError):
        parse_din(typed[:index] + typed[index + 1] + typed[index] + typed[index + 2 :])


@given(din=dins)
def test_every_din_form_reads_back_to_the_same_din(din):
    for form in (din.keyboard_form, din.barcode_data, din.eye_readable, din.keyboard_form.lower()):
        assert parse_din(form) == din


@given(facility=facilities, year=st.integers(2000, 2099), number=st.integers(1, 999_999))
def test_every_coi_form_reads_back_to_the_same_coi(facility, year, number):
    coi = coi_issue(facility, year, number)
    assert len(coi.data) == 15
    assert coi.data.startswith("CH")
    assert parse_coi(coi.keyboard_form) == coi
    assert parse_coi(coi.eye_readable) == coi


@given(
    a=st.tuples(facilities, st.integers(2000, 2099), st.integers(1, 999_999)),
    b=st.tuples(facilities, st.integers(2000, 2099), st.integers(1, 999_999)),
)
def test_distinct_issue_inputs_give_distinct_identifiers(a, b):
    """Uniqueness property (REGULATORY item 35): the identifier is a bijection of facility, year, number."""
    if a == b:
        assert din_issue(*a) == din_issue(*b)
    else:
        assert din_issue(*a).data != din_issue(*b).data
        assert coi_issue(*a).data != coi_issue(*b).data


# --------------------------------------------------------------------------- layout and reasons


def test_din_issue_layout_is_facility_year_sequence():
    din = din_issue("W1234", 2025, 42)
    assert din.data == "W123425000042"
    assert len(din.data) == 13
    assert din.eye_readable == f"W1234 25 000042 [{din.check_character}]"


def test_parse_din_without_check_character_asks_for_it():
    with pytest.raises(IdentifierError) as caught:
        parse_din("W123425000042")
    assert caught.value.problem.fault is IdentifierFault.CHECK_MISSING
    assert caught.value.problem.position == 14


def test_parse_din_wrong_check_character_names_the_expected_one():
    good = din_issue("W1234", 2025, 42)
    wrong = "0" if good.check_character != "0" else "1"
    with pytest.raises(IdentifierError) as caught:
        parse_din(good.data + wrong)
    problem = caught.value.problem
    assert problem.fault is IdentifierFault.CHECK_CHARACTER
    assert problem.position == 14
    assert problem.found == wrong
    assert repr(good.check_character) in problem.expected
    assert "mistyped" in str(caught.value)


def test_parse_din_letter_in_sequence_names_position_and_expected_class():
    with pytest.raises(IdentifierError) as caught:
        parse_din("W1234250000A2K")
    problem = caught.value.problem
    assert (problem.fault, problem.position, problem.found) == (IdentifierFault.CHARACTER, 12, "A")
    assert "digit" in problem.expected and "sequence" in problem.expected


def test_parse_din_digit_where_facility_letter_belongs_is_rejected():
    with pytest.raises(IdentifierError) as caught:
        parse_din("1123425000042K")
    assert (caught.value.problem.position, caught.value.problem.found) == (1, "1")


def test_parse_din_barcode_with_wrong_flags_is_rejected():
    din = din_issue("W1234", 2025, 42)
    wrong_flags = "60" if din.flag_characters != "60" else "61"
    with pytest.raises(IdentifierError) as caught:
        parse_din("=" + din.data + wrong_flags)
    assert caught.value.problem.fault is IdentifierFault.FLAG
    assert caught.value.problem.expected.startswith(f"check flags {din.flag_characters}")


@pytest.mark.parametrize("text", ["", "   ", "W12", "W1234250000421234", "=W1234250000"])
def test_parse_din_rejects_empty_and_wrong_length(text):
    with pytest.raises(IdentifierError) as caught:
        parse_din(text)
    assert caught.value.problem.fault in (IdentifierFault.EMPTY, IdentifierFault.LENGTH)


def test_parse_din_rejects_a_foreign_gs1_barcode():
    with pytest.raises(IdentifierError) as caught:
        parse_din("(01)09506000134352(21)ABC")
    assert caught.value.problem.kind is IdentifierKind.DIN


def test_parse_coi_rejects_missing_prefix_and_wrong_check():
    coi = coi_issue("W1234", 2025, 7)
    with pytest.raises(IdentifierError) as caught:
        parse_coi("XX" + coi.keyboard_form[2:])
    assert caught.value.problem.fault is IdentifierFault.PREFIX
    wrong = "0" if coi.check_character != "0" else "1"
    with pytest.raises(IdentifierError) as caught:
        parse_coi(coi.data + wrong)
    assert caught.value.problem.fault is IdentifierFault.CHECK_CHARACTER
    with pytest.raises(IdentifierError) as caught:
        parse_coi(coi.data)
    assert caught.value.problem.fault is IdentifierFault.CHECK_MISSING


def test_coi_sequence_may_hold_letters_but_din_sequence_may_not():
    assert ChainOfIdentityIdentifier("W1234", "25", "00AB12").data == "CHW12342500AB12"
    with pytest.raises(IdentifierError):
        DonationIdentificationNumber("W1234", "25", "00AB12")


@pytest.mark.parametrize(("number", "year"), [(0, 2025), (1_000_000, 2025), (1, 1999), (1, 2100)])
def test_issue_refuses_out_of_range_numbers_and_years(number, year):
    with pytest.raises(ValueError, match="outside"):
        din_issue("W1234", year, number)


def test_product_code_reads_barcode_and_typed_forms():
    assert parse_product_code("=<S1395V00") == ProductCode("S1395V00")
    assert parse_product_code("s1395v00").code == "S1395V00"
    with pytest.raises(IdentifierError) as caught:
        parse_product_code("S13X5V00")
    assert caught.value.problem.position == 4


# --------------------------------------------------------------------------- label payload and scans


def _payload() -> LabelPayload:
    return LabelPayload(coi_issue("W1234", 2025, 7), din_issue("W1234", 2025, 42), ProductCode("S1395V00"))


def test_label_payload_round_trips():
    payload = _payload()
    encoded = payload.encode()
    assert "\n" not in encoded
    assert parse_label_payload(encoded) == payload


def test_label_payload_with_a_corrupted_din_is_rejected():
    tokens = _payload().encode().split()
    tokens[1] = tokens[1][:-2] + ("60" if tokens[1][-2:] != "60" else "61")
    with pytest.raises(IdentifierError) as caught:
        parse_label_payload(" ".join(tokens))
    assert caught.value.problem.fault is IdentifierFault.FLAG


def test_unit_scan_reads_label_din_barcode_and_typed_din():
    payload = _payload()
    from_label = parse_unit_scan(payload.encode())
    assert (from_label.din, from_label.coi, from_label.product_code) == (
        payload.din, payload.coi, payload.product_code,
    )  # fmt: skip
    assert parse_unit_scan(payload.din.barcode_data).din == payload.din
    assert parse_unit_scan(payload.din.eye_readable).coi is None


# --------------------------------------------------------------------------- final product label expiry (T-7.5-e)


def test_expiry_uses_isbt_128_ds_005_day_of_year_layout():
    """DS 005 ``&>cyyjjjhhmm``: 2018-12-31 23:59 is day 365 of 2018; 2024 is a leap year with day 366."""
    assert expiry_barcode_data(datetime(2018, 12, 31, 23, 59)) == "&>0183652359"
    assert parse_expiry("&>0243660000") == datetime(2024, 12, 31, 0, 0)
    assert parse_expiry("&>0250011305") == datetime(2025, 1, 1, 13, 5)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31, 23, 59)))
def test_expiry_round_trips_to_the_minute(moment):
    local = moment.replace(second=0, microsecond=0)
    assert parse_expiry(expiry_barcode_data(local)) == local


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("&>025001130", IdentifierFault.LENGTH),
        ("=>0250011305", IdentifierFault.CHARACTER),
        ("&>0253660000", IdentifierFault.CHARACTER),  # 2025 has 365 days
        ("&>0250012400", IdentifierFault.CHARACTER),
    ],
)
def test_malformed_expiry_is_rejected_naming_the_fault(text, fault):
    with pytest.raises(IdentifierError) as caught:
        parse_expiry(text)
    assert caught.value.problem.kind is IdentifierKind.EXPIRY
    assert caught.value.problem.fault is fault


def test_final_label_payload_with_expiry_round_trips_and_scans_as_the_unit():
    """A final product label's DataMatrix adds the expiry as a fourth token; unit scans still read it (G-4)."""
    payload = LabelPayload(
        coi_issue("W1234", 2025, 7), din_issue("W1234", 2025, 42), ProductCode("S1395V00"),
        expires=datetime(2025, 9, 30, 23, 59),
    )  # fmt: skip
    encoded = payload.encode()
    assert encoded.split()[3] == "&>0252732359"
    assert parse_label_payload(encoded) == payload
    scanned = parse_unit_scan(encoded)
    assert (scanned.din, scanned.coi, scanned.expires) == (payload.din, payload.coi, payload.expires)
    assert parse_unit_scan(_payload().encode()).expires is None


def test_label_payload_refuses_an_expiry_with_time_zone_or_seconds():
    base = _payload()
    with pytest.raises(ValueError, match="wall-clock"):
        LabelPayload(base.coi, base.din, base.product_code, datetime(2025, 9, 30, 23, 59, 30))
    with pytest.raises(ValueError, match="wall-clock"):
        aware = datetime(2025, 9, 30, 23, 59).astimezone()
        LabelPayload(base.coi, base.din, base.product_code, aware)


def test_label_payload_with_a_fifth_token_is_rejected():
    with pytest.raises(IdentifierError) as caught:
        parse_label_payload(_payload().encode() + " &>0252732359 extra")
    assert caught.value.problem.kind is IdentifierKind.LABEL


def test_expiry_timedelta_sanity():
    """Day-of-year arithmetic holds across a year boundary."""
    assert parse_expiry("&>0250010000") - parse_expiry("&>0243660000") == timedelta(days=1)


@pytest.mark.parametrize(
    ("parse", "text", "fault", "position", "expected"),
    [
        (
            parse_din,
            "W123425000042",
            "check_missing",
            14,
            "the boxed check character after the 13 characters",
        ),
        (parse_din, "W12342500004", "length", None, "14"),
        (
            parse_coi,
            "CHW123425000001",
            "check_missing",
            16,
            "the boxed check character after the 15 characters",
        ),
        (parse_coi, "CHW12342500000", "length", None, "16"),
    ],
)
def test_typed_identifier_problems_say_where_and_what_is_expected(parse, text, fault, position, expected):
    """T-10.4, T-10.6: a typed DIN or COI without its check character, or of the wrong length, is refused
    with the position and what a person should have typed (the same rule for both identifiers)."""
    with pytest.raises(IdentifierError) as caught:
        parse(text)
    problem = caught.value.problem
    assert (problem.fault.value, problem.position, problem.expected) == (fault, position, expected)


def test_din_and_coi_with_the_same_fields_are_different_identifiers():
    din, coi = din_issue("W1234", 2025, 1), coi_issue("W1234", 2025, 1)
    assert din != coi and len({din, coi}) == 2
    assert coi.eye_readable == f"CH W1234 25 000001 [{coi.check_character}]"
    assert parse_coi(coi.keyboard_form) == coi and parse_din(din.barcode_data) == din
