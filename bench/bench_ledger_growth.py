"""Batched posting's cost as one ledger grows from empty, step by step, on PostgreSQL.

    python3 dev.py bench ledger_growth [--steps 10] [--step-transfers 30000] [--between analyze]

A fresh database; 20,000 transfers among 20,000 accounts posted first (the accounts exist),
then ANALYZE; then `--steps` steps of `--step-transfers` transfers each, posted by the engine in
jobs of 1,000 (as `bench_big_ledger` does). Per step, one JSON line: transfers/s, CPU per
transfer of this process and of the database's backends, and the wall time per transfer of each
store step as the client waits for it (`read`, `lock_balances`, `write`: the statements of a
pass). `--between analyze` or `vacuum` runs ANALYZE or VACUUM before each step; `--plan-cache
force_custom_plan` sets the database's plan cache mode.

It shows whether a pass's cost grows with the ledger's size when it should not: the 50,000,000
transfer bench found the empty ledger slower than the full one because the pass's read scanned
the key table whole at sizes in between (docs/benchmarks.md, ADR 0062's amendment).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.common import fresh_postgres, postgres_backend_ticks, run_sql
from ledger.db import pg_store
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency
from ledger.runtime import tune_gc
from ledger.services.posting import PostingEngine, Unit

ACCOUNTS = 20_000
JOB = 1_000
STEPS_TIMED = ("read", "lock_balances", "write")
WAITED: collections.defaultdict[str, float] = collections.defaultdict(float)


def _timed(name: str) -> None:
    """Wrap one step of the PostgreSQL store so that the client's wait for it is summed."""
    original: Callable[..., Awaitable[Any]] = getattr(pg_store.PgLedgerTx, name)

    async def timed(self: pg_store.PgLedgerTx, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, *args, **kwargs)
        finally:
            WAITED[name] += time.perf_counter() - started

    setattr(pg_store.PgLedgerTx, name, timed)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--step-transfers", type=int, default=30_000)
    parser.add_argument("--between", choices=["nothing", "analyze", "vacuum"], default="nothing")
    parser.add_argument("--plan-cache", choices=["auto", "force_custom_plan", "force_generic_plan"],
                        default="auto")
    args = parser.parse_args()
    tune_gc()
    for name in STEPS_TIMED:
        _timed(name)
    async with fresh_postgres() as (db, url):
        database = url.rsplit("/", 1)[1]
        if args.plan_cache != "auto":
            await run_sql(url, f"ALTER DATABASE {database} SET plan_cache_mode = {args.plan_cache}")
            await db.dispose()  # new connections take the setting
        engine = PostingEngine(db, ledger_transactions(db))
        specs = [AccountSpec(f"bench/{i}", AccountCode.OPERATING, Currency.THB, AccountFlags.NONE)
                 for i in range(ACCOUNTS)]

        def job(start: int) -> list[Unit]:
            return [Unit([PlannedTransfer(f"t-{n}", specs[n % ACCOUNTS],
                                          specs[(n * 7 + 1) % ACCOUNTS], 100 + n % 900,
                                          Currency.THB)])
                    for n in range(start, start + JOB)]

        for start in range(0, ACCOUNTS, JOB):
            await engine.post(job(start))
        await run_sql(url, "ANALYZE")
        posted = ACCOUNTS
        for _ in range(args.steps):
            if args.between != "nothing":
                await run_sql(url, args.between.upper())
            WAITED.clear()
            ticks0, cpu0 = postgres_backend_ticks(database) or {}, time.process_time()
            started = time.perf_counter()
            for start in range(posted, posted + args.step_transfers, JOB):
                assert all(r.ok for r in await engine.post(job(start)))
            elapsed = time.perf_counter() - started
            ticks1, cpu1 = postgres_backend_ticks(database) or {}, time.process_time()
            backend = (sum(t - ticks0.get(pid, 0) for pid, t in ticks1.items())
                       / os.sysconf("SC_CLK_TCK"))
            posted += args.step_transfers
            per = 1e6 / args.step_transfers
            print(json.dumps({
                "transfers": posted, "transfers_per_s": round(args.step_transfers / elapsed),
                "cpu_us_per_transfer": {"client": round((cpu1 - cpu0) * per),
                                        "postgres": round(backend * per)},
                "waited_us_per_transfer": {k: round(WAITED[k] * per, 1) for k in STEPS_TIMED}}),
                flush=True)


if __name__ == "__main__":
    asyncio.run(main())
