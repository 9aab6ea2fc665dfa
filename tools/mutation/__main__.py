"""`python3 dev.py mutate [MODULE ...] [--stale] [--children N] [--table-only]`: core scores.

Runs mutmut on each named core module (every core module when none is named), one module at a
time, records its counts in docs/mutation.json and rewrites the table in docs/testing.md.
`--stale` runs only the modules whose code or mapped tests changed since their recorded run;
`--children` is how many mutants run at once (default 1: the machine is shared);
`--table-only` re-renders the page from docs/mutation.json without running anything.
"""

from __future__ import annotations

import argparse

from tools.mutation import report
from tools.mutation.run import ROOT, run_module
from tools.mutation.targets import TESTS_BY_MODULE, core_modules, resolve


def main() -> int:
    parser = argparse.ArgumentParser(prog="dev.py mutate", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="ledger/domain/ledger.py, domain.ledger, ...")
    parser.add_argument("--children", type=int, default=1, help="mutants run at once")
    parser.add_argument("--stale", action="store_true", help="only modules changed since their run")
    parser.add_argument("--table-only", action="store_true", help="only re-render the table")
    args = parser.parse_args()

    unmapped = [m for m in core_modules(ROOT) if m not in TESTS_BY_MODULE]
    if unmapped:
        raise SystemExit(f"mutate: core modules with no tests in tools/mutation/targets.py: "
                         f"{unmapped}")
    if not args.table_only:
        modules = [resolve(m) for m in args.modules] or list(TESTS_BY_MODULE)
        if args.stale:
            outdated = report.stale(report.load())
            modules = [m for m in modules if m in outdated]
            print(f"mutate: stale: {' '.join(modules) or 'none'}", flush=True)
        for module in modules:
            print(f"mutate: {module} against {' '.join(TESTS_BY_MODULE[module])}", flush=True)
            report.record(run_module(module, args.children))
    scores = report.load()
    report.rewrite_page(scores)
    print(report.table(scores))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
