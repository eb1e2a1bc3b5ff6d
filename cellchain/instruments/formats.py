"""Pick the reader of an instrument file by its content, within one instrument family (issue 16).

A specification names the reader family of a test (``vicell``, ``nucleoview``, ``qpcr``; Q-2.1: one
method, one instrument); within a family the same instrument software writes several formats, told apart
here by their signatures, never by the file name:

* ``vicell``: XLSX (zip signature) or legacy XLS -> Vi-CELL XR workbook reader (which refuses ``.xls``
  with what to do); text whose first line reads ``Vi-CELL XR <version>`` -> XR TXT report; else the
  Vi-CELL BLU CSV reader.
* ``nucleoview``: a delimited header with ``SAMPLE ID`` and ``VIABILITY (%)`` -> NC-View table export;
  else the single-measurement NucleoView reader.
* ``qpcr``: zipped RDML, or any XML (refused by what its root is unless RDML) -> RDML reader; else the
  qPCR CSV reader.

Each reader still refuses what it cannot trust; the dispatch only chooses.
"""

from __future__ import annotations

from cellchain.instruments import cell_counters, nc_view, qpcr, rdml, vicell_xr
from cellchain.instruments._text import decode_export
from cellchain.instruments.errors import InstrumentFileError

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _text_or_none(raw: bytes, source: str) -> str | None:
    try:
        return decode_export(raw, source).text
    except InstrumentFileError:
        return None  # the chosen reader refuses it with its own message


def parse_vicell_export(raw: bytes, *, source: str = "<bytes>") -> cell_counters.CellCounterExport:
    """A Vi-CELL export of any accepted format: BLU CSV, XR TXT or XR XLSX."""
    if raw.startswith((b"PK\x03\x04", _OLE)):
        return vicell_xr.parse_vicell_xr_xlsx(raw, source=source)
    text = _text_or_none(raw, source)
    first = next((line for line in (text or "").splitlines() if line.strip()), "")
    if vicell_xr.is_xr_report_line(first):
        return vicell_xr.parse_vicell_xr_txt(raw, source=source)
    return cell_counters.parse_vicell_blu(raw, source=source)


def parse_nucleoview_export(raw: bytes, *, source: str = "<bytes>") -> cell_counters.CellCounterExport:
    """A NucleoView / NC-View export: the table export or one measurement's key/value file."""
    text = _text_or_none(raw, source)
    if text is not None and nc_view.looks_like_nc_view_table(text):
        return nc_view.parse_nc_view_table(raw, source=source)
    return cell_counters.parse_nucleocounter(raw, source=source)


def parse_qpcr_export(raw: bytes, *, source: str = "<bytes>") -> qpcr.QpcrExport:
    """A qPCR run: RDML (zipped or plain XML) or the qPCR results CSV."""
    if rdml.looks_like_rdml(raw) or raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return rdml.parse_rdml(raw, source=source)  # any XML: refused as "not RDML" if it is something else
    return qpcr.parse_qpcr(raw, source=source)
