"""The calibration shown where a designer looks: the report's section and docs/calibration.md.

Owns `Calibrated` (the calibration scenario with its fitted values, its rows and its monthly
series), `report_section` (HTML with a chart per series, every source linked) and `markdown`
(the page docs/calibration.md, generated: `python3 dev.py calibration-docs`; a test fails when it
is stale). Both read the fitted values `clmtv calibrate` wrote, never refit.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from simulator import charts
from simulator.calibration.compare import ASSERTED, Row, formatted, tolerance_text
from simulator.calibration.files import (
    Calibration,
    Fitted,
    Param,
    Target,
    Targets,
    load_calibration,
    load_targets,
    read_fitted,
    values,
)
from simulator.calibration.model import Lived, live, measure
from simulator.policy import load_scenario

DEFAULT = "baseline-2012"
SERIES_MEASURES = ("stock", "insured", "arrivals")
SERIES_TITLES = {
    ("stock", ("VN-JP",)): "Vietnamese workers in Japan (end of month)",
    ("stock", ("MM-JP",)): "Myanmar workers in Japan (end of month)",
    ("arrivals", ("VN-JP",)): "Vietnamese contract workers sent to Japan (annual rate)",
    ("stock", ("MM-TH", "KH-TH", "LA-TH", "VN-TH")): "Registered CLMV workers in Thailand",
    ("insured", ("MM-TH", "KH-TH", "LA-TH", "VN-TH")): "CLMV workers insured at the SSO",
}


@dataclass(frozen=True, slots=True)
class Calibrated:
    calibration: Calibration
    targets: Targets
    fitted: Fitted
    lived: Lived
    rows: list[Row]


def calibrated(name: str = DEFAULT) -> Calibrated | None:
    """The calibration with its fitted values, or None before the first `clmtv calibrate`."""
    calibration, path = load_calibration(name)
    fitted = read_fitted(path)
    if fitted is None:
        return None
    targets = load_targets(calibration, path)
    lived = live(calibration, load_scenario(calibration.scenario),
                 values(calibration, dict(fitted.values)))
    rows = [Row(t, measure(lived, t.quantity)) for t in targets.targets]
    return Calibrated(calibration, targets, fitted, lived, rows)


def _key(t: Target) -> tuple[str, tuple[str, ...]]:
    return t.quantity.measure, t.quantity.corridors


def complete_from(c: Calibrated) -> int:
    """The first month whose stock is complete: everyone in it arrived after the start, since
    no contract is longer than the longest in the scenario."""
    scenario = load_scenario(c.calibration.scenario)
    longest = max(max(scenario.corridors[x].contract_months.value)
                  for x in c.calibration.corridors())
    return min(longest - 1, c.lived.months - 1)


def _series(c: Calibrated, key: tuple[str, tuple[str, ...]], scale: float
            ) -> tuple[list[float], list[float]]:
    measure_name, corridors = key
    lived = c.lived
    # Arrivals are complete from the start; a stock only once the build-up is over.
    first = 0 if measure_name == "arrivals" else complete_from(c)
    months = range(first, lived.months)
    xs = [lived.start.year + (lived.start.month - 1 + k) / 12 for k in months]
    if measure_name == "arrivals":
        ys = [sum(float(lived.arrivals[x][k]) for x in corridors) * 12 * scale for k in months]
    else:
        factor = lived.insured_share if measure_name == "insured" else 1.0
        ys = [sum(float(lived.stock[x][k]) for x in corridors) * factor for k in months]
    return xs, ys


def _point(c: Calibrated, row: Row) -> tuple[float, float, float, float, bool]:
    q, lived = row.target.quantity, c.lived
    low, high = row.target.bounds()
    figure = row.published
    if q.measure == "arrivals":
        first, last = lived.index(q.months("from_")), lived.index(q.months("to"))
        months = last - first + 1
        at = (first + last + 1) / 2
        per_year = 12 / months
        figure, low, high = figure * per_year, low * per_year, high * per_year
    else:
        at = lived.index(q.months("month"))
    x = lived.start.year + (lived.start.month - 1 + at) / 12
    return x, figure, low, high, row.target.tier in ASSERTED


def charts_html(c: Calibrated) -> list[str]:
    """One chart per series of counts, then one dot plot of every ratio against its band."""
    out: list[str] = []
    keys = list(dict.fromkeys(_key(r.target) for r in c.rows
                              if r.target.quantity.measure in SERIES_MEASURES))
    for key in keys:
        rows = [r for r in c.rows if _key(r.target) == key]
        scale_name = rows[0].target.quantity.scaled_by
        scale = c.lived.parameters.get(scale_name, 1.0) if scale_name else 1.0
        title = SERIES_TITLES.get(key, f"{key[0]}: {', '.join(key[1])}")
        out.append(charts.against_published(
            _series(c, key, scale), [_point(c, r) for r in rows], title,
            "workers a year" if key[0] == "arrivals" else "workers"))
    ratio_rows = [r for r in c.rows if r.target.quantity.measure not in SERIES_MEASURES]
    if ratio_rows:
        out.append(charts.ratios(
            [(f"{r.target.id}{'' if r.target.tier in ASSERTED else ' (shown only)'}",
              r.published, r.simulated, *r.target.bounds()) for r in ratio_rows],
            "Ratios and shares against their tolerance"))
    return out


def _other(c: Calibrated, scenario_name: str | None) -> str:
    if scenario_name is None or scenario_name == c.calibration.scenario:
        return ""
    return (f"This calibrates the <code>{escape(c.calibration.scenario)}</code> scenario's "
            f"rules, not <code>{escape(scenario_name)}</code>, the one simulated above. ")


def _month_at(c: Calibrated, index: int) -> str:
    return str(c.lived.start.plus(index))


def _verdict_class(row: Row) -> str:
    return {"holds": "ok", "OUTSIDE": "bad"}.get(row.verdict, "muted")


def report_section(c: Calibrated | None, scenario_name: str | None = None) -> str:
    """The report's calibration section; `scenario_name` is the scenario simulated, named when
    it is not the one calibrated."""
    if c is None:
        return ("<section id='calibration'><h2>Calibration</h2><p>No fitted values: run "
                "<code>clmtv calibrate baseline-2012</code>.</p></section>")
    asserted = [r for r in c.rows if r.target.tier in ASSERTED]
    holding = sum(1 for r in asserted if r.holds)
    rows = "".join(
        f"<tr><td>{escape(r.target.label)}</td><td>{escape(r.target.date)}</td>"
        f"<td class='n'>{formatted(r, r.published)}</td>"
        f"<td class='n'>{formatted(r, r.simulated)}</td>"
        f"<td class='n'>{r.distance:+.1%}</td><td class='n'>{escape(tolerance_text(r))}</td>"
        f"<td>{r.target.tier}</td><td class='{_verdict_class(r)}'>{r.verdict}</td>"
        f"<td><a href='{escape(r.target.url)}'>{escape(r.target.source)}</a> "
        f"({escape(r.target.reliability)})</td></tr>" for r in c.rows)
    missing = "".join(
        f"<li><code>{escape(n.parameter)}</code>: {escape(n.what)}. {escape(n.why)} Sweep "
        f"{n.sweep[0]} to {n.sweep[1]} ({escape(n.sweep_note)}).</li>"
        for n in c.targets.not_calibratable)
    return f"""<section id="calibration">
<h2>Calibration: the baseline against published figures</h2>
<p>The no-agreement baseline lived from {c.calibration.start} to {c.calibration.end}
(<code>simulator/calibration/{c.calibration.name}.yaml</code>), its free parameters fitted by
<code>clmtv calibrate</code> on {escape(c.fitted.fitted_on)} ({escape(c.fitted.method)}).
{_other(c, scenario_name)}<strong>{holding} of {len(asserted)}</strong> asserted targets hold;
tight targets are administrative counts asserted within a relative tolerance, bands are ratios
whose definitions differ; "shown only" targets are not comparable with the simulated population
and are neither fitted nor asserted. Distance is simulated ÷ published − 1. Stocks are drawn
from {_month_at(c, complete_from(c))}, when everyone in them arrived after
{c.calibration.start} (no contract is longer); the build-up before is not a simulated history.
Sources are the pages each figure was read on; the project's own notes are
<code>docs/reference/calibration-targets.md</code> and the full table is
<code>docs/calibration.md</code>.</p>
{''.join(charts_html(c))}
<table><tr><th>target</th><th>date</th><th>published</th><th>simulated</th><th>distance</th>
<th>tolerance</th><th>tier</th><th>verdict</th><th>source (reliability)</th></tr>{rows}</table>
<h3>Fitted parameters</h3>
<table><tr><th>parameter</th><th>fitted</th><th>start</th><th>bounds</th><th>what it is</th>
</tr>{_fitted_rows(c)}</table>
<h3>What cannot be calibrated, and the range a sweep must cover</h3><ul>{missing}</ul>
</section>"""


def _fitted_rows(c: Calibrated) -> str:
    start = values(c.calibration)
    out = []
    for name, value in c.fitted.values.items():
        p = _param(c.calibration, name)
        bounds = f"{p.free[0]} to {p.free[1]}" if p.free else "fixed"
        out.append(f"<tr><td><code>{escape(name)}</code></td><td class='n'>{value}</td>"
                   f"<td class='n'>{start[name]}</td><td>{bounds}</td>"
                   f"<td>{escape(p.unit)}</td></tr>")
    return "".join(out)


def markdown(c: Calibrated) -> str:
    asserted = [r for r in c.rows if r.target.tier in ASSERTED]
    lines = [
        "# Calibration: the baseline against published figures",
        "",
        "<!-- Generated by `python3 dev.py calibration-docs` from simulator/calibration/"
        "targets.yaml and the fitted values; edit those, not this page. -->",
        "",
        "Does the no-agreement baseline reproduce what was published? The calibration scenario",
        f"[`simulator/calibration/{c.calibration.name}.yaml`](../simulator/calibration/"
        f"{c.calibration.name}.yaml) lives the baseline from {c.calibration.start} to "
        f"{c.calibration.end}: workers",
        "arrive each year in each corridor and leave by the default scenario's contract lengths",
        "and hazards, computed in expected values (`simulator/calibration/model.py`; a test",
        "checks them against a population drawn by the simulator itself). Its free parameters",
        "are fitted to the targets of",
        "[`simulator/calibration/targets.yaml`](../simulator/calibration/targets.yaml) by",
        "`clmtv calibrate`, which writes them, with their provenance, to",
        f"`simulator/calibration/{c.calibration.name}.fitted.yaml`. The facts and their",
        "grades are in [reference/calibration-targets.md](reference/calibration-targets.md).",
        "",
        "## Running it",
        "",
        "Fit, print the table and write the fitted values (the fit took "
        f"{c.fitted.seconds} s when these values were fitted, {c.fitted.fitted_on}, on the",
        "project's 2-core machine; the whole command, Python's start included, took 7 s there,",
        "and 23 s from a fresh clone while nine sessions shared the machine, after `dev.py`",
        "had built `.venv` in 42 s):",
        "",
        "<!-- not run: it rewrites simulator/calibration/baseline-2012.fitted.yaml; the block "
        "below fits the same way without writing -->",
        "```sh",
        f"python3 dev.py clmtv calibrate {c.calibration.name}",
        "```",
        "",
        "<!-- runnable -->",
        "```sh",
        f"python3 dev.py clmtv calibrate {c.calibration.name} --no-write",
        f"python3 dev.py clmtv calibrate {c.calibration.name} --check",
        "```",
        "",
        "`--check` compares the values fitted last time without fitting. The command exits 1",
        "when a tight or band target lies outside its tolerance; the test",
        "`tests/simulator/test_calibration.py` does the same in CI from the fitted values.",
        "",
        "## Simulated against published",
        "",
        f"**{sum(1 for r in asserted if r.holds)} of {len(asserted)}** asserted targets hold "
        f"(fitted {c.fitted.fitted_on}). Distance = simulated ÷ published − 1. Tiers: *tight*",
        "targets are administrative counts, asserted within a relative tolerance; *band*",
        "targets are ratios or counts whose definitions differ, asserted within a band;",
        "*report* targets are shown only: their population is not the simulated one.",
        "",
        "| target | figure | date | published | simulated | distance | tolerance | tier | "
        "verdict | source | reliability |",
        "|---|---|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for r in c.rows:
        t = r.target
        lines.append(
            f"| `{t.id}` | {t.label} | {t.date} | {formatted(r, r.published)} | "
            f"{formatted(r, r.simulated)} | {r.distance:+.1%} | {tolerance_text(r)} | {t.tier} "
            f"| {r.verdict} | [{t.source}]({t.url}) | {t.reliability} |")
    lines += [
        "",
        "Simulator quantities: *stock* is the workers in covered work at the end of the month;",
        "*arrivals* the first covered months in the period (for the Vietnamese departures,",
        "times the share DOLAB counts as contract workers); *insured* the Thai stock times the",
        "insured share; *lswp_per_stock* the leavers after 6 months or more who claim the LSWP,",
        "decided 6 months after leaving, over the stock of the October; *stay_share* the share",
        "of leavers whose stay fell in the range.",
        "",
        "## Fitted parameters",
        "",
        "Every value below was calibrated to the "
        f"{len(c.fitted.targets_fitted)} tight and band targets above, fitted on "
        f"{c.fitted.fitted_on} with {c.fitted.method}, within the bounds shown; the fitted",
        f"file `simulator/calibration/{c.calibration.name}.fitted.yaml` carries the same",
        "provenance for each parameter.",
        "",
        "| parameter | fitted | start | bounds | what it is | basis |",
        "|---|---:|---:|---|---|---|",
    ]
    start = values(c.calibration)
    for name, value in c.fitted.values.items():
        p = _param(c.calibration, name)
        bounds = f"{p.free[0]} to {p.free[1]}" if p.free else "fixed"
        lines.append(f"| `{name}` | {value} | {start[name]} | {bounds} | {p.unit} | "
                     f"{p.source} |")
    v = {k: float(x) for k, x in c.fitted.values.items()}
    scenario = load_scenario(c.calibration.scenario)
    long_before = float(scenario.corridors["VN-JP"].contract_months.value[
        max(scenario.corridors["VN-JP"].contract_months.value)])
    lines += [
        "",
        "What the fit says. The Japanese stocks and the DOLAB flows together need longer stays",
        f"than the scenario assumes ({v['parameters.jp_long_contract_share']:.0%} of stays in",
        f"Japan last 96 months, against the scenario's {long_before:.0%}) and more Vietnamese",
        "arrivals than DOLAB counts (DOLAB's contract workers are "
        f"{v['parameters.vn_jp_contract_share']:.0%} of",
        "them): MHLW counts every Vietnamese employee, students working part time included,",
        "DOLAB only contract workers sent by licensed companies. The LSWP band is met with",
        f"{v['parameters.jp_claim_share']:.0%} of leavers claiming (the scenario assumes "
        f"{float(scenario.claims.jp.claim_share.value):.0%}).",
        "The length-of-stay shares are far from MHLW's all-nationality figures: the simulated",
        "cohort has no stays under 3 years, so they are shown, not asserted.",
        "",
        f"## The state the forward-looking scenarios start from ({c.fitted.state_month})",
        "",
        "`clmtv calibrate` sets the `population` of each calibrated corridor of",
        f"`simulator/scenarios/{c.calibration.scenario}.yaml` to the workers in covered work",
        "at the end of the calibration (in Thailand the insured ones: the simulator's Thai",
        "workers all contribute), with this provenance; a test fails when the two disagree.",
        "The simulator uses populations as the corridors' shares of the simulated workers.",
        "",
        "| corridor | workers |",
        "|---|---:|",
        *(f"| {corridor} | {n:,} |" for corridor, n in c.fitted.state.items()),
        "",
        "## What cannot be calibrated",
        "",
        "No published figure identifies these parameters; sweeps (issue 18) must cover the",
        "range given.",
        "",
        "| parameter | what | why not | sweep range |",
        "|---|---|---|---|",
    ]
    for n in c.targets.not_calibratable:
        lines.append(f"| `{n.parameter}` | {n.what} | {n.why} | {n.sweep[0]} to {n.sweep[1]} "
                     f"({n.sweep_note}) |")
    lines.append("")
    return "\n".join(lines)


def _param(calibration: Calibration, name: str) -> Param:
    kind, key, *rest = name.split(".")
    if kind == "parameters":
        return calibration.parameters[key]
    a = calibration.arrivals[key]
    named = {"level": a.level, "growth": a.growth}
    return named[rest[0]] if rest[0] in named else a.years[int(rest[0])]
