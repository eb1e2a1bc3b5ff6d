"""FCS reader: datatypes, byte orders, versions, TEXT escaping, data sets, offset conflicts (Q-2.2, Q-2.4)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.fcs import parse_fcs, read_fcs
from cellchain.instruments.tests.fcs_writer import FcsSpec, build_dataset, build_file, encode_data, fcs_bytes

RNG = np.random.default_rng(20240501)
NAMES3 = ["FSC-A", "SSC-A", "Time"]


def _floats(n: int = 64, channels: int = 3) -> np.ndarray:
    values = RNG.uniform(0, 5000, (n, channels)).astype(np.float32)
    values[:, -1] = np.arange(n, dtype=np.float32)  # a non-decreasing time channel
    return values


def warning_codes(dataset) -> set[str]:
    return {w.code for w in dataset.warnings}


# ------------------------------------------------------------------ datatypes and byte orders


@pytest.mark.parametrize("version", ["2.0", "3.0", "3.1"])
@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_float32_events_round_trip_in_every_version_and_byte_order(version: str, byteorder: str) -> None:
    events = _floats()
    raw = fcs_bytes(events, NAMES3, version=version, byteorder=byteorder)
    dataset = parse_fcs(raw, source="tube.fcs").first
    assert dataset.version == version
    assert dataset.events.dtype == np.float64
    np.testing.assert_array_equal(dataset.events, events.astype(np.float64))
    assert dataset.channel_names == tuple(NAMES3)


@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_float64_events_round_trip(byteorder: str) -> None:
    events = RNG.normal(0, 1e6, (40, 4))
    raw = fcs_bytes(events, ["A", "B", "C", "D"], datatype="D", byteorder=byteorder, byteord_width=8)
    np.testing.assert_array_equal(parse_fcs(raw).first.events, events)


@pytest.mark.parametrize("bits", [8, 16, 24, 32, 64])
@pytest.mark.parametrize("byteorder", ["<", ">"])
def test_integer_events_round_trip_for_every_width(bits: int, byteorder: str) -> None:
    top = min(2**bits - 1, 2**53)
    events = RNG.integers(0, top, (50, 3), dtype=np.uint64, endpoint=True)
    raw = fcs_bytes(
        events, ["A", "B", "C"], datatype="I", bits=[bits] * 3, byteorder=byteorder, ranges=[2**bits] * 3
    )
    dataset = parse_fcs(raw).first
    np.testing.assert_array_equal(dataset.events, events.astype(np.float64))
    assert all(channel.mask is None for channel in dataset.channels)


@pytest.mark.parametrize(("byteord", "expected"), [("1,2", 0x0102 & 0xFFFF), ("2,1", 0x0201)])
def test_two_byte_byteord_keywords_choose_the_byte_order(byteord: str, expected: int) -> None:
    spec = FcsSpec(
        events=np.zeros((1, 1)),
        names=["A"],
        datatype="I",
        bits=[16],
        ranges=[65536],
        data_override=bytes([0x02, 0x01]),
        byteord_width=2,
        byteorder="<" if byteord == "1,2" else ">",
    )
    dataset = parse_fcs(build_dataset(spec)).first
    assert dataset.keywords["$BYTEORD"] == byteord
    assert dataset.events[0, 0] == expected


@pytest.mark.parametrize(("byteorder", "expected"), [("<", 0x030201), (">", 0x010203)])
def test_24_bit_integers_are_unpacked_from_three_bytes(byteorder: str, expected: int) -> None:
    spec = FcsSpec(
        events=np.zeros((2, 1)),
        names=["A"],
        datatype="I",
        bits=[24],
        ranges=[2**24],
        byteorder=byteorder,
        data_override=bytes([1, 2, 3, 0xFF, 0xFF, 0xFF]),
    )
    events = parse_fcs(build_dataset(spec)).first.events
    assert events[:, 0].tolist() == [expected, 0xFFFFFF]


@pytest.mark.parametrize(
    ("value_range", "mask"), [(1024, 1023), (1000, 1023), (1025, 2047), ("1024.0", 1023), (1, 0)]
)
def test_integer_values_are_masked_to_the_bits_of_pnr(value_range: float | str, mask: int) -> None:
    """FCS 3.1: bits above the power of two that holds $PnR are ignored."""
    events = np.array([[0xFFFF, 5], [0x0401, 7]])
    raw = fcs_bytes(events, ["CD3", "Time"], datatype="I", bits=[16, 16], ranges=[value_range, 65536])
    dataset = parse_fcs(raw).first
    assert dataset.channels[0].mask == mask
    assert dataset.events[:, 0].tolist() == [0xFFFF & mask, 0x0401 & mask]
    assert dataset.events[:, 1].tolist() == [5, 7]


def test_mixed_integer_widths_with_masks_are_decoded_per_channel() -> None:
    events = RNG.integers(0, 2**16, (30, 4))
    raw = fcs_bytes(
        events,
        ["A", "B", "C", "D"],
        datatype="I",
        bits=[8, 16, 24, 32],
        byteorder=">",
        ranges=[256, 512, 2**24, 2**32],
    )
    expected = events.copy()
    expected[:, 0] &= 0xFF
    expected[:, 1] &= 511
    for dtype in ("float64", "native"):
        dataset = parse_fcs(raw, dtype=dtype).first
        np.testing.assert_array_equal(dataset.events, expected)
    assert parse_fcs(raw, dtype="native").first.events.dtype == np.uint32


def test_native_dtype_keeps_the_stored_type_in_machine_byte_order() -> None:
    events = _floats()
    little = parse_fcs(fcs_bytes(events, NAMES3, byteorder="<"), dtype="native").first.events
    big = parse_fcs(fcs_bytes(events, NAMES3, byteorder=">"), dtype="native").first.events
    assert little.dtype == np.float32 and big.dtype == np.float32
    assert big.dtype.isnative
    np.testing.assert_array_equal(little, events)
    np.testing.assert_array_equal(big, events)
    ints = parse_fcs(
        fcs_bytes(np.array([[70000]]), ["A"], datatype="I", bits=[32], byteorder=">", ranges=[2**32]),
        dtype="native",
    ).first.events
    assert ints.dtype == np.uint32 and ints[0, 0] == 70000


def test_events_are_read_only_so_a_record_cannot_be_altered_in_memory() -> None:
    for dtype in ("float64", "native"):
        events = parse_fcs(fcs_bytes(_floats(), NAMES3), dtype=dtype).first.events
        with pytest.raises(ValueError, match="read-only"):
            events[0, 0] = 1.0


def test_empty_data_set_has_zero_events() -> None:
    dataset = parse_fcs(fcs_bytes(np.zeros((0, 3), dtype=np.float32), NAMES3)).first
    assert dataset.events.shape == (0, 3)


# ------------------------------------------------------------------ TEXT


def test_doubled_delimiters_in_values_are_literal_delimiters() -> None:
    raw = fcs_bytes(_floats(), NAMES3, extra={"$FIL": "run/7//a.fcs", "OPERATOR": "Li/Wang"})
    keywords = parse_fcs(raw).first.keywords
    assert keywords["$FIL"] == "run/7//a.fcs"
    assert keywords["OPERATOR"] == "Li/Wang"


@pytest.mark.parametrize("delimiter", [b"|", b"\x0c", b"\\", b"*", b"]", b"^"])
def test_any_delimiter_byte_is_accepted(delimiter: bytes) -> None:
    value = "a" + delimiter.decode("latin-1") + "b"
    raw = fcs_bytes(_floats(), NAMES3, delimiter=delimiter, extra={"NOTE": value})
    assert parse_fcs(raw).first.keywords["NOTE"] == value


def test_keywords_are_case_insensitive_and_returned_upper_case() -> None:
    raw = fcs_bytes(_floats(), NAMES3, extra={"$cyt": "Canto II", "$P1s": "CD3 FITC"})
    dataset = parse_fcs(raw).first
    assert dataset.keywords["$CYT"] == "Canto II"
    assert dataset.channels[0].label == "CD3 FITC"
    assert dataset.channel_index("CD3 FITC") == 0


def test_utf8_values_are_decoded_and_latin1_is_a_reported_fallback() -> None:
    raw = fcs_bytes(_floats(), NAMES3, extra={"$OP": "王医生"})
    assert parse_fcs(raw).first.keywords["$OP"] == "王医生"
    latin = raw.replace("王医生".encode(), b"\xb5L\xe9\xff\xfe\xfd\xfc\xfb\xfa")
    dataset = parse_fcs(latin).first
    assert dataset.keywords["$OP"] == "µLéÿþýüûú"
    assert "text-latin1" in warning_codes(dataset)


def test_supplemental_text_keywords_are_merged() -> None:
    spec = FcsSpec(
        events=_floats(), names=NAMES3, version="3.1", extra={"$CYT": "Aria"}, supplemental=["$CYT", "$P2N"]
    )
    raw = build_dataset(spec)
    assert raw.index(b"$CYT") > int(raw[18:26])  # really written after the primary TEXT
    dataset = parse_fcs(raw).first
    assert dataset.keywords["$CYT"] == "Aria"
    assert dataset.channel_names == tuple(NAMES3)


def test_supplemental_text_clash_keeps_the_primary_value_and_is_reported() -> None:
    spec = FcsSpec(events=_floats(), names=NAMES3, extra={"$CYT": "Aria", "ZZZZ": "B"}, supplemental=["ZZZZ"])
    raw = build_dataset(spec).replace(b"/ZZZZ/B/", b"/$CYT/B/")
    dataset = parse_fcs(raw).first
    assert dataset.keywords["$CYT"] == "Aria"
    assert "stext-clash" in warning_codes(dataset)


def test_fcs20_without_tot_and_pnn_derives_them_with_warnings() -> None:
    events = _floats(10)
    raw = fcs_bytes(events, NAMES3, version="2.0", omit=["$TOT", "$P1N"])
    dataset = parse_fcs(raw).first
    assert dataset.event_count == 10
    assert dataset.channel_names == ("P1", "SSC-A", "Time")
    assert {"tot-derived", "missing-pnn"} <= warning_codes(dataset)


# ------------------------------------------------------------------ data sets


def test_multiple_data_sets_are_followed_through_nextdata() -> None:
    first = FcsSpec(events=_floats(20), names=NAMES3)
    second = FcsSpec(
        events=RNG.integers(0, 1000, (7, 2)),
        names=["CD3", "Time"],
        datatype="I",
        bits=[16, 16],
        ranges=[1024, 1024],
        version="3.1",
        byteorder=">",
    )
    third = FcsSpec(events=RNG.normal(size=(3, 1)), names=["X"], datatype="D", byteord_width=8)
    raw = build_file([first, second, third])
    parsed = parse_fcs(raw, source="multi.fcs")
    assert [d.event_count for d in parsed.datasets] == [20, 7, 3]
    assert [d.index for d in parsed.datasets] == [0, 1, 2]
    assert parsed.datasets[1].offset == len(build_dataset(first, nextdata=1))
    np.testing.assert_array_equal(parsed.datasets[1].events, np.asarray(second.events))
    np.testing.assert_array_equal(parsed.datasets[2].events, np.asarray(third.events))
    assert {d.sha256 for d in parsed.datasets} == {hashlib.sha256(raw).hexdigest()}


def test_nextdata_beyond_the_file_is_an_error_with_offset() -> None:
    raw = build_dataset(FcsSpec(events=_floats(5), names=NAMES3), nextdata=10_000)
    with pytest.raises(InstrumentFileError, match="NEXTDATA") as caught:
        parse_fcs(raw, source="chain.fcs")
    assert caught.value.offset == 0
    assert caught.value.file == "chain.fcs"


# ------------------------------------------------------------------ HEADER vs TEXT offsets


def _with_extra_row(events: np.ndarray, extra_time: float) -> tuple[FcsSpec, int]:
    """Spec whose DATA holds one extra row after the events (so a shifted segment still fits)."""
    spec = FcsSpec(events=events, names=NAMES3)
    extra = np.array([[1.0, 2.0, extra_time]], dtype=np.float32)
    spec.data_override = encode_data(spec) + extra.astype("<f4").tobytes()
    return spec, events.shape[1] * 4


def test_header_zero_offsets_use_text_offsets_and_report_it() -> None:
    """FCS 3.x: HEADER holds 0 when DATA lies beyond 99,999,999 bytes; TEXT has the offsets."""
    events = _floats()
    dataset = parse_fcs(fcs_bytes(events, NAMES3, header_data="zero")).first
    np.testing.assert_array_equal(dataset.events, events)
    assert "header-data-zero" in warning_codes(dataset)


def test_text_offsets_with_wrong_length_lose_to_header_and_the_choice_is_reported() -> None:
    events = _floats()
    good = parse_fcs(fcs_bytes(events, NAMES3)).first.data_offsets
    spec = FcsSpec(events=events, names=NAMES3, text_data=(good[0], good[1] - 8))
    dataset = parse_fcs(build_dataset(spec)).first
    np.testing.assert_array_equal(dataset.events, events)
    conflict = [w for w in dataset.warnings if w.code == "data-offset-conflict"]
    assert conflict and "used HEADER" in conflict[0].message


def test_header_offsets_with_wrong_length_lose_to_text() -> None:
    events = _floats()
    good = parse_fcs(fcs_bytes(events, NAMES3)).first.data_offsets
    spec = FcsSpec(events=events, names=NAMES3, header_data=(good[0], good[1] + 40))
    dataset = parse_fcs(build_dataset(spec)).first
    np.testing.assert_array_equal(dataset.events, events)
    assert "used TEXT" in next(w.message for w in dataset.warnings if w.code == "data-offset-conflict")


@pytest.mark.parametrize("shifted", ["TEXT", "HEADER"])
def test_equal_length_conflict_is_resolved_by_the_monotonic_time_channel(shifted: str) -> None:
    events = _floats(30)
    spec, row = _with_extra_row(events, extra_time=-5.0)
    good = parse_fcs(build_dataset(FcsSpec(events=events, names=NAMES3))).first.data_offsets
    wrong = (good[0] + row, good[1] + row)
    if shifted == "TEXT":
        spec.text_data, spec.header_data = wrong, good
    else:
        spec.text_data, spec.header_data = good, wrong
    dataset = parse_fcs(build_dataset(spec)).first
    np.testing.assert_array_equal(dataset.events, events)
    message = next(w.message for w in dataset.warnings if w.code == "data-offset-conflict")
    assert "time channel" in message
    assert ("used HEADER" in message) == (shifted == "TEXT")


def test_equal_length_conflict_without_time_channel_is_an_error() -> None:
    events = _floats(10)
    names = ["FSC-A", "SSC-A", "CD3"]
    spec = FcsSpec(events=events, names=names)
    spec.data_override = encode_data(spec) + b"\0" * 12
    good = parse_fcs(build_dataset(FcsSpec(events=events, names=names))).first.data_offsets
    spec.header_data, spec.text_data = good, (good[0] + 12, good[1] + 12)
    with pytest.raises(InstrumentFileError, match="no time channel") as caught:
        parse_fcs(build_dataset(spec))
    assert caught.value.offset is not None


def test_equal_length_conflict_with_two_monotonic_readings_is_an_error() -> None:
    events = _floats(10)
    spec, row = _with_extra_row(events, extra_time=1e6)
    good = parse_fcs(build_dataset(FcsSpec(events=events, names=NAMES3))).first.data_offsets
    spec.header_data, spec.text_data = good, (good[0] + row, good[1] + row)
    with pytest.raises(InstrumentFileError, match="cannot be chosen"):
        parse_fcs(build_dataset(spec))


def test_end_offset_one_past_the_data_is_accepted_with_a_warning() -> None:
    events = _floats()
    spec = FcsSpec(events=events, names=NAMES3, end_off_by_one=True)
    dataset = parse_fcs(build_dataset(spec)).first
    np.testing.assert_array_equal(dataset.events, events)
    assert "data-end-off-by-one" in warning_codes(dataset)


def test_text_offsets_missing_in_fcs3_use_header_with_warning() -> None:
    events = _floats()
    dataset = parse_fcs(fcs_bytes(events, NAMES3, text_data=None)).first
    np.testing.assert_array_equal(dataset.events, events)
    assert "text-data-offsets-missing" in warning_codes(dataset)


def test_offsets_that_match_nothing_are_an_error_naming_the_offset() -> None:
    events = _floats()
    good = parse_fcs(fcs_bytes(events, NAMES3)).first.data_offsets
    spec = FcsSpec(
        events=events, names=NAMES3, header_data=(good[0], good[1] - 4), text_data=(good[0], good[1] - 8)
    )
    with pytest.raises(InstrumentFileError, match="length 764 differs from the expected length") as caught:
        parse_fcs(build_dataset(spec), source="bad.fcs")
    assert caught.value.offset == good[0]


# ------------------------------------------------------------------ corrupt files


def _valid() -> bytes:
    return fcs_bytes(_floats(), NAMES3)


@pytest.mark.parametrize("keep", [0, 10, 57, 58, 100, -1])
def test_truncated_files_raise_with_an_offset(keep: int) -> None:
    raw = _valid()
    cut = raw[:keep] if keep >= 0 else raw[:-5]
    with pytest.raises(InstrumentFileError) as caught:
        parse_fcs(cut, source="cut.fcs")
    assert caught.value.offset is not None
    assert "cut.fcs" in str(caught.value)


def test_truncated_data_segment_says_the_file_is_truncated() -> None:
    with pytest.raises(InstrumentFileError, match="truncated"):
        parse_fcs(_valid()[:-5])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"extra": {"$MODE": "C"}, "omit": ["$MODE"]}, "list mode"),
        ({"extra": {"$DATATYPE": "A"}, "omit": ["$DATATYPE"]}, "DATATYPE A"),
        ({"omit": ["$PAR"]}, r"missing required keyword \$PAR"),
        ({"omit": ["$P2B"]}, r"missing required keyword \$P2B"),
        ({"omit": ["$TOT"]}, r"missing required keyword \$TOT"),
        ({"omit": ["$P3N"]}, r"missing required keyword \$P3N"),
        ({"extra": {"$P4N": "ghost"}}, r"\$PAR mismatch"),
        ({"extra": {"$BYTEORD": "3,4,1,2"}, "omit": ["$BYTEORD"]}, "BYTEORD"),
        ({"extra": {"$PAR": "two"}, "omit": ["$PAR"]}, "not an integer"),
        ({"bits": [16, 32, 32]}, r"\$P1B=16 is not valid for \$DATATYPE F"),
    ],
)
def test_bad_keywords_raise_clear_errors(change: dict, message: str) -> None:
    raw = fcs_bytes(_floats(), NAMES3, **change)
    with pytest.raises(InstrumentFileError, match=message) as caught:
        parse_fcs(raw)
    assert caught.value.offset is not None


def test_integer_data_without_pnr_is_an_error() -> None:
    raw = fcs_bytes(np.ones((3, 1)), ["A"], datatype="I", omit=["$P1R"])
    with pytest.raises(InstrumentFileError, match=r"\$P1R"):
        parse_fcs(raw)


def test_unsupported_integer_width_is_an_error() -> None:
    raw = fcs_bytes(np.ones((3, 1)), ["A"], datatype="I", bits=[16], extra={"$P1B": "12"}, omit=["$P1B"])
    with pytest.raises(InstrumentFileError, match="P1B=12"):
        parse_fcs(raw)


def test_a_keyword_without_value_is_an_error() -> None:
    raw = _valid()
    text_end = int(raw[18:26])
    broken = raw[:text_end] + b"ORPHAN/" + raw[text_end + 1 :]
    with pytest.raises(InstrumentFileError):
        parse_fcs(broken)


def test_not_an_fcs_file_is_rejected() -> None:
    with pytest.raises(InstrumentFileError, match="not an FCS"):
        parse_fcs(b"%PDF-1.7" + b" " * 100)


def test_header_offset_field_with_letters_is_rejected_at_its_offset() -> None:
    raw = bytearray(_valid())
    raw[26:34] = b"   12x45"
    with pytest.raises(InstrumentFileError, match="not a number") as caught:
        parse_fcs(bytes(raw))
    assert caught.value.offset == 26


# ------------------------------------------------------------------ files on disk


def test_read_fcs_hashes_the_raw_file_and_names_it(tmp_path) -> None:
    raw = _valid()
    path = tmp_path / "CAR-T_0001.fcs"
    path.write_bytes(raw)
    parsed = read_fcs(path)
    assert parsed.source == "CAR-T_0001.fcs"
    assert parsed.sha256 == hashlib.sha256(raw).hexdigest() == parsed.first.sha256
    assert parsed.size == len(raw)


def test_read_fcs_of_a_missing_file_is_an_instrument_file_error(tmp_path) -> None:
    with pytest.raises(InstrumentFileError, match="cannot read"):
        read_fcs(tmp_path / "absent.fcs")


def test_to_flow_events_gives_float64_events_named_by_pnn_and_pns() -> None:
    raw = fcs_bytes(_floats(), NAMES3, labels=[None, "SSC", None], extra={"$FIL": "tube1.fcs"})
    flow = parse_fcs(raw).first.to_flow_events()
    assert flow.sample == "tube1.fcs"
    assert flow.channel_labels == (None, "SSC", None)
    assert flow.column("SSC").dtype == np.float64


def test_data_offsets_overlapping_the_text_segment_are_rejected() -> None:
    events = _floats(4)
    text_begin = 58
    spec = FcsSpec(events=events, names=NAMES3, header_data=(text_begin, text_begin + 47), text_data=None)
    with pytest.raises(InstrumentFileError, match="overlaps the TEXT segment"):
        parse_fcs(build_dataset(spec))
