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
from pathlib import Path

from cellchain.domain.coldchain import TemperatureTrace, trace_of
from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.loggers._fast import _fast_columns
from cellchain.instruments.loggers._shape import (
    GENERIC_FORMAT,
    LoggerCsvFormat,
    LoggerFile,
    TemperatureUnit,
    _check_logger,
    _Columns,
    _Head,
    _Layout,
    _layout,
    _NotFast,
    _parse_head,
    parse_unit,
)
from cellchain.instruments.loggers._slow import _number, _RowError, _slow_columns, _slow_time

__all__ = [
    "GENERIC_FORMAT",
    "LoggerCsvFormat",
    "LoggerFile",
    "TemperatureUnit",
    "parse_unit",
    "read_logger_csv",
]


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


def _trace(cols: _Columns, name: str) -> TemperatureTrace:
    """The trace, without copying arrays that only this reader holds (made read-only instead)."""
    if not (cols.times.flags.owndata and cols.celsius.flags.owndata):
        return trace_of(cols.times, cols.celsius, name)  # e.g. a view of polars' memory
    cols.times.setflags(write=False)
    cols.celsius.setflags(write=False)
    return TemperatureTrace(cols.times, cols.celsius, name)


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
