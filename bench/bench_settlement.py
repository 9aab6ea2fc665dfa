"""Signed messages verified and applied through the inbox, in batches, on PostgreSQL.

    .venv/bin/python -m bench.bench_settlement --messages 20000 --batch 1000

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
import time
from decimal import Decimal

from sqlalchemy import func, select

from bench.common import bulk_workers, fresh_postgres, percentiles
from ledger.api.app import build_services
from ledger.api.deps import Services
from ledger.config import Settings
from ledger.db import repositories
from ledger.db.tables import portability_transfers
from ledger.domain.accounts import member_account
from ledger.domain.contributions import ContributionInput, PlannedTransfer
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.posting import Job, PostingEngine, Unit, now_us
from ledger.services.settle_run import run_window
from ledger.services.signing import HubSigner
from ledger.settlement.keys import HUB, Party, SigningKey
from ledger.settlement.legs import Destination, FlowPlan, FxQuote, Use, clearing_account, plan_legs
from ledger.settlement.messages import MessageType, sign_message, verify_message

OPERATOR = Principal("bench", PrincipalKind.HUB_OPERATOR)
THB = Currency.THB
MONTH = Month(2025, 1)
QUOTE = FxQuote(Decimal("0.028"), Decimal("2100"), Rounding.HALF_EVEN, "bench")


async def _contributions(svc: Services, workers: list[str], batch: int) -> None:
    for start in range(0, len(workers), batch):
        inputs = [ContributionInput(
            worker_id=w, fund="TH-SSO", scheme="s33-old-age", month=str(MONTH),
            wage_base=Money(1_500_000, THB),
            shares=[("employee", Money(45_000, THB)), ("employer", Money(45_000, THB)),
                    ("government", Money(15_000, THB))]) for w in workers[start:start + batch]]
        results = await svc.contributions.post(await svc.contributions.validate(OPERATOR, inputs))
        assert all(r.ok for r in results)


def _plan(worker: str) -> tuple[dict[str, object], list[PlannedTransfer]]:
    flow_id = f"pt-bench-{worker}"
    travelling = Money(90_000, THB)
    settlement, target = QUOTE.convert(travelling, Currency.USD, Currency.MMK)
    plan = FlowPlan(flow_id, worker, "TH-SSO", "MM-SSB", Destination.WORKER, tuple(
        (member_account(worker, "TH-SSO", "s33-old-age", p, THB), 45_000)
        for p in (Payer.EMPLOYEE, Payer.EMPLOYER)),
        (Use("transfer", 90_000, clearing_account("TH-SSO", "MM-SSB", THB)),),
        settlement, target)
    legs = plan_legs(plan)
    now = now_us()
    row = {"id": flow_id, "worker_id": worker, "flow": "transfer", "reason": "return_home",
           "host_fund": "TH-SSO", "scheme": "s33-old-age", "home_fund": "MM-SSB",
           "destination": "worker", "state": "pending", "agreement": "clmtv-2019-pilot",
           "source_minor": 90_000, "source_currency": "THB",
           "settlement_minor": settlement.amount_minor, "settlement_currency": "USD",
           "target_minor": target.amount_minor, "target_currency": "MMK",
           "months": json.dumps([MONTH.to_int()]), "linked_id": None, "window_id": None,
           "detail": json.dumps({"legs": [leg.id for leg in legs]}),
           "created_at_us": now, "updated_at_us": now}
    return row, list(legs)


async def run(messages: int, batch: int, verify_only: bool) -> dict[str, object]:
    async with fresh_postgres() as (db, url):
        svc = build_services(Settings(database_url=url), db=db,
                             signer=HubSigner(SigningKey.generate(HUB)))
        svc.committer.start()
        try:
            return await _run(svc, messages, batch, verify_only)
        finally:
            await svc.committer.stop()


async def _run(svc: Services, messages: int, batch: int, verify_only: bool
               ) -> dict[str, object]:
    setup = time.perf_counter()
    workers = await bulk_workers(svc.db, messages)
    engine = PostingEngine(svc.db)
    await _contributions(svc, workers, batch)
    for start in range(0, messages, batch):
        planned = [_plan(w) for w in workers[start:start + batch]]
        results = await engine.post_jobs(
            [Job([Unit(legs) for _, legs in planned], atomic=False)])
        assert all(r.ok for r in results[0]), results[0][0].error
        async with svc.db.engine.begin() as conn:
            await conn.execute(portability_transfers.insert(), [row for row, _ in planned])
    key = SigningKey.generate(Party("MM-SSB"))
    await svc.keys.publish(OPERATOR, "MM-SSB", {"keys": [key.public_jwk()]})
    iat = int(time.time())
    tokens = [sign_message(key, aud=HUB, typ=MessageType.TRANSFER_ACK, seq=i + 1, iat=iat,
                           ttl_s=3600, body={"flow_id": f"pt-bench-{w}", "accepted": True})
              for i, w in enumerate(workers)]
    setup_s = time.perf_counter() - setup

    out: dict[str, object] = {"workload": "inbox transfer.ack -> ledger post", "messages":
                              messages, "batch": batch, "setup_s": round(setup_s, 1)}
    if verify_only:
        registry = await svc.keys.registry()
        t0 = time.perf_counter()
        for token in tokens:
            verify_message(token, registry, HUB, iat)
        out["verify_only_per_s"] = round(messages / (time.perf_counter() - t0))
    latencies: list[float] = []
    started = time.perf_counter()
    processed = 0
    for start in range(0, messages, batch):
        t0 = time.perf_counter()
        outcomes = await svc.inbox.receive_batch(tokens[start:start + batch])
        latencies.append(time.perf_counter() - t0)
        processed += sum(1 for o in outcomes if getattr(o, "outcome", None) == "processed")
    elapsed = time.perf_counter() - started
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
    keys = {"MM-SSB": key, "TH-SSO": SigningKey.generate(Party("TH-SSO"))}
    t0 = time.perf_counter()
    window = await run_window(svc, "USD", keys, say=lambda _: None)
    out["window"] = {"flows": window["netting"]["transfer_count"], "state": window["state"],
                     "close_confirm_settle_s": round(time.perf_counter() - t0, 2),
                     "agrees": window["reconciliation"]["agrees"]}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--verify-only", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.messages, args.batch, args.verify_only))))


if __name__ == "__main__":
    main()
