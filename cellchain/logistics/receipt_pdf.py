"""The printable receipt record (T-8.1.7-a..h) with the temperature chart, drawn with reportlab."""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from cellchain.domain.receipt import CHECKS_BY_ID
from cellchain.logistics.charts import HEIGHT, WIDTH, Chart
from cellchain.logistics.models import ReceiptInspection


def _font() -> str:
    """A CJK-capable built-in font so Chinese names and questions print (reportlab's STSong-Light)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


class _Writer:
    def __init__(self, canvas: Canvas, font: str) -> None:
        self.c, self.font, self.y = canvas, font, A4[1] - 20 * mm

    def line(self, text: str, size: float = 9, gap: float = 4.6 * mm, colour: Any = colors.black) -> None:
        if self.y < 20 * mm:
            self.c.showPage()
            self.y = A4[1] - 20 * mm
        self.c.setFillColor(colour)
        self.c.setFont(self.font, size)
        self.c.drawString(18 * mm, self.y, text[:120])
        self.y -= gap


def _draw_chart(w: _Writer, chart: Chart) -> None:
    if chart.empty:
        w.line("(no temperature readings)")
        return
    scale = (A4[0] - 36 * mm) / WIDTH
    height = HEIGHT * scale
    if w.y - height < 20 * mm:
        w.c.showPage()
        w.y = A4[1] - 20 * mm
    top = w.y

    def pt(x: float, y: float) -> tuple[float, float]:
        return 18 * mm + x * scale, top - y * scale

    c = w.c
    c.setStrokeColor(colors.grey)
    c.rect(18 * mm, top - height, WIDTH * scale, height)
    for x0, x1, kind in chart.bands:
        c.setFillColor(colors.HexColor("#f8c9c9" if kind == "excursion" else "#dddddd"))
        a, b = pt(x0, 0), pt(x1, HEIGHT - 36)
        c.rect(a[0], b[1], max(b[0] - a[0], 1), a[1] - b[1], stroke=0, fill=1)
    c.setDash(4, 3)
    c.setStrokeColor(colors.HexColor("#c0392b"))
    for yy, label in chart.limits:
        a, b = pt(36, yy), pt(WIDTH - 36, yy)
        c.line(a[0], a[1], b[0], b[1])
        c.setFillColor(colors.HexColor("#c0392b"))
        c.setFont(w.font, 7)
        c.drawRightString(b[0], b[1] + 2, label)
    c.setDash()
    for _, colour, points in chart.lines:
        c.setStrokeColor(colors.HexColor(colour))
        path = c.beginPath()
        for i, (px, py) in enumerate(points):
            x, y = pt(px, py)
            path.moveTo(x, y) if i == 0 else path.lineTo(x, y)
        c.drawPath(path, stroke=1, fill=0)
    c.setFillColor(colors.black)
    c.setFont(w.font, 7)
    for yy, label in chart.y_ticks:
        x, y = pt(2, yy + 3)
        c.drawString(x, y, label)
    for xx, label in chart.x_labels:
        x, y = pt(xx, HEIGHT - 6)
        c.drawCentredString(x, y, label)
    w.y = top - height - 6 * mm


def _limits_source(shipment: Any) -> str:
    if shipment.limits_source:
        return f"product version 产品版本 {shipment.limits_source}"
    return "shipper kind reference values 运输容器参考值 (apheresis)"


_RELEASE_TEXT = {
    "released": "released 已放行",
    "conditionally_released": "CONDITIONALLY RELEASED 有条件放行",
    "not_released": "NOT RELEASED 未放行",
    "rejected": "REJECTED BY QA 已拒绝放行",
    "on_hold": "ON HOLD / RECALL 暂停/召回",
}


def _release(inspection: ReceiptInspection) -> str:
    """The batch release at receipt (Q-2-b), with the compendial tests pending at a conditional release."""
    text = _RELEASE_TEXT.get(inspection.release_status, inspection.release_status)
    if inspection.release_pending:
        text += f"; pending 待检: {', '.join(inspection.release_pending)}"
    return text


def receipt_pdf(inspection: ReceiptInspection, chart: Chart, signatures: list[Any]) -> bytes:
    """The receipt record as PDF: fields T-8.1.7-a..h, every answer, the cold-chain result and chart."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    shipment = inspection.shipment
    w = _Writer(canvas, _font())
    canvas.setTitle(f"Receipt record {shipment.number}")
    w.line(f"接收检查记录 Receipt inspection record — {shipment.number}", size=14, gap=8 * mm)
    w.line(f"a. Date and time of receipt 接收时间: {inspection.received_at:%Y-%m-%d %H:%M} UTC")
    w.line(f"b. Receiver 接收人: {inspection.receiver.printed_name}")
    w.line(f"c. Product 产品: {shipment.product_name}; batch 批号: {shipment.batch_number or '-'}; "
           f"quantity 数量: {len(inspection.scanned_units)} of {len(shipment.expected_units)}")  # fmt: skip
    w.line(f"   Units scanned: {', '.join(inspection.scanned_units) or '-'}")
    w.line(f"   Limits from 限度来源 (T-7.7): {_limits_source(shipment)}")
    if inspection.release_status:
        w.line(f"   Batch release 批次放行 (Q-2-b): {_release(inspection)}",
               colour=colors.black if inspection.release_status == "released" else colors.HexColor("#c0392b"))  # fmt: skip
    device = inspection.monitoring_device
    w.line("   Temperature-monitoring device 温度监测设备 (T-8.1.2-c): "
           + (f"{device.code} {device.name}, calibration due {device.calibration_due or '-'}" if device else "-"))  # fmt: skip
    w.line(f"   Receiving area 接收区域 (T-8.1.2-d): {inspection.receiving_area or '-'}")
    w.line(f"Outcome 结论: {inspection.outcome.upper()}"
           + (f"   Nonconformance 不合格报告: {inspection.deviation_number}" if inspection.deviation_number else ""),
           size=11, gap=6 * mm,
           colour=colors.black if inspection.outcome == "accepted" else colors.HexColor("#c0392b"))  # fmt: skip
    w.line("d/e. Checks 检查项 (label, package and appearance, transport):", size=10, gap=5.5 * mm)
    failed = {f["check"]: f["reason"] for f in inspection.failures}
    for check_id, check in CHECKS_BY_ID.items():
        given = inspection.answers.get(check_id, {})
        answer = "FAILED" if check_id in failed else (given.get("answer") or "system").upper()
        w.line(f"{check_id}  {answer:<7} {check.question_zh} {check.question_en}", size=7.5, gap=4 * mm)
        if check_id in failed:
            w.line(f"      {failed[check_id]}", size=7, gap=3.8 * mm, colour=colors.HexColor("#c0392b"))
    w.line("f. Temperature record 温度记录:", size=10, gap=5.5 * mm)
    for logger in inspection.coldchain.get("loggers", []):
        state = "within limits" if logger["within_limits"] else "NOT within limits"
        w.line(f"Logger {logger['serial']}: {state}; {logger['mkt_note']}", size=8)
        for reason in logger["reasons"] + logger["notes"]:
            w.line(f"   - {reason}", size=7, gap=3.8 * mm)
    _draw_chart(w, chart)
    w.line(f"g. Anomalies and handling 异常及处理: {inspection.anomaly_handling or '-'}")
    w.line(f"   Triggers (T-8.1.6): {', '.join(inspection.triggers) or '-'}")
    w.line(f"h. Retain until 保存期限: {inspection.retain_until:%Y-%m-%d}")
    for sig in signatures:
        w.line(
            f"Signed 签名: {sig.printed_name} · {sig.meaning} · {sig.signed_at:%Y-%m-%d %H:%M} UTC", size=9
        )
    if not signatures:
        w.line("Not yet signed 尚未签名", size=9, colour=colors.HexColor("#c0392b"))
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
