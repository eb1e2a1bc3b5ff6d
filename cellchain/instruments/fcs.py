"""Read Flow Cytometry Standard files (FCS 2.0, 3.0, 3.1) into numpy arrays (Q-2.2, Q-2.4, ALCOA).

CAR+ rate and purity come from flow cytometry list-mode files (Q-2.2, Q-2.4). This reader is our own,
built on ``numpy.frombuffer`` views so a file of millions of events is decoded without a Python loop
over events. It follows the ISAC FCS 3.1 specification (Spidlen et al., Cytometry A 2010) and reads
FCS 2.0 and 3.0 files too.

What is read
    * HEADER: version, TEXT/DATA/ANALYSIS offsets (8-byte ASCII fields, offsets relative to the start
      of the data set, end offsets inclusive).
    * TEXT: the first byte is the delimiter; a doubled delimiter inside a keyword or value is a literal
      delimiter (in a run of an odd number of delimiters the last one separates fields). Keywords are
      case-insensitive and returned upper-case (``$PAR``). Values are UTF-8 (3.1), else Latin-1 with a
      warning. FCS 3.x supplemental TEXT ($BEGINSTEXT/$ENDSTEXT) is merged; the primary TEXT wins on a
      clash, with a warning; a supplemental segment that is not TEXT (CyFlow Cube puts a ZIP archive
      there) is skipped with a warning. A TEXT whose last field has no closing delimiter (HEADER TEXT
      end offset short or long) or whose keyword is not printable ASCII (a damaged delimiter) is refused,
      never read as a cut value. $PnG/$PnV for parameters beyond $PAR (Guava Muse) are tolerated with
      a warning; any other parameter keyword beyond $PAR is refused.
    * DATA, list mode ($MODE L) only: $DATATYPE I (8/16/24/32/64-bit unsigned; per-channel widths may
      differ; values masked to the bits of $PnR rounded up to a power of two, as the spec requires), F
      (32-bit) and D (64-bit); $BYTEORD 1,2,3,4 / 1,2 (little-endian) and 4,3,2,1 / 2,1 (big-endian).
      ASCII data ($DATATYPE A), histogram modes (C, U) and other byte orders raise an error.
    * Several data sets chained by $NEXTDATA (offset relative to the current data set).

Offsets
    FCS 3.x puts the DATA offsets in HEADER and in TEXT ($BEGINDATA/$ENDDATA); HEADER holds zeros when
    an offset exceeds 99,999,999. When they disagree, the candidate whose length equals
    $TOT x (sum of $PnB)/8 is used; if both do, the one giving a non-decreasing time channel is used; an
    end offset one byte too far (a common writer bug) is accepted only where it cannot be a begin offset
    one byte early: the end points at the file end (or its FCS 3.x CRC) or DATA starts right after TEXT. Every such decision is recorded in
    :attr:`FcsDataSet.warnings`, never taken silently; anything else raises.

Required keywords (else :class:`InstrumentFileError`): $BYTEORD, $DATATYPE, $MODE, $PAR, $PnB for every
parameter, $PnR for integer data, and in 3.x $TOT and $PnN. FCS 2.0 files may omit $TOT (derived from
the DATA length, with a warning) and $PnN (named ``P<n>``, with a warning). $PnE/$PnG are not applied:
events are the channel values as stored.

Entry points: :func:`read_fcs` (a path) and :func:`parse_fcs` (bytes). Both return :class:`FcsFile`,
whose :attr:`FcsFile.datasets` are :class:`FcsDataSet` records carrying the SHA-256 of the raw file.
``events`` is a read-only 2-D array: float64 by default, or the native stored type with
``dtype="native"`` (zero-copy when the file's byte order is the machine's and no masking applies).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np

from cellchain.domain.flow import FlowEvents
from cellchain.instruments.errors import InstrumentFileError

HEADER_LENGTH = 58
CRC_LENGTH = 8
"""FCS 3.x ends the file with an 8-byte CRC field after the last data set."""
"""Bytes 0-57: version (6), spaces (4), six 8-byte ASCII offsets."""

FCS_VERSIONS = {b"FCS2.0": "2.0", b"FCS3.0": "3.0", b"FCS3.1": "3.1"}
INTEGER_WIDTHS = (8, 16, 24, 32, 64)
TIME_CHANNEL_NAMES = ("TIME",)

EventDtype = Literal["float64", "native"]
_PARAMETER_KEYWORD = re.compile(r"^\$P(\d+)([A-Z]+)$")
_PRINTABLE_KEYWORD = re.compile(rb"[\x20-\x7e]+")
BEYOND_PAR_TOLERATED = frozenset({"G", "V"})
"""Tolerated beyond $PAR: Guava Muse (FCS 3.0) writes $P11G..$P13G and $P11V..$P13V with $PAR 10."""


@dataclass(frozen=True)
class FcsWarning:
    """Something the reader decided or tolerated; ``code`` is stable, ``message`` is for people."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class FcsChannel:
    """One parameter: 1-based ``number`` n of $PnN, name, stain label ($PnS), bits, range, applied mask."""

    number: int
    name: str
    label: str | None
    bits: int
    range: float | None
    mask: int | None


@dataclass(frozen=True, eq=False)
class FcsDataSet:
    """One FCS data set: keywords, channels and the events matrix ``events[event, channel]``."""

    source: str
    sha256: str
    index: int
    offset: int
    version: str
    keywords: Mapping[str, str]
    channels: tuple[FcsChannel, ...]
    events: np.ndarray
    data_offsets: tuple[int, int]
    warnings: tuple[FcsWarning, ...]

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(channel.name for channel in self.channels)

    @property
    def channel_labels(self) -> tuple[str | None, ...]:
        return tuple(channel.label for channel in self.channels)

    @property
    def event_count(self) -> int:
        return int(self.events.shape[0])

    def channel_index(self, name: str) -> int:
        """Column of a channel named by $PnN, else by a unique $PnS."""
        if name in self.channel_names:
            return self.channel_names.index(name)
        labelled = [i for i, label in enumerate(self.channel_labels) if label == name]
        if len(labelled) == 1:
            return labelled[0]
        raise KeyError(f"{self.source}: no single channel {name!r}; channels: {self.channel_names}")

    def column(self, name: str) -> np.ndarray:
        return self.events[:, self.channel_index(name)]

    def to_flow_events(self, sample: str | None = None) -> FlowEvents:
        """The events as a domain :class:`FlowEvents` (float64) for gating (Q-2.2)."""
        values = np.asarray(self.events, dtype=np.float64)
        name = sample or self.keywords.get("$FIL") or self.source
        return FlowEvents(name, self.channel_names, self.channel_labels, values)


@dataclass(frozen=True, eq=False)
class FcsFile:
    """A whole FCS file: its name, SHA-256 of the raw bytes (ALCOA), size and data sets in file order."""

    source: str
    sha256: str
    size: int
    datasets: tuple[FcsDataSet, ...]

    @property
    def first(self) -> FcsDataSet:
        return self.datasets[0]


@dataclass(frozen=True)
class _Layout:
    """How DATA is laid out: datatype, byte order, per-channel widths and masks, event count."""

    datatype: str
    order: str
    widths: tuple[int, ...]
    masks: tuple[int | None, ...]
    tot: int | None

    @property
    def row_bytes(self) -> int:
        return sum(self.widths) // 8


class _Context:
    """The raw bytes and the file name, so every error names the file."""

    def __init__(self, raw: bytes, source: str) -> None:
        self.raw = raw
        self.source = source
        self.text_range = (0, 0)
        """Absolute [start, stop) of the primary TEXT of the data set being read."""
        self.segment_ends: set[int] = set()
        """Absolute stops of the TEXT and supplemental TEXT: a DATA begin there cannot be one byte early."""

    def error(self, reason: str, offset: int) -> InstrumentFileError:
        return InstrumentFileError(self.source, reason, offset=offset)


def read_fcs(path: str | Path, *, dtype: EventDtype = "float64") -> FcsFile:
    """Read an FCS file from disk; see the module docstring for what is accepted."""
    file_path = Path(path)
    try:
        raw = file_path.read_bytes()
    except OSError as exc:
        raise InstrumentFileError(file_path.name, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_fcs(raw, source=file_path.name, dtype=dtype)


def parse_fcs(raw: bytes, *, source: str = "<bytes>", dtype: EventDtype = "float64") -> FcsFile:
    """Parse the bytes of a whole FCS file into :class:`FcsFile` (all data sets, $NEXTDATA chain)."""
    if dtype not in ("float64", "native"):
        raise ValueError(f"dtype must be 'float64' or 'native', not {dtype!r}")
    raw = bytes(raw)
    # hashlib releases the GIL on large buffers: hash in a second thread while the events are decoded.
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(raw).hexdigest())
        datasets = _parse_datasets(_Context(raw, source), dtype)
        sha256 = digest.result()
    datasets = tuple(dataclasses.replace(dataset, sha256=sha256) for dataset in datasets)
    return FcsFile(source, sha256, len(raw), datasets)


def _parse_datasets(ctx: _Context, dtype: EventDtype) -> tuple[FcsDataSet, ...]:
    datasets: list[FcsDataSet] = []
    base = 0
    while True:
        dataset, next_offset = _parse_dataset(ctx, base, len(datasets), "", dtype)
        datasets.append(dataset)
        if next_offset == 0:
            return tuple(datasets)
        base = _next_dataset_base(ctx, base, next_offset)


def _next_dataset_base(ctx: _Context, base: int, next_offset: int) -> int:
    target = base + next_offset
    if next_offset < 0 or target + HEADER_LENGTH > len(ctx.raw):
        raise ctx.error(
            f"$NEXTDATA {next_offset} points to byte {target}, outside the {len(ctx.raw)}-byte file", base
        )
    return target


# ---------------------------------------------------------------- HEADER


def _parse_header(ctx: _Context, base: int) -> tuple[str, tuple[int, ...], list[FcsWarning]]:
    header = ctx.raw[base : base + HEADER_LENGTH]
    if len(header) < HEADER_LENGTH:
        raise ctx.error(f"truncated HEADER: {len(header)} of {HEADER_LENGTH} bytes", base)
    version = FCS_VERSIONS.get(header[:6])
    if version is None:
        raise ctx.error(f"not an FCS 2.0/3.0/3.1 file: starts with {header[:6]!r}", base)
    warnings: list[FcsWarning] = []
    if header[6:10] != b"    ":
        warnings.append(FcsWarning("header-spaces", "HEADER bytes 6-9 are not spaces; ignored"))
    fields = tuple(_header_field(ctx, base + 10 + 8 * i, header[10 + 8 * i : 18 + 8 * i]) for i in range(6))
    return version, fields, warnings


def _header_field(ctx: _Context, offset: int, field: bytes) -> int:
    text = field.strip(b" \0")
    if not text:
        return 0
    if not text.isdigit():
        raise ctx.error(f"HEADER offset field {field!r} is not a number", offset)
    return int(text)


# ---------------------------------------------------------------- TEXT


def _segment(ctx: _Context, base: int, begin: int, end: int, what: str) -> tuple[int, int]:
    """Absolute [start, stop) of a segment given relative inclusive offsets, checked against the file."""
    start, stop = base + begin, base + end + 1
    if begin < HEADER_LENGTH or end < begin:
        raise ctx.error(f"{what} offsets {begin}..{end} are invalid", base)
    if stop > len(ctx.raw):
        raise ctx.error(
            f"truncated file: {what} ends at byte {stop - 1} but the file has {len(ctx.raw)} bytes", start
        )
    return start, stop


def _split_text(ctx: _Context, start: int, stop: int) -> list[bytes]:
    """Delimited fields of a TEXT segment, doubled delimiters unescaped."""
    text = ctx.raw[start:stop]
    delimiter = text[:1]
    if len(text) < 2:
        raise ctx.error("TEXT segment is empty", start)
    d = re.escape(delimiter)
    field = re.compile(b"((?:" + d + d + b"|[^" + d + b"])*)" + d, re.DOTALL)
    fields: list[bytes] = []
    pos = 1
    while pos < len(text):
        match = field.match(text, pos)
        if match is None:
            rest = text[pos:]
            if rest.strip(b" \0\r\n\t"):
                # A last value without its closing delimiter: the TEXT end offset is short (the value
                # would be cut, e.g. 'FL4-' for 'FL4-Height') or points into the next segment (ALCOA).
                raise ctx.error(
                    f"TEXT does not end with its delimiter {delimiter!r}: the last field {rest[:20]!r} has "
                    "no closing delimiter (the HEADER TEXT end offset is wrong or the TEXT is cut)",
                    start + pos,
                )
            break
        fields.append(match.group(1).replace(delimiter + delimiter, delimiter))
        pos = match.end()
    return fields


def _decode(value: bytes, warnings: list[FcsWarning]) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        if not any(w.code == "text-latin1" for w in warnings):
            warnings.append(FcsWarning("text-latin1", "TEXT is not valid UTF-8; decoded as Latin-1"))
        return value.decode("latin-1")


def _parse_text(ctx: _Context, start: int, stop: int, warnings: list[FcsWarning]) -> dict[str, str]:
    fields = _split_text(ctx, start, stop)
    if len(fields) % 2:
        raise ctx.error(
            f"TEXT has {len(fields)} delimited fields, an odd number: a keyword has no value "
            "(or a delimiter inside a value is not doubled)",
            start,
        )
    keywords: dict[str, str] = {}
    for i in range(0, len(fields), 2):
        if not _PRINTABLE_KEYWORD.fullmatch(fields[i]):
            # FCS 3.1 sec. 3.2.9: keywords are printable ASCII; anything else is a value or DATA bytes
            # read as a keyword because a delimiter or the TEXT end offset is damaged.
            raise ctx.error(
                f"TEXT keyword {fields[i][:20]!r} is not printable ASCII: a delimiter or the TEXT end "
                "offset is damaged",
                start,
            )
        key = _decode(fields[i], warnings).strip().upper()
        if not key:
            raise ctx.error("TEXT has an empty keyword", start)
        value = _decode(fields[i + 1], warnings)
        if key in keywords:
            warnings.append(FcsWarning("duplicate-keyword", f"keyword {key} repeated; first value kept"))
            continue
        keywords[key] = value
    return keywords


def _merge_supplemental(
    ctx: _Context, base: int, keywords: dict[str, str], version: str, warnings: list[FcsWarning]
) -> None:
    if version == "2.0" or "$BEGINSTEXT" not in keywords:
        return
    text_offset = base
    begin = _int_keyword(ctx, keywords, "$BEGINSTEXT", text_offset)
    end = _int_keyword(ctx, keywords, "$ENDSTEXT", text_offset)
    if begin == 0 and end == 0:
        return
    start, stop = _segment(ctx, base, begin, end, "supplemental TEXT")
    ctx.segment_ends.add(stop)
    delimiter = ctx.raw[ctx.text_range[0]]
    if ctx.raw[start] != delimiter:
        # Not a TEXT segment (CyFlow Cube writes a ZIP archive there, named by P$SCFGZIP): other
        # readers skip it; the primary TEXT and DATA are unaffected, so record it and go on.
        warnings.append(
            FcsWarning(
                "stext-not-text",
                f"supplemental TEXT {begin}..{end} does not start with the TEXT delimiter "
                f"(starts with {ctx.raw[start : start + 4]!r}); not read as keywords",
            )
        )
        return
    for key, value in _parse_text(ctx, start, stop, warnings).items():
        if key in keywords and keywords[key] != value:
            warnings.append(
                FcsWarning("stext-clash", f"supplemental TEXT {key}={value!r} ignored; primary TEXT wins")
            )
        keywords.setdefault(key, value)


# ---------------------------------------------------------------- keywords


def _required(ctx: _Context, keywords: Mapping[str, str], key: str, offset: int) -> str:
    value = keywords.get(key)
    if value is None or not value.strip():
        raise ctx.error(f"missing required keyword {key}", offset)
    return value.strip()


def _int_keyword(ctx: _Context, keywords: Mapping[str, str], key: str, offset: int) -> int:
    value = _required(ctx, keywords, key, offset)
    try:
        number = int(value)
    except ValueError:
        raise ctx.error(f"keyword {key}={value!r} is not an integer", offset) from None
    if number < 0:
        raise ctx.error(f"keyword {key}={number} is negative", offset)
    return number


def _range_keyword(ctx: _Context, keywords: Mapping[str, str], key: str, offset: int) -> float:
    value = _required(ctx, keywords, key, offset)
    try:
        number = float(value)
    except ValueError:
        raise ctx.error(f"keyword {key}={value!r} is not a number", offset) from None
    if not math.isfinite(number) or number <= 0:
        raise ctx.error(f"keyword {key}={value!r} must be a positive number", offset)
    return number


def _byte_order(ctx: _Context, keywords: Mapping[str, str], offset: int) -> str:
    value = _required(ctx, keywords, "$BYTEORD", offset).replace(" ", "")
    try:
        order = [int(part) for part in value.split(",")]
    except ValueError:
        raise ctx.error(f"$BYTEORD {value!r} is not a list of byte numbers", offset) from None
    ascending = list(range(1, len(order) + 1))
    if order == ascending:
        return "<"
    if order == ascending[::-1]:
        return ">"
    raise ctx.error(f"$BYTEORD {value!r} is not supported (only 1,2,3,4 / 4,3,2,1 / 1,2 / 2,1)", offset)


def _check_parameter_count(
    ctx: _Context, keywords: Mapping[str, str], par: int, offset: int, warnings: list[FcsWarning]
) -> None:
    tolerated = []
    for key in keywords:
        match = _PARAMETER_KEYWORD.match(key)
        if match and not 1 <= int(match.group(1)) <= par:
            if match.group(2) not in BEYOND_PAR_TOLERATED:
                raise ctx.error(f"$PAR mismatch: $PAR is {par} but keyword {key} is present", offset)
            tolerated.append(key)
    if tolerated:
        # Guava Muse: gains for parameters the file does not have. $PnG is not applied to events, so
        # the events are the stored ones; the extra keywords are kept and the quirk recorded.
        warnings.append(
            FcsWarning(
                "gain-beyond-par",
                f"$PAR is {par} but {', '.join(sorted(tolerated))} are present (a Guava Muse quirk); "
                "these gains/voltages belong to no parameter and are ignored",
            )
        )


def _channel_width(ctx: _Context, keywords: Mapping[str, str], n: int, datatype: str, offset: int) -> int:
    bits = _required(ctx, keywords, f"$P{n}B", offset)
    if not bits.isdigit():
        raise ctx.error(f"$P{n}B={bits!r} is not supported (only fixed bit widths)", offset)
    width = int(bits)
    allowed = {"I": INTEGER_WIDTHS, "F": (32,), "D": (64,)}[datatype]
    if width not in allowed:
        raise ctx.error(f"$P{n}B={width} is not valid for $DATATYPE {datatype} (allowed {allowed})", offset)
    return width


def _integer_mask(bits: int, value_range: float) -> int | None:
    """Mask keeping the bits that $PnR needs (next power of two), or None when all bits are kept."""
    needed_bits = max(math.ceil(math.log2(value_range)), 0) if value_range > 1 else 0
    if needed_bits >= bits:
        return None
    return (1 << needed_bits) - 1


def _datatype_and_mode(ctx: _Context, keywords: Mapping[str, str], offset: int) -> str:
    mode = _required(ctx, keywords, "$MODE", offset).upper()
    if mode != "L":
        raise ctx.error(f"$MODE {mode} is not supported: only list mode (L) data can be read", offset)
    datatype = _required(ctx, keywords, "$DATATYPE", offset).upper()
    if datatype not in ("I", "F", "D"):
        raise ctx.error(f"$DATATYPE {datatype} is not supported (only I, F, D)", offset)
    return datatype


def _channels_and_layout(
    ctx: _Context, keywords: Mapping[str, str], version: str, offset: int, warnings: list[FcsWarning]
) -> tuple[tuple[FcsChannel, ...], _Layout]:
    datatype = _datatype_and_mode(ctx, keywords, offset)
    order = _byte_order(ctx, keywords, offset)
    par = _int_keyword(ctx, keywords, "$PAR", offset)
    if par < 1:
        raise ctx.error("$PAR is 0: the data set has no parameters", offset)
    _check_parameter_count(ctx, keywords, par, offset, warnings)
    channels = tuple(
        _channel(ctx, keywords, n, datatype, version, offset, warnings) for n in range(1, par + 1)
    )
    tot = _int_keyword(ctx, keywords, "$TOT", offset) if version != "2.0" or "$TOT" in keywords else None
    widths = tuple(channel.bits for channel in channels)
    masks = tuple(channel.mask for channel in channels)
    return channels, _Layout(datatype, order, widths, masks, tot)


def _channel(
    ctx: _Context,
    keywords: Mapping[str, str],
    n: int,
    datatype: str,
    version: str,
    offset: int,
    warnings: list[FcsWarning],
) -> FcsChannel:
    bits = _channel_width(ctx, keywords, n, datatype, offset)
    if version == "2.0" and not keywords.get(f"$P{n}N", "").strip():
        warnings.append(FcsWarning("missing-pnn", f"$P{n}N missing (allowed in FCS 2.0); named P{n}"))
        name = f"P{n}"
    else:
        name = _required(ctx, keywords, f"$P{n}N", offset)
    label = keywords.get(f"$P{n}S", "").strip() or None
    value_range: float | None = None
    mask: int | None = None
    if datatype == "I":
        value_range = _range_keyword(ctx, keywords, f"$P{n}R", offset)
        mask = _integer_mask(bits, value_range)
    elif f"$P{n}R" in keywords:
        try:
            value_range = float(keywords[f"$P{n}R"])
        except ValueError:
            value_range = None
    return FcsChannel(n, name, label, bits, value_range, mask)


# ---------------------------------------------------------------- DATA offsets


@dataclass(frozen=True)
class _Candidate:
    label: str
    begin: int
    end: int

    @property
    def length(self) -> int:
        return 0 if self.begin == 0 and self.end == 0 else self.end - self.begin + 1

    def describe(self) -> str:
        return f"{self.label} {self.begin}..{self.end}"


def _candidates(
    ctx: _Context, header: tuple[int, ...], keywords: Mapping[str, str], offset: int
) -> list[_Candidate]:
    found: list[_Candidate] = []
    if header[2] or header[3]:
        found.append(_Candidate("HEADER", header[2], header[3]))
    if "$BEGINDATA" in keywords and "$ENDDATA" in keywords:
        begin = _int_keyword(ctx, keywords, "$BEGINDATA", offset)
        end = _int_keyword(ctx, keywords, "$ENDDATA", offset)
        if begin or end:
            found.append(_Candidate("TEXT $BEGINDATA/$ENDDATA", begin, end))
    if len(found) == 2 and (found[0].begin, found[0].end) == (found[1].begin, found[1].end):
        return found[1:]
    return found


def _in_file(ctx: _Context, base: int, candidate: _Candidate, length: int) -> bool:
    """The segment lies after HEADER, inside the file, and does not overlap the primary TEXT."""
    start, stop = base + candidate.begin, base + candidate.begin + length
    text_start, text_stop = ctx.text_range
    outside_text = stop <= text_start or start >= text_stop
    return candidate.begin >= HEADER_LENGTH and stop <= len(ctx.raw) and outside_text


def _event_count(ctx: _Context, layout: _Layout, candidates: list[_Candidate], base: int) -> int:
    """$TOT, or for FCS 2.0 without $TOT the DATA length divided by the bytes per event."""
    if layout.tot is not None:
        return layout.tot
    if len(candidates) != 1 or candidates[0].length % layout.row_bytes:
        raise ctx.error("$TOT is missing and the DATA length does not give a whole number of events", base)
    return candidates[0].length // layout.row_bytes


def _resolve_data(
    ctx: _Context,
    base: int,
    header: tuple[int, ...],
    keywords: Mapping[str, str],
    layout: _Layout,
    channels: tuple[FcsChannel, ...],
    version: str,
    warnings: list[FcsWarning],
) -> tuple[int, int]:
    """Absolute DATA start and event count, choosing between HEADER and TEXT offsets (reported)."""
    candidates = _candidates(ctx, header, keywords, base)
    tot = _event_count(ctx, layout, candidates, base)
    if layout.tot is None:
        warnings.append(FcsWarning("tot-derived", f"$TOT missing (FCS 2.0); {tot} events from DATA length"))
    expected = tot * layout.row_bytes
    if expected == 0:
        return base, 0
    if not candidates:
        raise ctx.error(
            "no DATA offsets: HEADER DATA offsets are 0 and $BEGINDATA/$ENDDATA are missing", base
        )
    _note_header_zero(header, candidates, version, warnings)
    exact = [c for c in candidates if c.length == expected and _in_file(ctx, base, c, expected)]
    if len(exact) == 1:
        _note_conflict(
            candidates, exact[0], f"its length matches $TOT x bytes per event = {expected}", warnings
        )
        return base + exact[0].begin, tot
    if len(exact) == 2:
        chosen = _by_time_channel(ctx, base, exact, tot, layout, channels)
        _note_conflict(
            candidates, chosen, "both lengths match; only it gives a non-decreasing time channel", warnings
        )
        return base + chosen.begin, tot
    return _off_by_one(ctx, base, candidates, expected, tot, warnings)


def _note_header_zero(
    header: tuple[int, ...], candidates: list[_Candidate], version: str, warnings: list[FcsWarning]
) -> None:
    if version != "2.0" and all(c.label == "HEADER" for c in candidates):
        warnings.append(
            FcsWarning(
                "text-data-offsets-missing",
                f"$BEGINDATA/$ENDDATA missing or 0 (required in FCS 3.x); used {candidates[0].describe()}",
            )
        )
    if not (header[2] or header[3]) and candidates:
        warnings.append(
            FcsWarning(
                "header-data-zero",
                "HEADER DATA offsets are 0 (allowed above 99,999,999 bytes); "
                f"used {candidates[0].describe()}",
            )
        )


def _note_conflict(
    candidates: list[_Candidate], chosen: _Candidate, why: str, warnings: list[FcsWarning]
) -> None:
    others = [c for c in candidates if c is not chosen]
    if others:
        warnings.append(
            FcsWarning(
                "data-offset-conflict",
                f"DATA offsets disagree ({'; '.join(c.describe() for c in candidates)}); "
                f"used {chosen.describe()} because {why}",
            )
        )


def _off_by_one(
    ctx: _Context,
    base: int,
    candidates: list[_Candidate],
    expected: int,
    tot: int,
    warnings: list[FcsWarning],
) -> tuple[int, int]:
    # Only an end offset that points one byte past the end of the file is taken as the writer bug: a
    # segment one byte longer inside the file may as well be a begin offset one byte early (ALCOA).
    near = [
        c
        for c in candidates
        if c.length == expected + 1
        and _in_file(ctx, base, c, expected)
        and (base + c.end in (len(ctx.raw), len(ctx.raw) - CRC_LENGTH) or base + c.begin in ctx.segment_ends)
    ]
    if len({c.begin for c in near}) == 1:
        chosen = near[-1]
        warnings.append(
            FcsWarning(
                "data-end-off-by-one",
                f"{chosen.describe()} is one byte longer than $TOT x bytes per event = {expected}; "
                "the end offset points past the data (writer bug); read the expected length",
            )
        )
        _note_conflict(
            candidates, chosen, "only it has the expected length (end offset one too far)", warnings
        )
        return base + chosen.begin, tot
    described = "; ".join(f"{c.describe()}: {_candidate_problem(ctx, base, c, expected)}" for c in candidates)
    raise ctx.error(
        f"no usable DATA segment ({described}); expected $TOT x bytes per event = {expected} bytes "
        f"(file has {len(ctx.raw)} bytes)",
        base + candidates[0].begin,
    )


def _candidate_problem(ctx: _Context, base: int, candidate: _Candidate, expected: int) -> str:
    start = base + candidate.begin
    if candidate.begin < HEADER_LENGTH:
        return "starts inside HEADER"
    if start + min(candidate.length, expected) > len(ctx.raw):
        return "ends beyond the end of the file (truncated file?)"
    if not _in_file(ctx, base, candidate, min(candidate.length, expected)):
        return "overlaps the TEXT segment"
    return f"length {candidate.length} differs from the expected length"


def _by_time_channel(
    ctx: _Context,
    base: int,
    candidates: list[_Candidate],
    tot: int,
    layout: _Layout,
    channels: tuple[FcsChannel, ...],
) -> _Candidate:
    time_index = next(
        (i for i, c in enumerate(channels) if c.name.strip().upper() in TIME_CHANNEL_NAMES), None
    )
    if time_index is None:
        raise ctx.error(
            "HEADER and TEXT DATA offsets disagree, both fit the expected length, and there is no time "
            "channel to tell them apart",
            base,
        )
    monotonic = []
    for candidate in candidates:
        events = _decode_events(ctx.raw, base + candidate.begin, tot, layout, "float64")
        if bool(np.all(np.diff(events[:, time_index]) >= 0)):
            monotonic.append(candidate)
    if len(monotonic) != 1:
        raise ctx.error(
            "HEADER and TEXT DATA offsets disagree and both fit the expected length; the time channel "
            f"is non-decreasing for {len(monotonic)} of them, so the DATA segment cannot be chosen",
            base,
        )
    return monotonic[0]


# ---------------------------------------------------------------- DATA decoding


def _decode_events(raw: bytes, start: int, tot: int, layout: _Layout, dtype: EventDtype) -> np.ndarray:
    """Events matrix (tot x par) from the DATA segment at absolute ``start``; no loop over events."""
    par = len(layout.widths)
    if layout.datatype in ("F", "D"):
        kind = f"{layout.order}f{layout.widths[0] // 8}"
        values = np.frombuffer(raw, dtype=kind, count=tot * par, offset=start).reshape(tot, par)
        return _finish(values, dtype)
    if len(set(layout.widths)) == 1:
        values = _uniform_integers(raw, start, tot * par, layout.widths[0], layout.order).reshape(tot, par)
        return _finish(_apply_masks(values, layout.masks), dtype)
    return _mixed_integers(raw, start, tot, layout, dtype)


def _uniform_integers(raw: bytes, start: int, count: int, bits: int, order: str) -> np.ndarray:
    if bits != 24:
        return np.frombuffer(raw, dtype=f"{order}u{bits // 8}", count=count, offset=start)
    triples = np.frombuffer(raw, dtype=np.uint8, count=count * 3, offset=start).reshape(count, 3)
    return _widen_24(triples, order)


def _widen_24(triples: np.ndarray, order: str) -> np.ndarray:
    """24-bit unsigned integers (n x 3 bytes) as uint32: pad a zero high byte and view as 4 bytes."""
    padded = np.zeros((triples.shape[0], 4), dtype=np.uint8)
    if order == "<":
        padded[:, :3] = triples
    else:
        padded[:, 1:] = triples
    return padded.view(f"{order}u4").reshape(-1)


def _apply_masks(values: np.ndarray, masks: tuple[int | None, ...]) -> np.ndarray:
    if all(mask is None for mask in masks):
        return values
    native = values.dtype.newbyteorder("=")
    full = np.iinfo(native).max
    mask_row = np.array([full if mask is None else mask for mask in masks], dtype=native)
    return np.bitwise_and(values, mask_row, dtype=native)


def _mixed_integers(raw: bytes, start: int, tot: int, layout: _Layout, dtype: EventDtype) -> np.ndarray:
    """Integer channels of different widths: one strided view per channel (a loop over channels only)."""
    rows = np.frombuffer(raw, dtype=np.uint8, count=tot * layout.row_bytes, offset=start)
    rows = rows.reshape(tot, layout.row_bytes)
    out_type = (
        np.float64 if dtype == "float64" else np.dtype(f"u{max(_native_bytes(w) for w in layout.widths)}")
    )
    out = np.empty((tot, len(layout.widths)), dtype=out_type)
    column = 0
    for i, bits in enumerate(layout.widths):
        width = bits // 8
        chunk = np.ascontiguousarray(rows[:, column : column + width])
        values = _widen_24(chunk, layout.order) if bits == 24 else chunk.view(f"{layout.order}u{width}")
        values = values.reshape(-1)
        if layout.masks[i] is not None:
            values = values & values.dtype.type(layout.masks[i])
        out[:, i] = values
        column += width
    out.setflags(write=False)
    return out


def _native_bytes(bits: int) -> int:
    return 4 if bits == 24 else bits // 8


def _finish(values: np.ndarray, dtype: EventDtype) -> np.ndarray:
    if dtype == "float64":
        result = values.astype(np.float64)
    elif not values.dtype.isnative:
        result = values.astype(values.dtype.newbyteorder("="))
    else:
        result = values
    if result.flags.writeable:
        result.setflags(write=False)
    return result


# ---------------------------------------------------------------- one data set


def _parse_dataset(
    ctx: _Context, base: int, index: int, sha256: str, dtype: EventDtype
) -> tuple[FcsDataSet, int]:
    version, header, warnings = _parse_header(ctx, base)
    text_start, text_stop = _segment(ctx, base, header[0], header[1], "TEXT")
    ctx.text_range = (text_start, text_stop)
    ctx.segment_ends = {text_stop}
    keywords = _parse_text(ctx, text_start, text_stop, warnings)
    _merge_supplemental(ctx, base, keywords, version, warnings)
    channels, layout = _channels_and_layout(ctx, keywords, version, text_start, warnings)
    data_start, tot = _resolve_data(ctx, base, header, keywords, layout, channels, version, warnings)
    events = _decode_events(ctx.raw, data_start, tot, layout, dtype)
    next_offset = _int_keyword(ctx, keywords, "$NEXTDATA", text_start) if "$NEXTDATA" in keywords else 0
    data_offsets = (data_start, data_start + tot * layout.row_bytes - 1 if tot else data_start)
    dataset = FcsDataSet(
        source=ctx.source,
        sha256=sha256,
        index=index,
        offset=base,
        version=version,
        keywords=MappingProxyType(keywords),
        channels=channels,
        events=events,
        data_offsets=data_offsets,
        warnings=tuple(warnings),
    )
    return dataset, next_offset
