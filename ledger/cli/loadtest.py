"""`clmtv loadtest`: the capacity runner, and its two parts on their own.

    clmtv loadtest run [--api-processes 2] [--steps 5 --start-rate 20 --rate-step 20]
                       [--p99-ms 50] [--time-bound 600] [--out DIR] [--json]
    clmtv loadtest prepare --out DIR [--workers 10000]   # into CLMTV_DATABASE_URL
    clmtv loadtest shape [--workers 1000000] [--json]    # the month's traffic, no database

The work is `ledger/app/loadtest/`; this module is the argparse front door. Exit codes of `run`:
0 done, 1 the audit found a problem, 2 refused, 3 no step held, 4 the run broke.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from ledger.app.loadtest.prepare import PrepareOptions
from ledger.app.loadtest.traffic import (
    BATCH_KIND,
    EVENT_KINDS,
    KINDS,
    MIX_KINDS,
    RUN_KINDS,
    Assumptions,
)
from ledger.config import Settings


def _population_args(parser: argparse.ArgumentParser, workers: int) -> None:
    group = parser.add_argument_group("population (the simulator's)")
    group.add_argument("--scenario", default="default")
    group.add_argument("--policy", default="clmtv-pilot+digital-voluntary")
    group.add_argument("--workers", type=int, default=workers, help="simulated workers")
    group.add_argument("--years", type=int, default=12)
    group.add_argument("--seed", type=int, default=1)
    group.add_argument("--month", help="YYYY-MM of the simulated month (default: the busiest)")
    group.add_argument("--employer-size", type=int, default=Assumptions().employer_size,
                       help="declaration rows per employer file")
    group.add_argument("--exits", type=int, default=200,
                       help="workers whose exit the funds message (at least)")
    group.add_argument("--readers", type=int, help="workers given a token to read their "
                       "statement (default: every active one)")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("loadtest", help="load tests: the capacity runner and its parts",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    more = parser.add_subparsers(dest="loadtest_command", required=True)
    runner = more.add_parser(
        "run", help="capacity run: a fresh PostgreSQL database, the API, Locust in steps, the "
        "audit and a report (stops by itself)")
    _population_args(runner, 10_000)
    run = runner.add_argument_group("the run")
    run.add_argument("--api-processes", type=int, default=2)
    run.add_argument("--locust-workers", type=int, default=2,
                     help="Locust worker processes (0: one local process)")
    run.add_argument("--steps", type=int, default=5)
    run.add_argument("--start-rate", type=float, default=20.0, help="actions/s of step 0")
    run.add_argument("--rate-step", type=float, help="added each step (default: start rate)")
    run.add_argument("--rates", help="explicit step rates, e.g. 50,100,200 (overrides the three "
                     "above)")
    run.add_argument("--step-seconds", type=float, default=30.0)
    run.add_argument("--p99-ms", type=float, default=50.0, help="the target: p99 at or under")
    run.add_argument("--error-pct", type=float, default=0.1, help="errors under this %%")
    run.add_argument("--keep-going", action="store_true",
                     help="run every step even after one does not hold")
    run.add_argument("--time-bound", type=float, default=600.0,
                     help="seconds of load at most; the run stops by itself")
    run.add_argument("--mix", help=f"k=share,... over {', '.join(MIX_KINDS)} (default: the "
                     "simulated month's busiest hour)")
    run.add_argument("--kinds", help=f"send only these kinds (comma list of {', '.join(RUN_KINDS)}"
                     f"); {BATCH_KIND} (the voluntary payments gathered by each channel's server "
                     "and sent as batches) only when named")
    run.add_argument("--batch-size", type=int, default=20,
                     help=f"{BATCH_KIND}: payments that close a channel's gathering window early")
    run.add_argument("--batch-window-ms", type=float, default=20.0,
                     help=f"{BATCH_KIND}: how long a window gathers taps after its first")
    run.add_argument("--batch-resend", type=float, default=0.05,
                     help=f"{BATCH_KIND}: share of batches sent again whole (a lost answer)")
    run.add_argument("--month-minutes", type=float,
                     help="play the simulated month compressed into this many minutes instead "
                     "of steps")
    run.add_argument("--month-workers", type=int,
                     help="with --month-minutes: the month of this many workers (rates scale)")
    run.add_argument("--pool-size", type=int, default=10, help="database pool per API process")
    run.add_argument("--keep-db", action="store_true", help="keep the run's database")
    run.add_argument("--plant-discrepancy", action="store_true",
                     help="the audit adds one minor unit to one acknowledged payment before "
                     "reconciling the channels' days: the run must fail its audit (exit 1), "
                     "naming that payment")
    run.add_argument("--out", type=Path, help="report directory (default: loadtest-<time>)")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    prepare = more.add_parser("prepare", help="register a simulated population in bulk (in "
                              "CLMTV_DATABASE_URL) and write the data directory Locust reads")
    _population_args(prepare, 10_000)
    prepare.add_argument("--months", type=int, default=1, help="months of uploads to render")
    prepare.add_argument("--day-files", type=int, default=5,
                         help="past days of channel payments, one day file each")
    prepare.add_argument("--out", type=Path, required=True)
    shape = more.add_parser("shape", help="the simulated month's traffic as per-second rates "
                            "(no database)")
    _population_args(shape, 1_000_000)
    shape.add_argument("--out", type=Path, help="write shape.json here")
    shape.add_argument("--json", action="store_true", help="print the shape's summary as JSON")


def _population(args: argparse.Namespace) -> PrepareOptions:
    return PrepareOptions(
        scenario=args.scenario, policy=args.policy, workers=args.workers, years=args.years,
        seed=args.seed, month=args.month, exits=args.exits, readers=args.readers,
        months=getattr(args, "months", 1), day_files=getattr(args, "day_files", 5),
        assumptions=Assumptions(employer_size=args.employer_size))


def _mix(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    out = {}
    for part in text.split(","):
        kind, _, share = part.partition("=")
        if kind not in MIX_KINDS:
            raise ValueError(f"--mix: {kind!r} is not one of {', '.join(MIX_KINDS)}")
        out[kind] = float(share)
    return out


def _rates(args: argparse.Namespace) -> list[float]:
    if args.rates:
        return [float(r) for r in args.rates.split(",")]
    step = args.rate_step if args.rate_step is not None else args.start_rate
    return [args.start_rate + k * step for k in range(args.steps)]


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.loadtest_command == "prepare":
        return _prepare(settings, args)
    if args.loadtest_command == "shape":
        return _shape(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from ledger.app.loadtest.runner import EXIT_USAGE, RunOptions, UsageError
    from ledger.app.loadtest.runner import run as capacity_run

    def say(line: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)

    try:
        kinds = [k for k in (args.kinds or "").split(",") if k] or None
        if kinds and set(kinds) - set(RUN_KINDS):
            raise ValueError(f"--kinds: unknown {sorted(set(kinds) - set(RUN_KINDS))}")
        options = RunOptions(
            out=args.out or Path(f"loadtest-{time.strftime('%Y%m%d-%H%M%S')}"),
            rates=_rates(args), step_seconds=args.step_seconds, p99_ms=args.p99_ms,
            error_pct=args.error_pct, stop_on_fail=not args.keep_going,
            time_bound_s=args.time_bound, api_processes=args.api_processes,
            locust_workers=args.locust_workers, db_pool_size=args.pool_size,
            mix=_mix(args.mix), kinds=kinds, month_minutes=args.month_minutes,
            month_workers=args.month_workers, keep_db=args.keep_db,
            plant_discrepancy=args.plant_discrepancy, batch_size=args.batch_size,
            batch_window_ms=args.batch_window_ms, batch_resend_share=args.batch_resend,
            population=_population(args))
        result = capacity_run(options, shlex.join(["clmtv", *sys.argv[1:]]), say)
    except (UsageError, ValueError) as exc:
        print(f"clmtv loadtest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result.summary, indent=1))
    else:
        cap = result.summary["capacity"]
        say(f"report: {result.report}")
        if cap.get("step") is not None:
            say(f"highest step that held: {cap['actions_per_s']:,} actions/s, p99 "
                f"{cap['p99_ms']} ms, serves {cap['workers_served'] or 0:,} workers")
        audit = result.summary["audit"]
        say(f"audit: {'clean' if audit and audit['ok'] else 'FAILED' if audit else 'not run'}"
            f"; exit {result.exit_code}")
    return result.exit_code


def _prepare(settings: Settings, args: argparse.Namespace) -> int:
    from ledger.app.loadtest.prepare import prepare
    from ledger.composition import running_services

    async def go() -> None:
        async with running_services(settings) as services:
            result = await prepare(services, _population(args), args.out)
        print(f"prepared {result.workers:,} workers, {result.readers:,} readers, "
              f"{result.uploads:,} uploads ({result.upload_rows:,} rows), {result.payers:,} "
              f"voluntary payers, {result.day_files:,} day files, {result.exits:,} exits in "
              f"{result.seconds:.1f} s: {result.directory}")

    asyncio.run(go())
    return 0


def _shape(args: argparse.Namespace) -> int:
    from ledger.app.loadtest.prepare import month_index, simulate
    from ledger.app.loadtest.traffic import month_counts, month_shape

    population = _population(args)
    outcome = simulate(population)
    shape = month_shape(month_counts(outcome, month_index(outcome, population.month),
                                     population.assumptions), population.assumptions)
    data = shape.to_json()
    if args.out:
        args.out.write_text(json.dumps(data))
    if args.json:
        print(json.dumps({k: v for k, v in data.items() if k != "rates"}, indent=1))
        return 0
    print(shape_table(shape))
    return 0


def shape_table(shape: Any) -> str:
    """The month as a Markdown table: per day, each kind's busiest-hour rate per second."""
    c = shape.counts
    kinds = [k for k in KINDS if c.actions.get(k)]
    lines = [f"Month {c.month}: {c.workers:,} simulated workers, {c.active:,} active; "
             "per month: " + ", ".join(f"{k} {c.actions[k]:,}" for k in kinds), "",
             "Per day: each kind's rate in its busiest hour (actions/s); window closes and "
             "day files: how many that day.", "",
             "| day | " + " | ".join(kinds) + " | total/s |",
             "|---:|" + "---:|" * (len(kinds) + 1)]
    for day, row in enumerate(shape.daily_peaks(), start=1):
        lines.append(f"| {day} | " + " | ".join(
            f"{row[k]:.0f}" if k in EVENT_KINDS else f"{row[k]:.3f}" for k in kinds)
            + f" | {row['total']:.3f} |")
    d, h = shape.peak()
    lines.append("")
    lines.append(f"Busiest hour: day {d + 1}, {h:02d}:00-{h + 1:02d}:00, "
                 f"{shape.total(d, h):.3f} actions/s; mix " + ", ".join(
                     f"{k} {v:.1%}" for k, v in shape.peak_mix().items() if v))
    return "\n".join(lines)
