"""`python3 -m tools.crashtest`: the long crash-and-retry run (docs/security.md).

Exit code 0: the checker passed the main run, caught the control run and the service recovered
after the last kill; 1 otherwise; 2 PostgreSQL's server binaries are not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

from tools.crashtest.cluster import pg_bindir
from tools.crashtest.run import RunConfig, crash_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tools.crashtest",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="length of the main phase (default: %(default)s)")
    parser.add_argument("--control-seconds", type=float, default=20.0)
    parser.add_argument("--apis", type=int, default=2, help="API server processes")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--drop", type=float, default=0.2,
                        help="share of answers thrown away (default: %(default)s)")
    parser.add_argument("--kill-every", type=float, default=10.0, metavar="SECONDS")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if pg_bindir() is None:
        print("crashtest: PostgreSQL's server (initdb) is not installed", file=sys.stderr)
        return 2
    config = RunConfig(seconds=args.minutes * 60, control_seconds=args.control_seconds,
                       apis=args.apis, clients=args.clients, drop=args.drop,
                       kill_every_s=args.kill_every, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="clmtv-crash-") as work:
        report = asyncio.run(crash_run(config, Path(work)))
    print(json.dumps(report.to_dict(), indent=2) if args.json else "\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
