"""Read RDML qPCR files (rdml.org) into the qPCR standards and unknowns of :mod:`qpcr` (Q-2.3-a; issue 16).

RDML (Real-time PCR Data Markup Language) is an XML format, stored as plain XML or as a zip archive
(``.rdml``) holding ``rdml_data.xml``. The file must be well-formed and valid against the RDML schema of
its ``version`` (1.0 to 1.3; the XSDs of the RDML consortium, MIT licence, shipped in
``schemas/rdml``), else it is refused with the schema's own message and line. What is read:

* ``<sample id=..>``: its ``<type>`` (``std``, ``unkn``, ``ntc``, others kept as written; per target
  when ``targetId`` is given, default ``unkn``) and, for standards, ``<quantity>`` with unit ``cop``
  (copies); a standard without a positive quantity in copies is refused.
* ``<experiment>/<run>/<react id=n>``: the sample and, per ``<data>``, the target ``<tar id=..>`` and
  ``<cq>``. A ``cq`` of ``-1`` (RDML's "not available") is "no Cq", like ``Undetermined`` in a CSV; a
  well with no ``<cq>`` at all was not analysed and is refused (unless excluded); any other negative or
  non-finite Cq is refused. ``<excl>`` keeps the well with its reason in
  ``excluded``, and it is used neither in the curve nor as an unknown.
* The well name comes from the run's ``pcrFormat`` (react 13 of a 96-well plate ``ABC``/``123`` is
  ``B1``); with several runs it is prefixed ``<run id>:``.

The result is the same :class:`~cellchain.instruments.qpcr.QpcrExport` as the CSV reader's, so the
standard curve, its verdict and quantification work unchanged. DTDs and entities are refused (no XML
entity expansion), and the size is bounded before parsing.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from cellchain.instruments.errors import InstrumentFileError
from cellchain.instruments.qpcr import NTC, STANDARD, UNKNOWN, QpcrExport, QpcrWell

NS = "http://www.rdml.org"
_Q = "{" + NS + "}"
SCHEMAS = Path(__file__).parent / "schemas" / "rdml"
VERSIONS = ("1.0", "1.1", "1.2", "1.3")
MAX_BYTES = 50 * 1024 * 1024
_MAX_UNZIPPED = 200 * 1024 * 1024
_TYPES = {"std": STANDARD, "unkn": UNKNOWN, "ntc": NTC}
NOT_AVAILABLE_CQ = -1.0


def looks_like_rdml(raw: bytes) -> bool:
    """True for a zipped RDML (an archive holding ``rdml_data.xml``) or XML whose root is ``<rdml``."""
    if raw.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                return "rdml_data.xml" in archive.namelist()
        except zipfile.BadZipFile:
            return False
    head = raw[:2048].lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"<") and b"<rdml" in head and b"rdml.org" in head


def read_rdml(path: str | Path) -> QpcrExport:
    """Read an RDML file (zipped ``.rdml`` or plain XML) from disk."""
    file_path = Path(path)
    try:
        raw = file_path.read_bytes()
    except OSError as exc:
        raise InstrumentFileError(file_path.name, f"cannot read file: {exc.strerror or exc}") from exc
    return parse_rdml(raw, source=file_path.name)


def parse_rdml(raw: bytes, *, source: str = "<bytes>") -> QpcrExport:
    """Parse and schema-validate an RDML file; refuse it naming the line and the reason."""
    if len(raw) > MAX_BYTES:
        raise InstrumentFileError(source, f"RDML file larger than {MAX_BYTES // 2**20} MiB", offset=0)
    xml, container = _xml_bytes(raw, source)
    root = _parse(xml, source)
    version = _version(root, source)
    _validate(root, version, source)
    wells = _wells(root, source)
    if not wells:
        raise InstrumentFileError(source, "the RDML file holds no reaction with data", line=root.sourceline)
    encoding = f"{root.getroottree().docinfo.encoding or 'UTF-8'} ({container}, RDML {version})"
    return QpcrExport(source, hashlib.sha256(raw).hexdigest(), encoding, tuple(wells))


def _xml_bytes(raw: bytes, source: str) -> tuple[bytes, str]:
    if not raw.startswith(b"PK\x03\x04"):
        return raw, "XML"
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            if "rdml_data.xml" not in archive.namelist():
                raise InstrumentFileError(
                    source,
                    "a zip archive without rdml_data.xml: not an RDML file (an Excel workbook?)",
                    offset=0,
                )
            info = archive.getinfo("rdml_data.xml")
            if info.file_size > _MAX_UNZIPPED:
                raise InstrumentFileError(
                    source, "rdml_data.xml unpacks to more than 200 MiB: refused", offset=0
                )
            return archive.read(info), "zipped RDML"
    except InstrumentFileError:
        raise  # our own refusal (it is a ValueError too): not to be wrapped as damage
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise InstrumentFileError(source, f"damaged RDML archive: {exc}", offset=0) from None
    except Exception as exc:  # zlib.error, NotImplementedError and friends from a damaged archive
        raise InstrumentFileError(
            source, f"damaged RDML archive: {type(exc).__name__}: {exc}", offset=0
        ) from None


def _parse(xml: bytes, source: str) -> Any:
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise InstrumentFileError(source, f"not well-formed XML: {exc.msg}", line=exc.lineno or 1) from None
    except ValueError as exc:
        raise InstrumentFileError(source, f"not well-formed XML: {exc}", line=1) from None
    if root.getroottree().docinfo.doctype:
        raise InstrumentFileError(
            source, "an RDML file has no DOCTYPE: refused (entities are not expanded)", line=1
        )
    if root.tag != f"{_Q}rdml":
        raise InstrumentFileError(
            source,
            f"not an RDML file: the root element is {root.tag!r}, not <rdml> in {NS}",
            line=root.sourceline,
        )
    return root


def _version(root: Any, source: str) -> str:
    version = (root.get("version") or "").strip()
    if version not in VERSIONS:
        raise InstrumentFileError(
            source,
            f"RDML version {version or '(none)'!r}: CellChain validates {', '.join(VERSIONS)}; "
            "save the file as RDML 1.3 (e.g. with RDML-Tools)",
            line=root.sourceline,
        )
    return version


@lru_cache(maxsize=len(VERSIONS))
def _schema(version: str) -> Any:
    from lxml import etree

    path = SCHEMAS / f"RDML_v{version.replace('.', '_')}_REC.xsd"
    return etree.XMLSchema(etree.parse(str(path), etree.XMLParser(no_network=True, resolve_entities=False)))


def _validate(root: Any, version: str, source: str) -> None:
    schema = _schema(version)
    if schema.validate(root):
        return
    error = schema.error_log[0]
    more = len(schema.error_log) - 1
    also = f" ({more} more schema error{'s' if more > 1 else ''})" if more else ""
    raise InstrumentFileError(
        source, f"not valid RDML {version} (schema RDML_v{version.replace('.', '_')}_REC.xsd): "
        f"{error.message}{also}", line=error.line,
    )  # fmt: skip


def _child_text(element: Any, name: str) -> str | None:
    child = element.find(f"{_Q}{name}")
    return None if child is None or child.text is None else child.text.strip()


class _Samples:
    """Sample id -> types and quantities by target (``None``: for every target)."""

    def __init__(self, root: Any) -> None:
        self.types: dict[str, dict[str | None, str]] = {}
        self.quantities: dict[str, dict[str | None, tuple[float, str, int]]] = {}
        for sample in root.findall(f"{_Q}sample"):
            sid = sample.get("id")
            self.types[sid] = {t.get("targetId"): (t.text or "").strip() for t in sample.findall(f"{_Q}type")}
            self.quantities[sid] = {
                q.get("targetId"): (
                    float(_child_text(q, "value") or "nan"),
                    _child_text(q, "unit") or "",
                    q.sourceline,
                )
                for q in sample.findall(f"{_Q}quantity")
            }

    def well_type(self, sample: str, target: str) -> str:
        types = self.types.get(sample, {})
        written = types.get(target) or types.get(None) or "unkn"
        return _TYPES.get(written, written)

    def quantity(self, sample: str, target: str, source: str, line: int) -> float:
        quantities = self.quantities.get(sample, {})
        found = quantities.get(target) or quantities.get(None)
        if found is None:
            raise InstrumentFileError(
                source, f"standard sample {sample!r} has no quantity for target {target!r}", line=line
            )
        value, unit, where = found
        if unit != "cop":
            raise InstrumentFileError(
                source, f"standard sample {sample!r} has its quantity in {unit!r}: a standard curve for copy "
                "number needs copies ('cop')", line=where,
            )  # fmt: skip
        if not (math.isfinite(value) and value > 0):
            raise InstrumentFileError(
                source, f"standard sample {sample!r} has quantity {value}: must be > 0", line=where
            )
        return value


def _wells(root: Any, source: str) -> list[QpcrWell]:
    samples = _Samples(root)
    runs = root.findall(f"{_Q}experiment/{_Q}run")
    wells: list[QpcrWell] = []
    seen: set[tuple[str, str]] = set()
    for run in runs:
        prefix = f"{run.getparent().get('id')}/{run.get('id')}:" if len(runs) > 1 else ""
        namer = _well_namer(run, source)
        for react in run.findall(f"{_Q}react"):
            well = prefix + namer(int(react.get("id")), react.sourceline)
            sample = react.find(f"{_Q}sample").get("id")
            for data in react.findall(f"{_Q}data"):
                target = data.find(f"{_Q}tar").get("id")
                if (well, target) in seen:
                    raise InstrumentFileError(
                        source, f"well {well} has two results for target {target!r}", line=data.sourceline
                    )
                seen.add((well, target))
                wells.append(_well(samples, well, sample, target, data, source))
    return wells


def _well(samples: _Samples, well: str, sample: str, target: str, data: Any, source: str) -> QpcrWell:
    well_type = samples.well_type(sample, target)
    quantity = samples.quantity(sample, target, source, data.sourceline) if well_type == STANDARD else None
    cq_text = _child_text(data, "cq")
    excluded = _child_text(data, "excl")
    if data.find(f"{_Q}excl") is not None and not excluded:
        excluded = "excluded in the RDML file (no reason given)"
    if cq_text is None and not excluded:
        # A data element without <cq> holds curves the software never analysed: reading that as "no
        # amplification" would turn a missing result into a negative one, in silence (issue 16).
        raise InstrumentFileError(
            source, f"well {well} ({target}) has no <cq>: the run was not analysed for it; analyse the run "
            "and export the RDML again (a Cq of -1 states 'no Cq')", line=data.sourceline,
        )  # fmt: skip
    cq = None if cq_text is None else float(cq_text)
    if cq is not None and (not math.isfinite(cq) or (cq < 0 and cq != NOT_AVAILABLE_CQ)):
        raise InstrumentFileError(
            source, f"Cq {cq_text!r} of well {well} ({target}) is not a cycle number (only -1, 'not available', "
            "may be negative)", line=data.find(f"{_Q}cq").sourceline,
        )  # fmt: skip
    if cq == NOT_AVAILABLE_CQ:
        cq = None
    return QpcrWell(well, sample, target, well_type, quantity, cq, data.sourceline, excluded=excluded)


def _well_namer(run: Any, source: str) -> Any:
    """A function react id -> well label from the run's pcrFormat (rows, columns, row/column labels)."""
    fmt = run.find(f"{_Q}pcrFormat")
    if fmt is None:  # RDML 1.0 has no pcrFormat: the react id is the position
        return lambda react_id, _line: str(react_id)
    rows, columns = int(_child_text(fmt, "rows") or -1), int(_child_text(fmt, "columns") or 1)
    row_label, column_label = _child_text(fmt, "rowLabel"), _child_text(fmt, "columnLabel")
    if rows < 1 or columns < 1 or "A1a1" in (row_label, column_label):
        return lambda react_id, _line: str(react_id)

    def name(react_id: int, line: int) -> str:
        if react_id > rows * columns:
            raise InstrumentFileError(
                source, f"react id {react_id} lies outside the {rows} x {columns} plate of its run", line=line
            )
        row, column = divmod(react_id - 1, columns)
        return _label(row, row_label) + (_label(column, column_label) if columns > 1 else "")

    return name


def _label(index: int, style: str | None) -> str:
    if style == "ABC":
        letters = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            letters = chr(ord("A") + rest) + letters
        return letters
    return str(index + 1)
