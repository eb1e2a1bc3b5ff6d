"""Read the ChemoMetec NC-View "table export": several NucleoCounter measurements, one row each (Q-2.1; issue 16).

Layout as read by Benchling's open-source allotropy parser ``chemometec_nc_view`` and its public example:
one header row, then one row per measurement; comma, semicolon or tab delimited; UTF-8 (BOM or not),
UTF-16 or Windows-1252. Columns used (case-insensitive, µ/μ normalised):

===================== ======== =================================================================
column                required meaning
===================== ======== =================================================================
``SAMPLE ID``         yes      sample name
``VIABILITY (%)``     yes      viability NucleoView computed from its own counts (none exported)
``TOTAL (cells/ml)``  yes      total concentration (``274 000``, ``1.07E+06``; unit in the heading)
``LIVE (cells/ml)``   yes*     live concentration; *else ``TOTAL - DEAD``
``DEAD (cells/ml)``   no       dead concentration; checked: live + dead = total within rounding
``STATUS``            no       ``OK``; any other status flags that measurement (not read)
``NAME``              no       the measurement name (``20240219-00019``), kept as ``analysed_at``
``INSTRUMENT``        no       ``S/N: <serial>``
``MEDIA``             no       ``Via2-Cassette`` identifies an NC-202 with AO/DAPI
``DILUTION FACTOR``   no       dilution
===================== ======== =================================================================

As in the single-measurement reader (:mod:`cellchain.instruments.cell_counters`), concentrations are
rounded to three significant figures, so the viability is the instrument's, checked against live/total
within 1 percentage point. A value followed by the instrument's remark (``3.58E3 (Out of optimal
range)``) is read with the remark kept in ``notes``. A measurement whose status is not OK, or with an instrument error token in a
value used, is flagged and the others are read; any other bad value refuses the file (what, where, why).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cellchain.instruments._text import (
    concentration_factor,
    is_error_token,
    normalise_label,
    parse_number,
    read_export_table,
)
from cellchain.instruments.cell_counters import (
    NUCLEOCOUNTER,
    NUCLEOCOUNTER_METHOD,
    VIABILITY_TOLERANCE_ROUNDED,
    CellCounterExport,
    CellCountReading,
    FlaggedSample,
    value_and_note,
)
from cellchain.instruments.errors import InstrumentFileError

SUM_TOLERANCE = 0.015
"""Relative gap allowed between live + dead and total: each is rounded to 3 significant figures."""
_CONCENTRATION = re.compile(r"^(live|dead|total) \((.+)\)$")


@dataclass(frozen=True)
class _Columns:
    index: dict[str, int]
    concentrations: dict[str, tuple[int, float]]


def looks_like_nc_view_table(text: str) -> bool:
    """True when the first non-blank line is an NC-View table header (``SAMPLE ID`` ... ``VIABILITY (%)``)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    names = normalise_label(first).lower()
    return "sample id" in names and "viability (%)" in names and any(d in first for d in ",;\t")


def read_nc_view_table(path: str | Path) -> CellCounterExport:
    """Read an NC-View table export from disk."""
    file_path = Path(path)
    try:
        raw = file_path.read_bytes()
    except OSError as exc:
        raise InstrumentFileError(file_path.name, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_nc_view_table(raw, source=file_path.name)


def parse_nc_view_table(raw: bytes, *, source: str = "<bytes>") -> CellCounterExport:
    """Parse an NC-View table export (see the module docstring for the columns)."""
    table = read_export_table(raw, source)
    decoded, delimiter, rows = table.decoded, table.delimiter, table.rows
    header_line, header = rows[0]
    columns = _columns(header, source, header_line)
    readings: list[CellCountReading] = []
    flagged: list[FlaggedSample] = []
    serials: set[str] = set()
    for line, row in rows[1:]:
        if len(row) < len(header):
            raise InstrumentFileError(
                source, f"row has {len(row)} cells, the header {len(header)}", line=line
            )
        flag = _flag(row, line, columns, header)
        if flag is not None:
            flagged.append(flag)
            continue
        readings.append(_reading(row, line, columns, header, source, delimiter != ","))
        serial = _serial(row, columns)
        if serial:
            serials.add(serial)
    if not readings and not flagged:
        raise InstrumentFileError(source, "the export has a header but no measurement rows", line=header_line)
    if len(serials) > 1:
        raise InstrumentFileError(
            source, f"measurements from several instruments ({', '.join(sorted(serials))}): export one per file",
            line=header_line,
        )  # fmt: skip
    instrument = readings[0].instrument if readings else NUCLEOCOUNTER
    return CellCounterExport(
        source,
        decoded.sha256,
        decoded.encoding,
        instrument,
        tuple(readings),
        tuple(flagged),
        serial_number=next(iter(serials), None),
    )


def _columns(header: list[str], source: str, line: int) -> _Columns:
    names = [normalise_label(cell).lower() for cell in header]
    index: dict[str, int] = {}
    concentrations: dict[str, tuple[int, float]] = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)
        match = _CONCENTRATION.match(name)
        if match and match.group(1) not in concentrations:
            try:
                concentrations[match.group(1)] = (i, concentration_factor(match.group(2)))
            except ValueError:
                raise InstrumentFileError(
                    source, f"unknown concentration unit {match.group(2)!r}", line=line, column=header[i]
                ) from None
    missing = [label for key, label in (("sample id", "SAMPLE ID"), ("viability (%)", "VIABILITY (%)"))
               if key not in index]  # fmt: skip
    if "total" not in concentrations:
        missing.append("TOTAL (cells/ml)")
    if "live" not in concentrations and "dead" not in concentrations:
        missing.append("LIVE (cells/ml) or DEAD (cells/ml)")
    if missing:
        raise InstrumentFileError(
            source, f"not an NC-View table export: missing column(s) {', '.join(missing)}", line=line
        )
    return _Columns(index, concentrations)


def _used(cols: _Columns) -> list[int]:
    return [cols.index["viability (%)"], *(i for i, _factor in cols.concentrations.values())]


def _flag(row: list[str], line: int, cols: _Columns, header: list[str]) -> FlaggedSample | None:
    sample = row[cols.index["sample id"]].strip() or f"(line {line})"
    status_i = cols.index.get("status")
    if status_i is not None and row[status_i].strip() and row[status_i].strip().upper() != "OK":
        return FlaggedSample(
            sample, line, header[status_i],
            f"measurement status is {row[status_i].strip()!r}, not OK: no result for this sample",
        )  # fmt: skip
    for i in _used(cols):
        if is_error_token(row[i]):
            return FlaggedSample(
                sample, line, header[i],
                f"the instrument reported {row[i].strip()!r} in {header[i]!r}: no result for this sample",
            )  # fmt: skip
    return None


def _reading(
    row: list[str], line: int, cols: _Columns, header: list[str], source: str, decimal_comma: bool
) -> CellCountReading:
    notes: list[str] = []

    def number(i: int) -> float:
        text, note = value_and_note(row[i])  # "3.58E3 (Out of optimal range)": the number and its remark
        if note:
            notes.append(f"{header[i]}: {note}")
        return parse_number(text, source, line, header[i], decimal_comma=decimal_comma)

    sample_id = row[cols.index["sample id"]].strip()
    if not sample_id:
        raise InstrumentFileError(
            source, "empty SAMPLE ID", line=line, column=header[cols.index["sample id"]]
        )
    found = {what: number(i) * factor for what, (i, factor) in cols.concentrations.items()}
    total = found["total"]
    live = found["live"] if "live" in found else total - found["dead"]
    viability_i = cols.index["viability (%)"]
    viability = number(viability_i)
    _check(viability, live, total, found.get("dead"), source, line, header[viability_i])
    media = _optional(row, cols, "media") or ""
    return CellCountReading(
        sample_id=sample_id,
        instrument=f"{NUCLEOCOUNTER} NC-202" if "via2-cassette" in media.lower() else NUCLEOCOUNTER,
        method=NUCLEOCOUNTER_METHOD,
        stain="acridine orange / DAPI" if "via2-cassette" in media.lower() else None,
        analysed_at=_optional(row, cols, "name"),
        total_cells_per_ml=total,
        viable_cells_per_ml=live,
        viability_percent=viability,
        viability_basis="instrument-reported (NucleoView computes it from its raw counts; none exported)",
        total_cells_counted=None,
        viable_cells_counted=None,
        reported_viability_percent=viability,
        dilution=number(cols.index["dilution factor"]) if _optional(row, cols, "dilution factor") else None,
        line=line,
        notes=tuple(notes),
    )


def _check(
    viability: float, live: float, total: float, dead: float | None, source: str, line: int, column: str
) -> None:
    if not 0.0 <= viability <= 100.0:
        raise InstrumentFileError(
            source, f"viability {viability} % is outside 0-100 %", line=line, column=column
        )
    if total <= 0 or live < 0 or live > total * 1.01:
        raise InstrumentFileError(
            source, f"concentrations live {live:g} / total {total:g} are impossible", line=line
        )
    if dead is not None and abs(live + dead - total) > SUM_TOLERANCE * total:
        raise InstrumentFileError(
            source, f"live {live:g} + dead {dead:g} is not the total {total:g} within rounding: "
            "the export is inconsistent", line=line,
        )  # fmt: skip
    from_concentrations = 100.0 * live / total
    if abs(from_concentrations - viability) > VIABILITY_TOLERANCE_ROUNDED:
        raise InstrumentFileError(
            source,
            f"reported viability {viability} % disagrees with live/total concentrations "
            f"({from_concentrations:.1f} %) beyond their rounding: the export is inconsistent",
            line=line,
            column=column,
        )


def _optional(row: list[str], cols: _Columns, key: str) -> str | None:
    i = cols.index.get(key)
    return row[i].strip() or None if i is not None else None


def _serial(row: list[str], cols: _Columns) -> str | None:
    text = _optional(row, cols, "instrument")
    return text.split(":", 1)[1].strip() or None if text and ":" in text else text
