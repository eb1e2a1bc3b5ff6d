"""Read Beckman Coulter Vi-CELL XR exports: the per-sample TXT report and the XLSX workbook (Q-2.1; issue 16).

Q-2.1: each result records method, instrument and stain; the Vi-CELL XR counts trypan-blue-stained cells in
bright-field images, like the BLU. Layouts as documented by Benchling's open-source allotropy parsers
(``beckman_vi_cell_xr``) and their public example files:

TXT (one sample per file, Windows line ends)
    First line ``Vi-CELL XR <version>`` (e.g. ``2.06.3``), then ``Key : value`` lines in sections
    (``Results:``, ``Settings:``) and per-image data lines (``SizeData : 3,9,...``). Keys used:
    ``Sample ID``, ``Total cells``, ``Viable cells``, ``Nonviable cells`` (checked: viable + nonviable =
    total), ``Viability (%)``, ``Total cells / ml (x 10^6)``, ``Total viable cells / ml (x 10^6)``,
    ``Dilution``, ``RunDate`` (the analysis time), ``Cell type``, ``Unit S/N``.

XLSX (several samples, one row each; first sheet)
    Cell A1 ``Vi-CELL XR <version>``, A2 the export path, A3 ``... : <serial>``; the column headings are
    split over two rows (e.g. ``Viable cells`` over ``/ml (x10^6)``), the upper one starting with
    ``Sample ID`` (row 5 for 2.06, row 4 for 2.04); samples below. Columns used: ``Sample ID``,
    ``Total cells``, ``Viable cells``, ``Viability (%)``, ``Total cells/ml (x10^6)``,
    ``Viable cells/ml (x10^6)``, and where present ``Sample date/time``, ``Dilution factor``,
    ``Cell type``. Exports carry a hidden first data row (allotropy drops it as an "invalid first row"):
    a hidden row is never read and is listed in ``flagged`` with that reason, so nothing is dropped in
    silence. A sample with an instrument error (``ERROR``, ``#N/A``, ...) in a value used is flagged and
    the other samples are read (issue 16). The legacy ``.xls`` of XR 2.04 is refused: save it as ``.xlsx``.

In both, viability is recomputed from the raw counts (``Viable cells`` / ``Total cells``); the reported one
(1 decimal) must agree within 0.1 percentage point or the file is refused as inconsistent. Concentrations
are returned in cells/mL from the ``(x 10^6)`` unit of their heading; any other unit is refused.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cellchain.instruments._text import (
    concentration_factor,
    decode_export,
    is_error_token,
    normalise_label,
    parse_number,
)
from cellchain.instruments.cell_counters import (
    VIABILITY_TOLERANCE_COUNTS,
    VICELL_METHOD,
    XLSX_HINT,
    CellCounterExport,
    CellCountReading,
    FlaggedSample,
)
from cellchain.instruments.errors import InstrumentFileError

VICELL_XR = "Beckman Coulter Vi-CELL XR"
MAX_WORKBOOK_BYTES = 20 * 1024 * 1024
"""A Vi-CELL XR workbook is tens of kilobytes; a larger upload is refused before it is unzipped."""
_MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
_MODEL = re.compile(r"^\s*Vi-CELL XR\s+(?P<version>\d+\.\d+(?:\.\d+)?)", re.IGNORECASE)
_CONCENTRATION = re.compile(
    r"^(?P<what>total viable|total|viable) cells\s*/\s*ml\s*\((?P<unit>[^()]*)\)$", re.IGNORECASE
)


@dataclass(frozen=True)
class _Value:
    """A raw value of the export and where it is (a TXT line, or a workbook row and cell)."""

    raw: str | float | int | None
    line: int
    column: str
    cell: str | None = None


def _fail(source: str, value: _Value, reason: str) -> InstrumentFileError:
    return InstrumentFileError(source, reason, line=value.line, column=value.column, cell=value.cell)


def _number(source: str, value: _Value) -> float:
    if isinstance(value.raw, bool):
        raise _fail(source, value, f"{value.raw!r} is not a number")
    if isinstance(value.raw, int | float):
        if not math.isfinite(value.raw):
            raise _fail(source, value, f"{value.raw!r} is out of range")
        return float(value.raw)
    try:
        return parse_number(str(value.raw or ""), source, value.line, value.column)
    except InstrumentFileError as error:  # the same reason, with the workbook cell added
        raise _fail(source, value, error.reason) from None


def _count(source: str, value: _Value) -> int:
    number = _number(source, value)
    if number < 0 or number != int(number):
        raise _fail(source, value, f"{value.raw!r} is not a whole non-negative count")
    return int(number)


def _concentration_key(label: str) -> tuple[str, float] | None:
    """``('total'|'viable', factor to cells/mL)`` for a concentration heading, None for other labels.

    Raises ``ValueError`` for a concentration heading whose unit is unknown.
    """
    match = _CONCENTRATION.match(normalise_label(label))
    if match is None:
        return None
    what = "total" if match.group("what").lower() == "total" else "viable"
    return what, concentration_factor(f"{match.group('unit')} cells/mL")


@dataclass(frozen=True)
class _Sample:
    """One sample's values by normalised lower-case label, and the label as written for messages."""

    values: dict[str, _Value]
    first_line: int


def _reading(sample: _Sample, source: str, *, require_nonviable_check: bool) -> CellCountReading:
    """One reading from a sample's values; every inconsistency refuses the file (what, where, why)."""
    values = sample.values

    def need(key: str, label: str) -> _Value:
        value = values.get(key)
        if value is None or value.raw is None or (isinstance(value.raw, str) and not value.raw.strip()):
            where = value or _Value(None, sample.first_line, label)
            raise _fail(source, where, f"missing {label!r}: the Vi-CELL XR export is incomplete")
        return value

    sample_id = str(need("sample id", "Sample ID").raw).strip()
    total = _count(source, need("total cells", "Total cells"))
    viable = _count(source, need("viable cells", "Viable cells"))
    if total == 0:
        raise _fail(source, values["total cells"], "no cells counted (Total cells is 0): viability undefined")
    if viable > total:
        raise _fail(source, values["viable cells"], f"more viable cells ({viable}) than cells ({total})")
    if require_nonviable_check and "nonviable cells" in values:
        nonviable = _count(source, values["nonviable cells"])
        if viable + nonviable != total:
            raise _fail(
                source,
                values["nonviable cells"],
                f"viable ({viable}) + nonviable ({nonviable}) cells is not the total ({total}): "
                "the export is inconsistent",
            )
    viability = 100.0 * viable / total
    reported_value = need("viability (%)", "Viability (%)")
    reported = _number(source, reported_value)
    if abs(reported - viability) > VIABILITY_TOLERANCE_COUNTS:
        raise _fail(
            source,
            reported_value,
            f"reported viability {reported} % disagrees with the raw counts ({viable} viable of {total} "
            f"cells = {viability:.2f} %): the export is inconsistent",
        )
    concentrations = _concentrations(values, source, sample.first_line)
    dilution = values.get("dilution factor") or values.get("dilution")
    analysed = values.get("sample date/time") or values.get("rundate")
    return CellCountReading(
        sample_id=sample_id,
        instrument=VICELL_XR,
        method=VICELL_METHOD,
        stain="trypan blue",
        analysed_at=_text(analysed),
        total_cells_per_ml=concentrations["total"],
        viable_cells_per_ml=concentrations["viable"],
        viability_percent=viability,
        viability_basis=f"raw counts: {viable} viable of {total} cells",
        total_cells_counted=total,
        viable_cells_counted=viable,
        reported_viability_percent=reported,
        dilution=_number(source, dilution) if dilution is not None and _text(dilution) else None,
        line=sample.first_line,
    )


def _concentrations(values: dict[str, _Value], source: str, line: int) -> dict[str, float]:
    found: dict[str, float] = {}
    for key, value in values.items():
        try:
            known = _concentration_key(key)
        except ValueError:
            raise _fail(source, value, f"unknown concentration unit in {value.column!r}") from None
        if known is not None and known[0] not in found:
            number = _number(source, value)
            if number < 0:
                raise _fail(source, value, f"negative concentration {number}")
            found[known[0]] = number * known[1]
    for what, label in (("total", "Total cells / ml (x 10^6)"), ("viable", "Viable cells / ml (x 10^6)")):
        if what not in found:
            raise InstrumentFileError(
                source, f"missing {label!r}: the Vi-CELL XR export is incomplete", line=line
            )
    if found["viable"] > found["total"] * 1.01:
        raise InstrumentFileError(
            source,
            "viable concentration above the total concentration: the export is inconsistent",
            line=line,
        )
    return found


def _text(value: _Value | None) -> str | None:
    if value is None or value.raw is None:
        return None
    if isinstance(value.raw, datetime):
        return value.raw.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value.raw).strip()
    return text or None


# ---------------------------------------------------------------- TXT


def is_xr_report_line(line: str) -> bool:
    """True for the first line of a Vi-CELL XR TXT report (``Vi-CELL XR 2.06.3``)."""
    return _MODEL.match(line) is not None


def read_vicell_xr_txt(path: str | Path) -> CellCounterExport:
    """Read a Vi-CELL XR TXT report from disk."""
    file_path = Path(path)
    return parse_vicell_xr_txt(_read(file_path), source=file_path.name)


def parse_vicell_xr_txt(raw: bytes, *, source: str = "<bytes>") -> CellCounterExport:
    """Parse a Vi-CELL XR TXT report: one sample (see the module docstring)."""
    decoded = decode_export(raw, source, workbook_hint=XLSX_HINT)
    lines = decoded.text.splitlines()
    first = next(((n, line) for n, line in enumerate(lines, start=1) if line.strip()), None)
    if first is None:
        raise InstrumentFileError(source, "the export is empty", line=1)
    model = _MODEL.match(first[1])
    if model is None:
        raise InstrumentFileError(
            source,
            "not a Vi-CELL XR report: the first line does not read 'Vi-CELL XR <version>'",
            line=first[0],
        )
    values: dict[str, _Value] = {}
    for number, line in enumerate(lines, start=1):
        if " :" not in line:
            continue
        key, value = line.split(" :", 1)
        label = normalise_label(key)
        if label and label.lower() not in values:
            values[label.lower()] = _Value(value.strip(), number, label)
    _refuse_error_tokens(values, source)
    reading = _reading(_Sample(values, values.get("sample id", _Value(None, 1, "")).line), source,
                       require_nonviable_check=True)  # fmt: skip
    return CellCounterExport(
        source,
        decoded.sha256,
        decoded.encoding,
        f"{VICELL_XR} {model.group('version')}",
        (reading,),
        serial_number=_text(values.get("unit s/n")),
    )


def _refuse_error_tokens(values: dict[str, _Value], source: str) -> None:
    """A one-sample report with an instrument error in a value used has no result: refuse it by name."""
    for key, value in values.items():
        used = key in _USED or _is_concentration(key)
        if used and isinstance(value.raw, str) and is_error_token(value.raw):
            raise _fail(
                source, value, f"the instrument reported {value.raw.strip()!r}: no result in this report"
            )


_USED = ("total cells", "viable cells", "nonviable cells", "viability (%)", "dilution", "dilution factor")


def _is_concentration(key: str) -> bool:
    try:
        return _concentration_key(key) is not None
    except ValueError:
        return True


# ---------------------------------------------------------------- XLSX


def read_vicell_xr_xlsx(path: str | Path) -> CellCounterExport:
    """Read a Vi-CELL XR XLSX workbook from disk."""
    file_path = Path(path)
    return parse_vicell_xr_xlsx(_read(file_path), source=file_path.name)


def parse_vicell_xr_xlsx(raw: bytes, *, source: str = "<bytes>") -> CellCounterExport:
    """Parse a Vi-CELL XR XLSX workbook: one sample per row of the first sheet (see the module docstring)."""
    sheet = _first_sheet(raw, source)
    rows = _sheet_rows(sheet)
    model = _MODEL.match(str(rows.get(1, {}).get(1) or ""))
    if model is None:
        raise InstrumentFileError(
            source, "not a Vi-CELL XR workbook: cell A1 does not read 'Vi-CELL XR <version>'",
            line=1, cell=f"{sheet.title}!A1",
        )  # fmt: skip
    header_row, headings = _headings(rows, source, sheet.title)
    readings: list[CellCountReading] = []
    flagged: list[FlaggedSample] = []
    for row_number in sorted(r for r in rows if r > header_row + 1):
        cells = rows[row_number]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells.values()):
            continue
        values = {
            key: _Value(cells.get(col), row_number, label, f"{sheet.title}!{_letter(col)}{row_number}")
            for col, (key, label) in headings.items()
        }
        sample_id = _text(values.get("sample id")) or f"(row {row_number})"
        if sheet.row_dimensions[row_number].hidden:
            flagged.append(FlaggedSample(sample_id, row_number, "(row)",
                                         "the row is hidden in the workbook: not read (Vi-CELL XR exports "
                                         "hide an invalid first row); unhide and check it if it is a sample"))  # fmt: skip
            continue
        error = _workbook_error(values, sample_id)
        if error is not None:
            flagged.append(error)
            continue
        readings.append(_reading(_Sample(values, row_number), source, require_nonviable_check=True))
    if not readings and not flagged:
        raise InstrumentFileError(source, "the workbook has headings but no sample rows", line=header_row)
    serial = str(rows.get(3, {}).get(1) or "")
    return CellCounterExport(
        source,
        hashlib.sha256(raw).hexdigest(),
        "xlsx",
        f"{VICELL_XR} {model.group('version')}",
        tuple(readings),
        tuple(flagged),
        serial_number=serial.rsplit(":", 1)[1].strip() or None if ":" in serial else None,
    )


def _first_sheet(raw: bytes, source: str) -> Any:
    """The first worksheet; anything that is not a readable XLSX workbook is refused with what it is."""
    if raw.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise InstrumentFileError(
            source, "this is an Excel 97-2003 workbook (.xls): open it in Excel and save it as .xlsx, "
            "or export the TXT report, then import that", offset=0,
        )  # fmt: skip
    if not raw.startswith(b"PK\x03\x04"):
        raise InstrumentFileError(source, "not an XLSX workbook (no zip signature)", offset=0)
    if len(raw) > MAX_WORKBOOK_BYTES:
        raise InstrumentFileError(source, f"workbook larger than {MAX_WORKBOOK_BYTES // 2**20} MiB", offset=0)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            if sum(info.file_size for info in archive.infolist()) > _MAX_UNZIPPED_BYTES:
                raise InstrumentFileError(source, "workbook unpacks to more than 200 MiB: refused", offset=0)
            if "xl/workbook.xml" not in archive.namelist():
                raise InstrumentFileError(
                    source, "a zip archive but not an XLSX workbook (no xl/workbook.xml)", offset=0
                )
    except InstrumentFileError:
        raise
    except (
        Exception
    ) as exc:  # BadZipFile, and NotImplementedError for a version or method byte made up by damage
        raise InstrumentFileError(
            source, f"damaged XLSX workbook: {type(exc).__name__}: {exc}", offset=0
        ) from None
    import openpyxl  # the maintained XLSX reader; imported here so text readers do not pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(raw), data_only=True)
    except Exception as exc:  # openpyxl raises many types (KeyError, ValueError, lxml/ElementTree errors)
        raise InstrumentFileError(
            source, f"damaged XLSX workbook: {type(exc).__name__}: {exc}", offset=0
        ) from None
    if not workbook.worksheets:
        raise InstrumentFileError(source, "the workbook has no worksheet", offset=0)
    return workbook.worksheets[0]


def _sheet_rows(sheet: Any) -> dict[int, dict[int, Any]]:
    """Row number -> column number -> value, for the cells that hold something."""
    rows: dict[int, dict[int, Any]] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is not None:
                rows.setdefault(cell.row, {})[cell.column] = cell.value
    return rows


def _headings(
    rows: dict[int, dict[int, Any]], source: str, title: str
) -> tuple[int, dict[int, tuple[str, str]]]:
    """The row of the upper headings (first cell ``Sample ID``) and column -> (key, heading as combined)."""
    for row_number in sorted(r for r in rows if r <= 15):
        upper = rows[row_number]
        if normalise_label(str(upper.get(1) or "")).lower() != "sample id":
            continue
        lower = rows.get(row_number + 1, {})
        headings: dict[int, tuple[str, str]] = {}
        for col in sorted(set(upper) | set(lower)):
            label = " ".join(str(v).strip() for v in (upper.get(col), lower.get(col)) if v is not None)
            label = normalise_label(label.replace(" /ml", "/ml"))
            if label and label.lower() not in {key for key, _ in headings.values()}:
                headings[col] = (label.lower(), label)
        present = {key for key, _ in headings.values()}
        missing = [name for name in ("total cells", "viable cells", "viability (%)") if name not in present]
        if missing:
            raise InstrumentFileError(
                source, f"not a Vi-CELL XR workbook: missing column(s) {', '.join(missing)}",
                line=row_number, cell=f"{title}!A{row_number}",
            )  # fmt: skip
        return row_number, headings
    raise InstrumentFileError(
        source, "not a Vi-CELL XR workbook: no heading row starting with 'Sample ID' in the first 15 rows",
        line=1, cell=f"{title}!A1",
    )  # fmt: skip


def _workbook_error(values: dict[str, _Value], sample_id: str) -> FlaggedSample | None:
    for key, value in values.items():
        used = key in _USED or _is_concentration(key)
        if used and isinstance(value.raw, str) and is_error_token(value.raw):
            return FlaggedSample(
                sample_id,
                value.line,
                value.column,
                f"the instrument reported {value.raw.strip()!r} in {value.column!r} ({value.cell}): "
                "no result for this sample",
            )
    return None


def _letter(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(column))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InstrumentFileError(path.name, f"cannot read file: {exc.strerror or exc}") from exc
