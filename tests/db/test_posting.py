"""The posting engine against the real store: units, idempotency, two-phase, flags, immutability."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.db.engine import Database
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import (
    ContributionInput,
    PlannedTransfer,
    plan_transfers,
    validate_contribution,
)
from ledger.domain.errors import ErrorCode
from ledger.domain.ledger import AccountFlags, TransferFlags
from ledger.domain.money import Currency, Money
from ledger.services.posting import PostingEngine, Status, Unit

pytestmark = pytest.mark.anyio
THB = Currency.THB


def acct(uid: str, name: str, flags: AccountFlags = AccountFlags.NONE) -> AccountSpec:
    return AccountSpec(f"test/{uid}/{name}", AccountCode.OPERATING, THB, flags)


def move(tid: str, debit: AccountSpec | int, credit: AccountSpec | int, amount: int,
         flags: TransferFlags = TransferFlags.NONE, pending_id: str | None = None,
         ) -> PlannedTransfer:
    return PlannedTransfer(tid, debit, credit, amount, THB, flags, pending_id)


async def balances(db: Database, *specs: AccountSpec) -> list[tuple[int, int, int, int]]:
    async with db.engine.connect() as conn:
        out = []
        for spec in specs:
            row = (await conn.execute(text(
                "SELECT debits_pending, debits_posted, credits_pending, credits_posted "
                "FROM accounts WHERE key = :k"), {"k": spec.key})).one()
            out.append(tuple(row))
        return out


async def test_linked_unit_is_all_or_nothing(db: Database, uid: str) -> None:
    engine = PostingEngine(db, ledger_transactions(db))
    cash = acct(uid, "cash")
    wallet = acct(uid, "wallet", AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    ok, bad = await engine.post([
        Unit([move(f"{uid}-1", cash, wallet, 500)]),
        # second transfer would overdraw the wallet: the first must not apply either
        Unit([move(f"{uid}-2", cash, wallet, 100), move(f"{uid}-3", wallet, cash, 700)]),
    ])
    assert ok.status is Status.CREATED
    assert bad.status is Status.FAILED and bad.error is not None
    assert bad.error.code is ErrorCode.EXCEEDS_CREDITS and bad.error.index == 1
    assert await balances(db, cash, wallet) == [(0, 500, 0, 0), (0, 0, 0, 500)]


async def test_same_id_same_fields_exists_other_fields_conflict(db: Database, uid: str) -> None:
    engine = PostingEngine(db, ledger_transactions(db))
    a, b = acct(uid, "a"), acct(uid, "b")
    first = (await engine.post([Unit([move(f"{uid}-t", a, b, 10)])]))[0]
    again = (await engine.post([Unit([move(f"{uid}-t", a, b, 10)])]))[0]
    other = (await engine.post([Unit([move(f"{uid}-t", a, b, 11)])]))[0]
    assert first.status is Status.CREATED and again.status is Status.EXISTS
    assert again.transfers[0].created_at_us == first.transfers[0].created_at_us
    assert other.status is Status.FAILED and other.error is not None
    assert other.error.code is ErrorCode.ID_CONFLICT and other.error.field == "amount_minor"
    assert await balances(db, a, b) == [(0, 10, 0, 0), (0, 0, 0, 10)]


async def test_duplicate_inside_one_batch_is_applied_once(db: Database, uid: str) -> None:
    engine = PostingEngine(db, ledger_transactions(db))
    a, b = acct(uid, "a"), acct(uid, "b")
    results = await engine.post([Unit([move(f"{uid}-t", a, b, 10)])] * 3)
    assert [r.status for r in results] == [Status.CREATED, Status.EXISTS, Status.EXISTS]
    assert await balances(db, a, b) == [(0, 10, 0, 0), (0, 0, 0, 10)]


async def test_pending_then_post_part_and_void(db: Database, uid: str) -> None:
    engine = PostingEngine(db, ledger_transactions(db))
    a, b = acct(uid, "a"), acct(uid, "b")
    await engine.post([Unit([move(f"{uid}-p1", a, b, 100, TransferFlags.PENDING),
                             move(f"{uid}-p2", a, b, 50, TransferFlags.PENDING)])])
    assert await balances(db, a, b) == [(150, 0, 0, 0), (0, 0, 150, 0)]
    post = move(f"{uid}-post", 0, 0, 60, TransferFlags.POST_PENDING, f"{uid}-p1")
    void = move(f"{uid}-void", 0, 0, 0, TransferFlags.VOID_PENDING, f"{uid}-p2")
    res = await engine.post([Unit([post]), Unit([void])])
    assert [r.status for r in res] == [Status.CREATED, Status.CREATED]
    assert await balances(db, a, b) == [(0, 60, 0, 0), (0, 0, 0, 60)]
    again = move(f"{uid}-post2", 0, 0, 0, TransferFlags.POST_PENDING, f"{uid}-p1")
    (res2,) = await engine.post([Unit([again])])
    assert res2.error is not None and res2.error.code is ErrorCode.PENDING_ALREADY_RESOLVED


async def test_contribution_twice_changes_nothing(db: Database, uid: str) -> None:
    from tests.db.helpers import make_worker

    worker = await make_worker(db, uid)
    c = validate_contribution(ContributionInput(
        worker_id=worker, fund="TH-SSO", scheme="s33-old-age", month="2026-01",
        wage_base=Money(2000000, THB),
        shares=[("employee", Money(52500, THB)), ("employer", Money(52500, THB)),
                ("government", Money(17500, THB))]))
    engine = PostingEngine(db, ledger_transactions(db))
    first, second = await engine.post([Unit(plan_transfers(c), c)]), await engine.post(
        [Unit(plan_transfers(c), c)])
    assert first[0].status is Status.CREATED and second[0].status is Status.EXISTS
    async with db.engine.connect() as conn:
        n = (await conn.execute(text("SELECT count(*) FROM transfers WHERE contribution_id = :c"),
                                {"c": c.id})).scalar()
        p = (await conn.execute(text("SELECT count(*) FROM insurance_periods WHERE worker_id = :w"),
                                {"w": worker})).scalar()
    assert (n, p) == (3, 1)


@pytest.mark.parametrize("statement", [
    "UPDATE transfers SET amount_minor = amount_minor + 1 WHERE id = :id",
    "DELETE FROM transfers WHERE id = :id",
])
async def test_database_refuses_to_change_transfers(db: Database, uid: str, statement: str) -> None:
    engine = PostingEngine(db, ledger_transactions(db))
    await engine.post([Unit([move(f"{uid}-t", acct(uid, "a"), acct(uid, "b"), 10)])])
    with pytest.raises(Exception, match="immutable"):
        async with db.engine.begin() as conn:
            await conn.execute(text(statement), {"id": f"{uid}-t"})
