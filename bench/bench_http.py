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
import resource
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import asyncpg
import psutil

from bench.common import (
    analyze,
    bulk_memberships,
    bulk_workers,
    database_url,
    fresh_postgres,
    postgres_backend_ticks,
)
from ledger.domain.principals import PrincipalKind
from ledger.services.clients import ClientService

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PORT = _free_port()
PORTS = [PORT]  # --balanced: one server process per port, wrk split between them


def _wait_ready(port: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/ready", timeout=1) as r:
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
    cpu = _CpuMeter()
    analyzer = _Analyzer(_CpuMeter.database)
    analyzer.start()
    try:
        outs = _run_wrk(connections, seconds, script, env)
    finally:
        analyzer.stop()
    result = _merged([json.loads(next(x for x in out.stdout.splitlines()
                                      if x.startswith("JSON "))[5:]) for out in outs])
    requests = int(str(result["requests"]))
    result["requests_per_s"] = round(requests / float(str(result["seconds"])))
    result["contributions_per_s"] = round(requests * max(batch, 1) / float(str(result["seconds"])))
    result.update(cpu.per_item(requests * max(batch, 1)))
    errors = [line for out in outs for line in out.stderr.strip().splitlines()]
    if errors:
        result["sample_errors"] = errors[:3]
    return result


def _merged(runs: list[dict[str, object]]) -> dict[str, object]:
    """One wrk's figures, or several run at once (--balanced): requests and errors summed over
    the longest duration, and each percentile the highest of theirs (an upper bound of the
    union's: if no run has more than 1% of its requests above x, neither has their union)."""
    if len(runs) == 1:
        return runs[0]
    merged: dict[str, object] = {
        "requests": sum(int(str(r["requests"])) for r in runs),
        "seconds": max(float(str(r["seconds"])) for r in runs),
        "errors_status": sum(int(str(r["errors_status"])) for r in runs)}
    for figure in ("p50_ms", "p90_ms", "p99_ms", "max_ms"):
        merged[figure] = max(float(str(r[figure])) for r in runs)
    merged["percentiles"] = "the highest of the wrk processes' (one per server)"
    return merged


def _run_wrk(connections: int, seconds: int, script: str, env: dict[str, str]
             ) -> list[subprocess.CompletedProcess[str]]:
    """wrk against the server, or one wrk per server process at once (each its share of the
    connections, its own lane of payment numbers)."""
    share = connections // len(PORTS)
    threads = min(WRK_THREADS, share)
    children = [subprocess.Popen(
        ["wrk", "-t", str(threads), "-c", str(share), "-d", f"{seconds}s", "--timeout", "5s",
         "-s", str(ROOT / "bench/wrk" / script), f"http://127.0.0.1:{port}"],
        env={**env, "THREADS": str(threads), "STRIDE": str(len(PORTS)), "LANE": str(lane)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for lane, port in enumerate(PORTS)]
    outs = []
    for child in children:
        stdout, stderr = child.communicate()
        if child.returncode:
            raise subprocess.CalledProcessError(child.returncode, child.args, stdout, stderr)
        outs.append(subprocess.CompletedProcess(child.args, 0, stdout, stderr))
    return outs


class _Analyzer(threading.Thread):
    """ANALYZE every few seconds while wrk runs: autovacuum is off on the bench machines, and
    the tables grow from empty during the run; without fresh statistics the planner keeps
    scanning whole tables it believes tiny (production's autovacuum analyzes a table after
    50 rows + 10% change: more often than this, early on)."""

    INTERVAL_S = 3.0

    def __init__(self, database: str) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.INTERVAL_S):
            asyncio.run(analyze(database_url(self.database)))

    def stop(self) -> None:
        self.stopping.set()
        self.join()


class _CpuMeter:
    """CPU spent during one wrk run by the API's processes, the database's backends and wrk,
    per item booked: user + system time from /proc (psutil), so that a figure does not depend
    on what else the machine ran meanwhile. A backend that exits during the run is not counted
    (the pool keeps its connections open: none should)."""

    servers: ClassVar[list[psutil.Process]] = []
    sealer: psutil.Process | None = None
    database = ""

    def __init__(self) -> None:
        self.api = self._api()
        self.sealing = self._sealing()
        self.backends = postgres_backend_ticks(self.database) or {}
        self.children = resource.getrusage(resource.RUSAGE_CHILDREN)

    @classmethod
    def _api(cls) -> float:
        total = 0.0
        for proc in [p for server in cls.servers
                     for p in (server, *server.children(recursive=True))]:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    @classmethod
    def _sealing(cls) -> float:
        if cls.sealer is None:
            return 0.0
        times = cls.sealer.cpu_times()
        return float(times.user + times.system)

    def per_item(self, items: int) -> dict[str, object]:
        api = self._api() - self.api
        sealing = self._sealing() - self.sealing
        after = postgres_backend_ticks(self.database) or {}
        ticks = sum(t - self.backends.get(pid, 0) for pid, t in after.items())
        database = ticks / os.sysconf("SC_CLK_TCK")
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        wrk = (children.ru_utime - self.children.ru_utime
               + children.ru_stime - self.children.ru_stime)
        per = 1e6 / max(items, 1)
        return {"cpu_us_per_item": {"api": round(api * per), "postgres": round(database * per),
                                    "wrk": round(wrk * per), "sealer": round(sealing * per)}}


CHANNEL = "mekong-wallet-th"
DECLARED_INCOME = "5000000"  # VND: voluntary SI of 1,100,000 VND a month
RATES = [("THB", "USD", "0.028"), ("USD", "VND", "25000")]


def _call(method: str, path: str, token: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORTS[0]}{path}", method=method, data=json.dumps(body).encode(),
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


async def _booked_payments(url: str) -> int:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM channel_payments"))
    finally:
        await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=20_000, help="enrolled workers")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--sealer", choices=["server", "process"], default="server",
                        help="where the journal is sealed: in each API process (the default "
                        "settings), or by `clmtv audit seal --every 1` as a process of its own")
    parser.add_argument("--sealer-nice", type=int, default=0, metavar="N",
                        help="with --sealer process: run it at this niceness (0-19; sealing "
                        "is background work whose deadline is seconds, not the request's)")
    parser.add_argument("--balanced", action="store_true",
                        help="one `clmtv serve` per API process, each on its own port, and wrk "
                        "split evenly between them (as a balancer in front would): with a few "
                        "long-lived connections, one multi-process server may give them all "
                        "to one process")
    parser.add_argument("--only", choices=["single", "batch", "payment", "payment-batch"],
                        help="run one workload (payment runs only when named)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    async with fresh_postgres() as (db, url):
        ids = await bulk_workers(db, args.workers)
        token = await ClientService(db).register("bench", PrincipalKind.HUB_OPERATOR, None)
        wallet = ""
        paying = args.only in ("payment", "payment-batch")
        if paying:
            await bulk_memberships(db, ids, "VN-VSS")
            wallet = await ClientService(db, [CHANNEL]).register(
                "bench-wallet", PrincipalKind.CHANNEL, CHANNEL)
        # Development mode: the bench uses the development identity keys and makes a hub key.
        # No per-principal rate limit (ADR 0053): one principal sends the whole load here.
        env = {**os.environ, "CLMTV_DATABASE_URL": url, "CLMTV_DB_POOL_SIZE": "8",
               "CLMTV_DEV_MODE": "1", "CLMTV_RATE_LIMIT_PER_S": "0"}
        sealer = None
        if args.sealer == "process":
            env["CLMTV_JOURNAL_SEAL_INTERVAL_S"] = "0"
            nice = args.sealer_nice
            sealer = subprocess.Popen([str(ROOT / ".venv/bin/clmtv"), "audit", "seal",
                                       "--every", "1"], env=env, stdout=subprocess.DEVNULL,
                                      preexec_fn=(lambda: os.nice(nice)) if nice else None)
            _CpuMeter.sealer = psutil.Process(sealer.pid)
        if args.balanced:
            if args.connections % args.server_workers:
                sys.exit("--balanced: --connections must be a multiple of --server-workers")
            PORTS[:] = [PORT, *(_free_port() for _ in range(args.server_workers - 1))]
        processes = 1 if args.balanced else args.server_workers
        servers = [subprocess.Popen(
            [str(ROOT / ".venv/bin/clmtv"), "serve", "--port", str(port), "--workers",
             str(processes), "--no-access-log"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for port in PORTS]
        _CpuMeter.servers = [psutil.Process(server.pid) for server in servers]
        _CpuMeter.database = url.rsplit("/", 1)[1]
        await analyze(url)  # the population just loaded by COPY
        try:
            for port in PORTS:
                _wait_ready(port)
            if paying:
                extra = _payment_env(token, wallet)
                batch = args.batch if args.only == "payment-batch" else 0
                script = "payment_batch.lua" if batch else "payment.lua"
                result = _wrk(wallet, args.workers, batch, args.connections, args.seconds,
                              script, extra)
                result["payments_per_s"] = result.pop("contributions_per_s")
                # Every payment wrk saw answered is booked once (and, in a batch, none failed).
                booked = await _booked_payments(url)
                result["payments_booked"] = booked
                print(json.dumps({"workload": f"http.{args.only}", "batch": batch,
                                  "sealer": args.sealer, "sealer_nice": args.sealer_nice,
                                  "balanced": args.balanced,
                                  "server_workers": args.server_workers,
                                  "connections": args.connections, **result}), flush=True)
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
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(10)
            if sealer is not None:
                sealer.terminate()
                sealer.wait(30)


if __name__ == "__main__":
    asyncio.run(main())
