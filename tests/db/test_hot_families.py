"""Hot account families (ADR 0036): each committer books to its own sub-account, retries
through another committer are the same transfer, and committers claim distinct slots."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from ledger.db.engine import Database
from ledger.db.slots import claim_slot
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import (
    HOT_ACCOUNT_SHARDS,
    AccountCode,
    AccountSpec,
    family_keys,
    hot,
    shard_key,
)
from ledger.domain.contributions import ContributionInput, plan_transfers, validate_contribution
from ledger.domain.errors import ErrorCode
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency, Money
from ledger.services.group_commit import GroupCommitter
from ledger.services.posting import Job, PostingEngine, Status, Unit
from tests.db.helpers import make_worker
from tests.db.test_posting import acct, move

pytestmark = pytest.mark.anyio


def _engine(db: Database, slot: int) -> PostingEngine:
    return PostingEngine(db, ledger_transactions(db), slot=slot)


async def _debits(db: Database, keys: list[str]) -> dict[str, int]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT key, debits_posted FROM accounts WHERE key IN ("
            + ", ".join(f":k{i}" for i in range(len(keys))) + ")"),
            {f"k{i}": k for i, k in enumerate(keys)})).all()
    return {str(r[0]): int(r[1]) for r in rows}


async def test_each_engine_books_a_family_to_its_own_sub_account(db: Database, uid: str) -> None:
    cash = hot(acct(uid, "cash"))
    wallet = acct(uid, "wallet")
    first, second = _engine(db, 0), _engine(db, 3)
    (a,) = await first.post([Unit([move(f"{uid}-a", cash, wallet, 500)])])
    (b,) = await second.post([Unit([move(f"{uid}-b", cash, wallet, 700)])])
    assert a.status is b.status is Status.CREATED
    found = await _debits(db, family_keys(cash.key))
    assert found == {shard_key(cash.key, 0): 500, shard_key(cash.key, 3): 700}
    assert cash.key not in found  # the family key itself is never booked by the engine


async def test_a_retry_through_another_slot_is_the_same_transfer(db: Database, uid: str) -> None:
    cash, wallet = hot(acct(uid, "cash")), acct(uid, "wallet")
    (created,) = await _engine(db, 1).post([Unit([move(f"{uid}-t", cash, wallet, 90)])])
    other = _engine(db, 2)
    # In one pass with a fresh transfer of the same family, so slot 2's sub-account is resolved.
    again, fresh = await other.post([Unit([move(f"{uid}-t", cash, wallet, 90)]),
                                     Unit([move(f"{uid}-u", cash, wallet, 10)])])
    assert created.status is Status.CREATED
    assert again.status is Status.EXISTS and fresh.status is Status.CREATED
    (changed,) = await other.post([Unit([move(f"{uid}-t", cash, wallet, 91)])])
    assert changed.error is not None and changed.error.code is ErrorCode.ID_CONFLICT
    assert changed.error.field == "amount_minor"
    assert await _debits(db, family_keys(cash.key)) == {
        shard_key(cash.key, 1): 90, shard_key(cash.key, 2): 10}


async def test_a_slot_beyond_the_family_wraps_around(db: Database, uid: str) -> None:
    cash = AccountSpec(f"test/{uid}/small", AccountCode.OPERATING, Currency.THB,
                       AccountFlags.NONE, shards=4)
    await _engine(db, 6).post([Unit([move(f"{uid}-w", cash, acct(uid, "w"), 5)])])
    assert await _debits(db, [shard_key(cash.key, 2)]) == {shard_key(cash.key, 2): 5}


async def test_api_contributions_debit_the_fund_collections_family(db: Database,
                                                                   uid: str) -> None:
    worker = await make_worker(db, uid)
    contribution = validate_contribution(ContributionInput(
        worker_id=worker, fund="TH-SSO", scheme="s33-old-age", month="2025-03",
        wage_base=Money(1_500_000, Currency.THB),
        shares=[("employee", Money(45_000, Currency.THB)),
                ("government", Money(15_000, Currency.THB))]))
    planned = plan_transfers(contribution)
    assert all(isinstance(t.debit, AccountSpec) and t.debit.shards == HOT_ACCOUNT_SHARDS
               for t in planned)
    (result,) = await _engine(db, 7).post([Unit(planned, contribution)])
    assert result.status is Status.CREATED
    async with db.engine.connect() as conn:
        keys = set((await conn.execute(text(
            "SELECT a.key FROM transfers t JOIN accounts a ON a.id = t.debit_account_id "
            "WHERE t.contribution_id = :c"), {"c": contribution.id})).scalars())
    assert keys == {"fund/TH-SSO/collections/THB/s07", "fund/TH-SSO/government/THB/s07"}


@pytest.mark.postgres_only
async def test_processes_claim_distinct_slots_and_release_them(db: Database) -> None:
    first = await claim_slot(db, HOT_ACCOUNT_SHARDS)
    second = await claim_slot(db, HOT_ACCOUNT_SHARDS)
    try:
        assert first.slot != second.slot
        freed = first.slot
        await first.release()
        third = await claim_slot(db, HOT_ACCOUNT_SHARDS)
        assert third.slot == freed  # a slot is free again once its holder lets go
        await third.release()
    finally:
        await first.release()
        await second.release()


@pytest.mark.postgres_only
async def test_two_committers_book_to_different_sub_accounts(db: Database, uid: str) -> None:
    cash, wallet = hot(acct(uid, "cash")), acct(uid, "wallet")
    committers = [GroupCommitter(PostingEngine(db, ledger_transactions(db))) for _ in range(2)]
    try:
        results = await asyncio.gather(*(
            c.submit(Job([Unit([move(f"{uid}-{i}", cash, wallet, 1)])]))
            for i, c in enumerate(committers)))
        assert all(r[0].status is Status.CREATED for r in results)
        slots = {c.engine.slot for c in committers}
        assert len(slots) == 2
        assert set(await _debits(db, family_keys(cash.key))) == {
            shard_key(cash.key, s) for s in slots}
    finally:
        for c in committers:
            await c.stop()
