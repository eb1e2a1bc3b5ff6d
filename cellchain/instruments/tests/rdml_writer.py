"""Build RDML files for tests (no public RDML file was reachable as text; see data/SOURCES.md).

The committed ``qpcr_run.rdml`` is :func:`rdml_from_csv` of ``qpcr_run.csv`` (the same standards, unknowns
and NTC, target CAR) in RDML 1.3, and it validates against ``RDML_v1_3_REC.xsd``. Rebuild with
``python -m cellchain.instruments.tests.rdml_writer``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from xml.sax.saxutils import quoteattr

DATA = Path(__file__).parent / "data"
_TYPES = {"STANDARD": "std", "UNKNOWN": "unkn", "NTC": "ntc"}


def _react_id(well: str, columns: int = 12) -> int:
    return (ord(well[0].upper()) - ord("A")) * columns + int(well[1:])


def rdml_from_csv(text: str, *, version: str = "1.3") -> str:
    """An RDML document with one run on a 96-well plate from a qPCR CSV in the ``qpcr_run.csv`` layout."""
    rows = list(csv.DictReader(io.StringIO(text)))
    samples: dict[str, tuple[str, str]] = {}
    for row in rows:
        samples.setdefault(row["Sample Name"], (_TYPES[row["Task"].upper()], row["Quantity"]))
    targets = list(dict.fromkeys(row["Target Name"] for row in rows))
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<rdml version="{version}" xmlns="http://www.rdml.org">']
    out.append("  <dateMade>2026-03-01T10:00:00</dateMade>")
    out.append('  <dye id="FAM"/>')
    for sid, (kind, quantity) in samples.items():
        out.append(f"  <sample id={quoteattr(sid)}>\n    <type>{kind}</type>")
        if kind == "std":
            out.append(
                f"    <quantity>\n      <value>{quantity}</value>\n      <unit>cop</unit>\n    </quantity>"
            )
        out.append("  </sample>")
    for target in targets:
        out.append(
            f'  <target id={quoteattr(target)}>\n    <type>toi</type>\n    <dyeId id="FAM"/>\n  </target>'
        )
    out.append('  <experiment id="VCN">\n    <run id="plate1">')
    out.append("      <pcrFormat>\n        <rows>8</rows>\n        <columns>12</columns>")
    out.append("        <rowLabel>ABC</rowLabel>\n        <columnLabel>123</columnLabel>\n      </pcrFormat>")
    by_well: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_well.setdefault(row["Well"], []).append(row)
    for well, well_rows in by_well.items():
        out.append(
            f'      <react id="{_react_id(well)}">\n        <sample id={quoteattr(well_rows[0]["Sample Name"])}/>'
        )
        for row in well_rows:
            out.append(f"        <data>\n          <tar id={quoteattr(row['Target Name'])}/>")
            cq = row["Cq"]
            out.append(f"          <cq>{-1.0 if cq.upper() == 'UNDETERMINED' else float(cq)}</cq>")
            out.append("        </data>")
        out.append("      </react>")
    out.append("    </run>\n  </experiment>\n</rdml>\n")
    return "\n".join(out)


if __name__ == "__main__":
    target = DATA / "qpcr_run.rdml"
    target.write_text(
        rdml_from_csv((DATA / "qpcr_run.csv").read_text(encoding="utf-8-sig")), encoding="utf-8"
    )
    print(f"wrote {target} ({target.stat().st_size} bytes)")
