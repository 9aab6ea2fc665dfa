"""The ledger's cost as it grows: the same three figures on an empty ledger and on one holding
N transfers (issue 18: 50,000,000), on PostgreSQL.

    python3 dev.py bench big_ledger --transfers 50000000      # or: .venv/bin/python -m ...

Two fresh databases (migrated: on PostgreSQL the journal is partitioned by month, ADR 0062),
each with the import's workers registered and their first month imported:
1. the "full" one gets N transfers among 100,000 accounts of their own, generated inside
   PostgreSQL (`INSERT ... SELECT` over `generate_series`, a million a statement, spread over
   the last `--months` booking months; every index, key table and trigger of the real schema
   maintained), those accounts' balances set to the sums of their transfers (the ledger
   balances), then ANALYZE (autovacuum is off here);
2. then the same three figures are measured on the empty and the full ledger, alternated
   (empty, full, full, empty, ... `--rounds` each) so that both meet the same machine:
   - batched transfers/s: plain transfers among 20,000 accounts posted by the engine in jobs of
     1,000 (as `bench_service --only transfers`), with CPU per transfer (client and backends);
   - one worker's statement: 24 months of Thai contributions booked for a new worker, then the
     statement read 50 times through `StatementService` (median and p95);
   - a month's import in the steady state (the workers' accounts exist): a Thai SSO file of
     `--import-rows` rows through `clmtv import` (rows/s, CPU of the client and backends);
3. prints one JSON line per measurement, then all of them and the ratios (full / empty, of the
   medians).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
import numpy as np

from bench.bench_import import national_ids, register, run_cli, write_file
from bench.bench_service import thai
from bench.common import analyze, fresh_postgres, postgres_backend_ticks
from ledger.adapters.th_sso.ids import national_id_check_digit
from ledger.composition import running_services
from ledger.config import Settings
from ledger.db.engine import Database
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.posting import PostingEngine, Unit
from ledger.services.workers import NewWorker

OPERATOR = Principal("bench", PrincipalKind.HUB_OPERATOR)
THB = Currency.THB
CHUNK = 1_000_000
MONTH_US = 30 * 86_400 * 1_000_000


async def batched_transfers(db: Database, label: str, count: int = 100_000,
                            accounts: int = 20_000, batch: int = 1_000) -> dict[str, object]:
    engine = PostingEngine(db, ledger_transactions(db))
    specs = [AccountSpec(f"bench/{i}", AccountCode.OPERATING, THB, AccountFlags.NONE)
             for i in range(accounts)]
    batches = [[Unit([PlannedTransfer(f"{label}-{n}", specs[n % accounts],
                                      specs[(n * 7 + 1) % accounts], 100 + n % 900, THB)])
                for n in range(start, min(count, start + batch))]
               for start in range(0, count, batch)]
    await engine.post(batches.pop(0))  # the accounts exist before the clock starts
    database = db.url.rsplit("/", 1)[1]
    ticks0, cpu0 = postgres_backend_ticks(database) or {}, time.process_time()
    started = time.perf_counter()
    for units in batches:
        results = await engine.post(units)
        assert all(r.ok for r in results)
    elapsed = time.perf_counter() - started
    ticks1, cpu1 = postgres_backend_ticks(database) or {}, time.process_time()
    posted = count - batch
    backend = sum(t - ticks0.get(pid, 0) for pid, t in ticks1.items()) / os.sysconf("SC_CLK_TCK")
    return {"transfers_per_s": round(posted / elapsed),
            "cpu_us_per_transfer": {"client": round((cpu1 - cpu0) / posted * 1e6),
                                    "postgres": round(backend / posted * 1e6)}}


def _national_id(n: int) -> str:
    body = f"2{n:011d}"  # the import's members start with 1
    return body + str(national_id_check_digit(body))


async def statement_latency(url: str, worker: str, n: int) -> dict[str, object]:
    settings = Settings(database_url=url, dev_mode=True)
    async with running_services(settings, migrate=False) as svc:
        await svc.workers.register_many(OPERATOR, [NewWorker("MM", [("TH-SSO", _national_id(n))],
                                                             id=worker)])
        months = [Month(2024, 1).plus(i) for i in range(24)]
        for month in months:
            contribution = await svc.contributions.validate(OPERATOR, [thai(worker, month)])
            results = await svc.contributions.post(contribution)
            assert all(r.ok for r in results), results
        samples = []
        for _ in range(50):
            started = time.perf_counter()
            await svc.statements.statement(OPERATOR, worker)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2)}


async def fill(url: str, transfers: int, months: int) -> dict[str, object]:
    """N transfers among 100,000 accounts of their own, booked over the last `months` months."""
    raw = await asyncpg.connect(url.replace("+asyncpg", ""), command_timeout=None)
    started = time.perf_counter()
    try:
        now_us = int(time.time() * 1_000_000)
        await raw.execute(
            "INSERT INTO accounts (key, code, currency, flags, debits_pending, debits_posted, "
            "credits_pending, credits_posted, created_at_us) "
            "SELECT 'big/' || g, $1, 'THB', 0, 0, 0, 0, 0, $2 "
            "FROM generate_series(0, 99999) g ORDER BY g", AccountCode.OPERATING.value, now_us)
        low = await raw.fetchval("SELECT min(id) FROM accounts WHERE key LIKE 'big/%'")
        assert low is not None  # ids of one statement's rows are consecutive here (one writer)
        done = 0
        while done < transfers:
            size = min(CHUNK, transfers - done)
            await raw.execute(
                "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_minor, "
                "currency, flags, code, created_at_us) "
                "SELECT 'big-' || g, $1 + g % 100000, $1 + (g * 7 + 1) % 100000, 100 + g % 900, "
                "'THB', 0, 'bench', $2 - (g % $4) * $5 - g % 1000 "
                "FROM generate_series($3::bigint, $3::bigint + $6 - 1) g",
                low, now_us - MONTH_US // 2, done, months, MONTH_US, size)
            done += size
            print(json.dumps({"filled": done, "seconds": round(time.perf_counter() - started)}),
                  flush=True)
        await raw.execute(
            "UPDATE accounts a SET debits_posted = s.total FROM (SELECT debit_account_id AS id, "
            "sum(amount_minor) AS total FROM transfers WHERE id LIKE 'big-%' GROUP BY 1) s "
            "WHERE a.id = s.id")
        await raw.execute(
            "UPDATE accounts a SET credits_posted = s.total FROM (SELECT credit_account_id AS id,"
            " sum(amount_minor) AS total FROM transfers WHERE id LIKE 'big-%' GROUP BY 1) s "
            "WHERE a.id = s.id")
        await raw.execute("ANALYZE")
        size = await raw.fetchval("SELECT pg_database_size(current_database())")
    finally:
        await raw.close()
    return {"seconds": round(time.perf_counter() - started), "database_gb": round(size / 1e9, 1)}


def month_import(url: str, members: list[str], month: Month, folder: Path) -> dict[str, object]:
    wages = np.random.default_rng(month.to_int()).integers(165_000, 3_000_000, len(members))
    path = folder / f"sso-{month}.txt"
    write_file(path, month, members, wages)
    report = run_cli(url, path)
    report["rows_per_s"] = round(int(str(report["rows"])) / float(str(report["seconds"])))
    return report


async def measure(db: Database, url: str, label: str, number: int, members: list[str],
                  month: Month, folder: Path) -> dict[str, dict[str, object]]:
    worker = f"wkr_stmt{label.replace('-', '')}"
    await analyze(url)  # as autovacuum would after the last round's rows (it is off here)
    return {"transfers": await batched_transfers(db, label),
            "statement": await statement_latency(url, worker, number),
            "import": month_import(url, members, month, folder)}


def ratios(empty: list[dict[str, dict[str, object]]], full: list[dict[str, dict[str, object]]]
           ) -> dict[str, float]:
    """Full over empty (medians of the rounds), for the figures the issue names (1.0: no
    change; each must stay within 20%)."""
    def ratio(part: str, figure: str) -> float:
        def median(runs: list[dict[str, dict[str, object]]]) -> float:
            return statistics.median(float(str(run[part][figure])) for run in runs)
        return round(median(full) / median(empty), 3)

    return {"transfers_per_s": ratio("transfers", "transfers_per_s"),
            "statement_median_ms": ratio("statement", "median_ms"),
            "import_rows_per_s": ratio("import", "rows_per_s")}


async def prepared(db: Database, url: str, members: list[str], folder: Path) -> None:
    """The import's members registered and their first month imported (untimed: the first
    file of a worker creates their accounts; the measured imports are the steady state)."""
    await register(url, members)
    month_import(url, members, Month(2026, 1), folder)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=50_000_000)
    parser.add_argument("--months", type=int, default=12, help="booking months filled")
    parser.add_argument("--import-rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    members = national_ids(args.import_rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with fresh_postgres() as (full_db, full_url):
            await prepared(full_db, full_url, members, folder)
            filled = await fill(full_url, args.transfers, args.months)
            print(json.dumps({"fill": filled}), flush=True)
            async with fresh_postgres() as (empty_db, empty_url):
                await prepared(empty_db, empty_url, members, folder)
                # Alternated (empty, full, full, empty, ...) so that both meet the same machine.
                runs: dict[str, list[dict[str, dict[str, object]]]] = {"empty": [], "full": []}
                order = [side for r in range(args.rounds)
                         for side in (("empty", "full") if r % 2 == 0 else ("full", "empty"))]
                for n, side in enumerate(order):
                    db, url = (empty_db, empty_url) if side == "empty" else (full_db, full_url)
                    run = await measure(db, url, f"{side}-{n}", n, members,
                                        Month(2026, 2).plus(n), folder)
                    runs[side].append(run)
                    print(json.dumps({side: run}), flush=True)
    print(json.dumps({"workload": "big_ledger", "transfers": args.transfers, "fill": filled,
                      **runs, "ratios": ratios(runs["empty"], runs["full"])}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
