"""The temperature chart of a shipment: trace per logger, limits, excursions and gaps marked (issue 6 item 3).

One geometry feeds both the page (inline SVG) and the printed receipt record (reportlab drawing), so the
screen and the PDF show the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np

from cellchain.domain.coldchain import ColdChainVerdict, TemperatureTrace, format_instant
from cellchain.logistics.models import LoggerLink, Shipment

WIDTH, HEIGHT, PAD = 760.0, 240.0, 36.0
MAX_POINTS = 1200  # per logger: min and max per bucket keep every spike visible
COLOURS = ("#1f5fa8", "#2a8a3e", "#7a3fa0", "#b8860b")


@dataclass(frozen=True)
class Chart:
    """Everything to draw, in chart coordinates (x right, y down, within WIDTH x HEIGHT)."""

    lines: tuple[tuple[str, str, tuple[tuple[float, float], ...]], ...]  # serial, colour, points
    limits: tuple[tuple[float, str], ...]  # y, label
    bands: tuple[tuple[float, float, str], ...]  # x0, x1, kind (excursion | gap)
    y_ticks: tuple[tuple[float, str], ...]
    x_labels: tuple[tuple[float, str], ...]
    empty: bool


def _downsample(times: np.ndarray, celsius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(celsius)
    times, celsius = times[ok], celsius[ok]
    if times.size <= MAX_POINTS:
        return times, celsius
    buckets = np.array_split(np.arange(times.size), MAX_POINTS // 2)
    keep = np.unique(
        np.concatenate([[b[np.argmin(celsius[b])], b[np.argmax(celsius[b])]] for b in buckets if b.size])
    )
    return times[keep], celsius[keep]


def build_chart(
    shipment: Shipment, series: list[tuple[LoggerLink, list[TemperatureTrace], ColdChainVerdict]]
) -> Chart:
    """Scale the traces, the shipment's limits and the findings into one chart."""
    traces = []
    for link, parts, _ in series:
        times = np.concatenate([p.times for p in parts]) if parts else np.empty(0)
        celsius = np.concatenate([p.celsius for p in parts]) if parts else np.empty(0)
        order = np.argsort(times, kind="stable")
        traces.append((link.serial, *_downsample(times[order], celsius[order])))
    limits = [float(v) for v in (shipment.min_c, shipment.max_c) if v is not None]
    all_t = [t for _, ts, _ in traces for t in ts.tolist()]
    for moment in (shipment.dispatched_at, shipment.arrived_at):
        if moment is not None:
            all_t.append(moment.timestamp())
    all_c = [c for _, _, cs in traces for c in cs.tolist()] + limits
    if len(all_t) < 2 or not all_c:
        return Chart((), (), (), (), (), True)
    t0, t1 = min(all_t), max(all_t)
    c0, c1 = min(all_c), max(all_c)
    margin = max((c1 - c0) * 0.1, 2.0)
    c0, c1 = c0 - margin, c1 + margin
    t1 = t1 if t1 > t0 else t0 + 1

    def x(t: float) -> float:
        return PAD + (t - t0) / (t1 - t0) * (WIDTH - 2 * PAD)

    def y(c: float) -> float:
        return PAD / 2 + (c1 - c) / (c1 - c0) * (HEIGHT - PAD * 1.5)

    lines = tuple(
        (serial, COLOURS[i % len(COLOURS)], tuple((round(x(t), 1), round(y(c), 1)) for t, c in zip(ts.tolist(), cs.tolist(), strict=True)))
        for i, (serial, ts, cs) in enumerate(traces)
    )  # fmt: skip
    bands = [
        (x(e.start), max(x(e.end), x(e.start) + 2), "excursion") for *_, v in series for e in v.excursions
    ]
    bands += [(x(g.start), x(g.end), "gap") for *_, v in series for g in v.gaps]
    ticks = tuple((y(c), f"{c:.0f}") for c in np.linspace(c0, c1, 5).tolist())
    labels = tuple((x(t), format_instant(t)[5:16].replace("T", " ")) for t in np.linspace(t0, t1, 4).tolist())
    return Chart(lines, tuple((y(v), f"{v:g} °C") for v in limits), tuple(bands), ticks, labels, False)


def chart_svg(chart: Chart, title: str) -> str:
    """The chart as inline SVG markup (numbers and escaped labels only)."""
    if chart.empty:
        return ""
    parts = [
        f'<svg class="tchart" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">'  # styled by .tchart in cellchain.css (CSP: no inline style)
    ]
    for x0, x1, kind in chart.bands:
        fill = "#f8c9c9" if kind == "excursion" else "#dddddd"
        parts.append(
            f'<rect x="{x0:.1f}" y="0" width="{max(x1 - x0, 1):.1f}" height="{HEIGHT - PAD:.0f}" fill="{fill}"><title>{kind}</title></rect>'
        )
    for yy, label in chart.y_ticks:
        parts.append(f'<text x="2" y="{yy + 4:.1f}" font-size="10" fill="#555">{escape(label)}</text>')
    for xx, label in chart.x_labels:
        parts.append(
            f'<text x="{xx:.1f}" y="{HEIGHT - 6:.0f}" font-size="10" text-anchor="middle" fill="#555">{escape(label)}</text>'
        )
    for yy, label in chart.limits:
        parts.append(
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#c0392b" stroke-dasharray="6 4"/>'
        )
        parts.append(
            f'<text x="{WIDTH - PAD:.0f}" y="{yy - 3:.1f}" font-size="10" text-anchor="end" fill="#c0392b">{escape(label)}</text>'
        )
    for serial, colour, points in chart.lines:
        path = " ".join(f"{px},{py}" for px, py in points)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" points="{path}"><title>{escape(serial)}</title></polyline>'
        )
    parts.append("</svg>")
    return "".join(parts)  # fmt: skip


def finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value
