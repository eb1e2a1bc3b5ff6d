"""The logger file's shape: its format settings, metadata lines, column row, column roles, zone and unit."""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

from cellchain.domain.coldchain import TemperatureTrace
from cellchain.instruments.errors import InstrumentFileError

if TYPE_CHECKING:
    pass

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
