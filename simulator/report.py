"""Outputs of a run: CSV tables, one self-contained HTML report, and a terminal summary.

Owns how `PolicyMetrics` are written. Every CSV has the policy as its first column. The HTML
report is written for a policy designer reading it alone: each policy by its title with its
changes against the scenario, a sentence on why each headline moves, every column defined,
corridors without long-term contributions left out with the reason, charts drawn by matplotlib
(`charts.py`) inlined as SVG with axes, ticks, titles and values, the calibration of the
baseline against published figures (`calibration/present.py`), and the unverified assumptions.
It loads nothing and runs no script, so it opens offline. Headline numbers in the HTML and the
terminal are the `headline` table's cells, formatted without rounding (US dollars with cents).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from html import escape
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table as RichTable

from simulator import charts
from simulator.calibration.present import calibrated, report_section
from simulator.metrics import SHARE_BINS, PolicyMetrics
from simulator.policy import Change, policy_changes, policy_title
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


# What each headline row counts (shown under the table: every row defined).
HEADLINE_DEFINITIONS = {
    "long_term_contributions_usd": "old-age and voluntary contributions paid by every payer "
    "(worker, employer, state) to every fund over the horizon, destination and home",
    "destination_long_term_usd": "the part paid to the destination funds (TH-SSO old age and "
    "s39, JP-JPS pension)",
    "recovered_usd": "what came back to workers: lump sums net of agents' fees, the Japanese tax "
    "refund, balances transferred to the home fund, and periods kept as a pension right "
    "(valued at the shares paid in), including what is paid after the horizon",
    "recovered_after_horizon_usd": "the part of it paid after the last simulated month "
    "(claims at 55, pension rights at pension age)",
    "forfeited_usd": "contributions that stay with the destination fund for nobody: unclaimed "
    "lump sums, shares a refund does not return, records cut by a status change",
    "agent_fees_usd": "fees kept by commercial agents who claim for workers",
    "tax_unclaimed_usd": "the part of the 20.42% withheld from Japanese lump sums that would "
    "come back (the withholding less the tax really due) and was never reclaimed",
    "tax_due_usd": "the part of the 20.42% withheld that is really owed as retirement-income "
    "tax (a lump sum beyond the deduction is taxed): kept by the tax office on every route",
    "double_contribution_usd": "Vietnamese compulsory 22% paid at home for months also paid "
    "at the destination",
    "double_contribution_months": "months paid in both countries",
    "periods_lost_months": "insured months whose record was cut when a status change ended "
    "coverage",
    "pension_rights_count": "workers who left within the horizon and hold a pension right "
    "somewhere, counting the periods each fund keeps",
    "through_totalisation_count": "those whose right exists only by adding periods of two "
    "funds",
    "settlement_gross_usd": "money moved between funds, before netting",
    "settlement_net_usd": "the same after multilateral netting per monthly window",
    "messages_peak_month_count": "inter-fund messages in the busiest month",
    "messages_total_count": "inter-fund messages over the horizon",
}
# Which policy levers move which headline, and how (the sentence under the headline table).
DRIVERS: dict[str, tuple[tuple[str, str], ...]] = {
    "long_term_contributions_usd": (
        ("policy.certificate_share", "certificates of coverage exempt posted months from the "
         "destination fund (the worker stays insured at home, at home rates)"),
        ("digital_voluntary.uptake_share", "leavers keep paying the Thai s39 from home"),
        ("digital_voluntary.home_uptake_share", "workers abroad pay their home fund's "
         "voluntary scheme")),
    "destination_long_term_usd": (
        ("policy.certificate_share", "certificates of coverage exempt posted months from the "
         "destination fund"),
        ("digital_voluntary.uptake_share", "leavers keep paying the Thai s39 from home")),
    "recovered_usd": (
        ("policy.agreement", "the agreement moves Thai balances to the home fund (or pays "
         "them out) and keeps Japanese periods for a pension, where today most lump sums are "
         "never claimed"),
        ("policy.th_lump_sum_on_departure", "the Thai lump sum is paid on departure, not at "
         "55"),
        ("policy.jp_tax_refund_claimed_share", "more of the 20.42% withheld in Japan is "
         "reclaimed"),
        ("policy.fees_waived", "claims through the mechanism carry no agent fee")),
    "recovered_after_horizon_usd": (
        ("policy.agreement", "pension rights kept by totalisation are paid at pension age, "
         "after the horizon"),
        ("policy.th_lump_sum_on_departure", "the Thai lump sum no longer waits for age 55")),
    "forfeited_usd": (
        ("policy.agreement", "balances move to the home fund or stay as rights instead of "
         "being left unclaimed"),
        ("policy.identity_portable", "records survive a status change"),
        ("policy.th_lump_sum_on_departure", "more Thai lump sums are claimed")),
    "agent_fees_usd": (
        ("policy.fees_waived", "claims through the mechanism need no agent"),
        ("claims.th.agent_share", "fewer Thai claims go through agents"),
        ("claims.jp.agent_share", "fewer Japanese claims go through agents")),
    "tax_unclaimed_usd": (
        ("policy.jp_tax_refund_claimed_share", "the refund of the 20.42% is filed with the "
         "claim"),
        ("policy.agreement", "periods kept for totalisation are never withdrawn, so nothing "
         "is withheld")),
    "double_contribution_usd": (
        ("policy.certificate_share", "a certificate of coverage ends paying in both "
         "countries"),),
    "double_contribution_months": (
        ("policy.certificate_share", "a certificate of coverage ends paying in both "
         "countries"),),
    "periods_lost_months": (
        ("policy.identity_portable", "the hub links a worker's records across funds and "
         "statuses"),),
    "pension_rights_count": (
        ("policy.agreement", "totalisation counts periods in every member fund"),
        ("policy.identity_portable", "no period is lost on a status change")),
    "through_totalisation_count": (
        ("policy.agreement", "only an agreement adds periods of two funds"),),
    "settlement_gross_usd": (
        ("policy.agreement", "transfers between funds are settled in monthly windows"),),
    "settlement_net_usd": (
        ("policy.agreement", "transfers between funds are netted in monthly windows"),),
    "messages_peak_month_count": (
        ("policy.agreement", "each transfer, claim through the hub and window exchanges "
         "signed messages"),
        ("policy.certificate_share", "each certificate is requested and issued")),
    "messages_total_count": (
        ("policy.agreement", "each transfer, claim through the hub and window exchanges "
         "signed messages"),
        ("policy.certificate_share", "each certificate is requested and issued")),
}
SHARE_COLUMNS = (
    ("policy", "the policy simulated"),
    ("corridor", "origin-destination"),
    ("workers", "workers of the corridor who left covered work within the horizon having "
     "paid their own long-term contributions at the destination. It changes between policies: "
     "a certificate of coverage keeps a posted worker's months at home, so that worker paid "
     "nothing at the destination and is not counted"),
    ("median", "the middle worker's recovered value ÷ their own contributions at the "
     "destination. 100% means the worker got back what they paid themselves; above 100% the "
     "employer's (and state's) shares came back too, as a transfer to the home fund moves "
     "them: 200% means both halves of an equal split"),
    ("10th percentile", "the same ratio for the worker at the 10th percentile (one in ten "
     "recovered less)"),
    ("recovered nothing", "workers who got nothing back (unclaimed, not eligible, or their "
     "record cut)"),
)
NO_DIFFERENCE = "<li>No headline differs between the policies.</li>"
NO_LONG_TERM = ("Malaysia's SOCSO covers foreign workers for employment injury only (employer "
                "1.25%): they pay no long-term contributions, so there is nothing to recover "
                "and no share to draw (docs/reference/funds.md §1.6)")


def _outcome_parts(m: PolicyMetrics) -> list[float]:
    totals = dict.fromkeys(OUTCOME_PARTS, 0)
    for source, target, usd in m.flows:
        if source in ("TH-SSO", "JP-JPS") and target in totals:
            totals[target] += usd
    return [totals[p] / 100 for p in OUTCOME_PARTS]


def _with_workers(metrics: Sequence[PolicyMetrics]) -> tuple[list[str], list[str]]:
    """(corridors whose workers have a recovered share under some policy, the others)."""
    names = list(metrics[0].histogram)
    shown = [c for c in names if any(int(m.histogram[c].sum()) for m in metrics)]
    return shown, [c for c in names if c not in shown]


def _histogram_chart(metrics: Sequence[PolicyMetrics], corridor: str | None,
                     titles: dict[str, str]) -> str:
    series = []
    for m in metrics:
        counts = [0] * len(SHARE_BINS)
        for name, hist in m.histogram.items():
            if corridor is None or name == corridor:
                counts = [a + int(b) for a, b in zip(counts, hist, strict=True)]
        total = sum(counts) or 1
        series.append((titles[m.policy], [c / total for c in counts]))
    edges = [*SHARE_BINS, SHARE_BINS[-1] + 10]
    where = corridor or "all corridors with long-term contributions"
    return charts.step_histograms(
        series, edges, f"Recovered share of own contributions, per worker ({where})",
        "recovered ÷ own contributions (the last bin: 200% and more)", "share of workers")


def _why(key: str, label: str, metrics: Sequence[PolicyMetrics], titles: dict[str, str],
         changes: dict[str, list[Change]]) -> list[str]:
    base = metrics[0]
    out = []
    for m in metrics[1:]:
        before, after = base.headline[key], m.headline[key]
        if before == after:
            continue
        changed = {c.key for c in changes[m.policy]}
        reasons = [why for lever, why in DRIVERS.get(key, ()) if lever in changed]
        direction = "higher" if after > before else "lower"
        size = (f" ({(after - before) / before:+.1%})" if before else "")
        because = ("; ".join(reasons) if reasons else
                   "no lever of this policy acts on it directly: it follows from the other "
                   "changes listed above")
        out.append(f"<li><strong>{escape(label)}</strong> is {direction} under "
                   f"{escape(titles[m.policy])} than under {escape(titles[base.policy])}"
                   f"{size}: {escape(because)}.</li>")
    return out


def _agreement(m: PolicyMetrics) -> str:
    """The agreement's title (`PolicyMetrics.title` is "policy (agreement title)")."""
    return m.title.removeprefix(f"{m.policy} (").removesuffix(")")


def _policies_html(metrics: Sequence[PolicyMetrics], titles: dict[str, str],
                   changes: dict[str, list[Change]]) -> str:
    items = []
    for m in metrics:
        rows = "".join(
            f"<tr><td><code>{escape(c.key)}</code></td><td>{escape(c.baseline)}</td>"
            f"<td>{escape(c.value)}</td><td>{escape(c.source)}</td></tr>"
            for c in changes[m.policy])
        body = (f"<table><tr><th>parameter</th><th>scenario</th><th>this policy</th>"
                f"<th>basis</th></tr>{rows}</table>" if rows else
                "<p>No change: the scenario as it is (each fund alone).</p>")
        items.append(f"<h3>{escape(titles[m.policy])} <small>(<code>{escape(m.policy)}</code>)"
                     f"</small></h3><p>Agreement: {escape(_agreement(m))}.</p>{body}")
    return "".join(items)


def html(metrics: Sequence[PolicyMetrics], scenario: Scenario, command: str,
         scenario_name: str = "default") -> str:
    titles = {m.policy: policy_title(m.policy) for m in metrics}
    changes = {m.policy: policy_changes(scenario_name, m.policy) for m in metrics}
    start, years = scenario.start, len(next(iter(metrics[0].series.values()))) // 12
    head = "".join(f"<th>{escape(titles[m.policy])}</th>" for m in metrics)
    rows = "".join(
        f"<tr><td>{escape(label)}</td>"
        + "".join(f'<td class="n">{cell(key, m.headline[key])}</td>' for m in metrics)
        + "</tr>" for key, label in HEADLINE_ROWS)
    definitions = "".join(f"<dt>{escape(label)}</dt><dd>{escape(HEADLINE_DEFINITIONS[key])}</dd>"
                          for key, label in HEADLINE_ROWS)
    why = "".join(line for key, label in HEADLINE_ROWS
                  for line in _why(key, label, metrics, titles, changes))
    bars = charts.stacked_bars([(titles[m.policy], _outcome_parts(m)) for m in metrics],
                               OUTCOME_PARTS, "What became of long-term contributions at the "
                               "destination", "US dollars")
    flows = "".join(charts.flows([(s, t, v / 100) for s, t, v in m.flows],
                                 f"Long-term money: {titles[m.policy]}", "USD")
                    for m in metrics)
    shown, empty = _with_workers(metrics)
    hists = _histogram_chart(metrics, None, titles) + "".join(
        _histogram_chart(metrics, c, titles) for c in shown)
    left_out = (f"<p>Left out: {', '.join(empty)}. {escape(NO_LONG_TERM)}.</p>"
                if empty else "")
    first_year = start.year + (start.month - 1) / 12
    recovered = charts.monthly(
        [(titles[m.policy], [sum(int(v[k]) for key, v in m.series.items()
                                 if key.startswith("recovered:")) / 100
                             for k in range(12 * years)]) for m in metrics],
        first_year, "Value recovered by workers per month", "US dollars a month")
    messages = charts.monthly(
        [(titles[m.policy], [float(x) for x in m.series["messages"]]) for m in metrics],
        first_year, "Inter-fund messages per month", "messages a month")
    share_rows = "".join(
        f"<tr><td>{escape(titles[m.policy])}</td><td>{escape(str(r[0]))}</td>"
        f"<td class='n'>{r[1]:,}</td><td class='n'>{int(r[2]) / 100:.2f}%</td>"
        f"<td class='n'>{int(r[3]) / 100:.2f}%</td><td class='n'>{r[4]:,}</td></tr>"
        for m in metrics for r in m.tables["recovered_share"].rows if r[0] in shown)
    share_head = "".join(f"<th>{escape(n)}</th>" for n, _ in SHARE_COLUMNS)
    share_defs = "".join(f"<dt>{escape(n)}</dt><dd>{escape(d)}</dd>" for n, d in SHARE_COLUMNS)
    assumptions = "".join(
        f"<li><code>{escape(k)}</code>: {escape(v)}</li>" for k, v in _assumptions(scenario))
    calibration = report_section(calibrated(), scenario_name)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>clmtv simulation: {escape(scenario.title)}</title>
<style>body{{font-family:{", ".join(repr(f) if " " in f else f for f in charts.FONTS)};
max-width:1000px;margin:1em auto;color:#222;line-height:1.4}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px;
vertical-align:top}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}
svg{{display:block;margin:1em 0;max-width:100%;height:auto}}dt{{font-weight:bold}}
dd{{margin:0 0 .4em 1.5em}}td.ok{{color:#1b7a3a}}td.bad{{color:#b00020;font-weight:bold}}
td.muted{{color:#777}}small{{color:#555}}</style></head><body>
<h1>{escape(scenario.title)}</h1>
<p>{metrics[0].workers:,} simulated workers, {years} years from {start}; every policy runs on the
same random draws, so a difference between two columns is the policy, not noise. Amounts are in
US dollars at the scenario's exchange rates (the CSV tables beside this file carry US cents and
each fund's own currency, to the minor unit).</p>
<p><small>Command: <code>{escape(command)}</code></small></p>
<h2>Policies compared</h2>{_policies_html(metrics, titles, changes)}
<h2>Headline</h2>
<table><tr><th>metric</th>{head}</tr>{rows}</table>
<h3>Why the headlines move</h3><ul>{why or NO_DIFFERENCE}</ul>
<h3>What each row counts</h3><dl>{definitions}</dl>
<h2>What became of the money</h2>{bars}
<h2>Flows between payers, funds and outcomes</h2>
<p>Left: who paid long-term contributions; middle: the fund that received them; right: what
became of them by the end of the horizon. Ribbon widths are US dollars.</p>{flows}
<h2>Recovered share of own contributions</h2>{left_out}{hists}
<table><tr>{share_head}</tr>{share_rows}</table><dl>{share_defs}</dl>
<h2>Over time</h2>{recovered}{messages}
{calibration}
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
