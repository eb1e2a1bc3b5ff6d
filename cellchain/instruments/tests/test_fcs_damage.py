"""FCS damage: a damaged HEADER/TEXT is refused with InstrumentFileError or read exactly (ALCOA, Q-2.2).

Issue 16: a reader must never return different keywords or events silently.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.fcs import parse_fcs, read_fcs
from cellchain.instruments.tests.fcs_writer import FcsSpec, build_dataset

DATA = Path(__file__).parent / "data" / "fcs"
DAMAGE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _spec(version: str = "3.1", delimiter: bytes = b"/") -> FcsSpec:
    events = np.arange(40, dtype=np.float64).reshape(10, 4) * 1.5
    return FcsSpec(
        events=events,
        names=["FSC-H", "SSC-H", "FL1-Height", "Time"],
        labels=[None, None, "CD19 CAR/FITC", None],
        version=version,
        delimiter=delimiter,
        extra={"$CYT": "Test/Cytometer", "$SRC": "FL4-Height"},
    )


def _set_header_field(raw: bytes, index: int, value: int) -> bytes:
    start = 10 + 8 * index
    return raw[:start] + str(value).rjust(8).encode() + raw[start + 8 :]


def _refused_or_exact(damaged: bytes, original: bytes) -> None:
    """The property: a clear InstrumentFileError, or exactly the original events and keywords."""
    want = parse_fcs(original).first
    try:
        got = parse_fcs(damaged, source="damaged.fcs").first
    except InstrumentFileError as error:
        assert error.file == "damaged.fcs"
        return
    np.testing.assert_array_equal(got.events, want.events)
    for key, value in want.keywords.items():
        if key not in (
            "$BEGINDATA",
            "$ENDDATA",
            "$BEGINSTEXT",
            "$ENDSTEXT",
            "$BEGINANALYSIS",
            "$ENDANALYSIS",
        ):
            assert got.keywords.get(key) == value, key


def test_text_end_a_few_bytes_short_is_refused_not_truncated() -> None:
    raw = build_dataset(_spec())
    text_end = int(raw[18:26])
    with pytest.raises(InstrumentFileError, match="no closing delimiter"):
        parse_fcs(_set_header_field(raw, 1, text_end - 4))


def test_text_end_long_into_data_is_refused() -> None:
    raw = build_dataset(_spec())
    text_end = int(raw[18:26])
    with pytest.raises(InstrumentFileError):
        parse_fcs(_set_header_field(raw, 1, text_end + 5))


@pytest.mark.parametrize("shift", [-1, 1])
def test_header_data_begin_one_byte_off_is_refused_or_read_from_text(shift: int) -> None:
    spec = _spec()
    spec.text_data = None  # only HEADER: no second opinion
    spec.version = "2.0"
    raw = build_dataset(spec)
    begin = int(raw[26:34])
    damaged = _set_header_field(raw, 2, begin + shift)
    with pytest.raises(InstrumentFileError):
        parse_fcs(damaged)


@pytest.mark.parametrize("shift", [-1, 1])
def test_header_data_offsets_one_byte_off_lose_to_consistent_text(shift: int) -> None:
    raw = build_dataset(_spec())
    begin, end = int(raw[26:34]), int(raw[34:42])
    damaged = _set_header_field(_set_header_field(raw, 2, begin + shift), 3, end + shift)
    _refused_or_exact(damaged, raw)


def test_tot_times_bytes_per_event_must_match_the_data_length() -> None:
    spec = _spec()
    spec.omit = ["$TOT"]
    spec.extra = {**spec.extra, "$TOT": "11"}
    with pytest.raises(InstrumentFileError, match="expected"):
        parse_fcs(build_dataset(spec))


def test_escaped_delimiters_still_work() -> None:
    dataset = parse_fcs(build_dataset(_spec())).first
    assert dataset.keywords["$CYT"] == "Test/Cytometer"
    assert dataset.channel_labels[2] == "CD19 CAR/FITC"


@DAMAGE
@given(st.sampled_from(range(6)), st.integers(-12, 12), st.sampled_from(["2.0", "3.0", "3.1"]))
def test_every_header_offset_damage_is_refused_or_exact(field: int, delta: int, version: str) -> None:
    raw = build_dataset(_spec(version))
    current = int(raw[10 + 8 * field : 18 + 8 * field])
    _refused_or_exact(_set_header_field(raw, field, max(current + delta, 0)), raw)


@DAMAGE
@given(
    st.sampled_from([b"/", b"|", b"\x0c"]),
    st.sampled_from(["delete", "insert", "replace"]),
    st.integers(0, 10_000),
    st.sampled_from(["2.0", "3.1"]),
)
def test_every_text_delimiter_damage_is_refused_or_exact(
    delimiter: bytes, kind: str, pick: int, version: str
) -> None:
    raw = build_dataset(_spec(version, delimiter))
    text_begin, text_end = int(raw[10:18]), int(raw[18:26])
    positions = [i for i in range(text_begin, text_end + 1) if raw[i : i + 1] == delimiter]
    pos = positions[pick % len(positions)]
    if kind == "delete":
        damaged = raw[:pos] + b" " + raw[pos + 1 :]  # same length: offsets stay valid
    elif kind == "replace":
        damaged = raw[:pos] + b"x" + raw[pos + 1 :]
    else:
        damaged = raw[: pos - 1] + delimiter + raw[pos:] if pos > text_begin else raw
    _refused_or_exact(damaged, raw)


def test_supplemental_text_keywords_are_read() -> None:
    spec = _spec("3.1")
    spec.supplemental = ["$SRC", "$CYT"]
    dataset = parse_fcs(build_dataset(spec)).first
    assert dataset.keywords["$SRC"] == "FL4-Height"
    assert dataset.keywords["$CYT"] == "Test/Cytometer"


def test_guava_muse_gains_beyond_par_are_read_and_reported() -> None:
    """Guava Muse (FCS 3.0) writes $P11G..$P13G and $P11V..$P13V with $PAR 10."""
    spec = _spec("3.0")
    extra = {f"$P{n}G": "1.00" for n in (5, 6, 7)} | {f"$P{n}V": "0" for n in (5, 6, 7)}
    spec.extra = {**spec.extra, **extra}
    dataset = parse_fcs(build_dataset(spec)).first
    np.testing.assert_array_equal(dataset.events, np.asarray(spec.events).astype(np.float32))
    assert [w.code for w in dataset.warnings] == ["gain-beyond-par"]


def test_other_keywords_beyond_par_are_still_refused() -> None:
    spec = _spec()
    spec.extra = {"$P5N": "Ghost"}
    with pytest.raises(InstrumentFileError, match=r"\$PAR mismatch"):
        parse_fcs(build_dataset(spec))


def test_public_cyflow_cube_file_with_zip_supplemental_text_is_read() -> None:
    dataset = read_fcs(DATA / "cyflow_cube_8.fcs").first
    assert dataset.events.shape == (725, 10)
    assert "stext-not-text" in {w.code for w in dataset.warnings}


@pytest.mark.parametrize(
    ("name", "reason"),
    [("sample_header.fcs", "no closing delimiter"), ("corrupted.fcs", "truncated HEADER")],
)
def test_public_damaged_files_are_refused_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(InstrumentFileError, match=reason):
        read_fcs(DATA / name)
