"""The dossier's PDF: the batch's or journey's record summary, Chinese and English, and how its ledger
bundle binds it (issue 14 item 6; T-7.1, X-4).

Chinese is set in reportlab's built-in CID font STSong-Light (as the certificate of analysis and the labels
are), so no font file ships and every PDF reader shows it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cellchain.dossiers.selectors import DossierContent, Section
from cellchain.signatures.pdf import register_cjk_font

WIDTH = A4[0] - 28 * mm


@dataclass(frozen=True)
class LedgerBinding:
    """What ties the PDF to its ledger bundle: the signed head, the bundle's hash, what it holds."""

    log_id: str
    head_size: int
    head_root: str
    head_time: str
    key_id: str
    bundle_name: str
    bundle_sha256: str
    entries: int
    records: int


def _styles() -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    font = register_cjk_font()
    body = ParagraphStyle("body", fontName=font, fontSize=8.5, leading=11)
    title = ParagraphStyle("title", parent=body, fontSize=14, leading=18)
    heading = ParagraphStyle("heading", parent=body, fontSize=10.5, leading=14, spaceBefore=6)
    cell = ParagraphStyle("cell", parent=body, fontSize=7, leading=8.6)
    return title, heading, body, cell


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _table(
    rows: Sequence[Sequence[str]], cell: ParagraphStyle, widths: Sequence[float] | None = None
) -> Table:
    columns = len(rows[0])
    table = Table(
        [[_p(value, cell) for value in row] for row in rows],
        colWidths=list(widths) if widths else [WIDTH / columns] * columns,
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f4")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _section(
    section: Section, heading: ParagraphStyle, body: ParagraphStyle, cell: ParagraphStyle
) -> list[Flowable]:
    story: list[Flowable] = [_p(section.title, heading)]
    if not section.rows:
        story.append(_p("无记录 / none recorded", body))
        return story
    story.append(_table([section.columns, *section.rows], cell))
    if section.note:
        story.append(_p(section.note, cell))
    return story


def _ledger(
    binding: LedgerBinding, content: DossierContent, heading: ParagraphStyle, cell: ParagraphStyle
) -> list[Flowable]:
    counts = Counter(kind for kind, _pk in content.records)
    rows = [
        ("项 / Item", "值 / Value"),
        ("账本 / Log", binding.log_id),
        ("签名树头 / Signed tree head", f"size {binding.head_size}, {binding.head_time}"),
        ("根哈希 / Root (SHA-256)", binding.head_root),
        ("签名密钥 / Signing key id", binding.key_id),
        (f"账本包 / Bundle {binding.bundle_name} SHA-256", binding.bundle_sha256),
        ("条目 / Entries", str(binding.entries)),
        (
            "记录 / Records",
            f"{binding.records}: " + ", ".join(f"{kind} ×{n}" for kind, n in sorted(counts.items())),
        ),
    ]
    how = (
        "核对方法 / How to check: sha256sum -c MANIFEST.sha256; cellchain-verify "
        f"{binding.bundle_name} --log-key <本机构公布的公钥 / the key the installation published>. "
        "每条记录的账本条目均附包含证明，可离线核对 / every entry of these records carries an inclusion proof "
        "to the signed head and is checked offline."
    )
    return [
        _p("账本证明 / Ledger proof", heading),
        _table(rows, cell, [55 * mm, WIDTH - 55 * mm]),
        _p(how, cell),
    ]


def dossier_pdf(
    content: DossierContent, binding: LedgerBinding, *, generated_at: dt.datetime, requester: str
) -> bytes:
    """The dossier PDF: identifiers, every section of the summary, the omitted parts named, the ledger proof."""
    title, heading, body, cell = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=content.title,
        invariant=True,
    )
    story: list[Flowable] = [
        _p(content.title, title),
        _p(f"生成 / Generated {generated_at:%Y-%m-%d %H:%M} UTC · 申请人 / Requested by {requester}", body),
        Spacer(1, 3 * mm),
        _table([("项 / Item", "值 / Value"), *content.facts], cell, [55 * mm, WIDTH - 55 * mm]),
    ]
    for section in content.sections:
        story += _section(section, heading, body, cell)
    for omitted in content.omitted:
        story.append(_p(f"未包含 / Not included: {omitted}", cell))
    story += _ledger(binding, content, heading, cell)
    doc.build(story)
    return buffer.getvalue()
