"""Temperature-logger CSV import -> a cold-chain trace (T-8.1.5-a, T-7.7-a; docs/formats/logger-csv.md).

The column mapping, the unit (°C or °F, per file or per row), the logger's IANA time zone and the time
layout are configurable. A file is either read completely or refused with an
:class:`~cellchain.instruments.errors.InstrumentFileError` naming the file, the line and the reason:
unknown columns, text in numbers, bad or ambiguous timestamps, mixed units without a unit column, a
file from another logger. Nothing is dropped: a sentinel value of a disconnected probe (999, -999 by
default) or a configured missing-value marker becomes a reading without temperature (NaN), which the
cold-chain analysis reports as a probe fault. Duplicate and out-of-order times are kept as they are for
the analysis to report.

Speed (decision 0007): the body is first tokenised in bulk by polars' CSV reader, every field typed
(numbers strictly, times as text), and the times are converted with numpy. Any row the bulk path cannot
vouch for sends the whole file through the row-by-row reader, which is the reference: it gives the same
readings bit for bit, or the exact line and reason of the first problem.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from cellchain.domain.coldchain import TemperatureTrace, trace_of
from cellchain.instruments.errors import InstrumentFileError

if TYPE_CHECKING:
    import polars as pl

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_TIME_WIDTH = 36  # longer than any accepted time text: date, time, 9 fraction digits, offset (35)


class TemperatureUnit(StrEnum):
    CELSIUS = "C"
    FAHRENHEIT = "F"


@dataclass(frozen=True, slots=True)
class LoggerCsvFormat:
    """How to read one logger model's CSV export (docs/formats/logger-csv.md).

    ``time_format`` is ``"iso"`` (ISO 8601 with seconds, optional fraction and UTC offset), ``"epoch"``
    (UTC seconds) or a fixed-width pattern of ``%Y %m %d %H %M %S`` and literal characters such as
    ``"%d/%m/%Y %H:%M:%S"``. Times without an offset are in ``timezone`` (or the file's ``# timezone:``).
    ``unit`` is the file's unit unless a ``unit_column`` gives it per row. Every column must be mapped or
    listed in ``ignored_columns``. ``sentinels`` are raw values (in the file's unit) of a disconnected
    probe; ``missing_markers`` are texts standing for "no value".
    """

    time_column: str = "time"
    temperature_column: str = "temperature"
    unit_column: str | None = None
    unit: TemperatureUnit | None = None
    timezone: str | None = None
    time_format: str = "iso"
    delimiter: str = ","
    decimal: str = "."
    ignored_columns: frozenset[str] = frozenset()
    sentinels: frozenset[float] = frozenset({999.0, -999.0})
    missing_markers: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if len(self.delimiter) != 1 or self.delimiter in '"\r\n':
            raise ValueError("the delimiter must be one character other than a quote or newline")
        if self.decimal not in (".", ","):
            raise ValueError("the decimal separator must be '.' or ','")
        if self.decimal == self.delimiter:
            raise ValueError("the decimal separator cannot also be the delimiter")
        if self.time_format not in ("iso", "epoch"):
            _pattern_slots(self.time_format)


GENERIC_FORMAT = LoggerCsvFormat()
"""The documented generic CellChain logger CSV (docs/formats/logger-csv.md)."""


@dataclass(frozen=True, slots=True, eq=False)
class LoggerFile:
    """A logger file read in full: its trace (UTC, °C), header facts and what was turned into faults."""

    file: str
    trace: TemperatureTrace
    logger_id: str | None
    interval_s: float | None
    armed_at: float | None
    units: frozenset[TemperatureUnit]
    sentinel_readings: int
    missing_readings: int
    metadata: Mapping[str, str] = field(default_factory=dict)


# --- entry point ------------------------------------------------------------------------------------


def read_logger_csv(
    source: str | Path | bytes,
    fmt: LoggerCsvFormat = GENERIC_FORMAT,
    *,
    name: str | None = None,
    expected_logger: str | None = None,
) -> LoggerFile:
    """Read a logger CSV export completely or raise :class:`InstrumentFileError` (T-8.1.5-a).

    ``source`` is a path or the file's bytes (then ``name`` names it in errors). ``expected_logger`` is the
    logger linked to the shipment: a file whose ``# logger:`` line names another is refused.
    """
    data, name = _load(source, name)
    data = _checked_text(data, name)
    head = _parse_head(data, fmt, name)
    layout = _layout(head, fmt, name)
    _check_logger(head, expected_logger, name)
    try:
        cols = _fast_columns(data, head, layout)
    except _NotFast:
        cols = _slow_columns(data[head.body_start :].decode("utf-8"), layout, head.header_line)
    trace = _trace(cols, name)
    return LoggerFile(
        file=name,
        trace=trace,
        logger_id=head.metadata.get("logger"),
        interval_s=_metadata_interval(head, name),
        armed_at=_metadata_armed_at(head, layout, name),
        units=cols.units,
        sentinel_readings=cols.sentinels,
        missing_readings=cols.missing,
        metadata=dict(head.metadata),
    )


def _load(source: str | Path | bytes, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, name or "<logger file>"
    path = Path(source)
    try:
        return path.read_bytes(), name or path.name
    except OSError as exc:
        raise InstrumentFileError(name or str(path), f"cannot be read: {exc.strerror}") from exc


def _checked_text(data: bytes, name: str) -> bytes:
    """The file's bytes once known to be UTF-8 without NUL, without a BOM and with ``\\n`` line ends."""
    if not data.isascii():  # ASCII is UTF-8; only other files need the (slower) full decode to check
        try:
            data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InstrumentFileError(
                name, "is not UTF-8 text; export the logger file as UTF-8 CSV", offset=exc.start
            ) from exc
    if b"\x00" in data:
        raise InstrumentFileError(name, "contains NUL bytes: not a text CSV", offset=data.index(b"\x00"))
    data = data.removeprefix(codecs.BOM_UTF8)
    return data.replace(b"\r\n", b"\n") if b"\r" in data else data


# --- header: metadata lines and the column row ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Head:
    metadata: dict[str, str]
    metadata_lines: dict[str, int]
    columns: tuple[str, ...]
    header_line: int
    body_start: int


def _parse_head(data: bytes, fmt: LoggerCsvFormat, name: str) -> _Head:
    """Metadata lines (``# key: value``) and blank lines up to the column header row.

    ``body_start`` is the byte offset of the line after the header row.
    """
    metadata: dict[str, str] = {}
    lines: dict[str, int] = {}
    pos, line_no = 0, 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line, line_no, pos = data[pos:end].decode("utf-8"), line_no + 1, end + 1
        if not line.strip():
            continue
        if not line.lstrip().startswith("#"):
            columns = _split_header(line, fmt, name, line_no)
            return _Head(metadata, lines, columns, line_no, min(pos, len(data)))
        key, sep, value = line.lstrip()[1:].partition(":")
        key = key.strip().lower()
        if sep and key:
            if key in metadata and metadata[key] != value.strip():
                raise InstrumentFileError(
                    name, f"'# {key}:' is given twice with different values", line=line_no
                )
            metadata[key], lines[key] = value.strip(), line_no
    raise InstrumentFileError(name, "has no column header row: the file is empty or only comments")


def _split_header(line: str, fmt: LoggerCsvFormat, name: str, line_no: int) -> tuple[str, ...]:
    columns = tuple(c.strip() for c in next(csv.reader([line], delimiter=fmt.delimiter)))
    seen: set[str] = set()
    for col in columns:
        if not col:
            raise InstrumentFileError(name, "a column header is empty", line=line_no)
        if col in seen:
            raise InstrumentFileError(name, f"column {col!r} appears twice", line=line_no, column=col)
        seen.add(col)
    return columns


# --- layout: which column is what, time zone and declared unit --------------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    name: str
    fmt: LoggerCsvFormat
    ncols: int
    time_idx: int
    temp_idx: int
    unit_idx: int | None
    tz: ZoneInfo | None
    file_unit: TemperatureUnit | None


def _layout(head: _Head, fmt: LoggerCsvFormat, name: str) -> _Layout:
    mapped = [fmt.time_column, fmt.temperature_column] + ([fmt.unit_column] if fmt.unit_column else [])
    known = set(mapped) | fmt.ignored_columns
    for col in head.columns:
        if col not in known:
            raise InstrumentFileError(
                name,
                f"unknown column {col!r}: map it or list it among the ignored columns",
                line=head.header_line,
                column=col,
            )
    for col in mapped:
        if col not in head.columns:
            raise InstrumentFileError(
                name,
                f"the mapped column {col!r} is missing from the header",
                line=head.header_line,
                column=col,
            )
    index = {c: i for i, c in enumerate(head.columns)}
    return _Layout(
        name=name,
        fmt=fmt,
        ncols=len(head.columns),
        time_idx=index[fmt.time_column],
        temp_idx=index[fmt.temperature_column],
        unit_idx=index[fmt.unit_column] if fmt.unit_column else None,
        tz=_zone(head, fmt, name),
        file_unit=_file_unit(head, fmt, name),
    )


def _zone(head: _Head, fmt: LoggerCsvFormat, name: str) -> ZoneInfo | None:
    from_file = head.metadata.get("timezone")
    line = head.metadata_lines.get("timezone")
    if from_file and fmt.timezone and from_file != fmt.timezone:
        raise InstrumentFileError(
            name, f"the file says time zone {from_file!r} but the mapping says {fmt.timezone!r}", line=line
        )
    key = fmt.timezone or from_file
    if not key:
        return None
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InstrumentFileError(name, f"unknown IANA time zone {key!r}", line=line) from exc


_HEADER_UNIT = re.compile(r"(?:°|deg)\s*([CF])\b|[(\[]\s*([CF])\s*[)\]]", re.IGNORECASE)


def _file_unit(head: _Head, fmt: LoggerCsvFormat, name: str) -> TemperatureUnit | None:
    """The unit declared for the whole file by the mapping, a ``# unit:`` line or the column header."""
    declared: dict[str, TemperatureUnit] = {}
    if fmt.unit is not None:
        declared["the mapping"] = fmt.unit
    if "unit" in head.metadata:
        unit = parse_unit(head.metadata["unit"])
        if unit is None:
            raise InstrumentFileError(
                name, f"unknown unit {head.metadata['unit']!r} (use C or F)", line=head.metadata_lines["unit"]
            )
        declared["the '# unit:' line"] = unit
    match = _HEADER_UNIT.search(fmt.temperature_column)
    if match:
        declared[f"the column {fmt.temperature_column!r}"] = TemperatureUnit((match[1] or match[2]).upper())
    if len(set(declared.values())) > 1:
        said = ", ".join(f"{k} says °{v}" for k, v in declared.items())
        raise InstrumentFileError(name, f"conflicting units: {said}", line=head.header_line)
    return next(iter(declared.values()), None)


def parse_unit(text: str) -> TemperatureUnit | None:
    """ "C", "°C", "degC", "Celsius" -> °C; the same for F; anything else -> None."""
    word = text.strip().replace("°", "").replace("℃", "C").replace("℉", "F").upper()
    word = word.removeprefix("DEG").strip()
    if word in ("C", "CELSIUS"):
        return TemperatureUnit.CELSIUS
    if word in ("F", "FAHRENHEIT"):
        return TemperatureUnit.FAHRENHEIT
    return None


def _check_logger(head: _Head, expected: str | None, name: str) -> None:
    found = head.metadata.get("logger")
    if expected is not None and found is not None and found != expected:
        raise InstrumentFileError(
            name,
            f"the file is from logger {found!r}, but this shipment's logger is {expected!r}: "
            "it belongs to another shipment",
            line=head.metadata_lines["logger"],
        )


def _metadata_interval(head: _Head, name: str) -> float | None:
    text = head.metadata.get("interval_s")
    if text is None:
        return None
    value = _number(text)
    if value is None or value <= 0:
        raise InstrumentFileError(
            name,
            f"'# interval_s:' must be a positive number, not {text!r}",
            line=head.metadata_lines["interval_s"],
        )
    return value


def _metadata_armed_at(head: _Head, layout: _Layout, name: str) -> float | None:
    text = head.metadata.get("armed_at")
    if text is None:
        return None
    line = head.metadata_lines["armed_at"]
    try:
        return _slow_time(text, "iso", layout.tz)
    except _RowError as exc:
        raise InstrumentFileError(name, f"'# armed_at:' {exc.reason}", line=line) from exc


# --- columns ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Columns:
    times: FloatArray
    celsius: FloatArray
    units: frozenset[TemperatureUnit]
    sentinels: int
    missing: int


class _NotFast(Exception):
    """The bulk path cannot vouch for every row; the row-by-row reader decides."""


def _trace(cols: _Columns, name: str) -> TemperatureTrace:
    """The trace, without copying arrays that only this reader holds (made read-only instead)."""
    if not (cols.times.flags.owndata and cols.celsius.flags.owndata):
        return trace_of(cols.times, cols.celsius, name)  # e.g. a view of polars' memory
    cols.times.setflags(write=False)
    cols.celsius.setflags(write=False)
    return TemperatureTrace(cols.times, cols.celsius, name)


_NOT_SPACE = re.compile(rb"\S")


def _fast_columns(data: bytes, head: _Head, layout: _Layout) -> _Columns:
    """Bulk parse of the body (polars tokenises, numpy converts), or _NotFast if it cannot vouch for it.

    The slow path then reports the problem with its line or accepts the file, so this path only ever has
    to be right about the files it accepts. The body is ``data[head.body_start:]``, never copied out.
    """
    fmt = layout.fmt
    start = head.body_start
    if not _NOT_SPACE.search(data, start):
        empty = np.empty(0, dtype=np.float64)
        return _Columns(empty, empty, frozenset(), 0, 0)
    # Quotes, lone carriage returns, missing markers and unit suffixes (no unit declared) are the
    # row-by-row reader's: csv.reader's quoting rules are stricter than polars', and are the reference.
    if fmt.missing_markers or data.find(b'"', start) >= 0 or data.find(b"\r", start) >= 0:
        raise _NotFast
    if layout.unit_idx is None and layout.file_unit is None:
        raise _NotFast
    if fmt.time_format == "epoch" and fmt.decimal == ",":
        raise _NotFast  # epoch seconds are read with '.' only; polars would take '1,5' as well
    frame = _read_frame(data, head, layout)
    raw = _float_column(frame[f"c{layout.temp_idx}"])
    times = _fast_times(frame[f"c{layout.time_idx}"], layout)
    is_f, units = _fast_units(frame, layout)
    sentinel = np.isin(raw, list(fmt.sentinels))
    if isinstance(is_f, bool):
        celsius = (raw - 32.0) * (5.0 / 9.0) if is_f else raw.copy()
    else:
        celsius = np.where(is_f, (raw - 32.0) * (5.0 / 9.0), raw)
    celsius[sentinel] = np.nan
    return _Columns(times, celsius, units, int(sentinel.sum()), 0)


def _read_frame(data: bytes, head: _Head, layout: _Layout) -> pl.DataFrame:
    """Every field of every body row, typed, or _NotFast; no line may go missing on the way."""
    import polars as pl  # imported when first needed: it is large and most processes never read a file

    fmt = layout.fmt
    if not fmt.delimiter.isascii():
        raise _NotFast
    numeric = {layout.temp_idx} | ({layout.time_idx} if fmt.time_format == "epoch" else set())
    schema = {f"c{i}": pl.Float64 if i in numeric else pl.String for i in range(layout.ncols)}
    try:
        frame = pl.read_csv(
            data,
            skip_lines=head.header_line,  # metadata, blank and header lines: read by _parse_head
            has_header=False,
            schema=schema,
            separator=fmt.delimiter,
            quote_char=None,
            decimal_comma=fmt.decimal == ",",
        )
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, ValueError, OverflowError) as exc:
        # Text in a number, a row with too many fields, even a polars panic: the row-by-row reader
        # decides and names the line.
        raise _NotFast from exc
    # Every line of the body must have become one row: count them in the raw bytes.
    body = np.frombuffer(data, dtype=np.uint8, offset=head.body_start)
    lines = int(np.count_nonzero(body == 10)) + (0 if data.endswith(b"\n") else 1)
    if frame.height != lines or frame.width != layout.ncols:
        raise _NotFast
    # polars refuses a row with too many fields and fills the missing fields of a short one with null;
    # a blank line becomes a row of nulls. A null in a mapped column is refused; a null in an ignored
    # column is an empty cell only if every row has all its delimiters.
    mapped = [i for i in (layout.time_idx, layout.temp_idx, layout.unit_idx) if i is not None]
    nulls = frame.null_count().row(0)
    if any(nulls[i] for i in mapped):
        raise _NotFast
    if any(nulls) and int(np.count_nonzero(body == ord(fmt.delimiter))) != lines * (layout.ncols - 1):
        raise _NotFast
    return frame


def _float_column(column: pl.Series) -> FloatArray:
    values = np.asarray(column.to_numpy(), dtype=np.float64)
    if values.shape != (column.len(),) or not bool(np.isfinite(values).all()):
        raise _NotFast  # nan, inf or an overflow: the row-by-row reader names the line
    return values


def _fast_units(frame: pl.DataFrame, layout: _Layout) -> tuple[BoolArray | bool, frozenset[TemperatureUnit]]:
    """Fahrenheit per row (or for all rows) and the units present; any doubt goes row by row."""
    if layout.unit_idx is None:
        unit = layout.file_unit
        if unit is None:
            raise _NotFast
        return unit is TemperatureUnit.FAHRENHEIT, frozenset({unit})
    column = frame[f"c{layout.unit_idx}"]
    # The distinct texts of the unit column go through the very function the row-by-row reader uses.
    parsed = {text: parse_unit(text) for text in column.unique().to_list()}
    found = set(parsed.values())
    if None in found or (layout.file_unit is not None and found != {layout.file_unit}):
        raise _NotFast
    units = frozenset(u for u in found if u is not None)
    if units != {TemperatureUnit.CELSIUS, TemperatureUnit.FAHRENHEIT}:
        return TemperatureUnit.FAHRENHEIT in units, units
    fahrenheit = [text for text, unit in parsed.items() if unit is TemperatureUnit.FAHRENHEIT]
    is_f: BoolArray = np.asarray(column.is_in(fahrenheit).to_numpy(), dtype=np.bool_)
    return is_f, units


# --- time, bulk -------------------------------------------------------------------------------------


def _fast_times(column: pl.Series, layout: _Layout) -> FloatArray:
    """UTC epoch seconds, bit for bit what the row-by-row reader gives, or _NotFast.

    A large file's rows are converted in two halves at once (numpy releases the GIL), so that a second
    core helps when there is one; every row is converted on its own, so the halves give exactly what one
    pass gives.
    """
    fmt = layout.fmt
    if fmt.time_format == "epoch":
        return _float_column(column)
    u, length = _time_bytes(column)
    rows = u.shape[0]
    pool = _pool() if rows >= _PARALLEL_ROWS else None
    if pool is None:
        return _times_of(u, length, layout)
    half = rows // 2
    second = pool.submit(_times_of, u[half:], length[half:], layout)
    try:
        first = _times_of(u[:half], length[:half], layout)
    finally:
        rest = second.result()  # waits in every case; re-raises its _NotFast
    return np.concatenate((first, rest))


def _times_of(u: npt.NDArray[np.uint8], length: npt.NDArray[np.intp], layout: _Layout) -> FloatArray:
    fmt = layout.fmt
    if fmt.time_format == "iso":
        stamps = _fast_iso(u, length)
    else:
        stamps = _wall_clock(_fast_pattern(u, length, fmt.time_format))
    return _utc(stamps, layout.tz)


_PARALLEL_ROWS = 200_000  # below this, handing half to a thread costs more than it saves
_POOL: list[ThreadPoolExecutor] = []
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor | None:
    """One worker thread beside the caller's, made on first use; None on a single-CPU machine."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cpus < 2:
        return None
    with _POOL_LOCK:
        if not _POOL:
            _POOL.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="logger-csv"))
        return _POOL[0]


def _time_bytes(column: pl.Series) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.intp]]:
    """The time texts as a C-contiguous (rows, width) byte matrix padded with NUL, and their lengths."""
    lengths = column.str.len_bytes()
    shortest, width = lengths.min(), lengths.max()
    if not isinstance(shortest, int) or not isinstance(width, int) or shortest < 10 or width >= _TIME_WIDTH:
        raise _NotFast
    if shortest == width:  # most exports write every time in the same width
        length = np.broadcast_to(np.intp(width), (column.len(),))  # no memory, one value
    else:
        length = np.asarray(lengths.to_numpy(), dtype=np.intp)
        column = column.str.pad_end(width, "\x00")
        # pad_end counts characters: a non-ASCII text comes out longer than `width` bytes.
        if column.str.len_bytes().max() != width:
            raise _NotFast
    matrix = _byte_matrix(column, width)
    if matrix is None:
        raise _NotFast
    return matrix, length


def _byte_matrix(column: pl.Series, width: int) -> npt.NDArray[np.uint8] | None:
    """Texts all of ``width`` bytes (the caller checked) as a matrix, or None if polars cannot."""
    import polars as pl

    try:
        matrix = column.cast(pl.Binary).bin.reinterpret(dtype=pl.Array(pl.UInt8, width)).to_numpy()
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException):
        return None
    if matrix.dtype != np.uint8 or matrix.shape != (column.len(), width):
        return None  # a null row (the array then comes back as float)
    contiguous: npt.NDArray[np.uint8] = np.ascontiguousarray(matrix)
    return contiguous


def _field(u: npt.NDArray[np.uint8], offset: int, dtype: str) -> npt.NDArray[np.generic]:
    """The bytes at ``offset`` of every row as one little-endian number: a strided view, no copy."""
    rows, width = u.shape
    view: npt.NDArray[np.generic] = np.ndarray(
        (rows,), dtype=dtype, buffer=u.reshape(-1), offset=offset, strides=(width,)
    )
    return view


def _two_digits(pair: npt.NDArray[np.generic]) -> npt.NDArray[np.uint16]:
    """Two ASCII digits read as a little-endian uint16 (first digit in the low byte) -> 0..99, else _NotFast."""
    v = pair - np.uint16(0x3030)  # each byte minus '0'; a byte below '0' wraps to >= 0xD0
    # Both bytes are digits exactly when both are <= 9: high nibbles 0, also after adding 6.
    if bool(((v & np.uint16(0xF0F0)) | ((v + np.uint16(0x0606)) & np.uint16(0xF0F0))).any()):
        raise _NotFast
    value: npt.NDArray[np.uint16] = (v & np.uint16(0xFF)) * np.uint16(10) + (v >> np.uint16(8))
    return value


@dataclass(frozen=True, slots=True)
class _Stamps:
    """Times taken apart: runs of equal local calendar days, and per reading what lies within the day."""

    run_starts: npt.NDArray[np.intp]  # first reading of each run of one local day
    run_counts: npt.NDArray[np.intp]
    run_day: npt.NDArray[np.intp]  # index into days
    days: list[int]  # distinct local days, days since 1970-01-01
    time_of_day: npt.NDArray[np.int32]  # seconds since local midnight
    offset: npt.NDArray[np.int64] | None = None  # the text's own UTC offset in seconds (0 where none)
    has_offset: BoolArray | None = None
    fraction_ns: npt.NDArray[np.int64] | None = None


def _fast_iso(u: npt.NDArray[np.uint8], length: npt.NDArray[np.intp]) -> _Stamps:
    """ISO 8601 ``YYYY-MM-DD[T ]HH:MM:SS[.f][Z|±HH:MM|±HHMM]`` taken apart, or _NotFast."""
    if int(length.min()) < 19:
        raise _NotFast
    stamps = _wall_clock(u)
    if int(length.max()) == 19:
        return stamps  # the common export: fixed-width local times, no fraction, no offset
    offset, off_len = _fast_offsets(u, length)
    core_end = length - off_len
    fraction = _fraction_ns(u, core_end) if int(core_end.max()) > 19 else None
    return _Stamps(
        stamps.run_starts,
        stamps.run_counts,
        stamps.run_day,
        stamps.days,
        stamps.time_of_day,
        offset,
        off_len > 0,
        fraction,
    )


def _wall_clock(u: npt.NDArray[np.uint8]) -> _Stamps:
    """``YYYY-MM-DDxHH:MM:SS`` (x = T or space) in the first 19 bytes of each row, taken apart, or _NotFast.

    Every reading's time of day is checked and converted through two-byte views of the matrix (no
    per-character work). The date is checked and converted once per run of readings with the same date
    bytes (a logger writes thousands of readings a day), with the calendar the row-by-row reader uses.
    """
    separator = _field(u, 10, "u1")
    colons = (_field(u, 13, "u1") == 58) & (_field(u, 16, "u1") == 58)
    if not bool((colons & ((separator == 84) | (separator == 32))).all()):
        raise _NotFast
    hours, minutes, seconds = (_two_digits(_field(u, k, "<u2")) for k in (11, 14, 17))
    if int(hours.max()) > 23 or int(minutes.max()) > 59 or int(seconds.max()) > 59:
        raise _NotFast
    time_of_day = hours.astype(np.int32) * 3600 + minutes.astype(np.int32) * 60 + seconds
    # A run starts wherever the date bytes (0-7 and 8-9) differ from the reading before.
    ymd, dd = _field(u, 0, "<u8"), _field(u, 8, "<u2")
    starts = np.flatnonzero((ymd[1:] != ymd[:-1]) | (dd[1:] != dd[:-1])) + 1
    starts = np.concatenate(([0], starts)).astype(np.intp)
    counts = np.diff(np.append(starts, u.shape[0])).astype(np.intp)
    dates = np.ascontiguousarray(u[starts, :10])
    if not bool(((dates[:, 4] == 45) & (dates[:, 7] == 45)).all()):
        raise _NotFast
    year = _two_digits(_field(dates, 0, "<u2")).astype(np.int32) * 100 + _two_digits(_field(dates, 2, "<u2"))
    key = year * 10_000 + _two_digits(_field(dates, 5, "<u2")) * 100 + _two_digits(_field(dates, 8, "<u2"))
    keys, run_day = np.unique(key, return_inverse=True)
    return _Stamps(starts, counts, run_day.astype(np.intp), _epoch_days(keys).tolist(), time_of_day)


_EPOCH = datetime(1970, 1, 1)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _epoch_days(key: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
    """Dates written as YYYYMMDD -> days since 1970-01-01; a date ``datetime.date`` refuses is _NotFast."""
    key = key.astype(np.int64)
    year, month, day = key // 10_000, key // 100 % 100, key % 100
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + ((month == 2) & leap)
    if not bool(((year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= last)).all()):
        raise _NotFast  # 2026-02-30, month 13, year 0: the row-by-row reader names the line
    # Days from the civil calendar (H. Hinnant's algorithm), exact for every year 1..9999.
    y = year - (month <= 2)
    era = y // 400
    year_of_era = y - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days: npt.NDArray[np.int64] = era * 146_097 + day_of_era - 719_468
    return days


def _utc(stamps: _Stamps, tz: ZoneInfo | None) -> FloatArray:
    """UTC epoch seconds: the text's own offset where it has one, else the logger's zone, per local day.

    On a day with a clock change each reading without its own offset is converted alone, exactly as the
    row-by-row reader does; a time that is ambiguous or does not exist there is _NotFast (it is an error).
    """
    day_seconds = np.array(stamps.days, dtype=np.int64) * 86_400
    explicit = stamps.has_offset
    offset = stamps.offset
    if explicit is not None and offset is not None and bool(explicit.all()):
        utc = np.repeat(day_seconds[stamps.run_day], stamps.run_counts) + stamps.time_of_day - offset
    else:
        if tz is None:
            raise _NotFast
        per_day = [_day_offset(d, tz) for d in stamps.days]
        zone = np.array([0 if off is None else off for off in per_day], dtype=np.int64)
        if explicit is None and stamps.fraction_ns is None and None not in per_day:
            # The usual file: local times on ordinary days. Whole seconds are exact in float64, so the
            # sum can be formed there directly (one pass less than int64 and a conversion).
            base = (day_seconds - zone)[stamps.run_day].astype(np.float64)
            times = np.repeat(base, stamps.run_counts)
            times += stamps.time_of_day
            return times
        utc = np.repeat((day_seconds - zone)[stamps.run_day], stamps.run_counts) + stamps.time_of_day
        if explicit is not None and offset is not None:
            utc = np.where(explicit, utc + np.repeat(zone[stamps.run_day], stamps.run_counts) - offset, utc)
        if any(off is None for off in per_day):
            _fix_clock_change_days(utc, stamps, per_day, tz)
    # Whole seconds first, then the fraction: the same float operations as datetime.timestamp() + f.
    times = utc.astype(np.float64)
    if stamps.fraction_ns is not None:
        times += stamps.fraction_ns / 1e9
    return times


def _fix_clock_change_days(
    utc: npt.NDArray[np.int64], stamps: _Stamps, per_day: list[int | None], tz: ZoneInfo
) -> None:
    """Readings without their own offset on a clock-change day, converted one by one in place."""
    change = np.array([off is None for off in per_day], dtype=np.bool_)
    rows = np.repeat(change[stamps.run_day], stamps.run_counts)
    if stamps.has_offset is not None:
        rows &= ~stamps.has_offset
    day = np.repeat(np.array(stamps.days, dtype=np.int64)[stamps.run_day], stamps.run_counts)
    for i in np.flatnonzero(rows).tolist():
        local = int(day[i]) * 86_400 + int(stamps.time_of_day[i])
        utc[i] = local - _moment_offset(local, tz)


def _moment_offset(local: int, tz: ZoneInfo) -> int:
    moment = _EPOCH + timedelta(seconds=local)
    early, late = moment.replace(tzinfo=tz, fold=0).utcoffset(), moment.replace(tzinfo=tz, fold=1).utcoffset()
    if early != late or early is None:
        raise _NotFast  # ambiguous or non-existent local time: an error the row-by-row reader reports
    return int(early.total_seconds())


_LAST_SECOND = timedelta(seconds=86_399)


def _day_offset(day: int, tz: ZoneInfo) -> int | None:
    """The zone's offset (s) on a local calendar day, or None when it changes that day.

    A change that day (one at most, as in every zone) makes the offset at 00:00:00 read with fold=0 (the
    offset before a change) differ from the offset at 23:59:59 read with fold=1 (the offset after it),
    also when the gap or the repeated hour touches midnight.
    """
    start = _EPOCH + timedelta(days=day)
    early = start.replace(tzinfo=tz).utcoffset()
    late = (start + _LAST_SECOND).replace(tzinfo=tz, fold=1).utcoffset()
    if early is None or early != late:
        return None
    return int(early.total_seconds())


def _fast_offsets(
    u: npt.NDArray[np.uint8], length: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """UTC offsets in seconds and the length of the offset text (Z, ±HH:MM, ±HHMM or none)."""
    rows = np.arange(u.shape[0])

    def at(back: npt.NDArray[np.intp] | int) -> npt.NDArray[np.int64]:
        picked: npt.NDArray[np.int64] = u[rows, np.maximum(length - back, 0)].astype(np.int64)
        return picked

    zulu = at(1) == 90
    sign6, sign5 = at(6), at(5)
    colon = ((sign6 == 43) | (sign6 == 45)) & (at(3) == 58) & (length >= 25)
    plain = ((sign5 == 43) | (sign5 == 45)) & ~colon & (length >= 24)
    off_len = np.where(zulu, 1, np.where(colon, 6, np.where(plain, 5, 0)))
    has = colon | plain
    hh_back = np.where(colon, 5, 4)  # ±HH:MM puts the hours one place further back than ±HHMM
    d = [at(hh_back) - 48, at(hh_back - 1) - 48, at(2) - 48, at(1) - 48]
    valid = np.all([(x >= 0) & (x <= 9) for x in d], axis=0)
    hours, minutes = d[0] * 10 + d[1], d[2] * 10 + d[3]
    if bool((has & ~(valid & (hours <= 23) & (minutes <= 59))).any()):
        raise _NotFast
    sign = np.where(np.where(colon, sign6, sign5) == 45, -1, 1)
    seconds: npt.NDArray[np.int64] = np.where(has, sign * (hours * 3600 + minutes * 60), 0).astype(np.int64)
    return seconds, off_len.astype(np.intp)


def _fraction_ns(u: npt.NDArray[np.uint8], core_end: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
    """``.f`` or ``,f`` (1-9 digits) after the seconds, in nanoseconds; anything else is _NotFast."""
    has = core_end > 19
    sep = u[:, 19]
    if bool((has & ~((sep == 46) | (sep == 44))).any() | (has & (core_end < 21)).any()):
        raise _NotFast
    width = int(core_end.max())
    if width > 29:
        raise _NotFast
    region = np.arange(20, width)[None, :] < core_end[:, None]
    block = u[:, 20:width].astype(np.int64) - 48
    if bool((region & ((block < 0) | (block > 9))).any()):
        raise _NotFast
    block[~region] = 0
    scale = 10 ** np.arange(8, 8 - (width - 20), -1, dtype=np.int64)
    fraction: npt.NDArray[np.int64] = block @ scale
    return fraction


_DIRECTIVES = {"Y": (4, 0), "m": (2, 5), "d": (2, 8), "H": (2, 11), "M": (2, 14), "S": (2, 17)}


def _pattern_slots(pattern: str) -> tuple[list[tuple[int, int]], list[tuple[int, str]], int]:
    """Byte moves (source -> ISO position), literal characters and width of a fixed-width pattern."""
    slots: list[tuple[int, int]] = []
    literals: list[tuple[int, str]] = []
    pos, i, seen = 0, 0, set()
    while i < len(pattern):
        if pattern[i] == "%" and i + 1 < len(pattern):
            key = pattern[i + 1]
            if key not in _DIRECTIVES or key in seen:
                raise ValueError(f"time pattern {pattern!r}: only %Y %m %d %H %M %S, each once, are allowed")
            seen.add(key)
            width, dst = _DIRECTIVES[key]
            slots += [(pos + k, dst + k) for k in range(width)]
            pos, i = pos + width, i + 2
            continue
        if not pattern[i].isascii():
            raise ValueError(f"time pattern {pattern!r}: literal characters must be ASCII")
        literals.append((pos, pattern[i]))
        pos, i = pos + 1, i + 1
    if not {"Y", "m", "d", "H", "M"} <= seen:
        raise ValueError(f"time pattern {pattern!r} needs at least %Y %m %d %H %M")
    return slots, literals, pos


_NO_SECONDS = np.frombuffer(b"1970-01-01T00:00:00", dtype=np.uint8)


def _fast_pattern(
    u: npt.NDArray[np.uint8], length: npt.NDArray[np.intp], pattern: str
) -> npt.NDArray[np.uint8]:
    """Fixed-width ``%Y %m %d %H %M %S`` patterns, moved into ISO byte order (no %S means :00)."""
    slots, literals, width = _pattern_slots(pattern)
    if bool((length != width).any()):
        raise _NotFast
    for pos, char in literals:
        if bool((u[:, pos] != ord(char)).any()):
            raise _NotFast
    iso = np.repeat(_NO_SECONDS[None, :], u.shape[0], axis=0)
    for src, dst in slots:
        block = u[:, src]
        if bool(((block < 48) | (block > 57)).any()):
            raise _NotFast
        iso[:, dst] = block
    return iso


# --- the row-by-row reference reader ----------------------------------------------------------------


class _RowError(Exception):
    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_CELL = re.compile(r"(?P<num>.*?)\s*(?P<unit>(?:°|deg\s*)?[CcFf]|℃|℉)?")
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?"
)


def _number(text: str, decimal: str = ".") -> float | None:
    cleaned = text.strip()
    if decimal == ",":
        cleaned = cleaned.replace(",", ".")
    return float(cleaned) if _NUMBER.fullmatch(cleaned) else None


@dataclass(slots=True)
class _SlowState:
    times: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    units: list[TemperatureUnit] = field(default_factory=list)
    first_unit_line: dict[TemperatureUnit, int] = field(default_factory=dict)
    sentinels: int = 0
    missing: int = 0


def _slow_columns(body: str, layout: _Layout, header_line: int) -> _Columns:
    """Row by row, with exact line numbers; the reference the bulk path must agree with."""
    state = _SlowState()
    reader = csv.reader(io.StringIO(body), delimiter=layout.fmt.delimiter, quotechar='"', strict=True)
    line = header_line
    try:
        for row in reader:
            line = header_line + reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            _slow_row(row, layout, state, line)
    except csv.Error as exc:
        raise InstrumentFileError(layout.name, f"malformed CSV: {exc}", line=line + 1) from exc
    except _RowError as exc:
        raise InstrumentFileError(layout.name, exc.reason, line=line, column=exc.column) from exc
    raw = np.array(state.raw, dtype=np.float64)
    is_f = np.array([u is TemperatureUnit.FAHRENHEIT for u in state.units], dtype=np.bool_)
    celsius = np.where(is_f, (raw - 32.0) * (5.0 / 9.0), raw)
    return _Columns(
        np.array(state.times, dtype=np.float64),
        celsius,
        frozenset(state.units),
        state.sentinels,
        state.missing,
    )


def _slow_row(row: list[str], layout: _Layout, state: _SlowState, line: int) -> None:
    fmt = layout.fmt
    if len(row) != layout.ncols:
        raise _RowError(f"{len(row)} fields where the header has {layout.ncols}")
    try:
        state.times.append(_slow_time(row[layout.time_idx], fmt.time_format, layout.tz))
    except _RowError as exc:
        raise _RowError(exc.reason, fmt.time_column) from exc
    value, cell_unit = _slow_temperature(row[layout.temp_idx], fmt)
    unit = _row_unit(row, cell_unit, layout, state, line)
    if value is None:
        state.missing += 1
        value = math.nan
    elif value in fmt.sentinels:
        state.sentinels += 1
        value = math.nan
    state.raw.append(value)
    state.units.append(unit)


def _slow_temperature(cell: str, fmt: LoggerCsvFormat) -> tuple[float | None, TemperatureUnit | None]:
    """(value or None for a missing marker, unit suffix if any); text in a number is an error."""
    text = cell.strip()
    if text in fmt.missing_markers:
        return None, None
    match = _CELL.fullmatch(text)
    suffix = match["unit"] if match else None
    number = match["num"] if match and suffix else text
    value = _number(number, fmt.decimal)
    if value is None or not math.isfinite(value):
        raise _RowError(f"temperature {cell!r} is not a number", fmt.temperature_column)
    return value, parse_unit(suffix) if suffix else None


def _row_unit(
    row: list[str], cell_unit: TemperatureUnit | None, layout: _Layout, state: _SlowState, line: int
) -> TemperatureUnit:
    """The row's unit from the unit column, a suffix or the file; disagreement is an error."""
    fmt = layout.fmt
    column_unit = None
    if layout.unit_idx is not None:
        column_unit = parse_unit(row[layout.unit_idx])
        if column_unit is None:
            raise _RowError(f"unknown unit {row[layout.unit_idx]!r} (use C or F)", fmt.unit_column)
    given = [u for u in (column_unit, cell_unit, layout.file_unit) if u is not None]
    if not given:
        raise _RowError(
            "no unit: set it in the mapping, a '# unit:' line, a unit column or a suffix such as °C",
            fmt.temperature_column,
        )
    if len(set(given)) > 1:
        said = [f"{who} says °{u}" for who, u in
                (("the unit column", column_unit), ("the value", cell_unit), ("the file", layout.file_unit))
                if u is not None]  # fmt: skip
        raise _RowError(f"units disagree: {', '.join(said)}", fmt.temperature_column)
    unit = given[0]
    if layout.unit_idx is None and cell_unit is not None:
        other = next((u for u in state.first_unit_line if u is not unit), None)
        if other is not None:
            raise _RowError(
                f"mixed units without a unit column: °{unit} here, °{other} on line "
                f"{state.first_unit_line[other]}; add a unit column or export in one unit",
                fmt.temperature_column,
            )
    state.first_unit_line.setdefault(unit, line)
    return unit


def _slow_time(text: str, time_format: str, tz: ZoneInfo | None) -> float:
    text = text.strip()
    if time_format == "epoch":
        value = _number(text)
        if value is None or not math.isfinite(value):
            raise _RowError(f"time {text!r} is not epoch seconds")
        return value
    moment, fraction = _slow_iso(text) if time_format == "iso" else (_slow_pattern(text, time_format), 0.0)
    if moment.tzinfo is not None:
        return moment.timestamp() + fraction
    if tz is None:
        raise _RowError(f"time {text!r} has no UTC offset and no time zone is configured for the logger")
    early, late = moment.replace(tzinfo=tz, fold=0), moment.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        raise _RowError(
            f"local time {text!r} is ambiguous or does not exist in {tz.key} (clock change); "
            "export with UTC offsets or in UTC"
        )
    return early.timestamp() + fraction


def _slow_iso(text: str) -> tuple[datetime, float]:
    match = _ISO.fullmatch(text)
    if match is None:
        raise _RowError(f"time {text!r} is not ISO 8601 'YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]'")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = int((match[7] or "0").ljust(9, "0")) / 1e9
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise _RowError(f"time {text!r} is not a valid date and time: {exc}") from exc
    if match[8] is None:
        return moment, fraction
    return moment.replace(tzinfo=_offset_zone(match[8], text)), fraction


def _offset_zone(text: str, whole: str) -> tzinfo:
    if text == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise _RowError(f"time {whole!r} has an impossible UTC offset {text}")
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _slow_pattern(text: str, pattern: str) -> datetime:
    try:
        return datetime.strptime(text, pattern)  # the caller applies the zone
    except ValueError as exc:
        raise _RowError(f"time {text!r} does not match the pattern {pattern!r}") from exc
