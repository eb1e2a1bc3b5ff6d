"""Read automated cell counter exports: Vi-CELL BLU CSV and NucleoCounter NC-200/NC-202 (Q-2.1, Q-2.2).

Q-2.1: viability and cell count set pack size and dose; each result records method, instrument and stain,
since trypan blue, AO/PI and AO/DAPI counters give different results. Every reading here carries them.

Beckman Coulter Vi-CELL BLU (trypan blue exclusion, bright-field imaging)
    The "Export" CSV has one header row and one row per sample. Accepted layout (as in exports published
    with Benchling's open-source allotropy parsers): comma, semicolon or tab delimited (csv.Sniffer, with a
    fallback to the most frequent of the three in the header); UTF-8 with or without BOM, UTF-16 with
    BOM, or Windows-1252. Columns used (matched after µ/μ/``Âµ`` normalisation, case-insensitive):

    ========================== ======== ==========================================================
    column                     required meaning
    ========================== ======== ==========================================================
    ``Sample ID``              yes      sample name
    ``Cell count``             yes      total cells counted in the images (raw count)
    ``Viable cells``           yes      viable (trypan-blue-negative) cells counted (raw count)
    ``Total (<unit>)``         yes      total concentration; unit e.g. ``(x10^6) cells/mL``
    ``Viable (<unit>)``        yes      viable concentration, same units accepted
    ``Viability (%)``          no       as reported (2 decimals); checked against the raw counts
    ``Analysis date/time``     no       kept as written
    ``Dilution``               no       dilution factor
    ``Cell type``              no       the instrument's cell type (analysis settings)
    ========================== ======== ==========================================================

    Viability = ``Viable cells`` / ``Cell count`` from the raw counts, never from the rounded
    concentrations. A reported viability more than 0.1 percentage point away from it is an error (the
    file is inconsistent). With a semicolon or tab delimiter, a decimal comma is accepted.

ChemoMetec NucleoCounter NC-200 / NC-202 (NucleoView; AO/DAPI fluorescence imaging)
    NucleoView writes one measurement per file as ``key;value;`` lines (NC-200, "csv file version 2",
    ending with a ``//[checksum]`` line) or ``Key:<TAB>value`` lines (NC-202). Keys used: ``Viability (%)``,
    ``Total (cells/ml)``, ``Live (cells/ml)`` (else Total - Dead), ``Dead (cells/ml)``, ``Image`` or
    ``Sample ID``, ``Date time`` or ``Time (UTC)``, ``Instrument type``, ``Sample Media``,
    ``Multiplication factor`` or ``Dilution Factor``, ``Protocol template purpose``, ``Status``.
    These exports carry no raw counts, only concentrations rounded to three significant figures; the
    viability is therefore the one NucleoView computed from its own counts (``Viability (%)``, required),
    checked to agree with live/total concentrations within their rounding (1 percentage point). A
    ``Status`` other than ``OK`` is rejected. The ``//[...]`` checksum is kept but cannot be verified
    (its algorithm is not public).

Other formats of the same instruments (issue 16): Vi-CELL XR TXT and XLSX in :mod:`.vicell_xr`, the NC-View
table export in :mod:`.nc_view`; :mod:`.formats` picks the reader by the file's content.

Concentration units accepted (anything else is rejected): ``cells/mL``, ``x10^N cells/mL`` (also written
``10^N``, ``x10ⁿ``, ``1eN``) and ``cells/µL``; values are returned in cells/mL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cellchain.instruments._text import (
    DecodedText,
    concentration_factor,
    decode_export,
    is_error_token,
    normalise_label,
    parse_count,
    parse_number,
    read_export_table,
)
from cellchain.instruments.errors import InstrumentFileError

VICELL_BLU = "Beckman Coulter Vi-CELL BLU"
VICELL_METHOD = "trypan blue exclusion, bright-field image analysis"
NUCLEOCOUNTER = "ChemoMetec NucleoCounter"
NUCLEOCOUNTER_METHOD = "AO/DAPI fluorescence image analysis"
XLSX_HINT = (
    "a Vi-CELL XR .xlsx workbook is read by the Vi-CELL XR workbook reader "
    "(cellchain.instruments.vicell_xr.parse_vicell_xr_xlsx), which QC import picks by itself"
)
VIABILITY_TOLERANCE_COUNTS = 0.1
"""Percentage points allowed between Vi-CELL's reported viability (2 decimals) and the raw-count one."""
VIABILITY_TOLERANCE_ROUNDED = 1.0
"""Percentage points allowed between NucleoView's viability and live/total at 3 significant figures."""


@dataclass(frozen=True)
class CellCountReading:
    """One cell count and viability result with how it was obtained (Q-2.1)."""

    sample_id: str
    instrument: str
    method: str
    stain: str | None
    analysed_at: str | None
    total_cells_per_ml: float
    viable_cells_per_ml: float
    viability_percent: float
    viability_basis: str
    total_cells_counted: int | None
    viable_cells_counted: int | None
    reported_viability_percent: float | None
    dilution: float | None
    line: int
    notes: tuple[str, ...] = ()  # the instrument's own remarks on a value, e.g. "Out of optimal range"


@dataclass(frozen=True)
class FlaggedSample:
    """A sample the instrument could not measure: it wrote an error (e.g. ``ERROR``) instead of a value."""

    sample_id: str
    line: int
    column: str
    reason: str


@dataclass(frozen=True)
class CellCounterExport:
    """A whole export: file name, SHA-256 of the raw bytes (ALCOA), encoding, readings in file order.

    ``flagged`` lists samples of the file that carry no usable number (issue 16: one sample with an
    ``ERROR`` count must not block the others); they are never in ``readings``. ``serial_number`` is the
    instrument's, where the export names it (Vi-CELL XR ``Unit S/N``, NC-View ``INSTRUMENT``).
    """

    source: str
    sha256: str
    encoding: str
    instrument: str
    readings: tuple[CellCountReading, ...]
    flagged: tuple[FlaggedSample, ...] = ()
    serial_number: str | None = None


# ---------------------------------------------------------------- Vi-CELL BLU

_VICELL_REQUIRED = ("sample id", "cell count", "viable cells", "viability (%)")


@dataclass(frozen=True)
class _ViCellColumns:
    index: dict[str, int]
    total: tuple[int, float]
    viable: tuple[int, float]


def read_vicell_blu(path: str | Path) -> CellCounterExport:
    """Read a Vi-CELL BLU CSV export from disk."""
    file_path = Path(path)
    return parse_vicell_blu(_read(file_path), source=file_path.name)


def parse_vicell_blu(raw: bytes, *, source: str = "<bytes>") -> CellCounterExport:
    """Parse a Vi-CELL BLU CSV export (see the module docstring for the accepted columns)."""
    table = read_export_table(raw, source, workbook_hint=XLSX_HINT)
    decoded, delimiter, rows = table.decoded, table.delimiter, table.rows
    header_line, header = rows[0]
    columns = _vicell_columns(header, source, header_line)
    decimal_comma = delimiter != ","
    readings: list[CellCountReading] = []
    flagged: list[FlaggedSample] = []
    for line, row in rows[1:]:
        error = _vicell_error(row, line, columns, header)
        if error is not None:
            flagged.append(error)
        else:
            readings.append(_vicell_reading(row, line, columns, header, source, decimal_comma))
    if not readings and not flagged:
        raise InstrumentFileError(source, "the export has a header but no sample rows", line=header_line)
    return CellCounterExport(
        source, decoded.sha256, decoded.encoding, VICELL_BLU, tuple(readings), tuple(flagged)
    )


def _vicell_error(row: list[str], line: int, cols: _ViCellColumns, header: list[str]) -> FlaggedSample | None:
    """The sample's flag when the instrument wrote an error token in one of the values used, else None."""
    used = [cols.index["cell count"], cols.index["viable cells"], cols.index["viability (%)"]]
    used += [cols.total[0], cols.viable[0]]
    for i in used:
        if i < len(row) and is_error_token(row[i]):
            sample = row[cols.index["sample id"]].strip() if cols.index["sample id"] < len(row) else ""
            return FlaggedSample(
                sample or f"(line {line})",
                line,
                header[i],
                f"the instrument reported {row[i].strip()!r} in {header[i]!r}: no result for this sample",
            )
    return None


def _vicell_columns(header: list[str], source: str, line: int) -> _ViCellColumns:
    names = [normalise_label(cell).lower() for cell in header]
    index = {name: i for i, name in enumerate(names)}
    missing = [name for name in _VICELL_REQUIRED if name not in index]
    if missing:
        raise InstrumentFileError(
            source, f"not a Vi-CELL BLU export: missing column(s) {', '.join(missing)}", line=line
        )
    return _ViCellColumns(
        index,
        _concentration_column(header, "total", source, line),
        _concentration_column(header, "viable", source, line),
    )


def _concentration_column(header: list[str], quantity: str, source: str, line: int) -> tuple[int, float]:
    """Column index and factor to cells/mL of e.g. ``Total (x10^6) cells/mL``; unknown units rejected."""
    for i, cell in enumerate(header):
        label = normalise_label(cell)
        if label.lower().startswith(quantity + " ") and "cells/" in label.lower():
            unit = label[len(quantity) :].strip()
            try:
                return i, concentration_factor(unit)
            except ValueError:
                raise InstrumentFileError(
                    source, f"unknown concentration unit {unit!r}", line=line, column=cell
                ) from None
    raise InstrumentFileError(
        source, f"not a Vi-CELL BLU export: no '{quantity.title()} (...) cells/mL' column", line=line
    )


def _cell(row: list[str], i: int, header: list[str], source: str, line: int) -> str:
    if i >= len(row):
        raise InstrumentFileError(source, "row has fewer cells than the header", line=line, column=header[i])
    return row[i]


def _vicell_reading(
    row: list[str], line: int, cols: _ViCellColumns, header: list[str], source: str, decimal_comma: bool
) -> CellCountReading:
    def text(name: str) -> str:
        return _cell(row, cols.index[name], header, source, line)

    def number(i: int) -> float:
        return parse_number(
            _cell(row, i, header, source, line), source, line, header[i], decimal_comma=decimal_comma
        )

    sample_id = text("sample id").strip()
    if not sample_id:
        raise InstrumentFileError(source, "empty Sample ID", line=line, column="Sample ID")
    total = parse_count(text("cell count"), source, line, header[cols.index["cell count"]])
    viable = parse_count(text("viable cells"), source, line, header[cols.index["viable cells"]])
    viability = _viability_from_counts(viable, total, source, line)
    reported = number(cols.index["viability (%)"])
    if abs(reported - viability) > VIABILITY_TOLERANCE_COUNTS:
        raise InstrumentFileError(
            source,
            f"reported viability {reported} % disagrees with the raw counts ({viable} viable of "
            f"{total} cells = {viability:.2f} %): the export is inconsistent",
            line=line,
            column=header[cols.index["viability (%)"]],
        )
    return CellCountReading(
        sample_id=sample_id,
        instrument=VICELL_BLU,
        method=VICELL_METHOD,
        stain="trypan blue",
        analysed_at=_optional_text(row, cols.index.get("analysis date/time")),
        total_cells_per_ml=number(cols.total[0]) * cols.total[1],
        viable_cells_per_ml=number(cols.viable[0]) * cols.viable[1],
        viability_percent=viability,
        viability_basis=f"raw counts: {viable} viable of {total} cells",
        total_cells_counted=total,
        viable_cells_counted=viable,
        reported_viability_percent=reported,
        dilution=number(cols.index["dilution"]) if _has(row, cols.index.get("dilution")) else None,
        line=line,
    )


def _viability_from_counts(viable: int, total: int, source: str, line: int) -> float:
    if total == 0:
        raise InstrumentFileError(
            source, "no cells counted (Cell count is 0): viability undefined", line=line
        )
    if viable > total:
        raise InstrumentFileError(
            source, f"more viable cells ({viable}) than cells counted ({total})", line=line
        )
    return 100.0 * viable / total


def _has(row: list[str], i: int | None) -> bool:
    return i is not None and i < len(row) and bool(row[i].strip())


def _optional_text(row: list[str], i: int | None) -> str | None:
    return row[i].strip() if i is not None and _has(row, i) else None


# ---------------------------------------------------------------- NucleoCounter (NucleoView)

_CHECKSUM = re.compile(r"^//\[([0-9A-Fa-f]+)\]\s*$")
_TRAILING_SEPARATORS = re.compile(r"[;,\s]+$")
_VALUE_WITH_NOTE = re.compile(r"^(?P<value>[^()]*?)\s*\((?P<note>[^()]*[A-Za-z][^()]*)\)\s*$")
"""A number followed by the instrument's remark: ``3.58E3 (Out of optimal range)`` (issue 16)."""


def read_nucleocounter(path: str | Path) -> CellCounterExport:
    """Read a NucleoView (NC-200 / NC-202) export from disk."""
    file_path = Path(path)
    return parse_nucleocounter(_read(file_path), source=file_path.name)


def parse_nucleocounter(raw: bytes, *, source: str = "<bytes>") -> CellCounterExport:
    """Parse a NucleoView export: one measurement of key/value lines (see the module docstring)."""
    decoded = decode_export(raw, source)
    fields = _nucleoview_fields(decoded, source)
    reading = _nucleoview_reading(fields, source)
    return CellCounterExport(source, decoded.sha256, decoded.encoding, reading.instrument, (reading,))


def _nucleoview_fields(decoded: DecodedText, source: str) -> dict[str, tuple[str, int]]:
    """Normalised lower-case key -> (value, line); a line without a separator continues the last value."""
    fields: dict[str, tuple[str, int]] = {}
    last: str | None = None
    for number, line in enumerate(decoded.text.splitlines(), start=1):
        if not line.strip() or _CHECKSUM.match(line.strip()):
            continue
        key, value = _split_key_value(line)
        if key is None:
            if last is not None:
                fields[last] = (f"{fields[last][0]} {line.strip()}", fields[last][1])
            continue
        key = normalise_label(key).lower()
        if key and key not in fields:
            fields[key] = (value, number)
            last = key
    if "viability (%)" not in fields and "total (cells/ml)" not in fields:
        raise InstrumentFileError(
            source, "not a NucleoView export: no 'Viability (%)' or 'Total' line", line=1
        )
    return fields


def _split_key_value(line: str) -> tuple[str | None, str]:
    if ":\t" in line:
        key, value = line.split(":\t", 1)
    elif ";" in line:
        key, value = line.split(";", 1)
        value = _TRAILING_SEPARATORS.sub(
            "", value
        )  # "1.71E6;" and, from some NucleoView versions, "1.71E6;,"
    elif "\t" in line:
        key, value = line.split("\t", 1)
    else:
        return None, ""
    return key.strip(), value.strip()


def _field_number(fields: dict[str, tuple[str, int]], key: str, source: str) -> float:
    value, line = fields[key]
    return parse_number(value_and_note(value)[0], source, line, key, decimal_comma=True)


def value_and_note(value: str) -> tuple[str, str | None]:
    """Split ``3.58E3 (Out of optimal range)`` into the number's text and the note; else (value, None)."""
    match = _VALUE_WITH_NOTE.match(value)
    return (match.group("value"), match.group("note").strip()) if match else (value, None)


def _notes(fields: dict[str, tuple[str, int]]) -> tuple[str, ...]:
    """Each remark the instrument wrote beside a value used, as ``Key: remark``."""
    used = ("viability (%)", "total (cells/ml)", "live (cells/ml)", "dead (cells/ml)")
    notes = []
    for key in used:
        note = value_and_note(fields[key][0])[1] if key in fields else None
        if note:
            notes.append(f"{key}: {note}")
    return tuple(notes)


def _required_field(fields: dict[str, tuple[str, int]], key: str, label: str, source: str) -> float:
    if key not in fields:
        raise InstrumentFileError(source, f"missing '{label}' line", line=1)
    return _field_number(fields, key, source)


def _concentration_fields(fields: dict[str, tuple[str, int]], source: str) -> dict[str, float]:
    """Live/Dead/Total concentrations in cells/mL from keys like ``Total (cells/ml)``; units checked."""
    found: dict[str, float] = {}
    for key, (_value, line) in fields.items():
        match = re.fullmatch(r"(live|dead|total) \((.+)\)", key)
        if match is None:
            continue
        try:
            factor = concentration_factor(match.group(2))
        except ValueError:
            raise InstrumentFileError(
                source, f"unknown concentration unit {match.group(2)!r}", line=line, column=key
            ) from None
        found[match.group(1)] = _field_number(fields, key, source) * factor
    return found


def _nucleoview_reading(fields: dict[str, tuple[str, int]], source: str) -> CellCountReading:
    _check_status(fields, source)
    viability = _required_field(fields, "viability (%)", "Viability (%)", source)
    concentrations = _concentration_fields(fields, source)
    if "total" not in concentrations:
        raise InstrumentFileError(source, "missing 'Total (cells/ml)' line", line=1)
    total = concentrations["total"]
    live = concentrations.get("live", total - concentrations.get("dead", float("nan")))
    if live != live:
        raise InstrumentFileError(source, "neither 'Live (cells/ml)' nor 'Dead (cells/ml)' is given", line=1)
    _check_rounded_viability(viability, live, total, source, fields["viability (%)"][1])
    sample = _first(fields, "sample id", "image")
    if sample is None:
        raise InstrumentFileError(source, "no 'Sample ID' or 'Image' line names the sample", line=1)
    return CellCountReading(
        sample_id=sample,
        instrument=_nucleocounter_model(fields),
        method=NUCLEOCOUNTER_METHOD,
        stain=_nucleocounter_stain(fields),
        analysed_at=_first(fields, "date time", "time (utc)"),
        total_cells_per_ml=total,
        viable_cells_per_ml=live,
        viability_percent=viability,
        viability_basis="instrument-reported (NucleoView computes it from its raw counts; none exported)",
        total_cells_counted=None,
        viable_cells_counted=None,
        reported_viability_percent=viability,
        dilution=_optional_number(fields, source, "multiplication factor", "dilution factor"),
        line=fields["viability (%)"][1],
        notes=_notes(fields),
    )


def _check_status(fields: dict[str, tuple[str, int]], source: str) -> None:
    if "status" in fields and fields["status"][0].strip().upper() != "OK":
        raise InstrumentFileError(
            source, f"measurement status is {fields['status'][0]!r}, not OK", line=fields["status"][1]
        )


def _check_rounded_viability(viability: float, live: float, total: float, source: str, line: int) -> None:
    if not 0.0 <= viability <= 100.0:
        raise InstrumentFileError(source, f"viability {viability} % is outside 0-100 %", line=line)
    if total <= 0 or live < 0 or live > total * 1.01:
        raise InstrumentFileError(
            source, f"concentrations live {live:g} / total {total:g} are impossible", line=line
        )
    from_concentrations = 100.0 * live / total
    if abs(from_concentrations - viability) > VIABILITY_TOLERANCE_ROUNDED:
        raise InstrumentFileError(
            source,
            f"reported viability {viability} % disagrees with live/total concentrations "
            f"({from_concentrations:.1f} %) beyond their rounding: the export is inconsistent",
            line=line,
        )


def _first(fields: dict[str, tuple[str, int]], *keys: str) -> str | None:
    for key in keys:
        if key in fields and fields[key][0].strip():
            return fields[key][0].strip()
    return None


def _optional_number(fields: dict[str, tuple[str, int]], source: str, *keys: str) -> float | None:
    for key in keys:
        if key in fields and fields[key][0].strip():
            return _field_number(fields, key, source)
    return None


def _nucleocounter_model(fields: dict[str, tuple[str, int]]) -> str:
    described = " ".join(
        value for key, (value, _line) in fields.items() if key in ("instrument type", "sample media")
    )
    model = re.search(r"NC-?(\d{3,4})", described, re.IGNORECASE)
    if model:
        return f"{NUCLEOCOUNTER} NC-{model.group(1)}"
    if "via2-cassette" in described.lower():
        return f"{NUCLEOCOUNTER} NC-202"
    return NUCLEOCOUNTER


def _nucleocounter_stain(fields: dict[str, tuple[str, int]]) -> str | None:
    described = " ".join(fields.get(key, ("", 0))[0] for key in ("protocol template purpose", "sample media"))
    if (re.search(r"\bAO\b", described) and "DAPI" in described) or "via2-cassette" in described.lower():
        return "acridine orange / DAPI"
    return None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InstrumentFileError(path.name, f"cannot read file: {exc.strerror or exc}") from exc
