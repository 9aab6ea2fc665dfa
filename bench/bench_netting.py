"""How long multilateral netting takes for one large settlement window.

Run: .venv/bin/python bench/bench_netting.py [--rows 1000000] [--repeat 5] [--seed 7]

A synthetic window of `--rows` inter-fund obligations across the five funds, in USD cents,
shaped like the corridors (most flow goes from the host funds, TH-SSO and JP-JPS, to the home
funds, with a smaller flow back). Generation is not timed; `net_obligations` is (validation,
overflow check, scatter-add, positions, volumes), and separately converting the same rows from
THB into USD (`convert_to_settlement`). Prints one JSON object; the target is <= 2 s wall time
for netting 1,000,000 rows on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

import numpy as np

from ledger.domain.money import Currency, Rounding
from ledger.settlement.netting import convert_to_settlement, net_obligations, payments_greedy

T = TypeVar("T")

FUNDS = ("KH-NSSF", "MM-SSB", "VN-VSS", "TH-SSO", "JP-JPS")
# Row share of each (payer, payee) pair: host -> home dominates, some flow comes back.
_PAIR_WEIGHTS = {
    (3, 0): 20, (3, 1): 30, (3, 2): 8, (4, 2): 25, (4, 1): 4, (4, 0): 2,
    (0, 3): 3, (1, 3): 2, (2, 4): 4, (2, 3): 1, (0, 4): 1,
}


def synthetic_window(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pairs = np.array(list(_PAIR_WEIGHTS), dtype=np.int64)
    weights = np.array(list(_PAIR_WEIGHTS.values()), dtype=np.float64)
    choice = rng.choice(len(pairs), size=rows, p=weights / weights.sum())
    # Portable balances of a few months to a few years of contributions: $5 to $5,000.
    amounts = rng.integers(500, 500_000, size=rows, dtype=np.int64)
    return pairs[choice, 0], pairs[choice, 1], amounts


def _timed(repeat: int, call: Callable[[], T]) -> tuple[T, list[float]]:
    timings: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        value = call()
        timings.append(time.perf_counter() - start)
    return value, timings


def run(rows: int, repeat: int, seed: int) -> dict[str, object]:
    payers, payees, amounts = synthetic_window(rows, seed)
    result, timings = _timed(
        repeat, lambda: net_obligations(payers, payees, amounts, FUNDS, Currency.USD)
    )
    payments = payments_greedy(result)
    # For comparison: converting the same rows from THB satang into USD cents first.
    fx, fx_timings = _timed(repeat, lambda: convert_to_settlement(
        amounts * 35, Currency.THB, Currency.USD, Decimal("0.0285"), Rounding.HALF_EVEN))
    return {
        "bench": "netting",
        "rows": rows,
        "funds": len(FUNDS),
        "repeat": repeat,
        "wall_s_min": round(min(timings), 4),
        "wall_s_median": round(statistics.median(timings), 4),
        "wall_s_max": round(max(timings), 4),
        "target_s": 2.0,
        "fx_convert_wall_s_median": round(statistics.median(fx_timings), 4),
        "fx_residue_minor": fx.residue.amount_minor,
        "payments": len(payments),
        "summary": result.summary(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(run(args.rows, args.repeat, args.seed), indent=2))


if __name__ == "__main__":
    main()
