"""A small FCS writer for tests and the bench (not product code): every datatype, byte order, version.

It writes what the FCS 3.1 specification describes and, on request, what broken writers produce:
HEADER/TEXT DATA offset conflicts, zero HEADER offsets, end offsets one byte too far, supplemental TEXT,
several data sets chained by $NEXTDATA. Offsets in TEXT are zero-padded to a fixed width so the TEXT
length does not depend on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

_OFFSET_WIDTH = 12


@dataclass
class FcsSpec:
    """What to write for one data set; ``events`` is (n_events, n_channels)."""

    events: np.ndarray
    names: Sequence[str]
    labels: Sequence[str | None] | None = None
    version: str = "3.1"
    datatype: str = "F"
    bits: Sequence[int] | None = None
    byteorder: str = "<"
    byteord_width: int = 4
    ranges: Sequence[float | str] | None = None
    extra: dict[str, str] = field(default_factory=dict)
    omit: Sequence[str] = ()
    delimiter: bytes = b"/"
    supplemental: Sequence[str] = ()
    header_data: str | tuple[int, int] = "match"
    text_data: str | tuple[int, int] | None = "match"
    end_off_by_one: bool = False
    data_override: bytes | None = None
    text_padding: bytes = b""


def encode_data(spec: FcsSpec) -> bytes:
    """DATA bytes for the spec's events in its datatype, widths and byte order."""
    events = np.asarray(spec.events)
    order = spec.byteorder
    if spec.datatype == "F":
        return events.astype(f"{order}f4").tobytes()
    if spec.datatype == "D":
        return events.astype(f"{order}f8").tobytes()
    bits = list(spec.bits or [16] * events.shape[1])
    columns = [_int_column(events[:, i], b, order) for i, b in enumerate(bits)]
    return np.hstack(columns).tobytes() if columns else b""


def _int_column(values: np.ndarray, bits: int, order: str) -> np.ndarray:
    ints = np.asarray(values).astype(np.uint64)
    if bits == 24:
        four = ints.astype(f"{order}u4").view(np.uint8).reshape(-1, 4)
        return four[:, :3] if order == "<" else four[:, 1:]
    return ints.astype(f"{order}u{bits // 8}").view(np.uint8).reshape(-1, bits // 8)


def _byteord(spec: FcsSpec) -> str:
    digits = [str(i) for i in range(1, spec.byteord_width + 1)]
    return ",".join(digits if spec.byteorder == "<" else digits[::-1])


def _keywords(spec: FcsSpec, tot: int, nextdata: int) -> list[tuple[str, str]]:
    n_channels = len(spec.names)
    bits = list(spec.bits or ([32] * n_channels if spec.datatype == "F" else [64] * n_channels))
    if spec.datatype == "I" and spec.bits is None:
        bits = [16] * n_channels
    ranges = list(spec.ranges or [2**b if spec.datatype == "I" else 262144 for b in bits])
    pairs: list[tuple[str, str]] = [
        ("$BYTEORD", _byteord(spec)),
        ("$DATATYPE", spec.datatype),
        ("$MODE", "L"),
        ("$NEXTDATA", str(nextdata).zfill(_OFFSET_WIDTH)),
        ("$PAR", str(n_channels)),
        ("$TOT", str(tot)),
    ]
    for i, name in enumerate(spec.names, start=1):
        pairs += [(f"$P{i}N", name), (f"$P{i}B", str(bits[i - 1])), (f"$P{i}E", "0,0")]
        pairs.append((f"$P{i}R", str(ranges[i - 1])))
        label = spec.labels[i - 1] if spec.labels else None
        if label:
            pairs.append((f"$P{i}S", label))
    kept = [(k, v) for k, v in pairs if k not in spec.omit]
    return kept + list(spec.extra.items())


def _text(pairs: list[tuple[str, str]], delimiter: bytes) -> bytes:
    def escape(text: str) -> bytes:
        return text.encode("utf-8").replace(delimiter, delimiter + delimiter)

    body = delimiter.join(escape(k) + delimiter + escape(v) for k, v in pairs)
    return delimiter + body + delimiter


def _offset_pairs(
    version: str, stext: tuple[int, int], data: tuple[int, int] | None
) -> list[tuple[str, str]]:
    if version == "2.0" or data is None:
        return []
    pad = _OFFSET_WIDTH
    return [
        ("$BEGINANALYSIS", "0".zfill(pad)),
        ("$ENDANALYSIS", "0".zfill(pad)),
        ("$BEGINSTEXT", str(stext[0]).zfill(pad)),
        ("$ENDSTEXT", str(stext[1]).zfill(pad)),
        ("$BEGINDATA", str(data[0]).zfill(pad)),
        ("$ENDDATA", str(data[1]).zfill(pad)),
    ]


def _header(version: str, text: tuple[int, int], data: tuple[int, int]) -> bytes:
    if max(data) > 99_999_999:
        data = (0, 0)  # FCS 3.x: HEADER holds zeros and TEXT the offsets beyond 8 digits
    fields = [*text, *data, 0, 0]
    return f"FCS{version}    ".encode() + b"".join(str(v).rjust(8).encode() for v in fields)


def build_dataset(spec: FcsSpec, nextdata: int = 0) -> bytes:
    """One data set (HEADER, TEXT, optional supplemental TEXT, DATA) with offsets relative to its start."""
    events = np.asarray(spec.events)
    data = spec.data_override if spec.data_override is not None else encode_data(spec)
    pairs = _keywords(spec, events.shape[0], nextdata)
    primary = [p for p in pairs if p[0] not in spec.supplemental]
    secondary = [p for p in pairs if p[0] in spec.supplemental]
    # Lengths first with placeholder offsets (fixed width), then the real ones.
    placeholder = _offset_pairs(spec.version, (0, 0), (0, 0) if spec.text_data is not None else None)
    text_len = len(_text(primary + placeholder, spec.delimiter) + spec.text_padding)
    stext = _text(secondary, spec.delimiter) if secondary else b""
    text_begin = 58
    stext_begin = text_begin + text_len
    data_begin = stext_begin + len(stext)
    data_end = data_begin + len(data) - 1 + (1 if spec.end_off_by_one else 0)
    if not data:
        data_begin = data_end = 0
    real = (data_begin, data_end)
    stext_range = (stext_begin, stext_begin + len(stext) - 1) if stext else (0, 0)
    text_data = real if spec.text_data == "match" else spec.text_data
    offsets = _offset_pairs(spec.version, stext_range, text_data)
    text = _text(primary + offsets, spec.delimiter) + spec.text_padding
    assert len(text) == text_len
    if isinstance(spec.header_data, str):
        header_data = {"match": real, "zero": (0, 0)}[spec.header_data]
    else:
        header_data = spec.header_data
    header = _header(spec.version, (text_begin, text_begin + text_len - 1), header_data)
    return header + text + stext + data


def build_file(specs: Sequence[FcsSpec]) -> bytes:
    """Several data sets chained by $NEXTDATA (offset of the next data set from the current one)."""
    chunks = [build_dataset(spec, nextdata=0) for spec in specs]
    out = b""
    for i, spec in enumerate(specs):
        nextdata = len(chunks[i]) if i < len(specs) - 1 else 0
        out += build_dataset(spec, nextdata=nextdata)
    return out


def fcs_bytes(events: np.ndarray, names: Sequence[str], **options: object) -> bytes:
    """Shorthand: one data set."""
    return build_dataset(FcsSpec(events=events, names=names, **options))  # type: ignore[arg-type]
