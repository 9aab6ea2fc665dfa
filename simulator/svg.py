"""Inline SVG charts drawn by hand, for the load-test report (`ledger/app/loadtest/report.py`);
the simulator's report draws with matplotlib (`charts.py`, ADR 0043).

Owns four chart shapes: stacked horizontal bars, a three-column Sankey, step histograms and line
series. Every function takes plain numbers and returns an `<svg>` string; coordinates are floats
(they are pixels, not money). Labels are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
           "#666666", "#1f78b4", "#b2df8a")


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-family="sans-serif">{escape(text)}</text>')


def legend(labels: Sequence[str], x: float, y: float) -> list[str]:
    out = []
    for i, label in enumerate(labels):
        out.append(f'<rect x="{x:.1f}" y="{y + i * 16:.1f}" width="10" height="10" '
                   f'fill="{colour(i)}"/>')
        out.append(_text(x + 14, y + i * 16 + 9, label))
    return out


def stacked_bars(rows: Sequence[tuple[str, Sequence[float]]], parts: Sequence[str],
                 title: str) -> str:
    """One horizontal bar per row, split into `parts` (same order, values >= 0)."""
    width, left, bar, gap = 900, 230, 26, 12
    plot = width - left - 220
    height = 40 + len(rows) * (bar + gap) + max(0, len(parts) * 16 - len(rows) * (bar + gap))
    top = max((sum(v) for _, v in rows), default=0) or 1
    body = [_text(10, 18, title, size=13)]
    for r, (label, values) in enumerate(rows):
        y = 32 + r * (bar + gap)
        body.append(_text(left - 6, y + bar * 0.65, label, anchor="end"))
        x = float(left)
        for i, value in enumerate(values):
            w = plot * value / top
            if w > 0:
                body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" '
                            f'fill="{colour(i)}"><title>{escape(parts[i])}: {value:,.0f}'
                            f"</title></rect>")
            x += w
    body += legend(parts, left + plot + 16, 32)
    return _svg(width, max(height, 40 + len(parts) * 16), body, title)


def sankey(flows: Sequence[tuple[str, str, float]], title: str) -> str:
    """Three columns: sources (never targets), middles (both), sinks (never sources)."""
    sources = {s for s, _, _ in flows}
    targets = {t for _, t, _ in flows}
    columns = [sorted(sources - targets), sorted(sources & targets), sorted(targets - sources)]
    width, height, node_w, pad = 900, 420, 14, 10
    total = max((sum(v for s, _, v in flows if s == n) for n in columns[0]), default=0.0)
    total = max(total, sum(v for s, _, v in flows if s in columns[0])) or 1.0
    scale = (height - 60 - pad * 10) / total
    xs = [20, width // 2 - node_w // 2, width - 260]
    pos: dict[str, tuple[float, float, float]] = {}  # node -> x, y, height
    for c, nodes in enumerate(columns):
        y = 40.0
        for node in nodes:
            size = max(sum(v for s, _, v in flows if s == node),
                       sum(v for _, t, v in flows if t == node)) * scale
            pos[node] = (xs[c], y, max(size, 1.0))
            y += max(size, 1.0) + pad
    middles = columns[1]
    # Ribbons leave each node in the order of their targets and arrive in the order of their
    # sources, so they do not cross inside a node; each is coloured by the fund it passes.
    out_at: dict[tuple[str, str], float] = {}
    in_at: dict[tuple[str, str], float] = {}
    for node in pos:
        used = 0.0
        for s, t, v in sorted((f for f in flows if f[0] == node), key=lambda f: pos[f[1]][1]):
            out_at[(s, t)] = used
            used += v * scale
        used = 0.0
        for s, t, v in sorted((f for f in flows if f[1] == node), key=lambda f: pos[f[0]][1]):
            in_at[(s, t)] = used
            used += v * scale
    body = [_text(10, 18, title, size=13)]
    for s, t, v in flows:
        sx, sy, _ = pos[s]
        tx, ty, _ = pos[t]
        h = v * scale
        y0 = sy + out_at[(s, t)] + h / 2
        y1 = ty + in_at[(s, t)] + h / 2
        x0, x1 = sx + node_w, tx
        mid = (x0 + x1) / 2
        fund = t if t in middles else s
        tint = colour(middles.index(fund)) if fund in middles else "#999"
        body.append(f'<path d="M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} '
                    f'{x1:.1f},{y1:.1f}" stroke="{tint}" stroke-opacity="0.45" '
                    f'stroke-width="{max(h, 0.5):.1f}" fill="none"><title>{escape(s)} → '
                    f"{escape(t)}: {v:,.0f}</title></path>")
    for node, (x, y, h) in pos.items():
        body.append(f'<rect x="{x}" y="{y:.1f}" width="{node_w}" height="{h:.1f}" fill="#333"/>')
        anchor_x = x + node_w + 4
        body.append(_text(anchor_x, y + min(h, 20) / 2 + 4, node))
    return _svg(width, height, body, title)


def step_histograms(series: Sequence[tuple[str, Sequence[float]]], bin_labels: Sequence[str],
                    title: str) -> str:
    """One step line per series over the same bins (shares of workers, 0..1)."""
    width, height, left, bottom = 900, 260, 50, 40
    plot_w, plot_h = width - left - 230, height - bottom - 40
    top = max((max(v, default=0) for _, v in series), default=0) or 1
    n = len(bin_labels)
    body = [_text(10, 18, title, size=13)]
    body.append(f'<line x1="{left}" y1="{40 + plot_h}" x2="{left + plot_w}" '
                f'y2="{40 + plot_h}" stroke="#999"/>')
    for b, label in enumerate(bin_labels):
        if b % 2 == 0:
            body.append(_text(left + plot_w * (b + 0.5) / n, 40 + plot_h + 14, label,
                              anchor="middle", size=9))
    body.append(_text(left - 4, 44, f"{top:.0%}", anchor="end", size=9))
    for i, (_, values) in enumerate(series):
        points = []
        for b, v in enumerate(values):
            y = 40 + plot_h - plot_h * v / top
            points += [f"{left + plot_w * b / n:.1f},{y:.1f}",
                       f"{left + plot_w * (b + 1) / n:.1f},{y:.1f}"]
        body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour(i)}" '
                    f'stroke-width="2"/>')
    body += legend([name for name, _ in series], left + plot_w + 16, 40)
    return _svg(width, height, body, title)


def lines(series: Sequence[tuple[str, Sequence[float]]], start_label: str, end_label: str,
          title: str, unit: str) -> str:
    width, height, left, bottom = 900, 260, 80, 40
    plot_w, plot_h = width - left - 230, height - bottom - 40
    top = max((max(v, default=0) for _, v in series), default=0) or 1
    n = max((len(v) for _, v in series), default=1)
    body = [_text(10, 18, title, size=13),
            f'<line x1="{left}" y1="{40 + plot_h}" x2="{left + plot_w}" y2="{40 + plot_h}" '
            f'stroke="#999"/>',
            _text(left, 40 + plot_h + 14, start_label, size=9),
            _text(left + plot_w, 40 + plot_h + 14, end_label, anchor="end", size=9),
            _text(left - 4, 44, f"{top:,.0f} {unit}", anchor="end", size=9)]
    for i, (_, values) in enumerate(series):
        points = " ".join(
            f"{left + plot_w * k / max(n - 1, 1):.1f},{40 + plot_h - plot_h * v / top:.1f}"
            for k, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour(i)}" '
                    f'stroke-width="1.5"/>')
    body += legend([name for name, _ in series], left + plot_w + 16, 40)
    return _svg(width, height, body, title)
