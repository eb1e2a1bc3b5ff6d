"""Printed outputs of the QC context: certificate of analysis and final product label as PDF, Chinese and
English, with signatures shown (T-7.2, T-7.3, T-7.5; REGULATORY items 5, 6, 15). The final label carries each
unit's DataMatrix, drawn by the labels app's encoder (T-10.6, G-4).

Chinese is set in reportlab's built-in CID font STSong-Light (as the unit labels are), so no font file ships.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cellchain.domain.certificate import CertificateOfAnalysis, LabelData
from cellchain.domain.findings import format_decimal
from cellchain.domain.identity import LabelPayload
from cellchain.domain.product_information import Bilingual
from cellchain.labels.datamatrix import datamatrix_image

FONT = "STSong-Light"
VERDICT_TEXT = {
    "conforms": ("符合规定", "conforms"),
    "does_not_conform": ("不符合规定", "does not conform"),
    "pending": ("待检", "pending"),
    "not_tested": ("未检", "not tested"),
    "method_not_accepted": ("方法不适用", "method not accepted"),
    "no_value": ("无结果", "no value"),
}
OUTCOME_TEXT = {
    "releasable": ("放行", "Released"),
    "conditionally_releasable": ("条件放行", "Conditionally released"),
    "not_releasable": ("不得放行", "Not releasable"),
}


def _styles() -> tuple[ParagraphStyle, ParagraphStyle, ParagraphStyle]:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    body = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11)
    title = ParagraphStyle("title", parent=body, fontSize=14, leading=18)
    small = ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5)
    return title, body, small


def _local(moment: dt.datetime | None, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z") if moment else "—"


def _bi(text: Bilingual) -> str:
    return f"{text.zh} / {text.en}"


def coa_pdf(certificate: CertificateOfAnalysis, item_labels: dict[str, Bilingual], zone: str) -> bytes:
    """The certificate of analysis: every test with method, limit, result and verdict; amended values marked;
    pending tests of a conditional release listed; signatures with printed name, meaning and time."""
    title, body, small = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"CoA {certificate.batch_number}",
        invariant=True,
    )
    outcome = OUTCOME_TEXT[certificate.outcome.value]
    story = [
        Paragraph("检验报告书 / Certificate of Analysis", title),
        Paragraph(f"{_bi(certificate.product_name)}", body),
        Paragraph(
            f"批号 / Batch: <b>{certificate.batch_number}</b> · 质量标准 / Specification: "
            f"{certificate.specification} · 生产日期 / Manufactured: "
            f"{_local(certificate.manufactured_at, zone)}",
            body,
        ),
        Paragraph(f"结论 / Conclusion: <b>{outcome[0]} / {outcome[1]}</b>", body),
        Spacer(1, 4 * mm),
        _results_table(certificate, item_labels, body),
        Spacer(1, 3 * mm),
    ]
    story += _notes(certificate, item_labels, small)
    story += [
        Spacer(1, 4 * mm),
        Paragraph("电子签名 / Electronic signatures", body),
        _signature_table(certificate, zone, body),
    ]
    doc.build(story)
    return buffer.getvalue()


def _results_table(
    certificate: CertificateOfAnalysis, labels: dict[str, Bilingual], body: ParagraphStyle
) -> Table:
    rows = [
        [
            Paragraph(h, body)
            for h in ("检验项目 / Test", "方法 / Method", "标准 / Limit", "结果 / Result", "结论 / Verdict")
        ]
    ]
    for line in certificate.lines:
        name = labels.get(line.code, Bilingual(line.code, line.code))
        mark = " *" if line.amended else ""
        verdict = VERDICT_TEXT[line.verdict.value]
        rows.append(
            [
                Paragraph(_bi(name) + ("" if line.release_blocking else " (info)"), body),
                Paragraph(f"{line.method} ({line.method_standing})", body),
                Paragraph(line.limit, body),
                Paragraph(f"{line.result or '—'}{mark}", body),
                Paragraph(f"{verdict[0]} / {verdict[1]}", body),
            ]
        )
    table = Table(rows, colWidths=[44 * mm, 48 * mm, 30 * mm, 24 * mm, 36 * mm], repeatRows=1)
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


def _notes(
    certificate: CertificateOfAnalysis, labels: dict[str, Bilingual], small: ParagraphStyle
) -> list[Paragraph]:
    notes = []
    if any(line.amended for line in certificate.lines):
        notes.append(
            Paragraph(
                "* 首次录入后经修改，修改原因见审计追踪 / * changed after first entry; the reason is in "
                "the audit trail.",
                small,
            )
        )
    if certificate.pending:
        names = ", ".join(_bi(labels.get(code, Bilingual(code, code))) for code in certificate.pending)
        notes.append(
            Paragraph(
                f"条件放行：药典方法检验进行中 / Conditional release: compendial tests pending: {names}. "
                "快速方法结果为阴性；如药典结果阳性将立即通知 / Rapid methods negative; a positive "
                "compendial result will be notified at once (Q-2.5).",
                small,
            )
        )
    for finding in certificate.findings:
        notes.append(Paragraph(f"⚠ {finding.message} ({finding.clause})", small))
    return notes


def _signature_table(certificate: CertificateOfAnalysis, zone: str, body: ParagraphStyle) -> Table:
    rows = [[Paragraph(h, body) for h in ("签名人 / Printed name", "含义 / Meaning", "时间 / Time")]]
    for signature in certificate.signatures:
        rows.append(
            [
                Paragraph(signature.printed_name, body),
                Paragraph(signature.meaning, body),
                Paragraph(_local(signature.signed_at, zone), body),
            ]
        )
    if len(rows) == 1:
        rows.append([Paragraph("未签名 / not signed", body), "", ""])
    table = Table(rows, colWidths=[70 * mm, 40 * mm, 60 * mm])
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey)]))
    return table


LABEL_SYMBOL_SIZE = 20 * mm
"""Side of the final label's DataMatrix, quiet zone included (the unit label's is 24 mm on a larger field)."""


class _DataMatrix(Flowable):
    """A DataMatrix of ``content`` as a fixed-size flowable, drawn by the labels app's encoder."""

    def __init__(self, content: str, size: float) -> None:
        super().__init__()
        self.content, self.width, self.height = content, size, size

    def draw(self) -> None:
        self.canv.drawImage(ImageReader(datamatrix_image(self.content)), 0, 0, self.width, self.height)


def label_pdf(label: LabelData, zone: str, units: Sequence[LabelPayload]) -> bytes:
    """The final product label (T-7.5 a-f, T-7.6-a) on 100 x 70 mm pages, one per patient-dose unit: its
    identifiers eye-readable and as a DataMatrix in the unit label's scan format, with the expiry (T-10.6)."""
    _title, body, small = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=(100 * mm, 70 * mm),
        leftMargin=4 * mm,
        rightMargin=4 * mm,
        topMargin=4 * mm,
        bottomMargin=4 * mm,
        title=f"Label {label.batch_number}",
        invariant=True,
    )
    lines = label_lines(label, zone)
    story: list[Flowable] = []
    for index, payload in enumerate(units):
        if index:
            story.append(PageBreak())
        story += _label_page(payload, lines, body, small)
    doc.build(story)
    return buffer.getvalue()


def _label_page(
    payload: LabelPayload, lines: list[str], body: ParagraphStyle, small: ParagraphStyle
) -> list[Flowable]:
    identifiers = [
        Paragraph(f"<b>{lines[0]}</b>", body),
        Paragraph(f"DIN {payload.din.eye_readable}", body),
        Paragraph(f"COI {payload.coi.eye_readable}", body),
        Paragraph(f"产品代码 / Product code {payload.product_code.code}", small),
    ]
    head = Table(
        [[identifiers, _DataMatrix(payload.encode(), LABEL_SYMBOL_SIZE)]],
        colWidths=[92 * mm - LABEL_SYMBOL_SIZE - 2 * mm, LABEL_SYMBOL_SIZE + 2 * mm],
    )
    head.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
            ]
        )
    )
    return [head, Spacer(1, 1 * mm), *(Paragraph(line, small) for line in lines[1:])]


def label_lines(label: LabelData, zone: str) -> list[str]:
    """The label's lines, as printed and as shown on screen."""
    state = {"fresh": "新鲜 / fresh", "cryopreserved": "冻存 / cryopreserved"}.get(label.state or "", "—")
    donor = {"autologous": "自体 / autologous", "allogeneic": "异体 / allogeneic"}[label.donor_type.value]
    cells = format_decimal(label.viable_cells) if label.viable_cells is not None else "—"
    conc = format_decimal(label.concentration) if label.concentration is not None else "—"
    volume = format_decimal(label.volume_ml) if label.volume_ml is not None else "—"
    return [
        _bi(label.product_name),
        _bi(label.cell_type),
        f"批号 / Batch {label.batch_number} · 供者 / Donor: {donor}",
        f"生产 / Manufactured {_local(label.manufactured_at, zone)}",
        f"放行 / Released {_local(label.released_at, zone)}",
        f"细胞数 / Cells {cells} · 浓度 / Conc. {conc} cells/mL · 体积 / Volume {volume} mL",
        f"状态 / State: {state} · 有效期至 / Use by {_local(label.expires_at, zone)}",
        f"储存 / Storage: {label.storage_temperature} {_bi(label.storage_mode)}",
        f"运输 / Transport: {label.transport_temperature}",
    ]
