"""Does sealing the journal slow the posting path? Rounds with and without the sealer, alternating.

    python3 dev.py bench journal            # or: .venv/bin/python -m bench.bench_journal

One fresh PostgreSQL database. Each round posts TRANSFERS plain transfers through the posting
engine in jobs of BATCH, as one writer; in a *sealing* round the journal's sealer runs beside it
in the same process, as in a server (`JournalService.run_sealer`, every INTERVAL seconds),
and the round ends when everything it posted is sealed. Before each round the backlog of the
previous one is sealed outside the clock. Rounds alternate (off, on, off, on, ...) so that a
drift of the machine hits both alike. Per round: transfers/s, batch latency, and CPU per
transfer: this process (posting, and sealing when on) and the database's backends, from /proc.
The last line gives the medians per mode.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from typing import Any

from bench.common import fresh_postgres, percentiles, postgres_cpu_s
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency
from ledger.services.journal import JournalService
from ledger.services.posting import PostingEngine, Unit
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, SigningKey

THB = Currency.THB


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6, help="rounds in all, half sealing")
    parser.add_argument("--transfers", type=int, default=20_000, help="per round")
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between seals")
    args = parser.parse_args()
    async with fresh_postgres() as (db, url):
        engine = PostingEngine(db, ledger_transactions(db))
        journal = JournalService(db, HubSigner(SigningKey.generate(HUB)))
        specs = [AccountSpec(f"bench/{i}", AccountCode.OPERATING, THB, AccountFlags.NONE)
                 for i in range(args.accounts)]
        database = url.rsplit("/", 1)[1]
        results: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for number in range(args.rounds):
            sealing = number % 2 == 1
            await journal.seal_all()
            first = number * args.transfers
            batches = [[Unit([PlannedTransfer(f"r{number}t{n}", specs[n % args.accounts],
                                              specs[(n * 7 + 1) % args.accounts],
                                              100 + n % 900, THB)])
                        for n in range(start, min(first + args.transfers, start + args.batch))]
                       for start in range(first, first + args.transfers, args.batch)]
            sealer = (asyncio.create_task(journal.run_sealer(args.interval)) if sealing
                      else None)
            latencies: list[float] = []
            cpu0, db0 = time.process_time(), postgres_cpu_s(database) or 0.0
            started = time.perf_counter()
            for units in batches:
                t0 = time.perf_counter()
                assert all(r.ok for r in await engine.post(units))
                latencies.append(time.perf_counter() - t0)
            posting_s = time.perf_counter() - started
            if sealer is not None:
                while (await journal.seal_all()) or journal.backlog:
                    pass
                sealer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sealer
            cpu = time.process_time() - cpu0
            db_cpu = (postgres_cpu_s(database) or 0.0) - db0
            row = {"round": number, "sealing": sealing, "transfers": args.transfers,
                   "transfers_per_s": round(args.transfers / posting_s),
                   "batch_latency": percentiles(latencies),
                   "app_cpu_us_per_transfer": round(cpu / args.transfers * 1e6, 1),
                   "db_cpu_us_per_transfer": round(db_cpu / args.transfers * 1e6, 1),
                   "seals": journal.seals_made}
            print(json.dumps(row), flush=True)
            results[sealing].append(row)
        summary = {}
        for mode, rows in results.items():
            summary["sealing" if mode else "not_sealing"] = {
                key: statistics.median(float(r[key]) for r in rows)
                for key in ("transfers_per_s", "app_cpu_us_per_transfer",
                            "db_cpu_us_per_transfer")} | {
                "batch_p50_ms": statistics.median(r["batch_latency"]["p50_ms"] for r in rows)}
        print(json.dumps({"summary": summary, "batch": args.batch,
                          "interval_s": args.interval}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
