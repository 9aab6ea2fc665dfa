"""How long the policy simulator takes, and how much memory it holds, for a large population.

Run: .venv/bin/python bench/bench_simulator.py [--workers 1000000] [--years 30] [--seed 1]
     [--policy no-agreement ...] [--repeat 3]

Times, separately: drawing the population (once per run), and `simulate` for each policy on
that population (contributions priced by the adapters once per parameter epoch, the monthly
loop of exits, transfers and claims, rights at the end), and `measure` (metrics). The first
policy also fills the price cache the others reuse. Peak resident memory (ru_maxrss) is for the
whole process. Prints one JSON object. Targets (issue 5): 1,000,000 workers x 30 years <= 10 s
and <= 4 GB; 100,000 workers <= 2 s, on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time

import numpy as np

from simulator.contributions import PriceCache
from simulator.engine import simulate
from simulator.metrics import measure
from simulator.policy import load_run
from simulator.population import draw


def run(workers: int, years: int, seed: int, policies: list[str], repeat: int
        ) -> dict[str, object]:
    runs = [load_run("default", p) for p in policies]
    best: dict[str, float] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        pop = draw(runs[0].scenario, workers, years, seed)
        drawn = time.perf_counter()
        cache = PriceCache(pop.start, pop.horizon)
        timings = {"draw_s": drawn - started}
        for r in runs:
            t0 = time.perf_counter()
            outcome = simulate(r, pop, cache)
            t1 = time.perf_counter()
            measure(outcome)
            t2 = time.perf_counter()
            timings[f"simulate_s[{r.policy}]"] = t1 - t0
            timings[f"measure_s[{r.policy}]"] = t2 - t1
        timings["total_s"] = time.perf_counter() - started
        first = runs[0].policy
        timings["one_policy_s"] = (timings["draw_s"] + timings[f"simulate_s[{first}]"]
                                   + timings[f"measure_s[{first}]"])
        for k, v in timings.items():
            best[k] = min(best.get(k, v), v)
    return {
        "workers": workers, "years": years, "months": 12 * years, "policies": policies,
        "repeat": repeat, "best_of_repeat": {k: round(v, 3) for k, v in best.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", action="append", dest="policies")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policies = args.policies or ["no-agreement"]
    print(json.dumps(run(args.workers, args.years, args.seed, policies, args.repeat), indent=2))


if __name__ == "__main__":
    main()
