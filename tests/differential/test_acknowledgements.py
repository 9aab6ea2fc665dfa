"""The acknowledgement fast path (`services/pending_posting.py`, ADR 0024) against the posting
engine, on random batches.

Each example builds the same portability flows on two fresh databases — paid home to a member
account (Vietnam) or paid out to the worker (Myanmar), some of them broken in one of the ways
that must send a batch to the engine: a leg missing, a leg already posted or voided, a payout
that would overdraw the worker's account, an id already taken by another transfer, a flow not
approved — then acknowledges the same batches (with repeated, unknown and unauthorised items)
on one with the fast path and on the other through the engine alone
(`PortabilityService(fast_acknowledgements=False)`). Every answer, and every row of both
databases (transfers in order, balances, periods, flows), must be the same; and the fast path
must have taken exactly the batches that are the ordinary case, and declined the others.

Both stores: the fast path runs on SQLite and on PostgreSQL alike. `HYPOTHESIS_PROFILE=soak`
runs many more examples (docs/testing.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from unittest import mock

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import select, update

import ledger.services.portability as portability
from ledger.adapters.context import WorkerContext
from ledger.adapters.registry import get_adapter
from ledger.config import DEV_PII_ENCRYPTION_KEY, DEV_PII_HMAC_KEY
from ledger.db import portability_repo
from ledger.db.engine import Database
from ledger.db.stores import ledger_transactions
from ledger.db.tables import accounts, portability_transfers
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import ContributionInput, PlannedTransfer
from ledger.domain.errors import DomainError
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.domain.pii import PiiVault
from ledger.domain.principals import Principal
from ledger.services import pending_posting
from ledger.services.contributions import ContributionService
from ledger.services.group_commit import GroupCommitter
from ledger.services.portability import FlowRequest, PortabilityService, Reason
from ledger.services.posting import Job, PostingEngine, Unit, now_us
from ledger.services.workers import NewWorker, WorkerService
from ledger.settlement.agreement import bundled_agreement
from ledger.settlement.legs import payouts_account, resolution, resolution_id
from tests.api.helpers import member_number
from tests.differential.support import (
    FreshDatabases,
    differential_settings,
    first_difference,
    fresh,
    ledger_state,
    scratch_databases,
    store_under_test,
)
from tests.e2e.story_support import OPERATOR, RATES, fund_principal

pytestmark = pytest.mark.anyio
__all__ = ["fresh", "scratch_databases"]

HOST = "TH-SSO"
AGREEMENT = bundled_agreement("clmtv-2019-pilot")  # parsed once: a tenth of a second a time
PAYOUTS = payouts_account("MM-SSB", Currency.MMK).key  # created by Myanmar's first payout
# Broken so that the batch must go to the engine. "requested": never approved (refused before
# the ledger). Only a payout can overdraw (posting pending legs cannot break a flag).
ODD_HOME = ("missing_leg", "posted_leg", "voided_leg", "taken_resolution_id", "requested")
ODD_PAID_OUT = (*ODD_HOME, "overdraw", "taken_payout_id")
# Besides each flow's acknowledgement by its home fund, a batch may hold one more item: the
# same flow again, a flow that does not exist, the host fund acknowledging (not allowed), or the
# hub operator acknowledging instead of the home fund (allowed).
EXTRAS = (None, None, None, "again", "unknown", "host", "operator")


@dataclass(frozen=True)
class PlannedFlow:
    home: str  # "VN-VSS": paid into the home fund's member account; "MM-SSB": paid out
    months: int
    wage: int
    odd: str | None = None
    overdraw_by: int = 0


@dataclass(frozen=True)
class Item:
    flow: int  # an index into the flows, or -1: a flow id that does not exist
    who: str  # "home", "operator" or "host"


@dataclass(frozen=True)
class Scenario:
    flows: tuple[PlannedFlow, ...]
    batches: tuple[tuple[Item, ...], ...]
    warm: bool  # Myanmar's payouts account exists before the first batch


def _batch(flows: int) -> st.SearchStrategy[tuple[Item, ...]]:
    def items(indexes: list[int], extra: str | None) -> tuple[Item, ...]:
        out = [Item(i, "home") for i in indexes]
        if extra == "again":
            out.append(Item(indexes[0], "home"))
        elif extra == "unknown":
            out.append(Item(-1, "home"))
        elif extra == "host":
            out.append(Item(indexes[0], "host"))
        elif extra == "operator":
            out[0] = Item(indexes[0], "operator")
        return tuple(out)

    return st.builds(items, st.lists(st.integers(0, flows - 1), min_size=1, max_size=flows,
                                     unique=True), st.sampled_from(EXTRAS))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """At most one flow broken, so that it is the one reason its batch must be declined."""
    flows = draw(st.lists(st.builds(PlannedFlow, st.sampled_from(["VN-VSS", "MM-SSB"]),
                                    st.integers(1, 6), st.integers(100_000, 1_500_000)),
                          min_size=1, max_size=4))
    if draw(st.integers(0, 4)) < 3:
        index = draw(st.integers(0, len(flows) - 1))
        odd = draw(st.sampled_from(ODD_PAID_OUT if flows[index].home == "MM-SSB"
                                   else ODD_HOME))
        flows[index] = replace(flows[index], odd=odd, overdraw_by=draw(st.integers(1, 10**9)))
    batches = draw(st.lists(_batch(len(flows)), min_size=1, max_size=3))
    return Scenario(tuple(flows), tuple(batches), draw(st.booleans()))


@dataclass
class Observed:
    answers: list[list[Any]]
    fast_path: list[bool]  # what the fast path answered, batch by batch, when it was asked
    expected: list[bool]  # what it should have answered (see `_ordinary`)
    state: dict[str, list[tuple[Any, ...]]]


@dataclass
class Ledger:
    """The services an example uses, on one database: fresh ones per example (the posting
    engine caches account ids). `portability` prepares the flows; `acknowledging` is the
    service under test, with or without its fast path."""

    db: Database
    committer: GroupCommitter
    workers: WorkerService
    portability: PortabilityService
    acknowledging: PortabilityService

    @classmethod
    def on(cls, db: Database, fast: bool) -> Ledger:
        committer = GroupCommitter(PostingEngine(db, ledger_transactions(db)))
        return cls(db, committer,
                   WorkerService(db, PiiVault(DEV_PII_HMAC_KEY, DEV_PII_ENCRYPTION_KEY)),
                   PortabilityService(db, committer, AGREEMENT),
                   PortabilityService(db, committer, AGREEMENT, fast_acknowledgements=fast))


async def _build(ledger: Ledger, flows: Sequence[PlannedFlow]) -> list[str]:
    """The scenario's flows' workers and months (posted in one batch: setting up is most of an
    example's time), then the flows."""
    workers = []
    inputs = []
    for index, plan in enumerate(flows):
        uid = f"d1ff{index:02x}"
        workers.append(f"wkr_{uid}")
        await ledger.workers.create(OPERATOR, NewWorker(
            "VN" if plan.home == "VN-VSS" else "MM",
            [(f, member_number(f, uid)) for f in (HOST, plan.home)], None, None, workers[-1]))
        # The fund's own amounts for the wage (the contribution service holds them to it).
        quote = get_adapter(HOST).contribution(WorkerContext(), "s33-old-age", Month(2024, 1),
                                               Money(plan.wage, Currency.THB))
        inputs += [ContributionInput(
            worker_id=workers[-1], fund=HOST, scheme="s33-old-age",
            month=str(Month(2024, 1).plus(i)), wage_base=quote.wage_base,
            shares=[(p.value, m) for p, m in quote.shares])
            for i in range(plan.months)]
    contributions = ContributionService(ledger.committer, ledger.workers)
    results = await contributions.post(await contributions.validate(OPERATOR, inputs))
    assert all(r.ok for r in results)
    return [await _open(ledger, worker, plan) for worker, plan in zip(workers, flows,
                                                                       strict=True)]


async def _open(ledger: Ledger, worker: str, plan: PlannedFlow) -> str:
    """One flow, requested and approved (its legs pending), then broken as planned."""
    svc = ledger.portability
    flow_id = str((await svc.request(OPERATOR, FlowRequest(
        worker, HOST, "s33-old-age", Reason.RETURN_HOME)))["id"])
    if plan.odd == "requested":
        return flow_id
    flow = await svc.approve(fund_principal(HOST), flow_id)
    legs = list(flow["legs"])
    if plan.odd == "missing_leg":
        await _set_flow(ledger.db, flow_id, detail=json.dumps({
            **json.loads((await portability_repo.flow(ledger.db, flow_id) or {})["detail"]),
            "legs": [*legs[:-1], f"{legs[-1]}-gone"]}))
    elif plan.odd in ("posted_leg", "voided_leg"):
        result = (await ledger.committer.submit(Job([Unit(resolution(
            legs[1:2], plan.odd == "posted_leg"))])))[0]
        assert result.error is None, result.error
    elif plan.odd == "overdraw":
        await _set_flow(ledger.db, flow_id,
                        target_minor=int(flow["target"]["amount_minor"]) + plan.overdraw_by)
    elif plan.odd in ("taken_resolution_id", "taken_payout_id"):
        taken = (resolution_id(legs[0], True) if plan.odd == "taken_resolution_id"
                 else f"{flow_id}/payout")
        a, b = (AccountSpec(f"test/{side}/THB", AccountCode.OPERATING, Currency.THB,
                            AccountFlags.NONE) for side in "ab")
        result = (await ledger.committer.submit(Job([Unit([PlannedTransfer(
            taken, a, b, 1, Currency.THB)])])))[0]
        assert result.error is None, result.error
    return flow_id


async def _set_flow(db: Database, flow_id: str, **values: Any) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(update(portability_transfers)
                           .where(portability_transfers.c.id == flow_id).values(**values))


def _principal(item: Item, plan: PlannedFlow | None) -> Principal:
    if item.who == "operator":
        return OPERATOR
    home = plan.home if plan is not None else "VN-VSS"
    return fund_principal(home if item.who == "home" else HOST)


async def _ordinary(db: Database, scenario: Scenario, ids: list[str],
                    batch: Sequence[Item]) -> bool | None:
    """Whether the fast path must take this batch (True), decline it (False), or is not asked
    (None: no item reaches the ledger). It takes the ledger's part of the batch only when no
    flow in it is broken, none comes twice, and Myanmar's payouts account already exists."""
    rows = await portability_repo.flows_by_ids(db, ids)
    reaching = [item.flow for item in batch if item.flow >= 0 and item.who != "host"
                and rows[ids[item.flow]]["state"] == "pending"]
    if not reaching:
        return None
    async with db.engine.connect() as conn:
        payouts = (await conn.execute(select(accounts.c.id).where(
            accounts.c.key == PAYOUTS))).first() is not None
    flows = [scenario.flows[i] for i in reaching]
    return (len(set(reaching)) == len(reaching) and all(f.odd is None for f in flows)
            and (payouts or all(f.home == "VN-VSS" for f in flows)))


def _answer(outcome: dict[str, Any] | DomainError) -> Any:
    if isinstance(outcome, DomainError):
        return ("error", outcome.code.value, outcome.message, outcome.field, outcome.index,
                outcome.details)
    return outcome


async def _run(db: Database, scenario: Scenario, fast: bool) -> Observed:
    ledger = Ledger.on(db, fast)
    ledger.committer.start()
    try:
        rates = [*RATES, ("USD", "MMK", "2100")]
        for base, quote, rate in rates:
            await ledger.portability.set_rate(OPERATOR, base, quote, rate, "test rate")
        if scenario.warm:  # as the engine creates it on a fund's first payout
            async with ledger_transactions(db)(db) as tx:
                await tx.ensure_accounts([payouts_account("MM-SSB", Currency.MMK)], now_us())
        ids = await _build(ledger, scenario.flows)
        observed = Observed([], [], [], {})
        real = pending_posting.resolve_all

        async def spy(*args: Any) -> bool:
            observed.fast_path.append(await real(*args))
            return observed.fast_path[-1]

        with mock.patch.object(portability, "resolve_all", spy):
            for batch in scenario.batches:
                expected = await _ordinary(db, scenario, ids, batch)
                if expected is not None:
                    observed.expected.append(expected)
                items = [(_principal(item, scenario.flows[item.flow] if item.flow >= 0
                                     else None), ids[item.flow] if item.flow >= 0
                          else "pt-no-such-flow") for item in batch]
                observed.answers.append([_answer(o) for o in
                                         await ledger.acknowledging.acknowledge_many(items)])
    finally:
        await ledger.committer.stop()
    observed.state = await ledger_state(db)
    return observed


@given(scenario=scenarios())
@differential_settings(default=10, soak=300)
async def test_the_fast_path_writes_and_answers_what_the_engine_does(
    fresh: FreshDatabases, scenario: Scenario,
) -> None:
    store = store_under_test()
    async with fresh.database(store) as db:
        fast = await _run(db, scenario, fast=True)
    async with fresh.database(store) as db:
        general = await _run(db, scenario, fast=False)

    assert general.fast_path == []  # the switch keeps every batch on the engine
    assert fast.fast_path == fast.expected, "the fast path took or declined the wrong batches"
    for taken in fast.fast_path:
        event(f"fast path {'taken' if taken else 'declined'}")
    assert fast.answers == general.answers
    difference = first_difference(fast.state, general.state)
    assert difference is None, difference
