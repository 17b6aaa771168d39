"""Small SVG charts for the HTML report: pure functions from numbers to markup. No scripts, no network.

Every bar carries a ``<title>`` (the browser shows it on hover), so exact values are one hover away; the axes
use round tick values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
Formatter = Callable[[float], str]


def compact(value: float) -> str:
    """1234 -> 1.2k, 3_400_000 -> 3.4M."""
    magnitude = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.2f}".rstrip("0").rstrip(".") if magnitude < 10 and value != int(value) else f"{value:,.0f}"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def legend(names: Sequence[str], x: float, y: float) -> str:
    parts, offset = [], 0.0
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x + offset:.1f}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + offset + 14:.1f}" y="{y}" class="legend">{escape(name)}</text>')
        offset += 24 + 7 * len(name)
    return "".join(parts)


def bar_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
              fmt: Formatter = compact, width: int = 760, height: int = 260, stacked: bool = True) -> str:
    """Vertical bars per category: stacked series (or side by side), a y axis with round ticks, a legend."""
    if not categories:
        return '<p class="empty">nothing recorded</p>'
    left, right, top, bottom = 64, 12, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [[float(v or 0) for v in vals] for _, vals in series]
    totals = [sum(col) for col in zip(*values, strict=True)] if stacked else [max(col) for col in zip(*values,
                                                                                                    strict=True)]
    ticks = nice_ticks(max(totals) if totals else 0)
    scale = plot_h / ticks[-1]
    slot = plot_w / len(categories)
    bar = max(min(slot * 0.75, 48), 1.0)
    out = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">']
    for tick in ticks:
        y = top + plot_h - tick * scale
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{escape(fmt(tick))}</text>')
    label_every = max(1, math.ceil(len(categories) / max(plot_w // 70, 1)))
    for i, category in enumerate(categories):
        x0 = left + i * slot + (slot - bar) / 2
        base = 0.0
        for s, (name, _) in enumerate(series):
            value = values[s][i]
            color = PALETTE[s % len(PALETTE)]
            if stacked:
                y = top + plot_h - (base + value) * scale
                h, x, w = value * scale, x0, bar
                base += value
            else:
                w = bar / len(series)
                x, h = x0 + s * w, value * scale
                y = top + plot_h - h
            if value:
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{color}">'
                           f'<title>{escape(category)} · {escape(name)}: {escape(fmt(value))}</title></rect>')
        if i % label_every == 0:
            out.append(f'<text x="{x0 + bar / 2:.1f}" y="{top + plot_h + 16}" class="axis" '
                       f'text-anchor="middle">{escape(category)}</text>')
    if len(series) > 1:
        out.append(legend([name for name, _ in series], left, 14))
    out.append("</svg>")
    return "".join(out)


def hbar_chart(labels: Sequence[str], values: Sequence[float | None], *, fmt: Formatter = compact,
               width: int = 760, bar_height: int = 22, color: str = PALETTE[0]) -> str:
    """Horizontal bars, one per label, longest first as given; the value printed at the end of each bar."""
    if not labels:
        return '<p class="empty">nothing recorded</p>'
    label_w = min(max(len(label) for label in labels) * 7 + 12, 320)
    right = 90
    plot_w = width - label_w - right
    top = max((float(v or 0) for v in values), default=0) or 1
    height = bar_height * len(labels) + 8
    out = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * bar_height
        w = float(value or 0) / top * plot_w
        shown = label if len(label) <= 44 else label[:43] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + bar_height * 0.65:.1f}" class="axis" text-anchor="end">'
                   f'{escape(shown)}</text>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{bar_height - 6}" fill="{color}">'
                   f'<title>{escape(label)}: {escape(fmt(float(value or 0)))}</title></rect>'
                   f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height * 0.65:.1f}" class="axis">'
                   f'{escape(fmt(float(value or 0)) if value is not None else "—")}</text>')
    out.append("</svg>")
    return "".join(out)
