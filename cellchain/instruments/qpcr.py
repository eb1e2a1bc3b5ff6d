"""Read a generic qPCR results CSV into standards and unknowns for a standard curve (Q-2.3-a).

Instrument software differs (QuantStudio, CFX Maestro, LightCycler); CellChain accepts one documented
CSV layout, which each of them can export or be mapped to. The header row is the first row with a
``Well`` and a ``Cq``/``Ct`` column (title lines above it are skipped). Delimiter by csv.Sniffer (comma,
semicolon, tab); UTF-8 (BOM or not), UTF-16 with BOM, or Windows-1252. Columns (case-insensitive):

============ ======== =============================================================================
column       required accepted names and values
============ ======== =============================================================================
well         yes      ``Well``, ``Well Position``
sample       yes      ``Sample``, ``Sample Name``
type         yes      ``Type``, ``Task``, ``Content``: ``Standard``/``Std``/``Std-01``,
                      ``Unknown``/``Unkn``/``Unkn-01``, ``NTC``/``Negative``; others are kept as given
quantity     yes      ``Quantity``, ``Starting Quantity (SQ)``, ``Qty``: copies; required on standards
Cq           yes      ``Cq``, ``Ct``, ``CT``, ``Cт``: a number, or ``Undetermined``/``No Ct``/``N/A``/empty
                      for no amplification
target       no       ``Target``, ``Target Name``
============ ======== =============================================================================

``ERROR`` or other non-numbers in Quantity/Cq, a standard without a quantity, or a missing required
column raise :class:`InstrumentFileError` naming the line and column. With a semicolon or tab delimiter
a decimal comma is accepted. RDML files give the same :class:`QpcrExport` through :mod:`.rdml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cellchain.domain.qpcr import StandardCurve, StandardPoint, fit_standard_curve
from cellchain.instruments._text import (
    normalise_label,
    parse_number,
    read_export_table,
)
from cellchain.instruments.errors import InstrumentFileError

STANDARD = "standard"
UNKNOWN = "unknown"
NTC = "ntc"

_ALIASES: dict[str, tuple[str, ...]] = {
    "well": ("well", "well position"),
    "sample": ("sample", "sample name"),
    "type": ("type", "task", "content"),
    "quantity": ("quantity", "starting quantity (sq)", "qty"),
    "cq": ("cq", "ct", "cт", "c t"),
    "target": ("target", "target name"),
}
_REQUIRED = ("well", "sample", "type", "quantity", "cq")
_NO_CQ = {"", "UNDETERMINED", "NO CT", "NO CQ", "N/A", "NA", "-"}


@dataclass(frozen=True)
class QpcrWell:
    """One well: sample, normalised type (standard/unknown/ntc or as written), quantity, Cq (None: none).

    ``excluded`` is the reason the run's software excluded the well (RDML ``<excl>``); an excluded well is
    kept for the record but is neither a standard nor an unknown.
    """

    well: str
    sample: str
    target: str | None
    well_type: str
    quantity: float | None
    cq: float | None
    line: int
    excluded: str | None = None


@dataclass(frozen=True)
class QpcrExport:
    """A whole run: file name, SHA-256 of the raw bytes (ALCOA), encoding and wells in file order."""

    source: str
    sha256: str
    encoding: str
    wells: tuple[QpcrWell, ...]

    def targets(self) -> tuple[str | None, ...]:
        return tuple(dict.fromkeys(w.target for w in self.wells))

    def standards(self, target: str | None = None) -> tuple[StandardPoint, ...]:
        """Standard wells of ``target`` (all targets when None) as domain points."""
        return tuple(
            StandardPoint(w.quantity, w.cq, w.well)
            for w in self.wells
            if w.well_type == STANDARD
            and w.quantity is not None
            and w.excluded is None
            and (target is None or w.target == target)
        )

    def unknowns(self, target: str | None = None) -> tuple[QpcrWell, ...]:
        return tuple(
            w
            for w in self.wells
            if w.well_type == UNKNOWN and w.excluded is None and (target is None or w.target == target)
        )

    def standard_curve(self, target: str | None = None) -> StandardCurve:
        """Fit the standard curve of ``target`` (see :func:`cellchain.domain.qpcr.fit_standard_curve`)."""
        return fit_standard_curve(self.standards(target))


def read_qpcr(path: str | Path) -> QpcrExport:
    """Read a qPCR results CSV from disk."""
    file_path = Path(path)
    try:
        raw = file_path.read_bytes()
    except OSError as exc:
        raise InstrumentFileError(file_path.name, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_qpcr(raw, source=file_path.name)


def parse_qpcr(raw: bytes, *, source: str = "<bytes>") -> QpcrExport:
    """Parse a qPCR results CSV (see the module docstring for the columns accepted)."""
    table = read_export_table(raw, source)
    decoded, delimiter, rows = table.decoded, table.delimiter, table.rows
    start, columns = _header(rows, source)
    header = rows[start][1]
    comma = delimiter != ","
    wells = tuple(_well(row, line, header, columns, source, comma) for line, row in rows[start + 1 :])
    if not wells:
        raise InstrumentFileError(source, "the export has a header but no well rows", line=rows[start][0])
    return QpcrExport(source, decoded.sha256, decoded.encoding, wells)


def _header(rows: list[tuple[int, list[str]]], source: str) -> tuple[int, dict[str, int]]:
    for i, (line, row) in enumerate(rows[:30]):
        names = [normalise_label(cell).lower() for cell in row]
        if "well" not in names and "well position" not in names:
            continue
        index = {key: next(names.index(a) for a in aliases if a in names)
                 for key, aliases in _ALIASES.items() if any(a in names for a in aliases)}  # fmt: skip
        missing = [key for key in _REQUIRED if key not in index]
        if missing:
            raise InstrumentFileError(
                source, f"qPCR export: missing column(s) {', '.join(missing)}", line=line
            )
        return i, index
    raise InstrumentFileError(source, "not a qPCR export: no header row with a 'Well' column", line=1)


def _well_type(text: str) -> str:
    value = text.strip().lower()
    if value.startswith(("standard", "std")):
        return STANDARD
    if value.startswith(("unknown", "unkn")):
        return UNKNOWN
    if value.startswith(("ntc", "negative", "neg ctrl", "no template")):
        return NTC
    return value


def _well(
    row: list[str], line: int, header: list[str], cols: dict[str, int], source: str, decimal_comma: bool
) -> QpcrWell:
    def cell(key: str) -> str:
        i = cols[key]
        if i >= len(row):
            raise InstrumentFileError(
                source, "row has fewer cells than the header", line=line, column=header[i]
            )
        return row[i]

    well_type = _well_type(cell("type"))
    quantity_text = cell("quantity").strip()
    quantity = (
        parse_number(quantity_text, source, line, header[cols["quantity"]], decimal_comma=decimal_comma)
        if quantity_text
        else None
    )
    if well_type == STANDARD and (quantity is None or quantity <= 0):
        raise InstrumentFileError(source, "standard well without a positive quantity", line=line,
                                  column=header[cols["quantity"]])  # fmt: skip
    cq_text = cell("cq").strip()
    cq = (
        None
        if cq_text.upper() in _NO_CQ
        else parse_number(cq_text, source, line, header[cols["cq"]], decimal_comma=decimal_comma)
    )
    well = cell("well").strip()
    if not well:
        raise InstrumentFileError(source, "empty Well", line=line, column=header[cols["well"]])
    target = cell("target").strip() or None if "target" in cols else None
    return QpcrWell(well, cell("sample").strip(), target, well_type, quantity, cq, line)
