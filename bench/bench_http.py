"""Contributions and channel payments through HTTP on PostgreSQL, with latency.

    .venv/bin/python -m bench.bench_http [--server-workers 2] [--connections 32] [--seconds 20]
    .venv/bin/python -m bench.bench_http --only payment --server-workers 2

Creates a fresh database with WORKERS enrolled workers, starts `clmtv serve` (uvicorn, no access
log), then drives it with wrk (apt-get install wrk): bench/wrk/contribution.lua (every request a
unique contribution with its own Idempotency-Key; single requests, then batches) and, with
`--only payment`, bench/wrk/payment.lua (every request a unique voluntary payment through the
Mekong Wallet channel into VN-VSS voluntary SI, one month each, at one quote's locked rate; the
workers are also members of VN-VSS). Prints one JSON line per run.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import bulk_memberships, bulk_workers, fresh_postgres
from ledger.domain.principals import PrincipalKind
from ledger.services.clients import ClientService

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _free_port()


def _wait_ready(timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/v1/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not become ready")


WRK_THREADS = 2


def _wrk(token: str, workers: int, batch: int, connections: int, seconds: int,
         script: str = "contribution.lua", extra: dict[str, str] | None = None
         ) -> dict[str, object]:
    env = {**os.environ, "TOKEN": token, "WORKERS": str(workers), "BATCH": str(batch),
           "RUN": f"{batch}-{time.time_ns()}", "THREADS": str(WRK_THREADS), **(extra or {})}
    out = subprocess.run(
        ["wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{seconds}s",
         "--timeout", "5s", "-s", str(ROOT / "bench/wrk" / script), f"http://127.0.0.1:{PORT}"],
        env=env, capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("JSON "))
    result: dict[str, object] = json.loads(line[5:])
    requests = int(str(result["requests"]))
    result["requests_per_s"] = round(requests / float(str(result["seconds"])))
    result["contributions_per_s"] = round(requests * max(batch, 1) / float(str(result["seconds"])))
    if out.stderr.strip():
        result["sample_errors"] = out.stderr.strip().splitlines()[:3]
    return result


CHANNEL = "mekong-wallet-th"
DECLARED_INCOME = "5000000"  # VND: voluntary SI of 1,100,000 VND a month
RATES = [("THB", "USD", "0.028"), ("USD", "VND", "25000")]


def _call(method: str, path: str, token: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{path}", method=method, data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        found: dict[str, object] = json.load(response)
        return found


def _payment_env(operator: str, channel: str) -> dict[str, str]:
    """Reference rates, then one quote whose locked rate and price every payment uses."""
    for base, quote, rate in RATES:
        _call("PUT", f"/v1/fx-rates/{base}/{quote}", operator,
              {"rate": rate, "source": "bench reference rate"})
    local = datetime.now(UTC) + timedelta(hours=7)  # the channel's business day (Bangkok)
    month0 = f"{local.year:04d}-{local.month:02d}"
    quote = _call("POST", f"/v1/channels/{CHANNEL}/quotes", channel, {
        "currency": "THB", "fund": "VN-VSS", "worker_id": "wkr_bench00000000",
        "scheme": "voluntary-si", "months": [month0],
        "declared_income": {"amount_minor": DECLARED_INCOME, "currency": "VND"}})
    price = quote["price"]
    assert isinstance(price, dict)
    return {"QUOTE": str(quote["quote_id"]), "PAID": price["total"]["amount_minor"],
            "CONTRIBUTION": price["contribution"]["amount_minor"], "INCOME": DECLARED_INCOME,
            "MONTH0": month0}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=20_000, help="enrolled workers")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--only", choices=["single", "batch", "payment"],
                        help="run one workload (payment runs only when named)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    async with fresh_postgres() as (db, url):
        ids = await bulk_workers(db, args.workers)
        token = await ClientService(db).register("bench", PrincipalKind.HUB_OPERATOR, None)
        wallet = ""
        if args.only == "payment":
            await bulk_memberships(db, ids, "VN-VSS")
            wallet = await ClientService(db, [CHANNEL]).register(
                "bench-wallet", PrincipalKind.CHANNEL, CHANNEL)
        # Development mode: the bench uses the development identity keys and makes a hub key.
        env = {**os.environ, "CLMTV_DATABASE_URL": url, "CLMTV_DB_POOL_SIZE": "8",
               "CLMTV_DEV_MODE": "1"}
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/clmtv"), "serve", "--port", str(PORT), "--workers",
             str(args.server_workers), "--no-access-log"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_ready()
            if args.only == "payment":
                extra = _payment_env(token, wallet)
                result = _wrk(wallet, args.workers, 0, args.connections, args.seconds,
                              "payment.lua", extra)
                result["payments_per_s"] = result.pop("contributions_per_s")
                print(json.dumps({"workload": "http.payment", "server_workers":
                                  args.server_workers, "connections": args.connections,
                                  **result}), flush=True)
                return
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
