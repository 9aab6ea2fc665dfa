"""`python -m tools.fuzz`: atheris over every parser for a bounded time (docs/security.md).

Each target runs in a process of its own for an equal share of `--minutes`, one after another,
starting from its seed inputs (the fund's sample file, a good day file, a good signed message)
in a fresh corpus folder. Prints per target the inputs tried (libFuzzer's `Done N runs`) and
whether it crashed; a crash keeps the input that caused it in `--artifacts`. Exit code 0: no
crash; 1: a target crashed (or ended without libFuzzer's summary).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ledger.adapters.registry import adapters

DONE = re.compile(r"Done (\d+) runs in (\d+) second")


def names() -> list[str]:
    """Every target (as `tools.fuzz.targets` names them; importing that instruments the code)."""
    return [*sorted(adapters()), "dayfile", "inbox"]


def _one(name: str, seconds: int, artifacts: Path, max_len: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"clmtv-fuzz-{name}-") as corpus:
        started = time.monotonic()
        done = subprocess.run(  # noqa: S603 (our own target module, fixed arguments)
            [sys.executable, "-m", "tools.fuzz.targets", name, corpus,
             f"-max_total_time={seconds}", f"-max_len={max_len}", "-timeout=10",
             "-rss_limit_mb=2048", f"-artifact_prefix={artifacts}/{name}-",
             "-print_final_stats=1"],
            capture_output=True, text=True, check=False)
        took = time.monotonic() - started
        kept = len(list(Path(corpus).iterdir()))
    runs = DONE.search(done.stderr)
    crashed = done.returncode != 0 or runs is None
    if crashed:
        tail = "\n".join(done.stderr.splitlines()[-40:])
        print(f"--- {name}: exit {done.returncode}\n{tail}", file=sys.stderr)
    return {"target": name, "inputs": int(runs.group(1)) if runs else None,
            "seconds": round(took, 1), "corpus": kept, "crashed": crashed,
            "exit": done.returncode}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="the whole run, shared equally by the targets (default: "
                        "%(default)s)")
    parser.add_argument("--only", nargs="*", choices=names(), help="these targets alone")
    parser.add_argument("--max-len", type=int, default=4096,
                        help="the longest input libFuzzer makes, in bytes")
    parser.add_argument("--artifacts", type=Path, default=Path("fuzz-artifacts"),
                        help="where a crashing input is kept (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    chosen = args.only or names()
    seconds = max(1, int(args.minutes * 60 / len(chosen)))
    args.artifacts.mkdir(parents=True, exist_ok=True)
    results = []
    for name in chosen:
        result = _one(name, seconds, args.artifacts.resolve(), args.max_len)
        results.append(result)
        if not args.json:
            print(f"{name:10} {result['inputs'] or 0:>10,} inputs in {result['seconds']:>6} s, "
                  f"corpus {result['corpus']:>5}, {'CRASHED' if result['crashed'] else 'ok'}",
                  flush=True)
    total = sum(int(r["inputs"] or 0) for r in results)  # type: ignore[call-overload]
    crashes = sum(1 for r in results if r["crashed"])
    if args.json:
        print(json.dumps({"targets": results, "inputs": total, "crashes": crashes}))
    else:
        print(f"total: {total:,} inputs over {len(results)} targets, {crashes} crashed")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
