"""Unit label as a one-page PDF: bilingual text and the identifiers' DataMatrix (T-10.6; item 40).

Chinese is set in reportlab's built-in CID font STSong-Light, which every PDF reader supplies
(Adobe-GB1), so no font file ships with CellChain.
"""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from cellchain.labels.content import AUTOLOGOUS_ONLY_EN, AUTOLOGOUS_ONLY_ZH, UnitLabel
from cellchain.labels.datamatrix import datamatrix_image

LABEL_WIDTH = 100 * mm
LABEL_HEIGHT = 62 * mm
MARGIN = 3 * mm
SYMBOL_SIZE = 24 * mm
CJK_FONT = "STSong-Light"
LATIN_BOLD = "Helvetica-Bold"


def _register_fonts() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def unit_label_pdf(label: UnitLabel) -> bytes:
    """Render ``label`` as PDF bytes, one label per page."""
    _register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(LABEL_WIDTH, LABEL_HEIGHT), invariant=True)
    canvas.setTitle(f"Unit label {label.payload.din.data}")
    canvas.setSubject(f"template {label.template_version}")
    _draw_symbol(canvas, label)
    _draw_identifiers(canvas, label)
    _draw_text(canvas, label)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_symbol(canvas: Canvas, label: UnitLabel) -> None:
    image = datamatrix_image(label.payload.encode())
    x = LABEL_WIDTH - MARGIN - SYMBOL_SIZE
    y = LABEL_HEIGHT - MARGIN - SYMBOL_SIZE
    canvas.drawImage(ImageReader(image), x, y, SYMBOL_SIZE, SYMBOL_SIZE)


def _draw_identifiers(canvas: Canvas, label: UnitLabel) -> None:
    payload = label.payload
    top = LABEL_HEIGHT - MARGIN - 4 * mm
    canvas.setFont(LATIN_BOLD, 7)
    canvas.drawString(MARGIN, top, "COI")
    canvas.drawString(MARGIN, top - 6 * mm, "DIN")
    canvas.drawString(MARGIN, top - 12 * mm, "PRODUCT")
    canvas.setFont("Courier-Bold", 11)
    _draw_with_boxed_check(canvas, MARGIN + 14 * mm, top, payload.coi.eye_readable)
    _draw_with_boxed_check(canvas, MARGIN + 14 * mm, top - 6 * mm, payload.din.eye_readable)
    canvas.drawString(MARGIN + 14 * mm, top - 12 * mm, payload.product_code.code)


def _draw_with_boxed_check(canvas: Canvas, x: float, y: float, eye_readable: str) -> None:
    """Draw ``... [K]`` as the identifier followed by its check character in a box (ISBT 128 style)."""
    body, check = eye_readable[:-4], eye_readable[-2]
    canvas.drawString(x, y, body)
    check_x = x + canvas.stringWidth(body + " ", "Courier-Bold", 11)
    canvas.drawString(check_x, y, check)
    width = canvas.stringWidth(check, "Courier-Bold", 11)
    canvas.rect(check_x - 0.6 * mm, y - 0.8 * mm, width + 1.2 * mm, 4.6 * mm, stroke=1, fill=0)


def _draw_text(canvas: Canvas, label: UnitLabel) -> None:
    y = LABEL_HEIGHT - MARGIN - SYMBOL_SIZE - 5 * mm
    canvas.setFont(LATIN_BOLD, 10)
    canvas.drawString(MARGIN, y, AUTOLOGOUS_ONLY_EN)
    zh_x = MARGIN + canvas.stringWidth(AUTOLOGOUS_ONLY_EN + "  ", LATIN_BOLD, 10)
    canvas.setFont(CJK_FONT, 10)
    canvas.drawString(zh_x, y, AUTOLOGOUS_ONLY_ZH)
    canvas.setFont(CJK_FONT, 7.5)
    for line in label.text_lines():
        y -= 4.3 * mm
        canvas.drawString(MARGIN, y, line)
    canvas.setFont("Helvetica", 5.5)
    canvas.drawRightString(LABEL_WIDTH - MARGIN, MARGIN, f"CellChain label template {label.template_version}")
