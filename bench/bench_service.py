"""Batch path through the service layer on PostgreSQL: contributions/s and transfers/s.

    python3 dev.py bench service            # or: .venv/bin/python -m bench.bench_service

Two workloads on a fresh database:
  * contributions: Thai s33 contributions (3 shares -> 3 transfers each), validated and posted
    by ContributionService in jobs of BATCH, month after month for WORKERS workers;
  * transfers: plain transfers between many accounts, posted by the engine in jobs of BATCH.
Prints one JSON line per workload with throughput and per-batch latency percentiles; the
contributions' line also gives CPU per contribution, this process's and PostgreSQL's backends'
(read from /proc while the pool is open), which a loaded machine disturbs less than wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from bench.common import bulk_workers, fresh_postgres, percentiles, postgres_cpu_s
from ledger.config import DEV_PII_ENCRYPTION_KEY, DEV_PII_HMAC_KEY
from ledger.db.engine import open_database
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import ContributionInput, PlannedTransfer
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.domain.pii import PiiVault
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.contributions import ContributionService
from ledger.services.group_commit import GroupCommitter
from ledger.services.posting import Job, PostingEngine, Unit
from ledger.services.workers import WorkerService

OPERATOR = Principal("bench", PrincipalKind.HUB_OPERATOR)
THB = Currency.THB


def thai(worker: str, month: Month) -> ContributionInput:
    return ContributionInput(
        worker_id=worker, fund="TH-SSO", scheme="s33-old-age", month=str(month),
        wage_base=Money(1_500_000, THB),
        shares=[("employee", Money(45_000, THB)), ("employer", Money(45_000, THB)),
                ("government", Money(15_050, THB))])


async def contributions(workers: int, months: int, batch: int) -> dict[str, object]:
    async with fresh_postgres() as (db, url):
        ids = await bulk_workers(db, workers)
        engine = PostingEngine(db, ledger_transactions(db))
        service = ContributionService(GroupCommitter(engine),
                                      WorkerService(db, PiiVault(DEV_PII_HMAC_KEY,
                                                                 DEV_PII_ENCRYPTION_KEY)))
        inputs = [thai(w, Month(2020, 1).plus(m)) for m in range(months) for w in ids]
        latencies: list[float] = []
        cpu = _Cpu(url)
        started = time.perf_counter()
        for start in range(0, len(inputs), batch):
            t0 = time.perf_counter()
            valid = await service.validate(OPERATOR, inputs[start : start + batch])
            (results,) = await engine.post_jobs([Job(
                [Unit(_plan(c), c) for c in valid], atomic=False)])
            assert all(r.ok for r in results)
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        used = cpu.per_item(len(inputs))
    count = len(inputs)
    return {"workload": "service.contributions", "contributions": count,
            "transfers": 3 * count, "seconds": round(elapsed, 2), **used,
            "contributions_per_s": round(count / elapsed),
            "transfers_per_s": round(3 * count / elapsed), "batch": batch,
            "batch_latency": percentiles(latencies)}


class _Cpu:
    """CPU used from now on by this process and by the bench database's PostgreSQL backends
    (read from /proc; the pool's connections stay open through the run): steadier than wall
    time on a shared machine."""

    def __init__(self, url: str) -> None:
        self.database = url.rsplit("/", 1)[1]
        self.client = time.process_time()
        self.backends = postgres_cpu_s(self.database)

    def per_item(self, count: int) -> dict[str, float | None]:
        client = time.process_time() - self.client
        now = postgres_cpu_s(self.database)
        backends = None if now is None or self.backends is None else now - self.backends
        return {"client_cpu_us_each": round(client * 1e6 / count, 1),
                "backend_cpu_us_each": None if backends is None
                else round(backends * 1e6 / count, 1)}


def _plan(c: object) -> list[PlannedTransfer]:
    from ledger.domain.contributions import Contribution, plan_transfers

    assert isinstance(c, Contribution)
    return plan_transfers(c)


async def transfers(accounts: int, count: int, batch: int, writers: int = 1
                    ) -> dict[str, object]:
    """`writers` engines with their own pools post alternate batches concurrently, as the
    server's processes do; with one, a single writer."""
    async with fresh_postgres() as (db, url):
        pools = [db] + [open_database(url, 4) for _ in range(writers - 1)]
        engines = [PostingEngine(pool, ledger_transactions(pool)) for pool in pools]
        specs = [AccountSpec(f"bench/{i}", AccountCode.OPERATING, THB, AccountFlags.NONE)
                 for i in range(accounts)]
        # Built before the clock starts, like the contributions' inputs: requests arrive built.
        batches = [
            [Unit([PlannedTransfer(f"t{n}", specs[n % accounts], specs[(n * 7 + 1) % accounts],
                                   100 + n % 900, THB)])
             for n in range(start, min(count, start + batch))]
            for start in range(0, count, batch)
        ]
        latencies: list[float] = []

        async def writer(engine: PostingEngine, mine: list[list[Unit]]) -> None:
            for units in mine:
                t0 = time.perf_counter()
                results = await engine.post(units)
                latencies.append(time.perf_counter() - t0)
                assert all(r.ok for r in results)

        cpu = _Cpu(url)
        started = time.perf_counter()
        await asyncio.gather(*(writer(e, batches[i::writers]) for i, e in enumerate(engines)))
        elapsed = time.perf_counter() - started
        used = cpu.per_item(count)
        for engine in engines[1:]:
            await engine.db.dispose()
    return {"workload": "service.transfers", "transfers": count, "accounts": accounts,
            "writers": writers, "seconds": round(elapsed, 2), **used,
            "transfers_per_s": round(count / elapsed), "batch": batch,
            "batch_latency": percentiles(latencies)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--transfers", type=int, default=200_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=1, help="concurrent engines (transfers)")
    parser.add_argument("--only", choices=["contributions", "transfers"])
    args = parser.parse_args()
    if args.only != "transfers":
        print(json.dumps(await contributions(args.workers, args.months, args.batch)), flush=True)
    if args.only != "contributions":
        print(json.dumps(await transfers(args.accounts, args.transfers, args.batch,
                                         args.writers)), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
