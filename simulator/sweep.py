"""`clmtv sweep`: many simulator runs over a grid of parameter values and seeds, on Dask.

Owns the grid (each `--vary KEY=LOW:HIGH:N` or `KEY=V1,V2,...` names a parameter of the scenario
by its dotted key), the tasks (one per policy × grid point × seed, each the single-machine
engine: draw, simulate, measure), running them on a Dask distributed cluster (a `LocalCluster`
of processes here, or `--scheduler ADDRESS` for a real one), progress as tasks finish, and the
outputs: `runs.csv` (one row per task, a failed one with its error), `summary.csv` (per policy
and grid point: mean, lowest and highest over the seeds of each headline outcome) and
`report.html` (`sweep_report.py`). A failed task is named and the others are kept (ADR 0044).
The command's arguments and flow: `sweep_cli.py`.
"""

from __future__ import annotations

import csv
import itertools
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ledger.domain.errors import DomainError, ErrorCode
from simulator.engine import simulate
from simulator.metrics import measure
from simulator.policy import Run, apply_policy, run_from, scenario_data
from simulator.population import draw

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
    return run_from(data, policy, f"{scenario} + {policy} + sweep")


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
