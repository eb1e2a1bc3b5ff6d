"""Shared helpers for text exports: decoding, delimiter detection, µ normalisation, strict numbers.

Instrument PCs write CSV in UTF-8 (with or without BOM), UTF-16 with BOM, or a Windows code page; the
micro sign appears as U+00B5, as Greek mu U+03BC, or as mojibake (``Âµ``/``Î¼``) when UTF-8 text was read
as Latin-1 and saved again. Everything here raises :class:`InstrumentFileError` naming the line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass

from cellchain.instruments.errors import InstrumentFileError

MICRO = "\u00b5"
_MICRO_VARIANTS = ("\u00c2\u00b5", "\u00ce\u00bc", "\u03bc")
"""``Âµ`` and ``Î¼`` (UTF-8 bytes of µ and μ read as Latin-1) and Greek mu, all mapped to U+00B5."""

_SPACES = re.compile("[ \u00a0\u2009\u202f]")
_GROUPED = re.compile("[+-]?\\d{1,3}(?:[ \u00a0\u2009\u202f]\\d{3})+(?:[.,]\\d*)?(?:[eE][+-]?\\d+)?")
_ERROR_TOKENS = {"ERROR", "#ERROR", "#VALUE!", "#DIV/0!", "NAN", "N/A", "NA", "#N/A", "INF", "-INF"}


@dataclass(frozen=True)
class DecodedText:
    """The text of an export, how it was decoded, and the SHA-256 of the raw bytes (ALCOA)."""

    text: str
    encoding: str
    sha256: str


def decode_export(raw: bytes, source: str, *, workbook_hint: str = "") -> DecodedText:
    """Decode by BOM (UTF-8, UTF-16 LE/BE), else UTF-16 by NUL pattern, else UTF-8, else Windows-1252.

    A workbook, PDF or other binary container is refused by what it is; ``workbook_hint`` names the reader
    that does read a workbook of this instrument (issue 16: an XLSX was refused as "undecodable text").
    """
    sha256 = hashlib.sha256(raw).hexdigest()
    container = _binary_container(raw)
    if container is not None:
        hint = f"; {workbook_hint}" if workbook_hint and raw.startswith(b"PK") else ""
        raise InstrumentFileError(
            source,
            f"this is {container}, not a text export: export the results as CSV or TXT from the "
            f"instrument software{hint}",
            offset=0,
        )
    try:
        text, encoding = _decode(raw)
    except UnicodeDecodeError as exc:
        raise InstrumentFileError(source, f"undecodable text ({exc.reason})", offset=exc.start) from None
    if "\x00" in text:
        raise InstrumentFileError(source, "file contains NUL characters: not a text export", offset=0)
    return DecodedText(text, encoding, sha256)


_CONTAINERS = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls) or another OLE file"),
    (b"%PDF", "a PDF document"),
)


def _binary_container(raw: bytes) -> str | None:
    """What a binary file given to a text reader is, by its signature, or None."""
    return next((what for magic, what in _CONTAINERS if raw.startswith(magic)), None)


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    head = raw[:200]
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4 and head[0::2].count(0) == 0:
        return raw.decode("utf-16-le"), "utf-16-le"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252"), "cp1252"


def normalise_label(text: str) -> str:
    """A header or key with every micro-sign variant as U+00B5, ``×`` as ``x`` and spaces collapsed."""
    for variant in _MICRO_VARIANTS:
        text = text.replace(variant, MICRO)
    text = text.replace("\u00d7", "x").replace("\u2076", "^6").replace("\u2075", "^5")
    return " ".join(text.replace("\ufeff", "").split())


def detect_delimiter(text: str, source: str, candidates: str = ",;\t") -> str:
    """csv.Sniffer on the first lines, else the candidate that splits most lines into the same column count.

    The fallback looks at every one of the first 30 lines, not only the first: exports often open with a
    title or ``* Key = value`` lines without any delimiter (QuantStudio, issue 16), and the table below
    them decides.
    """
    lines = [line for line in text.splitlines()[:30] if line.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=candidates).delimiter
    except csv.Error:
        pass
    best, best_score = "", 0
    for candidate in candidates:
        counts = [line.count(candidate) for line in lines if line.count(candidate)]
        if not counts:
            continue
        width = max(set(counts), key=lambda n: (counts.count(n), n))
        score = counts.count(width) * width
        if score > best_score:
            best, best_score = candidate, score
    if not best:
        raise InstrumentFileError(
            source, "cannot find the column delimiter (comma, semicolon or tab)", line=1
        )
    return best


def read_rows(text: str, delimiter: str, source: str) -> list[tuple[int, list[str]]]:
    """CSV rows with their 1-based starting line numbers; blank rows dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise InstrumentFileError(source, f"malformed CSV: {exc}", line=reader.line_num) from None
    return rows


@dataclass(frozen=True)
class ExportTable:
    """A text export decoded and split into rows: what every CSV-like reader starts from."""

    decoded: DecodedText
    delimiter: str
    rows: list[tuple[int, list[str]]]


def read_export_table(raw: bytes, source: str, *, workbook_hint: str = "") -> ExportTable:
    """Decode `raw`, find its delimiter and read its non-blank rows; an export with none is refused."""
    decoded = decode_export(raw, source, workbook_hint=workbook_hint)
    if not decoded.text.strip():
        raise InstrumentFileError(source, "the export is empty", line=1)
    delimiter = detect_delimiter(decoded.text, source)
    rows = read_rows(decoded.text, delimiter, source)
    if not rows:
        raise InstrumentFileError(source, "the export is empty", line=1)
    return ExportTable(decoded, delimiter, rows)


def is_error_token(cell: str) -> bool:
    """True for a cell where the instrument wrote an error instead of a value (``ERROR``, ``#N/A``, ...)."""
    return cell.strip().replace("\u00a0", "").replace(" ", "").upper() in _ERROR_TOKENS


def parse_number(cell: str, source: str, line: int, column: str, *, decimal_comma: bool = False) -> float:
    """A finite number; empty cells, ``ERROR`` and other non-numbers raise naming line and column.

    Spaces (also no-break and thin spaces) are accepted only as thousands separators in groups of three
    (NC-View writes ``274 000``); ``1 35`` is refused rather than read as 135.
    """
    text = cell.strip()
    if _SPACES.search(text):
        if not _GROUPED.fullmatch(text):
            raise InstrumentFileError(source, f"{text!r} is not a number", line=line, column=column)
        text = _SPACES.sub("", text)
    if not text:
        raise InstrumentFileError(source, "empty cell where a number is required", line=line, column=column)
    if text.upper() in _ERROR_TOKENS:
        raise InstrumentFileError(
            source, f"instrument reported {cell.strip()!r} instead of a number", line=line, column=column
        )
    if decimal_comma and "," in text and "." not in text:
        text = text.replace(",", ".")
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text):
        raise InstrumentFileError(source, f"{cell.strip()!r} is not a number", line=line, column=column)
    value = float(text)
    if not math.isfinite(value):
        raise InstrumentFileError(source, f"{cell.strip()!r} is out of range", line=line, column=column)
    return value


def parse_count(cell: str, source: str, line: int, column: str) -> int:
    """A whole, non-negative count (cells, droplets)."""
    value = parse_number(cell, source, line, column)
    if value < 0 or value != int(value):
        raise InstrumentFileError(
            source, f"{cell.strip()!r} is not a whole non-negative count", line=line, column=column
        )
    return int(value)


_CONCENTRATION_UNIT = re.compile(
    r"^(?:x?10\^?(?P<exp>\d{1,2})|x?1e\+?(?P<eexp>\d{1,2}))?cells/(?P<vol>ml|ul)$"
)


def concentration_factor(unit: str) -> float:
    """Factor from a concentration unit to cells/mL: ``cells/mL`` 1, ``x10^6 cells/mL`` 1e6, ``cells/µL`` 1e3.

    Raises ``ValueError`` for any other unit, so a reader can reject the column.
    """
    compact = normalise_label(unit).lower().replace(" ", "").replace("(", "").replace(")", "")
    compact = compact.replace(MICRO, "u")
    match = _CONCENTRATION_UNIT.match(compact)
    if match is None:
        raise ValueError(f"unknown concentration unit {unit!r}")
    exponent = int(match.group("exp") or match.group("eexp") or 0)
    return 10.0**exponent * (1000.0 if match.group("vol") == "ul" else 1.0)
