"""`clmtv calibrate`: fit the baseline's free parameters to the published targets.

Owns the command: load the calibration scenario and its targets, fit with `fit.fit` (or, with
`--check`, only compare the values already fitted), write the fitted values with provenance
beside the calibration file, and print every target simulated against published with its
distance, tolerance and verdict. Exit 1 when a tight or band target lies outside its tolerance.
"""

from __future__ import annotations

import argparse
import time

from rich.console import Console, JustifyMethod
from rich.table import Table as RichTable

from ledger import text
from ledger.domain.errors import DomainError
from simulator.calibration.compare import ASSERTED, Row, compare, formatted, tolerance_text
from simulator.calibration.files import (
    fitted_path,
    load_calibration,
    load_targets,
    read_fitted,
    values,
    write_fitted,
)
from simulator.calibration.fit import fit
from simulator.calibration.writeback import scenario_changes, write_scenario
from simulator.policy import load_scenario, scenario_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="a calibration scenario in simulator/calibration/ "
                        "(baseline-2012) or a YAML path")
    parser.add_argument("--check", action="store_true",
                        help="do not fit: compare the values fitted last time with the targets")
    parser.add_argument("--no-write", action="store_true",
                        help="fit and print, but leave the fitted values file as it is")


def table(rows: list[Row], title: str) -> RichTable:
    out = RichTable(title=title)
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("target", "left"), ("date", "left"), ("published", "right"), ("simulated", "right"),
        ("distance", "right"), ("tolerance", "right"), ("tier", "left"), ("verdict", "left"))
    for name, justify in columns:
        out.add_column(name, justify=justify)
    for r in rows:
        colour = "green" if r.verdict == "holds" else "red" if r.verdict == "OUTSIDE" else "dim"
        out.add_row(r.target.id, r.target.date, formatted(r, r.published),
                    formatted(r, r.simulated), f"{r.distance:+.1%}", tolerance_text(r),
                    r.target.tier, f"[{colour}]{r.verdict}[/{colour}]")
    return out


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    console = console or text.console(stderr=True)
    out = text.console()
    began = time.perf_counter()
    try:
        calibration, path = load_calibration(args.scenario)
        targets = load_targets(calibration, path)
        scenario = load_scenario(calibration.scenario)
        if args.check:
            fitted = read_fitted(path)
            if fitted is None:
                console.print(f"[red]error[/red]: {fitted_path(path)} does not exist: run "
                              f"clmtv calibrate {args.scenario} first", highlight=False)
                return 2
        else:
            result = fit(calibration, scenario, targets, calibration.name)
            fitted = result.fitted
            written = None if args.no_write else write_fitted(path, fitted)
            if written is not None:
                keys = write_scenario(scenario_path(calibration.scenario),
                                      scenario_changes(calibration, fitted, targets, scenario))
        rows = compare(calibration, scenario, targets, values(calibration, dict(fitted.values)))
    except DomainError as exc:
        console.print(f"[red]error[/red]: {exc.message}", highlight=False)
        return 2
    elapsed = time.perf_counter() - began
    out.print(table(rows, f"{calibration.name}: simulated against published"))
    params = RichTable(title="fitted parameters")
    params.add_column("parameter")
    params.add_column("value", justify="right")
    for name, value in fitted.values.items():
        params.add_row(name, f"{value}")
    out.print(params)
    out.print(f"provenance: fitted on {fitted.fitted_on} with {fitted.method}; calibrated to "
              f"{len(fitted.targets_fitted)} targets", highlight=False)
    outside = [r for r in rows if r.target.tier in ASSERTED and not r.holds]
    asserted = sum(1 for r in rows if r.target.tier in ASSERTED)
    if not args.check:
        console.print(f"fitted {len(fitted.values)} parameters in {result.evaluations} "
                      f"evaluations ({result.message}); "
                      + (f"wrote {written}, and {len(keys)} keys of "
                         f"{scenario_path(calibration.scenario)} ({', '.join(keys)})"
                         if written else "wrote nothing (--no-write)"),
                      highlight=False)
    console.print(f"{asserted - len(outside)} of {asserted} asserted targets hold; "
                  f"{len(rows) - asserted} shown only; {elapsed:.2f} s", highlight=False)
    return 1 if outside else 0
