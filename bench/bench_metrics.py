"""What the Prometheus metrics cost on the hot paths (ADR 0046), in microseconds.

Run: .venv/bin/python bench/bench_metrics.py [--requests 20000] [--batches 2000]

- a group-commit transaction: `group_commit._count` on a batch of 512 one-unit jobs (the
  largest batch, CLMTV_GROUP_COMMIT_MAX) and of one job: what the committer adds per commit;
- a request: `RequestObserver` (request id, context, timing, a counter and a histogram, access
  log off) around a trivial ASGI app, against the same app bare.
Best of five repeats; no database, one process.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import timeit
from functools import partial
from typing import Any

from ledger.api.observability import RequestObserver
from ledger.services.group_commit import _count
from ledger.services.posting import Status, UnitResult


async def _bare(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _receive() -> dict[str, Any]:
    return {"type": "http.request"}


async def _send(message: Any) -> None:
    return None


async def _serve(app: Any, n: int) -> None:
    for _ in range(n):
        await app({"type": "http", "method": "GET", "path": "/x", "headers": []}, _receive, _send)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=2_000)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}")
    for units in (512, 1):
        batch = [[UnitResult(Status.CREATED)] for _ in range(units)]
        best = min(timeit.repeat(partial(_count, batch), number=args.batches, repeat=5))
        print(f"group commit of {units:3} units: {best / args.batches * 1e6:6.1f} us "
              "of metrics per transaction")
    apps: list[tuple[str, Any]] = [("bare app", _bare), ("observed", RequestObserver(_bare))]
    for name, app in apps:
        best = min(timeit.repeat(partial(_run, app, args.requests), number=1, repeat=5))
        print(f"{name:9}: {best / args.requests * 1e6:6.1f} us per request")


def _run(app: Any, n: int) -> None:
    asyncio.run(_serve(app, n))


if __name__ == "__main__":
    main()
