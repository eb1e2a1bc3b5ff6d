"""Temperature-logger CSV import -> a cold-chain trace (T-8.1.5-a, T-7.7-a; docs/formats/logger-csv.md).

The column mapping, the unit (°C or °F, per file or per row), the logger's IANA time zone and the time
layout are configurable. A file is either read completely or refused with an
:class:`~cellchain.instruments.errors.InstrumentFileError` naming the file, the line and the reason:
unknown columns, text in numbers, bad or ambiguous timestamps, mixed units without a unit column, a
file from another logger. Nothing is dropped: a sentinel value of a disconnected probe (999, -999 by
default) or a configured missing-value marker becomes a reading without temperature (NaN), which the
cold-chain analysis reports as a probe fault. Duplicate and out-of-order times are kept as they are for
the analysis to report.

Speed: a file is first parsed in bulk (numpy ``loadtxt`` plus vectorised time and unit handling). Any
row the bulk path cannot vouch for sends the whole file through the row-by-row reader, which is the
reference: it gives the same readings, or the exact line and reason of the first problem.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from cellchain.domain.coldchain import TemperatureTrace, trace_of
from cellchain.instruments.errors import InstrumentFileError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_TIME_WIDTH = 40  # longest accepted time text: date, time, 9 fraction digits, offset


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
    text = _decode(data, name)
    head = _parse_head(text, fmt, name)
    layout = _layout(head, fmt, name)
    _check_logger(head, expected_logger, name)
    body = text[head.body_start :]
    try:
        cols = _fast_columns(body, layout)
    except _NotFast:
        cols = _slow_columns(body, layout, head.header_line)
    trace = trace_of(cols.times, cols.celsius, name)
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


def _decode(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InstrumentFileError(
            name, "is not UTF-8 text; export the logger file as UTF-8 CSV", offset=exc.start
        ) from exc
    if "\x00" in text:
        raise InstrumentFileError(name, "contains NUL bytes: not a text CSV", offset=data.index(b"\x00"))
    return text.replace("\r\n", "\n") if "\r" in text else text


# --- header: metadata lines and the column row ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Head:
    metadata: dict[str, str]
    metadata_lines: dict[str, int]
    columns: tuple[str, ...]
    header_line: int
    body_start: int


def _parse_head(text: str, fmt: LoggerCsvFormat, name: str) -> _Head:
    """Metadata lines (``# key: value``) and blank lines up to the column header row."""
    metadata: dict[str, str] = {}
    lines: dict[str, int] = {}
    pos, line_no = 0, 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line, line_no, pos = text[pos:end], line_no + 1, end + 1
        if not line.strip():
            continue
        if not line.lstrip().startswith("#"):
            columns = _split_header(line, fmt, name, line_no)
            return _Head(metadata, lines, columns, line_no, min(pos, len(text)))
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


def _fast_columns(body: str, layout: _Layout) -> _Columns:
    """Bulk parse; raises _NotFast for anything unusual (the slow path then reports or accepts it)."""
    fmt = layout.fmt
    if not body.strip():
        empty = np.empty(0, dtype=np.float64)
        return _Columns(empty, empty, frozenset(), 0, 0)
    if fmt.missing_markers:
        raise _NotFast
    if fmt.decimal == ",":
        body = body.replace(",", ".")
    table = _loadtxt(body, layout)
    raw = np.ascontiguousarray(table[f"c{layout.temp_idx}"], dtype=np.float64)
    if not bool(np.isfinite(raw).all()):
        raise _NotFast
    times = _fast_times(table[f"c{layout.time_idx}"], layout)
    is_f = _fast_units(table, layout, raw.size)
    sentinel = np.isin(raw, list(fmt.sentinels))
    celsius = np.where(is_f, (raw - 32.0) * (5.0 / 9.0), raw)
    celsius[sentinel] = np.nan
    units = {TemperatureUnit.FAHRENHEIT} if bool(is_f.any()) else set()
    units |= {TemperatureUnit.CELSIUS} if not bool(is_f.all()) else set()
    return _Columns(times, celsius, frozenset(units), int(sentinel.sum()), 0)


def _loadtxt(body: str, layout: _Layout) -> npt.NDArray[np.void]:
    dtype = []
    for i in range(layout.ncols):
        if i == layout.temp_idx:
            kind = "f8"
        elif i == layout.time_idx:
            kind = "f8" if layout.fmt.time_format == "epoch" else f"S{_TIME_WIDTH}"
        elif i == layout.unit_idx:
            kind = "S12"
        else:
            kind = "U1"
        dtype.append((f"c{i}", kind))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            table = np.loadtxt(
                io.BytesIO(body.encode("utf-8")),
                delimiter=layout.fmt.delimiter,
                dtype=dtype,
                comments=None,
                quotechar='"',
                encoding="utf-8",
                ndmin=1,
            )
    except (ValueError, UnicodeError, Warning) as exc:
        raise _NotFast from exc
    # loadtxt skips blank lines silently; the row-by-row reader handles files that have any, so that a
    # line which did not become a row can never be lost here.
    if table.shape[0] != _expected_rows(body):
        raise _NotFast
    result: npt.NDArray[np.void] = table
    return result


def _expected_rows(body: str) -> int:
    stripped = body.strip()
    if "\n\n" in stripped or _BLANK_LINE.search(stripped):
        raise _NotFast
    return stripped.count("\n") + 1


_BLANK_LINE = re.compile(r"\n[ \t\f\v]+(?:\n|$)")


def _fast_units(table: npt.NDArray[np.void], layout: _Layout, n: int) -> BoolArray:
    """Per-row Fahrenheit mask; any unknown unit or a row disagreeing with the file's unit goes slow."""
    if layout.unit_idx is None:
        if layout.file_unit is None:
            raise _NotFast
        return np.full(n, layout.file_unit is TemperatureUnit.FAHRENHEIT)
    col = np.char.upper(np.char.strip(table[f"c{layout.unit_idx}"]))
    is_c = np.isin(col, [b"C", b"\xb0C", b"DEGC", b"CELSIUS"])
    is_f = np.isin(col, [b"F", b"\xb0F", b"DEGF", b"FAHRENHEIT"])
    if not bool((is_c | is_f).all()):
        raise _NotFast
    if layout.file_unit is TemperatureUnit.CELSIUS and bool(is_f.any()):
        raise _NotFast
    if layout.file_unit is TemperatureUnit.FAHRENHEIT and bool(is_c.any()):
        raise _NotFast
    return is_f


# --- time, bulk -------------------------------------------------------------------------------------


def _fast_times(column: npt.NDArray[np.generic], layout: _Layout) -> FloatArray:
    fmt = layout.fmt
    if fmt.time_format == "epoch":
        epoch = np.ascontiguousarray(column, dtype=np.float64)
        if not bool(np.isfinite(epoch).all()):
            raise _NotFast
        return epoch
    text = np.ascontiguousarray(column)
    length = np.strings.str_len(text).astype(np.intp)
    u = text.view(np.uint8).reshape(text.shape[0], _TIME_WIDTH)
    if fmt.time_format == "iso":
        local, offset, has_offset = _fast_iso(u, length)
    else:
        local = _fast_pattern(u, length, fmt.time_format)
        offset, has_offset = np.zeros_like(local), np.zeros(local.shape, dtype=np.bool_)
    if bool(has_offset.all()):
        return local - offset
    if layout.tz is None:
        raise _NotFast
    zone_offset = _fast_zone_offsets(local, layout.tz)
    return local - np.where(has_offset, offset, zone_offset)


_DIGIT_POS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])


def _fast_iso(
    u: npt.NDArray[np.uint8], length: npt.NDArray[np.intp]
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """ISO 8601 ``YYYY-MM-DD[T ]HH:MM:SS[.f][Z|±HH:MM|±HHMM]`` -> (local seconds, offset, has offset)."""
    n = u.shape[0]
    if bool((length >= _TIME_WIDTH).any() | (length < 19).any()):
        raise _NotFast
    head = u[:, :19]
    digits = head[:, _DIGIT_POS]
    ok = ((digits >= 48) & (digits <= 57)).all(axis=1)
    ok &= (head[:, 4] == 45) & (head[:, 7] == 45) & (head[:, 13] == 58) & (head[:, 16] == 58)
    ok &= (head[:, 10] == 84) | (head[:, 10] == 32)
    if not bool(ok.all()):
        raise _NotFast
    if bool((length == 19).all()):
        # The common export: fixed-width local times, no fraction, no offset.
        offset, off_len = np.zeros(n), np.zeros(n, dtype=np.intp)
    else:
        offset, off_len = _fast_offsets(u, length)
    core_end = length - off_len
    width = int(core_end.max())
    core = u[:, :width].copy()
    if width > 19:
        _check_fraction(u, core_end)
        core[np.arange(width) >= core_end[:, None]] = 0
        core[:, 19][core[:, 19] == 44] = 46
    core[:, 10] = 84
    try:
        ns = core.view(f"S{width}").ravel().astype("datetime64[ns]").astype(np.int64)
    except ValueError as exc:
        raise _NotFast from exc
    return _seconds(ns), offset, off_len > 0


def _fast_offsets(
    u: npt.NDArray[np.uint8], length: npt.NDArray[np.intp]
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
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
    sign = np.where(np.where(colon, sign6, sign5) == 45, -1.0, 1.0)
    offset = np.where(has, sign * (hours * 3600 + minutes * 60), 0.0)
    return offset, off_len


def _check_fraction(u: npt.NDArray[np.uint8], core_end: npt.NDArray[np.intp]) -> None:
    has = core_end > 19
    sep = u[:, 19]
    if bool((has & ~((sep == 46) | (sep == 44))).any() | (has & (core_end < 21)).any()):
        raise _NotFast
    if bool((core_end > 29).any()):
        raise _NotFast
    width = int(core_end.max())
    cols = np.arange(20, width)
    region = cols[None, :] < core_end[:, None]
    block = u[:, 20:width]
    if bool((region & ~((block >= 48) & (block <= 57))).any()):
        raise _NotFast


def _fast_pattern(u: npt.NDArray[np.uint8], length: npt.NDArray[np.intp], pattern: str) -> FloatArray:
    """Fixed-width ``%Y %m %d %H %M %S`` patterns, rearranged into ISO text and parsed in bulk."""
    slots, literals, width = _pattern_slots(pattern)
    if bool((length != width).any()):
        raise _NotFast
    for pos, char in literals:
        if bool((u[:, pos] != ord(char)).any()):
            raise _NotFast
    iso = np.frombuffer(b"1970-01-01T00:00:00", dtype=np.uint8)
    out = np.repeat(iso[None, :], u.shape[0], axis=0)
    for src, dst in slots:
        block = u[:, src]
        if bool(((block < 48) | (block > 57)).any()):
            raise _NotFast
        out[:, dst] = block
    try:
        ns = out.view("S19").ravel().astype("datetime64[ns]").astype(np.int64)
    except ValueError as exc:
        raise _NotFast from exc
    return _seconds(ns)


def _seconds(ns: npt.NDArray[np.int64]) -> FloatArray:
    # Whole seconds and the fraction apart: epoch nanoseconds exceed float64's exact integer range.
    whole, fraction = np.divmod(ns, 1_000_000_000)
    result: FloatArray = whole.astype(np.float64) + fraction / 1e9
    return result


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


def _fast_zone_offsets(local: FloatArray, tz: ZoneInfo) -> FloatArray:
    """UTC offset per reading, found once per calendar day; a day with a DST change goes row by row."""
    day = np.floor(local / 86400.0).astype(np.int64)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(day)) + 1))
    run_days = day[starts]
    offsets: dict[int, float] = {}
    for d in np.unique(run_days).tolist():
        off = _day_offset(d, tz)
        if off is None:
            raise _NotFast
        offsets[d] = off
    run_offsets = np.array([offsets[d] for d in run_days.tolist()], dtype=np.float64)
    return np.repeat(run_offsets, np.diff(np.append(starts, local.size)))


def _day_offset(day: int, tz: ZoneInfo) -> float | None:
    """The zone's offset on a local calendar day, or None when it changes (or is ambiguous) that day."""
    start = datetime(1970, 1, 1) + timedelta(days=day)
    seen = {
        moment.replace(tzinfo=tz, fold=fold).utcoffset()
        for moment in (start, start + timedelta(seconds=86399.999))
        for fold in (0, 1)
    }
    if len(seen) != 1:
        return None
    only = seen.pop()
    return None if only is None else only.total_seconds()


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
        if value is None:
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
