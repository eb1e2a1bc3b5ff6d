"""Read Bio-Rad droplet digital PCR exports: QX Manager and QuantaSoft CSV (Q-2.3-a, Q-2.3-b).

Q-2.3-a: VCN by ddPCR records the method, the standard and the instrument file; the per-well droplet
counts read here feed :func:`cellchain.domain.vcn.vcn_from_droplets`.

One row per well and target. The header row is the first row that has a ``Well`` and a ``Target``
column (lines above it, e.g. a title, are skipped). Delimiter by csv.Sniffer (comma, semicolon, tab);
UTF-8 (BOM or not), UTF-16 with BOM, or Windows-1252; µ/μ/``Âµ`` normalised. Columns (case-insensitive):

======================= ====================================== ========================================
meaning                 QX Manager                             QuantaSoft
======================= ====================================== ========================================
well (required)         ``Well``                               ``Well``
sample (required)       ``Sample description 1`` (or           ``Sample``
                        ``Sample``)
target (required)       ``Target``                             ``Target`` or ``Assay``
copies/µL               ``Conc(copies/µL)``                    ``Concentration``
accepted droplets (req) ``Accepted Droplets``                  ``AcceptedDroplets``
positives (required)    ``Positives``                          ``Positives``
negatives (required)    ``Negatives``                          ``Negatives``
status / dye            ``Status``, ``DyeName(s)``             ``Status``, ``TargetType``
droplet volume          ``Droplet Volume (nL)`` or ``(µL)``,   same
                        where present
======================= ====================================== ========================================

A concentration of ``No Call`` or an empty one is kept as ``None`` (the droplets still are). Droplet
counts must be whole numbers with ``positives + negatives == accepted``. A concentration column whose
unit is not copies/µL is rejected. ``ERROR`` or empty required cells raise naming line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cellchain.domain.vcn import DEFAULT_DROPLET_VOLUME_NL, VcnResult, vcn_from_droplets
from cellchain.instruments._text import (
    normalise_label,
    parse_count,
    parse_number,
    read_export_table,
)
from cellchain.instruments.errors import InstrumentFileError

QX_MANAGER = "Bio-Rad QX Manager"
QUANTASOFT = "Bio-Rad QuantaSoft"

_ALIASES: dict[str, tuple[str, ...]] = {
    "well": ("well",),
    "sample": ("sample description 1", "sample", "sample name"),
    "target": ("target", "assay"),  # some QuantaSoft versions name the target column "Assay" (issue 16)
    "accepted": ("accepted droplets", "accepteddroplets"),
    "positives": ("positives",),
    "negatives": ("negatives",),
    "status": ("status",),
    "dye": ("dyename(s)", "dye name(s)", "targettype"),
}
_REQUIRED = ("well", "sample", "target", "accepted", "positives", "negatives")
_NO_CALL = {"", "NO CALL", "NOCALL"}


@dataclass(frozen=True)
class DdpcrWell:
    """One well and target: droplet counts, reported concentration, droplet volume if exported."""

    well: str
    sample: str
    target: str
    copies_per_ul: float | None
    accepted_droplets: int
    positives: int
    negatives: int
    droplet_volume_nl: float | None
    status: str | None
    dye: str | None
    line: int


@dataclass(frozen=True)
class DdpcrExport:
    """A whole export: name, SHA-256 of the raw bytes (ALCOA), software, encoding and rows in order."""

    source: str
    sha256: str
    software: str
    encoding: str
    wells: tuple[DdpcrWell, ...]

    def find(self, well: str, target: str) -> DdpcrWell:
        """The row of ``target`` in ``well`` (well names compared without leading zeros: A1 == A01)."""
        wanted = (_well_key(well), target.strip().lower())
        rows = [r for r in self.wells if (_well_key(r.well), r.target.strip().lower()) == wanted]
        if len(rows) != 1:
            raise KeyError(f"{self.source}: {len(rows)} rows for target {target!r} in well {well!r}")
        return rows[0]

    def vcn(
        self,
        well: str,
        target: str,
        reference: str,
        *,
        transduced_fraction: float | None = None,
        reference_well: str | None = None,
    ) -> VcnResult:
        """VCN from the droplets of ``target`` and ``reference`` (same well unless given, Q-2.3-a)."""
        target_row = self.find(well, target)
        reference_row = self.find(reference_well or well, reference)
        volume = _shared_volume(self.source, target_row, reference_row)
        return vcn_from_droplets(
            target_row.target,
            reference_row.target,
            (target_row.positives, target_row.negatives),
            (reference_row.positives, reference_row.negatives),
            droplet_volume_nl=volume,
            transduced_fraction=transduced_fraction,
        )


def _well_key(well: str) -> str:
    match = re.fullmatch(r"\s*([A-Za-z]+)0*(\d+)\s*", well)
    return f"{match.group(1).upper()}{match.group(2)}" if match else well.strip().upper()


def _shared_volume(source: str, target: DdpcrWell, reference: DdpcrWell) -> float:
    volumes = {v for v in (target.droplet_volume_nl, reference.droplet_volume_nl) if v is not None}
    if len(volumes) > 1:
        raise InstrumentFileError(
            source, f"target and reference rows give different droplet volumes {sorted(volumes)} nL",
            line=target.line,
        )  # fmt: skip
    return volumes.pop() if volumes else DEFAULT_DROPLET_VOLUME_NL


def read_ddpcr(path: str | Path) -> DdpcrExport:
    """Read a QX Manager or QuantaSoft CSV export from disk."""
    file_path = Path(path)
    try:
        raw = file_path.read_bytes()
    except OSError as exc:
        raise InstrumentFileError(file_path.name, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_ddpcr(raw, source=file_path.name)


def parse_ddpcr(raw: bytes, *, source: str = "<bytes>") -> DdpcrExport:
    """Parse a ddPCR CSV export (see the module docstring for the columns accepted)."""
    table = read_export_table(raw, source)
    decoded, rows = table.decoded, table.rows
    start = _header_index(rows, source)
    header_line, header = rows[start]
    columns = _columns(header, source, header_line)
    software = (
        QX_MANAGER if "accepted droplets" in [normalise_label(h).lower() for h in header] else QUANTASOFT
    )
    wells = tuple(_well(row, line, header, columns, source) for line, row in rows[start + 1 :])
    if not wells:
        raise InstrumentFileError(source, "the export has a header but no well rows", line=header_line)
    return DdpcrExport(source, decoded.sha256, software, decoded.encoding, wells)


def _header_index(rows: list[tuple[int, list[str]]], source: str) -> int:
    for i, (_line, row) in enumerate(rows[:20]):
        names = {normalise_label(cell).lower() for cell in row}
        if "well" in names and ("target" in names or "assay" in names):
            return i
    raise InstrumentFileError(
        source, "not a ddPCR export: no header row with 'Well' and 'Target' (or 'Assay')", line=1
    )


@dataclass(frozen=True)
class _Columns:
    index: dict[str, int]
    concentration: int | None
    volume: tuple[int, float] | None


def _columns(header: list[str], source: str, line: int) -> _Columns:
    names = [normalise_label(cell).lower() for cell in header]
    index: dict[str, int] = {}
    for key, aliases in _ALIASES.items():
        found = next((names.index(alias) for alias in aliases if alias in names), None)
        if found is not None:
            index[key] = found
    missing = [key for key in _REQUIRED if key not in index]
    if missing:
        raise InstrumentFileError(
            source, f"not a ddPCR export: missing column(s) {', '.join(missing)}", line=line
        )
    return _Columns(index, _concentration_column(header, source, line), _volume_column(header, source, line))


def _concentration_column(header: list[str], source: str, line: int) -> int | None:
    for i, cell in enumerate(header):
        label = normalise_label(cell).lower().replace(" ", "")
        if label == "concentration":
            return i
        if label.startswith("conc("):
            if label not in ("conc(copies/µl)", "conc(copies/ul)"):
                raise InstrumentFileError(
                    source, f"unknown concentration unit in {cell!r}", line=line, column=cell
                )
            return i
    return None


def _volume_column(header: list[str], source: str, line: int) -> tuple[int, float] | None:
    """Droplet volume column and factor to nL (``(nL)`` 1, ``(µL)`` 1000)."""
    for i, cell in enumerate(header):
        label = normalise_label(cell).lower().replace(" ", "")
        if label.startswith("dropletvolume"):
            unit = label.removeprefix("dropletvolume")
            factors = {"(nl)": 1.0, "(µl)": 1000.0, "(ul)": 1000.0}
            if unit not in factors:
                raise InstrumentFileError(
                    source, f"unknown droplet volume unit in {cell!r}", line=line, column=cell
                )
            return i, factors[unit]
    return None


def _well(row: list[str], line: int, header: list[str], cols: _Columns, source: str) -> DdpcrWell:
    def cell(i: int) -> str:
        if i >= len(row):
            raise InstrumentFileError(
                source, "row has fewer cells than the header", line=line, column=header[i]
            )
        return row[i]

    def count(key: str) -> int:
        return parse_count(cell(cols.index[key]), source, line, header[cols.index[key]])

    accepted, positives, negatives = count("accepted"), count("positives"), count("negatives")
    if positives + negatives != accepted:
        raise InstrumentFileError(
            source,
            f"positives {positives} + negatives {negatives} != accepted droplets {accepted}",
            line=line,
        )
    well = cell(cols.index["well"]).strip()
    target = cell(cols.index["target"]).strip()
    if not well or not target:
        raise InstrumentFileError(source, "empty Well or Target", line=line)
    return DdpcrWell(
        well=well,
        sample=cell(cols.index["sample"]).strip(),
        target=target,
        copies_per_ul=_concentration(row, line, header, cols, source),
        accepted_droplets=accepted,
        positives=positives,
        negatives=negatives,
        droplet_volume_nl=_volume(row, line, header, cols, source),
        status=_optional(row, cols.index.get("status")),
        dye=_optional(row, cols.index.get("dye")),
        line=line,
    )


def _concentration(row: list[str], line: int, header: list[str], cols: _Columns, source: str) -> float | None:
    i = cols.concentration
    if i is None or i >= len(row) or row[i].strip().upper() in _NO_CALL:
        return None
    value = parse_number(row[i].replace(",", "") if "." in row[i] else row[i], source, line, header[i])
    if value < 0:
        raise InstrumentFileError(source, f"negative concentration {value}", line=line, column=header[i])
    return value


def _volume(row: list[str], line: int, header: list[str], cols: _Columns, source: str) -> float | None:
    if cols.volume is None or cols.volume[0] >= len(row) or not row[cols.volume[0]].strip():
        return None
    i, factor = cols.volume
    value = parse_number(row[i], source, line, header[i]) * factor
    if value <= 0:
        raise InstrumentFileError(
            source, f"droplet volume {value} nL is not positive", line=line, column=header[i]
        )
    return value


def _optional(row: list[str], i: int | None) -> str | None:
    if i is None or i >= len(row) or not row[i].strip():
        return None
    return row[i].strip()
