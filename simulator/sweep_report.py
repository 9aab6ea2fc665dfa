"""The sweep's one offline HTML report: uncertainty bands, tornado charts and the table.

Owns how a sweep is shown: for each varied parameter and charted outcome, the mean over seeds
with the band from the lowest to the highest seed (the other parameters at their middle value);
for each outcome a tornado chart of how far each parameter moves it from the middle of the grid;
the table behind the charts; the failed runs, each named. Charts are matplotlib SVG inlined
(`charts.py`, ADR 0043): the file loads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from simulator import charts
from simulator.report import HEADLINE_ROWS, cell
from simulator.sweep import OUTCOMES, Task, Vary

LABELS = dict(HEADLINE_ROWS)
Summary = dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, tuple[int, int, int, int]]]


def _middle(varies: Sequence[Vary]) -> dict[str, str]:
    return {v.key: v.values[len(v.values) // 2] for v in varies}


def _point(varies: Sequence[Vary], values: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((v.key, values[v.key]) for v in varies)


def _unit(outcome: str) -> tuple[float, str]:
    """Dollars for the US-cent outcomes, else counts."""
    return (100.0, "US dollars") if outcome.endswith("_usd") else (1.0, "count")


def _bands(policies: Sequence[str], varies: Sequence[Vary], summary: Summary) -> list[str]:
    out = []
    middle = _middle(varies)
    for vary in varies:
        for outcome in OUTCOMES:
            divisor, unit = _unit(outcome)
            lines = []
            for policy in policies:
                xs, mean, low, high = [], [], [], []
                for value in vary.values:
                    got = summary.get((policy, _point(varies, {**middle, vary.key: value})))
                    if got is None or outcome not in got:
                        continue  # every seed of this point failed: the failures list says so
                    m, lo, hi, _ = got[outcome]
                    xs.append(float(value))
                    mean.append(m / divisor)
                    low.append(lo / divisor)
                    high.append(hi / divisor)
                if xs:
                    lines.append((policy, xs, mean, low, high))
            others = ", ".join(f"{k} = {v}" for k, v in middle.items() if k != vary.key)
            title = f"{LABELS.get(outcome, outcome)} against {vary.key}"
            out.append(f"<h3>{escape(title)}</h3><p><small>Other parameters at their middle "
                       f"value{': ' + escape(others) if others else ''}.</small></p>"
                       + charts.bands(lines, title, vary.key, unit))
    return out


def _tornados(policies: Sequence[str], varies: Sequence[Vary], summary: Summary) -> list[str]:
    out = []
    middle = _middle(varies)
    for policy in policies:
        centre_got = summary.get((policy, _point(varies, middle)))
        if centre_got is None:
            continue
        for outcome in OUTCOMES:
            divisor, unit = _unit(outcome)
            rows = []
            for vary in varies:
                ends = [summary.get((policy, _point(varies, {**middle, vary.key: value})))
                        for value in (vary.values[0], vary.values[-1])]
                if all(e is not None for e in ends):
                    low_end, high_end = (e[outcome][0] / divisor for e in ends if e)
                    rows.append((f"{vary.key} {vary.values[0]} → {vary.values[-1]}", low_end,
                                 high_end))
            if rows:
                title = f"{LABELS.get(outcome, outcome)}: what moves it ({policy})"
                out.append(charts.tornado(rows, centre_got[outcome][0] / divisor, title, unit))
    return out


def _table(varies: Sequence[Vary], summary: Summary) -> str:
    head = "".join(f"<th>{escape(v.key)}</th>" for v in varies)
    rows = []
    for (policy, point), outcomes in summary.items():
        for outcome in OUTCOMES:
            if outcome not in outcomes:
                continue
            mean, low, high, n = outcomes[outcome]
            values = "".join(f"<td class=n>{escape(x)}</td>" for _, x in point)
            rows.append(f"<tr><td>{escape(policy)}</td>{values}<td>"
                        f"{escape(LABELS.get(outcome, outcome))}</td>"
                        f"<td class=n>{cell(outcome, mean)}</td><td class=n>{cell(outcome, low)}"
                        f"</td><td class=n>{cell(outcome, high)}</td><td class=n>{n}</td></tr>")
    return (f"<table><tr><th>policy</th>{head}<th>outcome</th><th>mean over seeds</th>"
            f"<th>lowest seed</th><th>highest seed</th><th>runs</th></tr>{''.join(rows)}"
            "</table>")


def html(scenario: str, policies: Sequence[str], varies: Sequence[Vary], tasks: Sequence[Task],
         results: dict[Task, dict[str, Any]], errors: dict[Task, str], summary: Summary,
         command: str, wall_s: float) -> str:
    seconds = sorted(r["seconds"] for r in results.values())
    per_run = (f"{seconds[len(seconds) // 2]:.1f} s a run (median), "
               f"{sum(seconds):.0f} s of runs in all") if seconds else "no run finished"
    failed = "".join(f"<li>{escape(t.name)}: {escape(e)}</li>" for t, e in errors.items())
    grid = "".join(f"<li><code>{escape(v.key)}</code>: {escape(', '.join(v.values))}</li>"
                   for v in varies)
    return f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>clmtv sweep: {escape(scenario)}</title>
<style>body{{font-family:{", ".join(repr(f) if " " in f else f for f in charts.FONTS)};
max-width:1000px;margin:1em auto;color:#222;line-height:1.4}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 8px}}
td.n{{text-align:right;font-variant-numeric:tabular-nums}}
svg{{display:block;margin:1em 0;max-width:100%;height:auto}}small{{color:#555}}</style>
</head><body>
<h1>Sweep of {escape(scenario)}</h1>
<p><code>{escape(command)}</code></p>
<p>{len(results)} of {len(tasks)} runs finished{f", {len(errors)} failed" if errors else ""}
in {wall_s:.1f} s wall ({per_run}); policies: {escape(", ".join(policies))}. Each run is the
single-machine engine on its own population (its seed); a grid point's band runs from the
lowest to the highest of its seeds' values. US-dollar outcomes at the scenario's FX rates.</p>
<h2>The grid</h2><ul>{grid or "<li>no parameter varied: seeds only</li>"}</ul>
{f"<h2>Failed runs</h2><ul>{failed}</ul>" if failed else ""}
<h2>Uncertainty over seeds</h2>{"".join(_bands(policies, varies, summary))}
<h2>What moves each outcome</h2>
<p>Each bar: the outcome's mean over seeds with one parameter at its lowest and at its highest
value, every other parameter at its middle value.</p>
{"".join(_tornados(policies, varies, summary))}
<h2>The table behind the charts</h2>{_table(varies, summary)}
<p><small>All outcomes of every run: <code>runs.csv</code>; means, lowest and highest per grid
point: <code>summary.csv</code>.</small></p>
</body></html>
"""
