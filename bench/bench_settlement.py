"""Signed messages verified and applied through the inbox, in batches, on PostgreSQL.

    .venv/bin/python -m bench.bench_settlement --messages 20000 --batch 1000 [--processes 2]

Before the clock, on a fresh database: MESSAGES Myanmar workers in Thailand with one month of
s33 old-age contributions each, and one *pending* portability flow per worker — its legs planned
by `settlement/legs.py` exactly as an approval plans them and posted pending by the engine (the
fallback rule pays the worker: 5 pending legs, plus the payout at acknowledgement); then
MESSAGES `transfer.ack` messages signed by MM-SSB (seq 1..MESSAGES, each acknowledging one flow).

On the clock: `InboxService.receive_batch` over batches of BATCH tokens — verify each (Ed25519,
key registry, claims, canonical payload), classify against the inbox under the channel lock,
store the exact tokens, apply (every flow's 6 ledger transfers posted in one posting job, months
marked withdrawn, flows posted), store results with a signed acknowledgement per batch.
Checks afterwards: every outcome `processed`, every flow posted, every currency balances. Then
the USD window holding all those flows is closed, confirmed by both funds and settled (timed).
Prints one JSON line; `--verify-only` also times verification alone (CPU, no database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import time
from decimal import Decimal

from sqlalchemy import func, select

from bench.common import bulk_workers, fresh_postgres, percentiles, postgres_cpu_s
from ledger.app.settle_run import run_window
from ledger.composition import Services, build_services
from ledger.config import Settings
from ledger.db import repositories
from ledger.db.tables import portability_transfers
from ledger.domain.accounts import member_account
from ledger.domain.contributions import ContributionInput, PlannedTransfer
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.runtime import tune_gc
from ledger.services.posting import Job, Unit, now_us
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, Party, SigningKey
from ledger.settlement.legs import Destination, FlowPlan, FxQuote, Use, clearing_account, plan_legs
from ledger.settlement.messages import MessageType, sign_message, verify_message

OPERATOR = Principal("bench", PrincipalKind.HUB_OPERATOR)
THB = Currency.THB
MONTH = Month(2025, 1)
QUOTE = FxQuote(Decimal("0.028"), Decimal("2100"), Rounding.HALF_EVEN, "bench")
# With --processes P, flows go to P home funds and each process takes one fund's messages (its
# own channel), as P server processes would. Every flow pays the worker: the same 6 transfers.
HOMES = ("MM-SSB", "KH-NSSF", "VN-VSS")
HOME_CURRENCY = {"MM-SSB": Currency.MMK, "KH-NSSF": Currency.KHR, "VN-VSS": Currency.VND}


async def _contributions(svc: Services, workers: list[str], batch: int) -> None:
    for start in range(0, len(workers), batch):
        inputs = [ContributionInput(
            worker_id=w, fund="TH-SSO", scheme="s33-old-age", month=str(MONTH),
            wage_base=Money(1_500_000, THB),
            shares=[("employee", Money(45_000, THB)), ("employer", Money(45_000, THB)),
                    ("government", Money(15_050, THB))]) for w in workers[start:start + batch]]
        results = await svc.contributions.post(await svc.contributions.validate(OPERATOR, inputs))
        assert all(r.ok for r in results)


def _plan(worker: str, home: str) -> tuple[dict[str, object], list[PlannedTransfer]]:
    flow_id = f"pt-bench-{worker}"
    travelling = Money(90_000, THB)
    currency = HOME_CURRENCY[home]
    settlement, target = QUOTE.convert(travelling, Currency.USD, currency)
    # The employee's and employer's shares, from the worker's one member account (ADR 0026).
    plan = FlowPlan(flow_id, worker, "TH-SSO", home, Destination.WORKER,
        ((member_account(worker, "TH-SSO", "s33-old-age", THB), 90_000),),
        (Use("transfer", 90_000, clearing_account("TH-SSO", home, THB)),),
        settlement, target)
    legs = plan_legs(plan)
    now = now_us()
    row = {"id": flow_id, "worker_id": worker, "flow": "transfer", "reason": "return_home",
           "host_fund": "TH-SSO", "scheme": "s33-old-age", "home_fund": home,
           "destination": "worker", "state": "pending", "agreement": "clmtv-2019-pilot",
           "source_minor": 90_000, "source_currency": "THB",
           "settlement_minor": settlement.amount_minor, "settlement_currency": "USD",
           "target_minor": target.amount_minor, "target_currency": currency.value,
           "months": json.dumps([MONTH.to_int()]), "linked_id": None, "window_id": None,
           "detail": json.dumps({"legs": [leg.id for leg in legs]}),
           "created_at_us": now, "updated_at_us": now}
    return row, list(legs)


async def run(messages: int, batch: int, verify_only: bool, processes: int = 1,
              keep: bool = False) -> dict[str, object]:
    async with fresh_postgres(keep=keep) as (db, url):
        if keep:
            print(f"database kept: {url.rsplit('/', 1)[1]}")
        hub = SigningKey.generate(HUB)
        svc = build_services(Settings(database_url=url), db=db, signer=HubSigner(hub))
        svc.committer.start()
        try:
            return await _run(svc, messages, batch, verify_only, processes, url, hub)
        finally:
            await svc.committer.stop()


async def _run(svc: Services, messages: int, batch: int, verify_only: bool, processes: int,
               url: str, hub: SigningKey) -> dict[str, object]:
    setup = time.perf_counter()
    workers = await bulk_workers(svc.db, messages)
    homes = [HOMES[i % processes] for i in range(messages)]
    engine = svc.committer.engine
    await _contributions(svc, workers, batch)
    for start in range(0, messages, batch):
        planned = [_plan(w, h) for w, h in zip(workers[start:start + batch],
                                                 homes[start:start + batch], strict=True)]
        results = await engine.post_jobs(
            [Job([Unit(legs) for _, legs in planned], atomic=False)])
        assert all(r.ok for r in results[0]), results[0][0].error
        async with svc.db.engine.begin() as conn:
            await conn.execute(portability_transfers.insert(), [row for row, _ in planned])
    keys = {h: SigningKey.generate(Party(h)) for h in HOMES[:processes]}
    for home, key in keys.items():
        await svc.keys.publish(OPERATOR, home, {"keys": [key.public_jwk()]})
    iat = int(time.time())
    streams: dict[str, list[str]] = {h: [] for h in keys}
    for worker, home in zip(workers, homes, strict=True):
        streams[home].append(sign_message(
            keys[home], aud=HUB, typ=MessageType.TRANSFER_ACK, seq=len(streams[home]) + 1,
            iat=iat, ttl_s=3600, body={"flow_id": f"pt-bench-{worker}", "accepted": True}))
    tokens = [t for stream in streams.values() for t in stream]
    setup_s = time.perf_counter() - setup

    out: dict[str, object] = {"workload": "inbox transfer.ack -> ledger post", "messages":
                              messages, "batch": batch, "setup_s": round(setup_s, 1)}
    if verify_only:
        registry = await svc.keys.registry()
        t0 = time.perf_counter()
        for token in tokens:
            verify_message(token, registry, HUB, iat)
        out["verify_only_per_s"] = round(messages / (time.perf_counter() - t0))
    if processes == 1:
        # CPU per message, the figure that does not move with the machine's other load: this
        # process (verification threads included) and its PostgreSQL backends.
        database = url.rsplit("/", 1)[1]
        own, pg = resource.getrusage(resource.RUSAGE_SELF), postgres_cpu_s(database)
        started = time.perf_counter()
        processed, latencies = await _apply_stream(svc, tokens, batch)
        elapsed = time.perf_counter() - started
        after, pg_after = resource.getrusage(resource.RUSAGE_SELF), postgres_cpu_s(database)
        spent = after.ru_utime + after.ru_stime - own.ru_utime - own.ru_stime
        out["python_cpu_us_per_message"] = round(spent / messages * 1e6)
        if pg is not None and pg_after is not None:
            out["postgres_cpu_us_per_message"] = round((pg_after - pg) / messages * 1e6)
    else:
        processed, latencies, elapsed = _apply_in_processes(url, hub, list(streams.values()),
                                                            batch)
    out["processes"] = processes
    totals = await repositories.posted_totals_by_currency(svc.db)
    async with svc.db.engine.connect() as conn:
        posted = (await conn.execute(select(func.count()).select_from(portability_transfers)
                                     .where(portability_transfers.c.state == "posted"))).scalar()
    assert posted == messages, posted
    assert processed == messages, f"only {processed} of {messages} processed"
    assert all(d == c for d, c in totals.values()), totals
    out.update({"seconds": round(elapsed, 2), "messages_per_s": round(messages / elapsed),
                "ledger_transfers_per_s": round(6 * messages / elapsed),
                **percentiles(latencies)})
    # Then the window holding every one of those flows: close (net, sign), both funds confirm
    # by signed message, settle (post, reconcile).
    keys["TH-SSO"] = SigningKey.generate(Party("TH-SSO"))
    t0 = time.perf_counter()
    window = await run_window(svc, "USD", keys, say=lambda _: None)
    out["window"] = {"flows": window["netting"]["transfer_count"], "state": window["state"],
                     "close_confirm_settle_s": round(time.perf_counter() - t0, 2),
                     "agrees": window["reconciliation"]["agrees"]}
    return out


async def _apply_stream(svc: Services, tokens: list[str], batch: int
                        ) -> tuple[int, list[float]]:
    latencies: list[float] = []
    processed = 0
    for start in range(0, len(tokens), batch):
        t0 = time.perf_counter()
        outcomes = await svc.inbox.receive_batch(tokens[start:start + batch])
        latencies.append(time.perf_counter() - t0)
        processed += sum(1 for o in outcomes if getattr(o, "outcome", None) == "processed")
    return processed, latencies


def _process(url: str, hub_jwk: dict[str, object], tokens: list[str], batch: int,
             start_at: float) -> tuple[int, list[float], float]:
    """One server process's share: its own pool and committer, one fund's channel."""

    tune_gc()

    async def go() -> tuple[int, list[float], float]:
        svc = build_services(Settings(database_url=url),
                             signer=HubSigner(SigningKey.from_private_jwk(HUB, hub_jwk)))
        svc.committer.start()
        try:
            await asyncio.sleep(max(0.0, start_at - time.time()))
            processed, latencies = await _apply_stream(svc, tokens, batch)
            return processed, latencies, time.time()
        finally:
            await svc.committer.stop()
            await svc.db.dispose()

    return asyncio.run(go())


def _apply_in_processes(url: str, hub: SigningKey, streams: list[list[str]], batch: int
                        ) -> tuple[int, list[float], float]:
    start_at = time.time() + 5  # every process imported and connected before the clock
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(streams)) as pool:
        results = pool.starmap(_process, [(url, hub.private_jwk(), stream, batch, start_at)
                                          for stream in streams])
    latencies = [latency for _, found, _ in results for latency in found]
    return (sum(n for n, _, _ in results), latencies,
            max(end for _, _, end in results) - start_at)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--verify-only", action="store_true")
    parser.add_argument("--processes", type=int, default=1, choices=(1, 2, 3))
    parser.add_argument("--keep", action="store_true",
                        help="keep the database afterwards (to EXPLAIN its queries)")
    args = parser.parse_args()
    tune_gc()  # as every clmtv server process does at start-up (ADR 0025)
    print(json.dumps(asyncio.run(run(args.messages, args.batch, args.verify_only,
                                     args.processes, args.keep))))


if __name__ == "__main__":
    main()
