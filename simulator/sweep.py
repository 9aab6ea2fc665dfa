"""`clmtv sweep`: many simulator runs over a grid of parameter values and seeds, on Dask.

Owns the grid (each `--vary KEY=LOW:HIGH:N` or `KEY=V1,V2,...` names a parameter of the scenario
by its dotted key), the tasks (one per policy × grid point × seed, each the single-machine
engine: draw, simulate, measure), running them on a Dask distributed cluster (a `LocalCluster`
of processes here, or `--scheduler ADDRESS` for a real one), progress as tasks finish, and the
outputs: `runs.csv` (one row per task, a failed one with its error), `summary.csv` (per policy
and grid point: mean, lowest and highest over the seeds of each headline outcome) and
`report.html` (`sweep_report.py`). A failed task is named and the others are kept (ADR 0044).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import shlex
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ledger.domain.errors import DomainError, ErrorCode
from ledger.settlement.agreement import bundled_agreement
from simulator.cli import WORKERS_MAX, YEARS_MAX, out_problem
from simulator.engine import simulate
from simulator.metrics import measure
from simulator.policy import Run, apply_policy, scenario_data
from simulator.population import draw
from simulator.scenario import parse_scenario

MARKER = ".clmtv-simulation"  # the folder holds simulator output: may be written over
STEPS_MAX = 50  # values of one --vary
TASKS_MAX = 10_000
# A value between two grid points is cut to this many decimal places, half to even: the scenario
# takes rates as exact decimals, and a grid of 0.1:0.9:4 must read 0.366667, not a float.
PLACES = Decimal("0.000001")
# The outcomes the report charts (all headline keys go to the CSV files).
OUTCOMES = ("recovered_usd", "forfeited_usd", "agent_fees_usd", "tax_unclaimed_usd")


@dataclass(frozen=True, slots=True)
class Vary:
    key: str
    values: tuple[str, ...]  # as the scenario's YAML writes them: decimals as strings, or ints


@dataclass(frozen=True, slots=True)
class Task:
    policy: str
    point: tuple[tuple[str, str], ...]  # (key, value) per --vary
    seed: int

    @property
    def name(self) -> str:
        values = " ".join(f"{k}={v}" for k, v in self.point)
        return f"{self.policy} {values} seed={self.seed}".replace("  ", " ")


def parse_vary(text: str) -> Vary:
    """`claims.jp.claim_share=0.1:0.9:5` (5 values, ends included) or `KEY=0,0.5,1`."""
    key, sep, spec = text.partition("=")
    if not sep or not key or not spec:
        raise DomainError(ErrorCode.INVALID_INPUT,
                          f"--vary {text!r}: expected KEY=LOW:HIGH:N or KEY=V1,V2,...",
                          field="--vary")
    try:
        if ":" in spec:
            low_s, high_s, n_s = spec.split(":")
            low, high, n = Decimal(low_s), Decimal(high_s), int(n_s)
            if not 2 <= n <= STEPS_MAX:
                raise ValueError(f"N must be 2..{STEPS_MAX}")
            if high <= low:
                raise ValueError("HIGH must be above LOW")
            step = (high - low) / (n - 1)
            points = [low + step * i for i in range(n)]
            whole = all(v == v.to_integral_value() for v in (low, high, step))
            values = tuple(str(int(v)) if whole else
                           str(v.quantize(PLACES, ROUND_HALF_EVEN).normalize()) for v in points)
        else:
            values = tuple(str(Decimal(v.strip())) for v in spec.split(","))
            if len(values) > STEPS_MAX:
                raise ValueError(f"at most {STEPS_MAX} values")
    except (ValueError, InvalidOperation) as exc:
        reason = str(exc) if isinstance(exc, ValueError) and str(exc) else "not a number"
        raise DomainError(ErrorCode.INVALID_INPUT, f"--vary {text!r}: {reason}",
                          field="--vary") from None
    if len(set(values)) != len(values):
        raise DomainError(ErrorCode.INVALID_INPUT, f"--vary {text!r}: values repeat",
                          field="--vary")
    return Vary(key.strip(), values)


def _typed(value: str, current: Any) -> Any:
    """The value as the scenario writes this parameter: an int stays an int (a count), a
    decimal stays a string (the scenario refuses floats)."""
    if isinstance(current, bool):
        raise DomainError(ErrorCode.INVALID_INPUT, "a yes/no parameter cannot be swept",
                          field="--vary")
    if isinstance(current, int):
        number = Decimal(value)
        if number != number.to_integral_value():
            raise DomainError(ErrorCode.INVALID_INPUT, f"{value} is not a whole number",
                              field="--vary")
        return int(number)
    return value


def scenario_for(scenario: str, policy: str, point: Sequence[tuple[str, str]]) -> Run:
    """The scenario with the policy applied, then each swept parameter's value set (its source
    says it was swept); validated again, so a value out of range names its key."""
    data = apply_policy(scenario_data(scenario), policy)
    for key, value in point:
        node: Any = data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise DomainError(ErrorCode.INVALID_INPUT,
                                  f"--vary {key}: the scenario has no key {part!r}",
                                  field="--vary")
            node = node[part]
        if not isinstance(node, dict) or "value" not in node:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              f"--vary {key}: not a parameter (a parameter has a value, a "
                              "source and verified)", field="--vary")
        node["value"] = _typed(value, node["value"])
        node["source"] = f"swept by clmtv sweep ({node.get('source', '')})"
    parsed = parse_scenario(data, source=f"{scenario} + {policy} + sweep")
    return Run(policy, parsed, bundled_agreement(parsed.policy.agreement))


def run_task(scenario: str, task: Task, workers: int, years: int) -> dict[str, Any]:
    """One run on one machine: what a Dask worker executes (module-level, so it pickles)."""
    started = time.perf_counter()
    run = scenario_for(scenario, task.policy, task.point)
    pop = draw(run.scenario, workers, years, task.seed)
    headline = measure(simulate(run, pop)).headline
    return {"headline": headline, "seconds": round(time.perf_counter() - started, 3)}


def grid(policies: Sequence[str], varies: Sequence[Vary], seeds: Sequence[int]) -> list[Task]:
    points = list(itertools.product(*[[(v.key, x) for x in v.values] for v in varies]))
    return [Task(p, tuple(point), s) for p in policies for point in points for s in seeds]


Report = Callable[[str], None]


def execute(scenario: str, tasks: Sequence[Task], workers: int, years: int, *,
            scheduler: str | None, processes: int, progress: Report,
            ) -> tuple[dict[Task, dict[str, Any]], dict[Task, str], float]:
    """Every task on the cluster; results and errors by task, and the wall time. Progress is
    reported as each task finishes; a failed task is kept with its error."""
    from dask.distributed import Client, LocalCluster, as_completed

    started = time.perf_counter()
    cluster = None
    if scheduler is None:
        # Processes, one thread each: the engine is numpy-bound and holds the GIL between calls.
        cluster = LocalCluster(  # type: ignore[no-untyped-call]  # distributed is untyped
            n_workers=processes, threads_per_worker=1, processes=True, dashboard_address=None,
            memory_limit=0)
    client = Client(scheduler or cluster)  # type: ignore[no-untyped-call]
    results: dict[Task, dict[str, Any]] = {}
    errors: dict[Task, str] = {}
    try:
        futures = {client.submit(run_task, scenario, t, workers, years, key=f"sweep-{i}",
                                 pure=False): t for i, t in enumerate(tasks)}
        finished = as_completed(futures)  # type: ignore[no-untyped-call]
        for done, future in enumerate(finished, start=1):
            task = futures[future]
            if future.status == "error":
                exc = future.exception()
                errors[task] = (exc.message if isinstance(exc, DomainError)
                                else "".join(traceback.format_exception_only(exc)).strip())
                progress(f"[{done}/{len(tasks)}] {task.name}: FAILED: {errors[task]}")
            else:
                results[task] = future.result()
                progress(f"[{done}/{len(tasks)}] {task.name}: "
                         f"{results[task]['seconds']:.1f} s")
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
    return results, errors, time.perf_counter() - started


def write_runs(out: Path, tasks: Sequence[Task], varies: Sequence[Vary],
               results: dict[Task, dict[str, Any]], errors: dict[Task, str]) -> Path:
    keys = sorted({k for r in results.values() for k in r["headline"]})
    path = out / "runs.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["policy", *(v.key for v in varies), "seed", "seconds", "error", *keys])
        for t in tasks:
            r = results.get(t)
            w.writerow([t.policy, *(x for _, x in t.point), t.seed,
                        r["seconds"] if r else "", errors.get(t, ""),
                        *((r["headline"][k] for k in keys) if r else ("" for _ in keys))])
    return path


def summarise(tasks: Sequence[Task], results: dict[Task, dict[str, Any]],
              ) -> dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, tuple[int, int, int,
                                                                                   int]]]:
    """Per policy and grid point, per headline outcome: (mean rounded half to even, lowest,
    highest, runs) over the seeds that finished. Means stay integers (US cents or counts)."""
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[dict[str, int]]] = {}
    for t in tasks:
        if t in results:
            groups.setdefault((t.policy, t.point), []).append(results[t]["headline"])
    out: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, tuple[int, int, int, int]]] = {}
    for group, rows in groups.items():
        out[group] = {}
        for k in rows[0]:
            values = [r[k] for r in rows]
            mean = int((Decimal(sum(values)) / len(values)).to_integral_value(ROUND_HALF_EVEN))
            out[group][k] = (mean, min(values), max(values), len(values))
    return out


def write_summary(out: Path, varies: Sequence[Vary], summary: dict[
        tuple[str, tuple[tuple[str, str], ...]], dict[str, tuple[int, int, int, int]]]) -> Path:
    path = out / "summary.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["policy", *(v.key for v in varies), "outcome", "mean", "lowest", "highest",
                    "runs"])
        for (policy, point), outcomes in summary.items():
            for k, (mean, low, high, n) in sorted(outcomes.items()):
                w.writerow([policy, *(x for _, x in point), k, mean, low, high, n])
    return path


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


def run(args: argparse.Namespace, console: Any = None) -> int:
    from ledger import text
    from simulator.sweep_report import html

    console = console or text.console(stderr=True)

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
    console.print(f"{len(results)} of {len(tasks)} runs finished, {len(errors)} failed, in "
                  f"{wall:.1f} s; wrote {report}, {written[0]} and {written[1]}",
                  highlight=False)
    return 1 if errors else 0
