"""`clmtv sweep`'s arguments and flow: check every key and value before anything runs, run
the grid on Dask (`sweep.py`), write `runs.csv`, `summary.csv` and `report.html`
(`sweep_report.py`). `ledger/cli/` only delegates here.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from ledger.domain.errors import DomainError
from simulator.cli import WORKERS_MAX, YEARS_MAX, out_problem
from simulator.sweep import (
    MARKER,
    TASKS_MAX,
    execute,
    grid,
    parse_vary,
    scenario_for,
    summarise,
    write_runs,
    write_summary,
)
from simulator.sweep_report import html


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="a scenario name in simulator/scenarios/ or a YAML path")
    parser.add_argument("--policy", action="append", dest="policies",
                        help="a policy (repeatable; default: no-agreement)")
    parser.add_argument("--vary", action="append", dest="varies", default=[],
                        metavar="KEY=LOW:HIGH:N|KEY=V1,V2",
                        help="a scenario parameter by its dotted key and its values "
                        "(repeatable: every combination runs), e.g. "
                        "claims.jp.claim_share=0.1:0.9:5")
    parser.add_argument("--seeds", type=int, default=3,
                        help="seeds per grid point: 1..N (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=100_000,
                        help="simulated workers per run (default: %(default)s)")
    parser.add_argument("--years", type=int, default=30,
                        help="years simulated (default: %(default)s)")
    parser.add_argument("--processes", type=int, default=2,
                        help="Dask worker processes of the local cluster (default: %(default)s)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running Dask scheduler (tcp://host:8786) instead of a local "
                        "cluster")
    parser.add_argument("--out", type=Path, default=Path("sweep"),
                        help="folder for report.html, runs.csv and summary.csv (default: "
                        "%(default)s); one holding anything but simulator output is refused")
    parser.add_argument("--force", action="store_true",
                        help="write into --out even if it holds other files")


def run(args: argparse.Namespace, console: Any = None, out_console: Any = None) -> int:
    """Progress and refusals go to `console` (stderr), the result's line to `out_console`
    (stdout)."""
    from ledger import text

    console = console or text.console(stderr=True)
    out_console = out_console or text.console()

    def refuse(message: str) -> int:
        console.print(f"[red]error[/red]: {message}", highlight=False)
        return 2

    if not 1 <= args.workers <= WORKERS_MAX or not 1 <= args.years <= YEARS_MAX:
        return refuse(f"--workers must be 1..{WORKERS_MAX:,} and --years 1..{YEARS_MAX}")
    if not 1 <= args.seeds <= 1000 or not 1 <= args.processes <= 64:
        return refuse("--seeds must be 1..1000 and --processes 1..64")
    problem = out_problem(args.out, args.force)
    if problem:
        return refuse(problem)
    policies = tuple(args.policies or ("no-agreement",))
    try:
        varies = [parse_vary(v) for v in args.varies]
        if len({v.key for v in varies}) != len(varies):
            return refuse("a key is varied twice")
        for p in policies:  # every key and every value checked before anything runs
            for v in varies:
                for value in v.values:
                    scenario_for(args.scenario, p, [(v.key, value)])
    except DomainError as exc:
        return refuse(exc.message)
    tasks = grid(policies, varies, range(1, args.seeds + 1))
    if len(tasks) > TASKS_MAX:
        return refuse(f"{len(tasks):,} runs: at most {TASKS_MAX:,}")
    console.print(f"{len(tasks)} runs of {args.workers:,} workers x {args.years} years on "
                  f"{args.scheduler or f'a local Dask cluster of {args.processes} processes'}",
                  highlight=False)
    results, errors, wall = execute(
        args.scenario, tasks, args.workers, args.years, scheduler=args.scheduler,
        processes=args.processes, progress=lambda line: console.print(line, highlight=False,
                                                                      markup=False))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    command = shlex.join(["clmtv", "sweep", args.scenario,
                          *(a for p in policies for a in ("--policy", p)),
                          *(a for v in args.varies for a in ("--vary", v)),
                          "--seeds", str(args.seeds), "--workers", str(args.workers),
                          "--years", str(args.years), "--out", str(out)])
    summary = summarise(tasks, results)
    written = [write_runs(out, tasks, varies, results, errors),
               write_summary(out, varies, summary)]
    report = out / "report.html"
    report.write_text(html(args.scenario, policies, varies, tasks, results, errors, summary,
                           command, wall), encoding="utf-8")
    (out / MARKER).write_text(command + "\n", encoding="utf-8")
    out_console.print(f"{len(results)} of {len(tasks)} runs finished, {len(errors)} failed, in "
                  f"{wall:.1f} s; wrote {report}, {written[0]} and {written[1]}",
                  highlight=False)
    return 1 if errors else 0
