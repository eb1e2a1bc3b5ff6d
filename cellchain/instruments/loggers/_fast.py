"""The bulk reader (decision 0007): polars tokenises, numpy converts the times; `_NotFast` when it cannot vouch."""

from __future__ import annotations

import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from cellchain.instruments.loggers._shape import (
    _TIME_WIDTH,
    TemperatureUnit,
    _Columns,
    _Head,
    _Layout,
    _NotFast,
    _pattern_slots,
    parse_unit,
)

if TYPE_CHECKING:
    import polars as pl

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


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
