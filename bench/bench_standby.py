"""What reading from a hot standby costs a statement, and what read-your-writes adds (ADR 0058).

Run: python3 dev.py bench standby [--reads 300] [--months 30]

Starts a primary and a hot standby of its own (`tools/crashtest/cluster.py`: initdb, then
pg_basebackup -R, on free ports), seeds one worker with `--months` Thai contributions through the
API, waits until the standby has replayed them, then reads the worker's statement `--reads`
times in a row through the app (httpx on the ASGI app, no network) in three set-ups:

- primary: no CLMTV_DATABASE_READ_URL;
- standby, own-writes: the reader has no mark to wait for, so nothing is asked before the read;
- standby, all-writes (the default): the primary's and the standby's positions are asked first.

It prints the median and 95th percentile of each, which database served the reads, and the time
of one write mark (`pg_current_wal_lsn()` on the primary, what own-writes adds to a write).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from ledger import metrics
from ledger.api.app import create_app
from ledger.composition import Services, build_services
from ledger.config import Settings
from ledger.db.migrate import upgrade
from ledger.domain.principals import PrincipalKind
from ledger.services.read_routing import principal_key
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey
from tools.crashtest.cluster import PgCluster, StandbyCluster

WORKER = "wkr_bench0001"
THAI_ID = "1000124518417"  # a valid 13-digit Thai ID (check digit by the SSO rule)


def _money(amount: int) -> dict[str, str]:
    return {"amount_minor": str(amount), "currency": "THB"}


def _contribution(month: str) -> dict[str, Any]:
    return {"worker_id": WORKER, "fund": "TH-SSO", "scheme": "s33-old-age", "month": month,
            "wage_base": _money(1_500_000),
            "shares": [{"payer": "employee", "amount": _money(45_000)},
                       {"payer": "employer", "amount": _money(45_000)},
                       {"payer": "government", "amount": _money(15_050)}]}


def _months(count: int) -> list[str]:
    """`count` months up to 2025-06, at the Thai rules' standard rates (the default 30 starts
    after the reduced rates of 2020-2022, which these shares would not match)."""
    last = 2025 * 12 + 5
    return [f"{m // 12}-{m % 12 + 1:02d}" for m in range(last - count + 1, last + 1)]


def _settings(primary: PgCluster, standby: StandbyCluster | None, after: str,
              key_file: Path) -> Settings:
    return Settings(database_url=primary.url,
                    database_read_url=standby.url if standby else None,
                    database_read_after=after,  # type: ignore[arg-type]
                    rate_limit_per_s=0, dev_mode=True, hub_key_file=str(key_file),
                    journal_seal_interval_s=0)


async def _with_app(settings: Settings, signer: HubSigner, work: Any) -> Any:
    services = build_services(settings, signer=signer)
    await upgrade(services.db)
    services.committer.start()
    try:
        app = create_app(settings, services)
        app.state.services = services
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench") as http:
            return await work(services, http)
    finally:
        await services.committer.stop()
        await services.close()
        await services.db.dispose()


async def _seed(services: Services, http: httpx.AsyncClient, months: int) -> str:
    operator = await services.clients.register("bench-operator", PrincipalKind.HUB_OPERATOR,
                                               None)
    auth = {"Authorization": f"Bearer {operator}"}
    made = await http.post("/v1/workers", headers=auth, json={
        "id": WORKER, "nationality": "KH",
        "memberships": [{"fund": "TH-SSO", "member_number": THAI_ID}]})
    made.raise_for_status()
    batch = await http.post("/v1/contributions/batch", headers={**auth, "Idempotency-Key": "b"},
                            json={"contributions": [_contribution(m) for m in _months(months)]})
    batch.raise_for_status()
    return await services.clients.register("bench-worker", PrincipalKind.WORKER, WORKER)


async def _caught_up(services: Services) -> None:
    deadline = time.monotonic() + 60
    while True:
        status = await services.reads.status()
        if status is not None and status.get("behind_bytes") == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the standby did not catch up: {status}")
        await asyncio.sleep(0.05)


async def _statements(http: httpx.AsyncClient, token: str, reads: int
                      ) -> tuple[list[float], dict[str, int]]:
    auth = {"Authorization": f"Bearer {token}"}
    timings: list[float] = []
    sources: dict[str, int] = {}
    for _ in range(reads + 20):  # the first 20 warm the pools and caches
        started = time.perf_counter()
        answer = await http.get(f"/v1/workers/{WORKER}/statement", headers=auth)
        elapsed = time.perf_counter() - started
        answer.raise_for_status()
        source = answer.headers.get("X-Clmtv-Read-From", "primary (no standby)")
        timings.append(elapsed)
        sources[source] = sources.get(source, 0) + 1
    return timings[20:], sources


def _reasons() -> dict[str, float]:
    """clmtv_reads_total by source/reason, as this process counted so far."""
    return {f"{sample.labels['source']}/{sample.labels['reason']}": sample.value
            for family in metrics.REGISTRY.collect() if family.name == "clmtv_reads"
            for sample in family.samples if sample.name == "clmtv_reads_total"}


def _line(name: str, timings: list[float], sources: dict[str, int]) -> str:
    ordered = sorted(timings)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return (f"{name:24} median {statistics.median(ordered) * 1000:6.2f} ms   "
            f"p95 {p95 * 1000:6.2f} ms   served by {sources}")


async def run(reads: int, months: int) -> None:
    primary = PgCluster({"wal_level": "replica", "max_wal_senders": "4"})
    standby = StandbyCluster(primary)
    key_file = Path(tempfile.mkdtemp(prefix="clmtv-bench-standby-")) / "hub.jwk"
    signer = HubSigner(SigningKey.generate(HUB))
    try:
        primary.init()
        primary.start()
        standby.init()
        standby.start()
        print(f"python {platform.python_version()}, load average "
              f"{os.getloadavg()[0]:.1f}, {months} contributions on the statement")

        async def seed(services: Services, http: httpx.AsyncClient) -> str:
            token = await _seed(services, http, months)
            await _caught_up(services)
            return token

        token = await _with_app(_settings(primary, standby, "own-writes", key_file), signer,
                                seed)
        for name, after, with_standby in (("primary", "all-writes", False),
                                          ("standby, own-writes", "own-writes", True),
                                          ("standby, all-writes", "all-writes", True)):
            settings = _settings(primary, standby if with_standby else None, after, key_file)

            async def measure(services: Services, http: httpx.AsyncClient,
                              label: str = name) -> None:
                before = _reasons()
                timings, sources = await _statements(http, token, reads)
                after = _reasons()
                why = {k: int(v - before.get(k, 0)) for k, v in after.items()
                       if v > before.get(k, 0)}
                print(_line(label, timings, sources) + (f"   why {why}" if why else ""))

            await _with_app(settings, signer, measure)

        async def marks(services: Services, http: httpx.AsyncClient) -> None:
            count = 1000
            started = time.perf_counter()
            for _ in range(count):
                await services.reads.note_write([principal_key("bench")])
            each = (time.perf_counter() - started) / count
            print(f"one write mark (own-writes): {each * 1e6:.0f} us")

        await _with_app(_settings(primary, standby, "own-writes", key_file), signer, marks)
    finally:
        standby.remove()
        primary.remove()
        shutil.rmtree(key_file.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--months", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(run(args.reads, args.months))


if __name__ == "__main__":
    main()
