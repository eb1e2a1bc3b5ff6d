"""The row-by-row reference reader: the same readings bit for bit, or the exact line and reason of the first problem."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.loggers._shape import (
    LoggerCsvFormat,
    TemperatureUnit,
    _Columns,
    _Layout,
    parse_unit,
)

if TYPE_CHECKING:
    pass

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


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
