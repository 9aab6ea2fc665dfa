"""`clmtv simulate`: run policies on one population and write the report.

Owns the command's arguments and its flow: load each policy (a diff against the scenario), draw
the population once, simulate every policy on it with a progress bar, measure, and write the CSV
tables, `report.html` and a terminal summary into `--out`. `ledger/cli/` only delegates here.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ledger import text
from ledger.domain.errors import DomainError
from ledger.stats.tables import Row
from ledger.text import plural
from simulator import monitoring
from simulator.contributions import PriceCache
from simulator.engine import Outcome, simulate
from simulator.metrics import PolicyMetrics, measure
from simulator.policy import load_run
from simulator.population import draw
from simulator.report import html, summary, write_csv, write_parquet

DEFAULT_POLICIES = ("no-agreement", "clmtv-pilot")
# Written into --out with the command that made it: that folder holds a simulation.
MARKER = ".clmtv-simulation"
EARLIER_OUTPUT = frozenset({"report.html", "headline.csv"})  # outputs written before MARKER
WORKERS_MAX = 20_000_000  # memory: about 0.7 GB per million workers
YEARS_MAX = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="a scenario name in simulator/scenarios/ or a YAML path")
    parser.add_argument("--policy", action="append", dest="policies",
                        help="a policy (repeatable); default: no-agreement and clmtv-pilot")
    parser.add_argument("--workers", type=int, default=100_000,
                        help="simulated workers (default: %(default)s)")
    parser.add_argument("--years", type=int, default=30,
                        help="years simulated (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed: the same seed draws the same population "
                        "(default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("simulation"),
                        help="folder for the report and tables (default: %(default)s); a "
                        "folder holding anything but an earlier simulation is refused")
    parser.add_argument("--force", action="store_true",
                        help="write into --out even if it holds other files")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--replay", metavar="local|DATABASE_URL",
                        help="replay the first policy's contributions into the real ledger "
                        "(`local`: a new SQLite file in --out) and check its totals equal the "
                        "simulator's to the minor unit")


def out_problem(out: Path, force: bool) -> str | None:
    """Why the simulation must not write into `out`, or None. It may write into a new or empty
    folder, or over an earlier simulation (it rewrites the same files); anything else needs
    --force, so that a mistyped --out, or the default `simulation` folder holding something
    else, is not overwritten silently."""
    if not out.exists():
        return None
    if not out.is_dir():
        return f"--out {out} is a file, not a folder"
    names = {p.name for p in out.iterdir()}
    if force or not names or MARKER in names or names >= EARLIER_OUTPUT:
        return None
    return (f"--out {out} holds files that are not an earlier simulation; choose another "
            "folder, or add --force to write into it anyway")


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    console = console or text.console(stderr=True)
    if not 1 <= args.workers <= WORKERS_MAX or not 1 <= args.years <= YEARS_MAX:
        console.print(f"--workers must be 1..{WORKERS_MAX:,} and --years 1..{YEARS_MAX}")
        return 2
    problem = out_problem(args.out, args.force)
    if problem:
        console.print(f"[red]error[/red]: {problem}", highlight=False)
        return 2
    policies = tuple(args.policies or DEFAULT_POLICIES)
    try:
        runs = [load_run(args.scenario, p) for p in policies]
    except DomainError as exc:
        console.print(f"[red]error[/red]: {exc.message}", markup=True, highlight=False)
        return 2
    started = time.perf_counter()
    pop = draw(runs[0].scenario, args.workers, args.years, args.seed)
    cache = PriceCache(pop.start, pop.horizon)
    metrics: list[PolicyMetrics] = []
    monitored: list[tuple[str, list[Row]]] = []
    first: Outcome | None = None
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} months"), TimeElapsedColumn(), console=console,
                  disable=args.no_progress) as bar:
        for r in runs:
            task = bar.add_task(r.policy, total=pop.horizon)

            def tick(done: int, _total: int, task: TaskID = task) -> None:
                bar.update(task, completed=done)

            outcome = simulate(r, pop, cache, tick)
            first = first or outcome
            metrics.append(measure(outcome))
            monitored.append((r.policy, monitoring.rows(outcome)))
    elapsed = time.perf_counter() - started
    out: Path = args.out
    written = write_csv(metrics, out)
    written += write_parquet(written)
    written.append(monitoring.write_csv(out / "monitoring.csv", monitored))
    command = shlex.join(["clmtv", "simulate", args.scenario,
                          *(a for p in policies for a in ("--policy", p)),
                          "--workers", str(args.workers), "--years", str(args.years),
                          "--seed", str(args.seed), "--out", str(out)])
    report = out / "report.html"
    report.write_text(html(metrics, runs[0].scenario, command, args.scenario), encoding="utf-8")
    (out / MARKER).write_text(command + "\n", encoding="utf-8")
    summary(metrics, text.console())
    console.print(f"{plural(args.workers, 'worker')} x {plural(args.years, 'year')} x "
                  f"{plural(len(runs), 'policy')} in {elapsed:.2f} s; wrote {report} and "
                  f"{plural(len(written), 'CSV and Parquet file')} to {out}", highlight=False)
    if args.replay and first is not None:
        return _replay(first, args.replay, out, console, args.no_progress)
    return 0


def _replay(outcome: Outcome, target: str, out: Path, console: Console, quiet: bool) -> int:
    from simulator.replay import LedgerNotEmptyError, run_replay

    with Progress(TextColumn("replay {task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), console=console,
                  disable=quiet) as bar:
        tasks: dict[str, TaskID] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        try:
            report = run_replay(outcome, target, out, tick)
        except LedgerNotEmptyError as exc:
            console.print(f"[red]replay refused[/red]: {exc}", highlight=False, soft_wrap=True)
            return 2
        except (httpx.HTTPError, RuntimeError, ValueError) as exc:
            console.print(f"[red]replay failed[/red]: {type(exc).__name__}: {exc}",
                          highlight=False)
            return 2
    console.print(f"replayed {plural(report.workers, 'worker')}, "
                  f"{plural(report.files, 'file')} ({plural(report.file_rows, 'row')}) and "
                  f"{plural(report.api_contributions, 'API contribution')} of policy "
                  f"{outcome.run.policy}")
    if report.simulator == report.ledger:
        console.print(f"[green]ledger totals equal the simulator's[/green] for "
                      f"{plural(len(report.ledger), '(fund, scheme, payer) total')}, to the "
                      "minor unit")
    for key, (simulated, booked) in report.differences().items():
        console.print(f"[red]differs[/red] {'/'.join(key)}: simulator {simulated}, "
                      f"ledger {booked}")
    exits = report.exits
    if exits is not None and (exits.flows or exits.not_replayed):
        window = exits.window or {}
        settled = (f"window {window.get('id')} {window.get('state')}" if window else
                   "no window settled (each fund confirms with its own key)")
        console.print(f"exits: {plural(exits.flows, 'flow')} by {exits.via}, {settled}; "
                      "not replayed: "
                      + (", ".join(f"{n:,} {why}" for why, n in exits.not_replayed.items())
                         or "none"))
        for destination in sorted(set(exits.simulator) | set(exits.ledger)):
            simulated, moved = exits.simulator.get(destination, 0), exits.ledger.get(
                destination, 0)
            verdict = "[green]equal[/green]" if simulated == moved else "[red]differs[/red]"
            label = {"home_fund": "THB moved to the home fund",
                     "worker": "THB paid to workers through the home fund",
                     "jp_lump_sum": "JPY lump sums (gross) through the home fund",
                     "jp_tax_refund": "JPY withheld, owed back as the tax refund"}.get(
                         destination, destination)
            console.print(f"  {label}: simulator {simulated}, ledger {moved} minor units: "
                          f"{verdict}")
        if exits.mismatched:
            differ = "differs" if len(exits.mismatched) == 1 else "differ"
            console.print(f"  [red]{plural(len(exits.mismatched), 'flow')} {differ}[/red] "
                          f"from the simulation: {', '.join(exits.mismatched[:10])}")
    return 0 if report.equal else 1
