"""The compliance report as PDF (issue 14 item 3): site, date, who generated it, the clause table, and on every
page the SHA-256 of the report's content (the same digest as its CSV download).

Drawn with reportlab's platypus; the CID font STSong-Light prints Chinese without a font file.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cellchain.accounts.models import Site
from cellchain.assessment.compliance import STATE_LABELS, ReportRow, item_state_label, summary

PAGE = landscape(A4)
GAP_FILL = colors.HexColor("#fde2e2")


def _font() -> str:
    """reportlab's built-in CID font STSong-Light, which prints Chinese without a font file."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def _styles(font: str) -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=font, fontSize=7.5, leading=9.5, wordWrap="CJK")
    head = ParagraphStyle("head", parent=body, fontSize=13, leading=16)
    meta = ParagraphStyle("meta", parent=body, fontSize=9, leading=12)
    return body, head, meta


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _evidence(row: ReportRow) -> str:
    parts = []
    for item in row.items:
        parts.append(f"{item.item.code} [{item_state_label(item.state)}] {item.text}")
    for evidence in row.evidence:
        count = "" if evidence.count is None else f"{evidence.count} × "
        parts.append(f"{count}{evidence.label}")
    return "\n".join(parts)


def report_pdf(
    site: Site, rows: list[ReportRow], *, generated_at: dt.datetime, generated_by: str, digest: str
) -> bytes:
    """The report's PDF: header with site, time and author; the table, gaps first and shaded; digest footer."""
    font = _font()
    body, head, meta = _styles(font)
    counts = summary(rows)
    generated, by, clauses, gaps = _("Generated"), _("by"), _("Clauses"), _("Gaps")
    digest_label = _("SHA-256 of the report content (CSV)")
    story: list[Any] = [
        _p(_("Clause-by-clause compliance report"), head),
        _p(f"{site.name} ({site.code}) · {site.organisation.name}", meta),
        _p(f"{generated}: {generated_at:%Y-%m-%d %H:%M %Z} · {by} {generated_by}", meta),
        _p(
            f"{clauses}: {counts['total']} · {gaps}: {counts['gaps']} · "
            + " · ".join(f"{label}: {counts[state.value]}" for state, label in STATE_LABELS.items()),
            meta,
        ),
        Spacer(1, 4 * mm),
    ]
    table = [[_p(t, body) for t in (_("Clause"), _("Type"), _("State"), _("Requirement"), _("Evidence"))]]
    for row in rows:
        evidence = [Paragraph(escape(line), body) for line in _evidence(row).splitlines()] or [_p("—", body)]
        table.append(
            [
                _p(row.clause.id, body),
                _p(row.clause.type.value, body),
                _p(str(STATE_LABELS[row.state]), body),
                _p(row.clause.text, body),
                evidence,
            ]
        )
    style = [
        ("FONTNAME", (0, 0), (-1, -1), font),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
    ]
    style += [("BACKGROUND", (0, n), (-1, n), GAP_FILL) for n, row in enumerate(rows, start=1) if row.gap]
    widths = [22 * mm, 18 * mm, 28 * mm, 95 * mm, PAGE[0] - 193 * mm]
    story.append(Table(table, colWidths=widths, repeatRows=1, style=TableStyle(style)))

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.drawString(12 * mm, 7 * mm, f"{digest_label}: {digest}")
        canvas.drawRightString(PAGE[0] - 12 * mm, 7 * mm, f"{site.code} · {doc.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=f"Compliance report {site.code}",
        author=generated_by,
        invariant=1,
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
