"""The report's charts, drawn with matplotlib and inlined as SVG (ADR 0043).

Owns every chart shape the report uses: stacked horizontal bars, a three-column flow diagram,
step histograms, monthly series, and the calibration charts (a simulated series against
published points with their tolerance, and a dot plot of ratios against their bands). Each
function takes plain numbers and returns an `<svg>` element as text: text stays text
(`svg.fonttype: none`) in a font list that covers Latin, Japanese and the Mekong scripts
(Thai, Lao, Khmer, Myanmar: Debian's fonts-noto-core and fonts-noto-cjk), so labels are
searchable and the file stays small; the metadata block (a creation date) is dropped and ids are
salted with a constant, so the same numbers give the same bytes. Floats here are drawing
coordinates and axis values, never money: callers convert exact amounts once, for display.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("svg")  # no display, no Agg raster: the SVG backend only

import matplotlib.pyplot as plt  # after choosing the backend
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter, PercentFormatter
from matplotlib.typing import RcKeyType

FONTS = ["Noto Sans", "Noto Sans CJK JP", "Noto Sans Thai", "Noto Sans Lao", "Noto Sans Khmer",
         "Noto Sans Myanmar", "DejaVu Sans", "sans-serif"]
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d",
           "#666666", "#1f78b4", "#b2df8a")
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none", "svg.hashsalt": "clmtv", "font.family": FONTS, "font.size": 9,
    "axes.titlesize": 11, "axes.titleweight": "bold", "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.color": "#e5e5e5",
    "axes.axisbelow": True}
WIDTH = 9.0  # inches at 72 points: about the report's 900-pixel column


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)


def _figure(height: float) -> tuple[Figure, Axes]:
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(WIDTH, height))
    return fig, ax


def thousands(value: float, _pos: object = None) -> str:
    if abs(value) >= 1e9:
        return f"{value / 1e9:,.1f}bn"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.1f}m"
    if abs(value) >= 1e4:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}"


def stacked_bars(rows: Sequence[tuple[str, Sequence[float]]], parts: Sequence[str],
                 title: str, unit: str) -> str:
    """One horizontal bar per row, split into `parts` (values >= 0), each part's value written
    on it when it is wide enough to hold it."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(0.8 + 0.55 * len(rows))
        labels = [label for label, _ in rows]
        top = max((sum(v) for _, v in rows), default=0) or 1
        left = [0.0] * len(rows)
        for i, part in enumerate(parts):
            widths = [v[i] for _, v in rows]
            bars = ax.barh(labels, widths, left=left, color=colour(i), label=part)
            ax.bar_label(bars, labels=[thousands(w) if w > top * 0.06 else "" for w in widths],
                         label_type="center", fontsize=8, color="white")
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.invert_yaxis()
        ax.set_title(title, loc="left")
        ax.set_xlabel(unit)
        ax.xaxis.set_major_formatter(FuncFormatter(thousands))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
        return _svg(fig)


def flows(links: Sequence[tuple[str, str, float]], title: str, unit: str) -> str:
    """Three columns (sources, middles, sinks) joined by ribbons as wide as their value."""
    sources = {s for s, _, _ in links}
    targets = {t for _, t, _ in links}
    columns = [sorted(sources - targets), sorted(sources & targets), sorted(targets - sources)]
    total = sum(v for s, _, v in links if s in columns[0]) or 1.0
    gap = total * 0.04
    pos: dict[str, tuple[float, float]] = {}  # node -> (bottom, height)
    for nodes in columns:
        y = 0.0
        for node in nodes:
            size = max(sum(v for s, _, v in links if s == node),
                       sum(v for _, t, v in links if t == node))
            pos[node] = (y, size)
            y += size + gap
    xs = {n: float(c) for c, nodes in enumerate(columns) for n in nodes}
    out_at = {n: pos[n][0] for n in pos}
    in_at = {n: pos[n][0] for n in pos}
    with plt.rc_context(STYLE):
        height = max((pos[n][0] + pos[n][1] for n in pos), default=1.0)
        fig, ax = _figure(4.8)
        ax.grid(False)
        for s, t, v in sorted(links, key=lambda f: (xs[f[0]], pos[f[0]][0], pos[f[1]][0])):
            y0, y1 = out_at[s], in_at[t]
            out_at[s] += v
            in_at[t] += v
            x0, x1 = xs[s] + 0.04, xs[t] - 0.04
            mid = (x0 + x1) / 2
            verts = [(x0, y0), (mid, y0), (mid, y1), (x1, y1), (x1, y1 + v), (mid, y1 + v),
                     (mid, y0 + v), (x0, y0 + v), (x0, y0)]
            codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
                     MplPath.LINETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
                     MplPath.CLOSEPOLY]
            middle = t if t in columns[1] else s
            tint = colour(columns[1].index(middle)) if middle in columns[1] else "#999999"
            ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=tint, alpha=0.45,
                                   edgecolor="none"))
        for nodes in columns:
            # Labels centred on their node, pushed down just enough not to overlap the one
            # above (small nodes at the bottom would otherwise print over each other).
            floor = -gap
            for node in nodes:
                bottom, size = pos[node]
                x = xs[node]
                ax.add_patch(Rectangle((x - 0.04, bottom), 0.08, size, color="#333333"))
                y = max(bottom + size / 2, floor + total * 0.13)
                floor = y
                ha = "right" if x == 0 else "left"
                dx = -0.06 if x == 0 else 0.06
                ax.text(x + dx, y, f"{node}\n{thousands(size)} {unit}", va="center", ha=ha,
                        fontsize=8)
                height = max(height, y + total * 0.05)
        ax.set_xlim(-0.9, 2.9)
        ax.set_ylim(height + gap, -gap)
        ax.set_xticks([0, 1, 2], ["who paid", "fund", "what became of it"])
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.set_title(title, loc="left")
        return _svg(fig)


def step_histograms(series: Sequence[tuple[str, Sequence[float]]], edges: Sequence[float],
                    title: str, xlabel: str, ylabel: str) -> str:
    """One step line per series over the same bins: shares of workers (0..1) per bin."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(2.8)
        for i, (name, values) in enumerate(series):
            ax.stairs(values, edges, label=name, color=colour(i), linewidth=1.8)
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))
        ax.set_xticks(list(edges[::2]))
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return _svg(fig)


def monthly(series: Sequence[tuple[str, Sequence[float]]], first_year: float, title: str,
            ylabel: str) -> str:
    """Monthly series against the calendar (x in years: first_year + month / 12)."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(2.8)
        for i, (name, values) in enumerate(series):
            xs = [first_year + k / 12 for k in range(len(values))]
            ax.plot(xs, values, label=name, color=colour(i), linewidth=1.4)
        ax.set_title(title, loc="left")
        ax.set_xlabel("year")
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_formatter(FuncFormatter(thousands))
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return _svg(fig)


def against_published(simulated: tuple[Sequence[float], Sequence[float]],
                      published: Sequence[tuple[float, float, float, float, bool]],
                      title: str, ylabel: str, share: bool = False) -> str:
    """A simulated series (x in years, y) against published points (x, y, low, high, asserted):
    the bar is the tolerance; a hollow marker is shown only, not asserted."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(2.6)
        xs, ys = simulated
        ax.plot(xs, ys, color=colour(0), linewidth=1.6, label="simulated (fitted baseline)")
        for k, (x, y, low, high, asserted) in enumerate(published):
            ax.errorbar([x], [y], yerr=[[y - low], [high - y]], fmt="o",
                        color=colour(1), mfc=colour(1) if asserted else "white", capsize=4,
                        label=("published, with its tolerance" if k == 0 else None))
            ax.annotate(f"{y:.1%}" if share else thousands(y), (x, y),
                        textcoords="offset points", xytext=(6, 4), fontsize=8)
        ax.set_title(title, loc="left")
        ax.set_xlabel("year")
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0) if share
                                     else FuncFormatter(thousands))
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return _svg(fig)


def ratios(rows: Sequence[tuple[str, float, float, float, float]], title: str) -> str:
    """One row per ratio target: (label, published, simulated, band low, band high)."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(0.7 + 0.45 * len(rows))
        for k, (_, published, simulated, low, high) in enumerate(rows):
            ax.plot([low, high], [k, k], color="#bbbbbb", linewidth=7, solid_capstyle="butt",
                    label="tolerance" if k == 0 else None)
            ax.plot([published], [k], "o", color=colour(1),
                    label="published" if k == 0 else None)
            ax.plot([simulated], [k], "D", color=colour(0), mfc="white",
                    label="simulated" if k == 0 else None)
            ax.annotate(f"{simulated:.1%}", (simulated, k), textcoords="offset points",
                        xytext=(0, 7), ha="center", fontsize=8, color=colour(0))
        ax.set_yticks(range(len(rows)), [r[0] for r in rows])
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("share")
        ax.set_title(title, loc="left")
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return _svg(fig)


def fine(values: Sequence[float]) -> Callable[..., str]:
    """Like `thousands`, with as many decimals as the spread of `values` needs: a band from
    4.41bn to 4.43bn must not read 4.4bn at every tick."""
    top = max((abs(v) for v in values), default=0.0)
    scale, suffix = next(((d, s) for d, s in ((1e9, "bn"), (1e6, "m"), (1e3, "k"))
                          if top >= d * 10 or (d == 1e9 and top >= d)), (1.0, ""))
    spread = (max(values) - min(values)) / scale if values else 0.0
    decimals = 1 if spread >= 1 or spread == 0 else min(6, 1 - math.floor(math.log10(spread)))

    def shown(value: float, _pos: object = None) -> str:
        return f"{value / scale:,.{decimals}f}{suffix}"

    return shown


def bands(lines: Sequence[tuple[str, Sequence[float], Sequence[float], Sequence[float],
                                Sequence[float]]], title: str, xlabel: str, ylabel: str) -> str:
    """One line per (name, xs, mean, lowest, highest): the mean over seeds, the band between the
    lowest and the highest seed's value, each mean written beside its point."""
    with plt.rc_context(STYLE):
        fig, ax = _figure(2.8)
        for i, (name, xs, mean, low, high) in enumerate(lines):
            ax.fill_between(xs, low, high, color=colour(i), alpha=0.18, linewidth=0,
                            label=f"{name}: lowest to highest seed")
            ax.plot(xs, mean, "o-", color=colour(i), linewidth=1.6, markersize=4,
                    label=f"{name}: mean over seeds")
        shown = fine([y for _, _, mean, low, high in lines for y in (*mean, *low, *high)])
        for i, (_, xs, mean, _, _) in enumerate(lines):
            for x, y in zip(xs, mean, strict=True):
                ax.annotate(shown(y), (x, y), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=7, color=colour(i))
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_formatter(FuncFormatter(shown))
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return _svg(fig)


def tornado(rows: Sequence[tuple[str, float, float]], centre: float, title: str,
            unit: str) -> str:
    """One bar per (parameter, outcome at its lowest value, at its highest), from the outcome
    with every parameter at its middle value (`centre`), widest on top."""
    ordered = sorted(rows, key=lambda r: -abs(r[2] - r[1]))
    shown = fine([centre, *(v for _, a, b in rows for v in (a, b))])
    with plt.rc_context(STYLE):
        fig, ax = _figure(0.9 + 0.5 * max(len(ordered), 1))
        for k, (_, at_low, at_high) in enumerate(ordered):
            for value, face, label in ((at_low, colour(0), "at the lowest value"),
                                       (at_high, colour(1), "at the highest value")):
                ax.barh(k, value - centre, left=centre, color=face, height=0.6,
                        label=label if k == 0 else None)
                ax.annotate(shown(value), (value, k), textcoords="offset points",
                            xytext=(4 if value >= centre else -4, 0), va="center",
                            ha="left" if value >= centre else "right", fontsize=8)
        ax.axvline(centre, color="#333333", linewidth=1)
        ax.set_yticks(range(len(ordered)), [r[0] for r in ordered])
        ax.invert_yaxis()
        ax.set_title(title, loc="left")
        ax.set_xlabel(f"{unit} (line: every parameter at its middle value, {shown(centre)})")
        ax.xaxis.set_major_formatter(FuncFormatter(shown))
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        return _svg(fig)
