"""Contributions through HTTP on PostgreSQL: single requests and batches, with latency.

    .venv/bin/python -m bench.bench_http [--server-workers 2] [--connections 32] [--seconds 20]

Creates a fresh database with WORKERS enrolled workers, starts `clmtv serve` (uvicorn, no access
log), then drives it with wrk (apt-get install wrk) running bench/wrk/contribution.lua: every
request is a unique contribution with its own Idempotency-Key. Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import bulk_workers, fresh_postgres
from ledger.domain.principals import PrincipalKind
from ledger.services.clients import ClientService

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _free_port()


def _wait_ready(timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/v1/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not become ready")


def _wrk(token: str, workers: int, batch: int, connections: int, seconds: int) -> dict[str, object]:
    env = {**os.environ, "TOKEN": token, "WORKERS": str(workers), "BATCH": str(batch),
           "RUN": f"{batch}-{time.time_ns()}"}
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s",
         "-s", str(ROOT / "bench/wrk/contribution.lua"), f"http://127.0.0.1:{PORT}"],
        env=env, capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("JSON "))
    result: dict[str, object] = json.loads(line[5:])
    requests = int(str(result["requests"]))
    result["requests_per_s"] = round(requests / float(str(result["seconds"])))
    result["contributions_per_s"] = round(requests * max(batch, 1) / float(str(result["seconds"])))
    if out.stderr.strip():
        result["sample_errors"] = out.stderr.strip().splitlines()[:3]
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=20_000, help="enrolled workers")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--only", choices=["single", "batch"], help="run one workload")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    async with fresh_postgres() as (db, url):
        await bulk_workers(db, args.workers)
        token = await ClientService(db).register("bench", PrincipalKind.HUB_OPERATOR, None)
        # Development mode: the bench uses the development identity keys and makes a hub key.
        env = {**os.environ, "CLMTV_DATABASE_URL": url, "CLMTV_DB_POOL_SIZE": "8",
               "CLMTV_DEV_MODE": "1"}
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/clmtv"), "serve", "--port", str(PORT), "--workers",
             str(args.server_workers), "--no-access-log"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_ready()
            runs = [("single", 0, args.seconds), ("batch", args.batch, args.seconds)]
            for name, batch, seconds in runs:
                if args.only and name != args.only:
                    continue
                result = _wrk(token, args.workers, batch, args.connections, seconds)
                print(json.dumps({"workload": f"http.{name}", "batch": batch,
                                  "server_workers": args.server_workers,
                                  "connections": args.connections, **result}), flush=True)
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
