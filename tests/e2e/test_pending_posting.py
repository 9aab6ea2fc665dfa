"""The acknowledgement fast path (`services/pending_posting.py`): the same rows and balances as
the posting engine, used in the ordinary case, and out of the way in every other case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

import ledger.services.portability as portability
from ledger.composition import Services
from ledger.db import portability_repo, repositories
from ledger.db.tables import accounts, transfers
from ledger.domain.accounts import AccountCode, AccountFlags, AccountSpec
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError
from ledger.domain.ledger import TransferFlags
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from ledger.services.pending_posting import Resolution, resolve_all
from ledger.services.portability import FlowRequest, Reason
from ledger.services.posting import Job, Unit
from ledger.settlement.legs import payout_leg, resolution
from tests.e2e.story_support import (
    OPERATOR,
    E,
    G,
    R,
    contribute,
    enrol,
    fund_principal,
    story_services,
)
from tests.e2e.test_inbox import requested_flow

pytestmark = pytest.mark.anyio
__all__ = ["story_services"]


async def _pending_flows(svc: Services, uid: str, count: int, home: str = "VN-VSS"
                         ) -> list[dict[str, Any]]:
    """Approved flows out of Thailand: to Vietnam the money goes to the home fund's member
    account; to Myanmar (no pension branch at SSB) it is paid out to the worker."""
    flows = []
    for i in range(count):
        if home == "VN-VSS":
            flow_id = await requested_flow(svc, f"{uid}{i}")
        else:
            if i == 0:  # the story's rates stop at the CLMTV funds it visits
                await svc.portability.set_rate(OPERATOR, "USD", "MMK", "2100", "test rate")
            worker = await enrol(svc, f"{uid}{i}", "MM", ("TH-SSO", home))
            await contribute(svc, worker, "TH-SSO", "s33-old-age", Month(2024, 1), 12,
                             1_500_000, {E: 45_000, R: 45_000, G: 15_050})
            flow_id = str((await svc.portability.request(OPERATOR, FlowRequest(
                worker, "TH-SSO", "s33-old-age", Reason.RETURN_HOME)))["id"])
        flows.append(await svc.portability.approve(fund_principal("TH-SSO"), flow_id))
    assert {f["state"] for f in flows} == {"pending"}
    return flows


async def _acknowledge(svc: Services, flows: list[dict[str, Any]]
                       ) -> list[dict[str, Any] | DomainError]:
    home = fund_principal(str(flows[0]["home_fund"]))
    return await svc.portability.acknowledge_many([(home, str(f["id"])) for f in flows])


async def _footprint(svc: Services, flow: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every transfer of a flow, with the worker and flow ids blanked out, and the balances of
    each account those transfers touch: what must not depend on the path taken."""
    worker, flow_id = str(flow["worker_id"]), str(flow["id"])
    debit, credit = accounts.alias("d"), accounts.alias("c")
    async with svc.db.engine.connect() as conn:
        rows = (await conn.execute(
            select(transfers.c.id, debit.c.key, credit.c.key, transfers.c.amount_minor,
                   transfers.c.currency, transfers.c.flags, transfers.c.pending_id,
                   transfers.c.code, debit.c.credits_posted - debit.c.debits_posted,
                   debit.c.debits_pending, credit.c.credits_posted - credit.c.debits_posted,
                   credit.c.credits_pending)
            .join(debit, debit.c.id == transfers.c.debit_account_id)
            .join(credit, credit.c.id == transfers.c.credit_account_id)
            .where(transfers.c.id.like(f"{flow_id}/%")))).all()

    def blank(value: Any) -> Any:
        return value.replace(flow_id, "F").replace(worker, "W") if isinstance(value, str) \
            else value
    out = []
    for row in rows:
        shared = "fund/" in row[1] or "clearing" in row[1] or "fx" in row[1] \
            or "position" in row[1]
        # Fund-wide accounts hold every flow's money: their balances differ by design.
        values = [blank(v) for v in row]
        if shared:
            values[8:10] = [None, None]
        if "fund/" in row[2] or "clearing" in row[2] or "fx" in row[2] or "position" in row[2]:
            values[10:12] = [None, None]
        out.append(tuple(values))
    return sorted(out)


@pytest.mark.parametrize("home", ["VN-VSS", "MM-SSB"])
async def test_fast_path_writes_what_the_engine_writes(
    story_services: Services, uid: str, monkeypatch: pytest.MonkeyPatch, home: str,
) -> None:
    svc = story_services
    fast_flows = await _pending_flows(svc, f"{uid}a", 3, home)
    slow_flows = await _pending_flows(svc, f"{uid}b", 3, home)
    paid_out = home == "MM-SSB"
    assert {f["destination"] for f in fast_flows} == {"worker" if paid_out else "member"}
    used: list[bool] = []
    real = portability.resolve_all

    async def spy(*args: Any) -> bool:
        used.append(await real(*args))
        return used[-1]

    async def declined(*_: Any) -> bool:
        return False

    # The engine first: a fund's first payout creates its payouts account, which the fast
    # path only looks up.
    monkeypatch.setattr(portability, "resolve_all", declined)
    slow = await _acknowledge(svc, slow_flows)
    monkeypatch.setattr(portability, "resolve_all", spy)
    fast = await _acknowledge(svc, fast_flows)

    assert used == [True]
    assert [r["state"] for r in fast if isinstance(r, dict)] == ["posted"] * 3
    assert [r["state"] for r in slow if isinstance(r, dict)] == ["posted"] * 3
    prints = [await _footprint(svc, f) for f in fast_flows + slow_flows]
    assert len(prints[0]) >= 5 and any(p[7] == "portability.post" for p in prints[0])
    assert any(p[7] == "portability.payout" for p in prints[0]) is paid_out
    assert all(p == prints[0] for p in prints), "the fast path wrote other rows or balances"
    totals = await repositories.posted_totals_by_currency(svc.db)
    assert all(d == c for d, c in totals.values()), totals


async def test_the_ordinary_batch_never_reaches_the_engine(
    story_services: Services, uid: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    svc = story_services
    flows = await _pending_flows(svc, uid, 3, "MM-SSB")
    first = await _acknowledge(svc, flows[:1])  # the fund's first payout: the engine's
    assert isinstance(first[0], dict) and first[0]["state"] == "posted"

    async def no_engine(*_: Any) -> Any:
        raise AssertionError("the engine was asked to post an ordinary acknowledgement")

    monkeypatch.setattr(svc.committer, "submit", no_engine)
    results = await _acknowledge(svc, flows[1:])
    assert [r["state"] for r in results if isinstance(r, dict)] == ["posted", "posted"]


async def test_a_resolved_leg_sends_the_batch_to_the_engine_with_nothing_written(
    story_services: Services, uid: str,
) -> None:
    svc = story_services
    flows = await _pending_flows(svc, uid, 3)
    # One leg of the first flow was posted by another path while the flow still reads pending:
    # not the ordinary case, so the fast path must leave the whole batch to the engine.
    first_legs = await _legs(svc, flows[0])
    posted = (await svc.committer.submit(Job([Unit(resolution(first_legs[:1], True))])))[0]
    assert posted.error is None
    before = await repositories.posted_totals_by_currency(svc.db)
    declined = await resolve_all(svc.committer.engine, [
        Resolution(await _legs(svc, f), True) for f in flows])
    assert declined is False
    assert await repositories.posted_totals_by_currency(svc.db) == before
    results = await _acknowledge(svc, flows)
    assert [r["state"] for r in results[1:] if isinstance(r, dict)] == ["posted", "posted"]
    totals = await repositories.posted_totals_by_currency(svc.db)
    assert all(d == c for d, c in totals.values()), totals


async def test_a_broken_balance_flag_declines(story_services: Services, uid: str) -> None:
    """A payout larger than what the worker's account received would overdraw it: declined,
    nothing written (the engine then reports exceeds_credits for that unit)."""
    svc = story_services
    flow = (await _pending_flows(svc, uid, 1, "MM-SSB"))[0]
    target = Money.from_wire(flow["target"])
    too_much = payout_leg(str(flow["id"]), str(flow["worker_id"]), str(flow["home_fund"]),
                          Money(target.amount_minor * 2, target.currency))
    before = await repositories.posted_totals_by_currency(svc.db)
    assert await resolve_all(svc.committer.engine,
                             [Resolution(await _legs(svc, flow), True, [too_much])]) is False
    assert await repositories.posted_totals_by_currency(svc.db) == before
    result = (await svc.committer.submit(Job(
        [Unit([*resolution(await _legs(svc, flow), True), too_much])])))[0]
    assert result.error is not None and result.error.code.value == "exceeds_credits"


async def test_pending_or_reversing_extras_are_not_taken(story_services: Services) -> None:
    a, b = (AccountSpec(k, AccountCode.OPERATING, Currency.USD, AccountFlags.NONE)
            for k in ("a", "b"))
    odd = PlannedTransfer("x", a, b, 1, Currency.USD, TransferFlags.PENDING)
    assert await resolve_all(story_services.committer.engine,
                             [Resolution(["leg"], True, [odd])]) is False
    assert await resolve_all(story_services.committer.engine, []) is False


async def _legs(svc: Services, flow: dict[str, Any]) -> list[str]:
    row = (await portability_repo.flows_by_ids(svc.db, [str(flow["id"])]))[str(flow["id"])]
    assert json.loads(row["detail"])["legs"] == flow["legs"]
    return list(flow["legs"])


async def test_an_id_already_taken_rolls_the_pass_back_and_the_engine_answers(
    story_services: Services, uid: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fast path does not read its own ids: a transfer already stored under one of them
    (here the payout's) fails its write on the unique index; the pass keeps nothing and the
    engine gives that flow its exact error while the others post."""
    svc = story_services
    *flows, warm_up = await _pending_flows(svc, uid, 4, "MM-SSB")
    await _acknowledge(svc, [warm_up])  # the payouts account exists from here on
    home, currency = str(flows[0]["home_fund"]), Money.from_wire(flows[0]["target"]).currency
    squatter = PlannedTransfer(
        f"{flows[0]['id']}/payout",
        AccountSpec(f"fund/{home}/test-a/{currency}", AccountCode.OPERATING, currency,
                    AccountFlags.NONE),
        AccountSpec(f"fund/{home}/test-b/{currency}", AccountCode.OPERATING, currency,
                    AccountFlags.NONE), 1, currency)
    assert (await svc.committer.submit(Job([Unit([squatter])])))[0].error is None
    used: list[bool] = []
    real = portability.resolve_all

    async def spy(*args: Any) -> bool:
        used.append(await real(*args))
        return used[-1]

    monkeypatch.setattr(portability, "resolve_all", spy)
    results = await _acknowledge(svc, flows)
    assert flows[0]["destination"] == "worker", flows[0]
    assert used == [False]
    assert isinstance(results[0], DomainError), results[0]
    assert [r["state"] for r in results[1:] if isinstance(r, dict)] == ["posted", "posted"]
    first = (await portability_repo.flows_by_ids(svc.db, [str(flows[0]["id"])]))
    assert first[str(flows[0]["id"])]["state"] == "pending"  # nothing of it was kept
    async with svc.db.engine.connect() as conn:
        resolved = (await conn.execute(select(transfers.c.id).where(
            transfers.c.pending_id.in_(flows[0]["legs"])))).all()
    assert resolved == []
    totals = await repositories.posted_totals_by_currency(svc.db)
    assert all(d == c for d, c in totals.values()), totals


async def test_an_overdraft_healed_later_in_the_batch_still_declines(
    story_services: Services, uid: str,
) -> None:
    """The engine refuses a transfer that overdraws an account even if a later one would cover
    it: checking only the batch's final balances would let it through."""
    svc = story_services
    *flows, warm_up = await _pending_flows(svc, uid, 2, "MM-SSB")
    await _acknowledge(svc, [warm_up])
    flow = flows[0]
    target = Money.from_wire(flow["target"])
    worker, home = str(flow["worker_id"]), str(flow["home_fund"])
    overdraw = payout_leg(str(flow["id"]), worker, home,
                          Money(target.amount_minor + 1, target.currency))
    refill = PlannedTransfer(
        f"{flow['id']}/refill", AccountSpec(f"fund/{home}/payouts/{target.currency}",
                                            AccountCode.OPERATING, target.currency,
                                            AccountFlags.NONE),
        overdraw.debit, 1, target.currency)
    before = await repositories.posted_totals_by_currency(svc.db)
    assert await resolve_all(svc.committer.engine, [
        Resolution(await _legs(svc, flow), True, [overdraw, refill])]) is False
    assert await repositories.posted_totals_by_currency(svc.db) == before
