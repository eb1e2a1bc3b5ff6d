"""FCS reader fuzzing: any bytes give a valid result or InstrumentFileError, never another exception."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.fcs import FcsFile, parse_fcs
from cellchain.instruments.tests.fcs_writer import FcsSpec, build_dataset, build_file

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_reject(raw: bytes) -> FcsFile | None:
    """The reader's contract: a complete result or InstrumentFileError, nothing else."""
    try:
        parsed = parse_fcs(raw, source="fuzz.fcs")
    except InstrumentFileError as error:
        assert error.file == "fuzz.fcs"
        assert error.offset is not None
        return None
    for dataset in parsed.datasets:
        assert dataset.events.ndim == 2
        assert dataset.events.shape[1] == len(dataset.channels)
        assert not dataset.events.flags.writeable
    return parsed


@st.composite
def fcs_specs(draw: st.DrawFn) -> FcsSpec:
    datatype = draw(st.sampled_from("IFD"))
    channels = draw(st.integers(1, 4))
    events = draw(st.integers(0, 12))
    version = draw(st.sampled_from(["2.0", "3.0", "3.1"]))
    byteorder = draw(st.sampled_from("<>"))
    if datatype == "I":
        bits = draw(st.lists(st.sampled_from([8, 16, 24, 32, 64]), min_size=channels, max_size=channels))
        top = [min(2**b - 1, 2**53) for b in bits]
        values = np.array(
            [[draw(st.integers(0, top[c])) for c in range(channels)] for _ in range(events)], dtype=np.uint64
        ).reshape(events, channels)
        ranges = [draw(st.sampled_from([2**b, 1024, 1000, 3])) for b in bits]
        return FcsSpec(
            events=values,
            names=[f"C{i}" for i in range(channels)],
            datatype="I",
            bits=bits,
            ranges=ranges,
            version=version,
            byteorder=byteorder,
        )
    floats = st.floats(-1e6, 1e6, width=32 if datatype == "F" else 64)
    values = np.array([[draw(floats) for _ in range(channels)] for _ in range(events)], dtype=np.float64)
    return FcsSpec(
        events=values.reshape(events, channels),
        names=[f"C{i}" for i in range(channels)],
        datatype=datatype,
        version=version,
        byteorder=byteorder,
        byteord_width=4 if datatype == "F" else 8,
        delimiter=draw(st.sampled_from([b"/", b"|", b"\x0c", b"\\"])),
        header_data=draw(st.sampled_from(["match", "zero"])) if version != "2.0" else "match",
    )


def _expected(spec: FcsSpec) -> np.ndarray:
    values = np.asarray(spec.events)
    if spec.datatype == "F":
        return values.astype(np.float32).astype(np.float64)
    if spec.datatype == "D":
        return values.astype(np.float64)
    masked = values.astype(np.uint64).copy()
    for i, (bits, value_range) in enumerate(zip(spec.bits or [], spec.ranges or [], strict=True)):
        needed = int(np.ceil(np.log2(float(value_range)))) if float(value_range) > 1 else 0
        if needed < bits:
            masked[:, i] &= np.uint64((1 << needed) - 1)
    return masked.astype(np.float64)


@FUZZ
@given(fcs_specs())
def test_written_events_are_read_back_exactly(spec: FcsSpec) -> None:
    dataset = parse_fcs(build_dataset(spec)).first
    np.testing.assert_array_equal(dataset.events, _expected(spec))


@FUZZ
@given(st.lists(fcs_specs(), min_size=1, max_size=3))
def test_every_chained_data_set_is_read_back(specs: list[FcsSpec]) -> None:
    parsed = parse_fcs(build_file(specs))
    assert len(parsed.datasets) == len(specs)
    for spec, dataset in zip(specs, parsed.datasets, strict=True):
        np.testing.assert_array_equal(dataset.events, _expected(spec))


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_are_rejected_or_read(raw: bytes) -> None:
    _parse_or_reject(raw)


@FUZZ
@given(st.sampled_from([b"FCS2.0", b"FCS3.0", b"FCS3.1"]), st.binary(max_size=400))
def test_random_bytes_after_a_valid_magic_are_rejected_or_read(magic: bytes, rest: bytes) -> None:
    _parse_or_reject(magic + rest)


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    raw = bytearray(build_file(draw(st.lists(fcs_specs(), min_size=1, max_size=2))))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "digit"]))
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[pos] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del raw[pos:]
        elif kind == "insert":
            raw[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del raw[pos : pos + draw(st.integers(1, 8))]
        elif kind == "digit" and raw:
            raw[pos] = draw(st.sampled_from(b"0123456789/ ,$"))
    return bytes(raw)


@FUZZ
@given(mutated_files())
def test_mutated_valid_files_are_rejected_or_read(raw: bytes) -> None:
    _parse_or_reject(raw)


KEYWORDS_TO_FUZZ = ["$PAR", "$TOT", "$P1B", "$P1R", "$P1N", "$BYTEORD", "$DATATYPE", "$MODE", "$NEXTDATA"]


@FUZZ
@given(
    fcs_specs(),
    st.sampled_from(KEYWORDS_TO_FUZZ),
    st.one_of(
        st.integers(-(10**30), 10**30).map(str),
        st.text(alphabet="0123456789-+.,eEinfaILFDCU ", min_size=1, max_size=12),
        st.text(min_size=1, max_size=6).filter(lambda t: "/" not in t),
    ),
)
def test_fuzzed_keyword_values_are_rejected_or_read(spec: FcsSpec, keyword: str, value: str) -> None:
    spec.omit = [keyword]
    spec.extra = {keyword: value}
    spec.delimiter = b"/"
    _parse_or_reject(build_dataset(spec))


@FUZZ
@given(fcs_specs(), st.tuples(*[st.integers(0, 1500)] * 4))
def test_arbitrary_header_and_text_data_offsets_are_resolved_or_rejected(
    spec: FcsSpec, offsets: tuple[int, int, int, int]
) -> None:
    """Any pair of HEADER/TEXT DATA offsets: a reported choice, or InstrumentFileError."""
    spec.header_data, spec.text_data = offsets[:2], offsets[2:]
    parsed = _parse_or_reject(build_dataset(spec))
    if parsed is None or parsed.first.event_count == 0:
        return
    begin = parsed.first.data_offsets[0]
    if begin not in (offsets[0], offsets[2]):
        raise AssertionError(f"DATA read from {begin}, neither HEADER nor TEXT offset")
    if offsets[0] and offsets[0] != offsets[2] and (offsets[2] or offsets[3]):
        assert {w.code for w in parsed.first.warnings} & {"data-offset-conflict", "data-end-off-by-one"}
