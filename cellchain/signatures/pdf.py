"""Signature lines for printed output: every PDF shows who signed, the meaning, when, and the content hash
(21 CFR 11.50(a), 11.70; X-4; REGULATORY item 15).

Other contexts use it in their own documents:

    from cellchain.signatures.pdf import signature_lines_for, signature_table, draw_signature_lines
    story.append(signature_table(signature_lines_for(batch, time_zone=site.time_zone)))   # platypus
    y = draw_signature_lines(canvas, signature_lines_for(label), x=20 * mm, y=40 * mm, width=170 * mm)  # canvas

Text is set in the `STSong-Light` CID font (Adobe's Simplified Chinese font that every PDF reader carries), so
Chinese printed names print without embedding a font file.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cellchain.signatures.services import signature_is_current, signatures_of

CJK_FONT = "STSong-Light"


@functools.cache
def register_cjk_font() -> str:
    """Register the Chinese CID font once; returns its name for `setFont` and paragraph styles."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


@dataclass(frozen=True)
class SignatureLine:
    """One signature as printed: name, meaning, local time with zone, content hash, and whether still current."""

    printed_name: str
    meaning: str
    signed_at: str
    content_sha256: str
    current: bool
    note: str = ""


def _local(moment: dt.datetime, time_zone: str | None) -> str:
    zone = zoneinfo.ZoneInfo(time_zone) if time_zone else dt.UTC
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {time_zone or 'UTC'} (UTC{local:%z})"


def signature_lines_for(record: Any, *, time_zone: str | None = None) -> list[SignatureLine]:
    """The record's signatures as lines to print, oldest first; times in `time_zone` (default UTC)."""
    lines = []
    for signature in signatures_of(record):
        current = signature_is_current(signature, record)
        note = (
            ""
            if current
            else (signature.superseded_reason or _("superseded: the record changed after signing"))
        )
        lines.append(
            SignatureLine(
                printed_name=signature.printed_name,
                meaning=str(signature.get_meaning_display()),
                signed_at=_local(signature.signed_at, time_zone),
                content_sha256=signature.content_hash,
                current=current,
                note=note,
            )
        )
    return lines


def _status(line: SignatureLine) -> str:
    return _("current") if line.current else _("SUPERSEDED: %(reason)s") % {"reason": line.note}


def signature_table(
    lines: Sequence[SignatureLine], *, font_size: float = 8, width: float = 170 * mm
) -> Table:
    """A platypus table of signature lines (header + one row per signature) for SimpleDocTemplate stories."""
    font = register_cjk_font()
    style = ParagraphStyle("signature", fontName=font, fontSize=font_size, leading=font_size * 1.3)
    header = [_("Signed by"), _("Meaning"), _("Date and time"), _("Content SHA-256"), _("Status")]
    rows: list[list[Any]] = [[Paragraph(text, style) for text in header]]
    for line in lines:
        rows.append(
            [
                Paragraph(text, style)
                for text in (
                    line.printed_name,
                    line.meaning,
                    line.signed_at,
                    f"{line.content_sha256[:32]}<br/>{line.content_sha256[32:]}",
                    _status(line),
                )
            ]
        )
    if not lines:
        rows.append([Paragraph(_("Not signed yet."), style), "", "", "", ""])
    table = Table(rows, colWidths=[w * width for w in (0.22, 0.12, 0.24, 0.27, 0.15)], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def draw_signature_lines(
    canvas: Canvas,
    lines: Sequence[SignatureLine],
    *,
    x: float,
    y: float,
    width: float,
    font_size: float = 8,
    blank: Sequence[str] = (),
) -> float:
    """Draw signature lines on a canvas from (x, y) downwards; returns the y below the last line.

    `blank` adds empty lines to sign by hand (e.g. "Received by"), each with a rule, name and date fields.
    """
    font = register_cjk_font()
    step = font_size * 1.5
    canvas.setFont(font, font_size)
    for line in lines:
        canvas.drawString(x, y, f"{line.printed_name} · {line.meaning} · {line.signed_at}")
        y -= step
        canvas.drawString(x + 4 * mm, y, f"SHA-256 {line.content_sha256} · {_status(line)}")
        y -= step * 1.3
    for caption in blank:
        canvas.drawString(x, y, f"{caption}: ")
        canvas.line(x + 30 * mm, y - 1, x + width * 0.6, y - 1)
        canvas.drawString(x + width * 0.62, y, _("Date") + ":")
        canvas.line(x + width * 0.7, y - 1, x + width, y - 1)
        y -= step * 2
    return y


def signature_pdf(record: Any, *, title: str, time_zone: str | None = None) -> bytes:
    """A printable page listing a record's electronic signatures (also a worked example of the helpers)."""
    font = register_cjk_font()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, leftMargin=20 * mm, rightMargin=20 * mm)
    heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=17)
    document.build(
        [
            Paragraph(title, heading),
            Spacer(1, 4 * mm),
            signature_table(signature_lines_for(record, time_zone=time_zone), width=document.width),
        ]
    )
    return buffer.getvalue()
