"""Outputs of a run: CSV tables, one self-contained HTML report, and a terminal summary.

Owns how `PolicyMetrics` are written. Every CSV has the policy as its first column; the HTML
report inlines its SVG charts (`svg.py`) and its CSS, loads nothing and runs no script, so it
opens offline. Headline numbers in the HTML and the terminal are the `headline` table's cells,
formatted without rounding (US dollars with cents).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from html import escape
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table as RichTable

from simulator import svg
from simulator.metrics import SHARE_BINS, PolicyMetrics
from simulator.scenario import P, Scenario

OUTCOME_PARTS = ("refunded to workers", "transferred to KH-NSSF", "transferred to VN-VSS",
                 "pension rights kept", "agents' fees", "tax not reclaimed", "income tax due",
                 "forfeited to fund", "still insured or pending")
HEADLINE_ROWS = (
    ("long_term_contributions_usd", "Long-term contributions (all funds)"),
    ("destination_long_term_usd", "… of which at the destination fund"),
    ("recovered_usd", "Value recovered by workers (refund, transfer, pension right)"),
    ("recovered_after_horizon_usd", "… of which paid after the horizon"),
    ("forfeited_usd", "Value forfeited to funds"),
    ("agent_fees_usd", "Fees lost to agents"),
    ("tax_unclaimed_usd", "Japanese tax withheld, refundable, and never reclaimed"),
    ("tax_due_usd", "Japanese retirement-income tax really due on lump sums"),
    ("double_contribution_usd", "Double contributions (VN 22% for months paid abroad too)"),
    ("double_contribution_months", "Double-contribution months"),
    ("periods_lost_months", "Insured months lost on status changes"),
    ("pension_rights_count", "Workers with a pension right (on periods)"),
    ("through_totalisation_count", "… of which only through totalisation"),
    ("settlement_gross_usd", "Inter-fund settlement, gross"),
    ("settlement_net_usd", "Inter-fund settlement, net of multilateral netting"),
    ("messages_peak_month_count", "Inter-fund messages, peak month"),
    ("messages_total_count", "Inter-fund messages, total"),
)


def money(cents: int) -> str:
    """US cents as dollars, exactly: 123456789 -> '1,234,567.89'."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole:,}.{part:02d}"


def cell(key: str, value: int) -> str:
    return money(value) if key.endswith("_usd") else f"{value:,}"


def write_csv(metrics: Sequence[PolicyMetrics], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in metrics[0].tables:
        path = out / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(("policy", *metrics[0].tables[name].columns))
            for m in metrics:
                w.writerows((m.policy, *row) for row in m.tables[name].rows)
        written.append(path)
    path = out / "monthly.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        keys = list(metrics[0].series)
        w.writerow(("policy", "month_index", *keys))
        for m in metrics:
            length = len(next(iter(m.series.values())))
            for k in range(length):
                w.writerow((m.policy, k, *(int(m.series[key][k]) for key in keys)))
    written.append(path)
    path = out / "recovered_share_histogram.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("policy", "corridor", *(f"{b}%" for b in SHARE_BINS)))
        for m in metrics:
            for corridor, counts in m.histogram.items():
                w.writerow((m.policy, corridor, *(int(c) for c in counts)))
    written.append(path)
    return written


def write_parquet(csv_paths: Sequence[Path]) -> list[Path]:
    """A Parquet copy of each CSV table, for dataframe tools (pandas, polars, DuckDB). Column
    types come from the CSV: amounts are int64 minor units, never floats (checked)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    import pyarrow.types as pat

    written = []
    for path in csv_paths:
        table = pacsv.read_csv(path)
        floats = [f.name for f in table.schema if pat.is_floating(f.type)]
        if floats:
            raise ValueError(f"{path.name}: columns {floats} read as floats; money is integer")
        target = path.with_suffix(".parquet")
        pq.write_table(table, target)
        written.append(target)
    return written


def _outcome_parts(m: PolicyMetrics) -> list[float]:
    totals = dict.fromkeys(OUTCOME_PARTS, 0)
    for source, target, usd in m.flows:
        if source in ("TH-SSO", "JP-JPS") and target in totals:
            totals[target] += usd
    return [totals[p] / 100 for p in OUTCOME_PARTS]


def _histogram_chart(metrics: Sequence[PolicyMetrics], corridor: str | None) -> str:
    series = []
    for m in metrics:
        counts = [0] * len(SHARE_BINS)
        for name, hist in m.histogram.items():
            if corridor is None or name == corridor:
                counts = [a + int(b) for a, b in zip(counts, hist, strict=True)]
        total = sum(counts) or 1
        series.append((m.policy, [c / total for c in counts]))
    labels = [f"{b}%" if b < SHARE_BINS[-1] else f"{b}%+" for b in SHARE_BINS]
    where = corridor or "all corridors"
    return svg.step_histograms(series, labels,
                               f"Share of own contributions recovered, per worker ({where})")


def html(metrics: Sequence[PolicyMetrics], scenario: Scenario, command: str) -> str:
    policies = [m.policy for m in metrics]
    start, years = scenario.start, len(next(iter(metrics[0].series.values()))) // 12
    head = "".join(f"<th>{escape(p)}</th>" for p in policies)
    rows = "".join(
        f"<tr><td>{escape(label)}</td>"
        + "".join(f'<td class="n">{cell(key, m.headline[key])}</td>' for m in metrics)
        + "</tr>" for key, label in HEADLINE_ROWS)
    bars = svg.stacked_bars([(m.policy, _outcome_parts(m)) for m in metrics], OUTCOME_PARTS,
                            "What became of long-term contributions at the destination (USD)")
    sankeys = "".join(
        svg.sankey([(s, t, v / 100) for s, t, v in m.flows],
                   f"Flows of long-term money, {m.policy} (USD)") for m in metrics)
    corridors = list(metrics[0].histogram)
    hists = _histogram_chart(metrics, None) + "".join(
        _histogram_chart(metrics, c) for c in corridors)
    end = start.plus(12 * years - 1)
    recovered = svg.lines(
        [(m.policy, [sum(int(v[k]) for key, v in m.series.items()
                         if key.startswith("recovered:")) / 100
                     for k in range(12 * years)]) for m in metrics],
        str(start), str(end), "Value recovered by workers per month", "USD")
    messages = svg.lines([(m.policy, [float(x) for x in m.series["messages"]]) for m in metrics],
                         str(start), str(end), "Inter-fund messages per month", "messages")
    share_rows = "".join(
        f"<tr><td>{escape(m.policy)}</td><td>{escape(str(r[0]))}</td><td class='n'>{r[1]:,}</td>"
        f"<td class='n'>{int(r[2]) / 100:.2f}%</td><td class='n'>{int(r[3]) / 100:.2f}%</td>"
        f"<td class='n'>{r[4]:,}</td></tr>"
        for m in metrics for r in m.tables["recovered_share"].rows)
    assumptions = "".join(
        f"<li><code>{escape(k)}</code>: {escape(v)}</li>" for k, v in _assumptions(scenario))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>clmtv simulation: {escape(scenario.title)}</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:1em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}}svg{{display:block;margin:1em 0}}
</style></head><body>
<h1>{escape(scenario.title)}</h1>
<p>{metrics[0].workers:,} simulated workers, {years} years from {start}; policies compared on the
same random draws. Amounts in US dollars at the scenario's exchange rates (tables in
<code>headline.csv</code> etc. carry US cents and each fund's own currency).</p>
<p><small>Command: <code>{escape(command)}</code></small></p>
<h2>Headline</h2>
<table><tr><th>metric</th>{head}</tr>{rows}</table>
<h2>What became of the money</h2>{bars}
<h2>Flows between payers, funds and outcomes</h2>{sankeys}
<h2>Recovered share of own contributions</h2>{hists}
<table><tr><th>policy</th><th>corridor</th><th>workers</th><th>median</th><th>10th percentile</th>
<th>recovered nothing</th></tr>{share_rows}</table>
<h2>Over time</h2>{recovered}{messages}
<h2>Assumptions (unverified parameters)</h2><ul>{assumptions}</ul>
</body></html>
"""


def _assumptions(scenario: Scenario) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, P):
            if not node.verified:
                out.append((path, node.source))
            return
        if isinstance(node, BaseModel):
            fields = type(node).model_fields
            for name in fields:
                walk(getattr(node, name), f"{path}.{name}" if path else name)
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}")

    walk(scenario, "")
    return out


def summary(metrics: Sequence[PolicyMetrics], console: Console) -> None:
    table = RichTable(title="clmtv simulation: headline (USD)")
    table.add_column("metric")
    for m in metrics:
        table.add_column(m.policy, justify="right")
    for key, label in HEADLINE_ROWS:
        table.add_row(label, *(cell(key, m.headline[key]) for m in metrics))
    console.print(table)
