"""The ledger's guards through the posting engine on the store: a refused post, void or
transfer leaves balances and journal exactly as they were; named contributions both book."""

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
from ledger.domain.ledger import TransferFlags
from ledger.domain.money import AMOUNT_MINOR_MAX, Currency, Money
from ledger.services.posting import PostingEngine, Status, Unit

pytestmark = pytest.mark.anyio
THB = Currency.THB
POST, VOID = TransferFlags.POST_PENDING, TransferFlags.VOID_PENDING


Rows = list[tuple[object, ...]]


async def state(db: Database, uid: str) -> tuple[Rows, Rows]:
    """(balances, journal) of this test's accounts."""
    async with db.engine.connect() as conn:
        balances = (await conn.execute(text(
            "SELECT key, debits_pending, debits_posted, credits_pending, credits_posted "
            "FROM accounts WHERE key LIKE :p ORDER BY key"), {"p": f"guard/{uid}/%"})).all()
        journal = (await conn.execute(text(
            "SELECT t.id, t.amount_minor, t.flags, t.pending_id FROM transfers t "
            "JOIN accounts a ON a.id = t.debit_account_id WHERE a.key LIKE :p ORDER BY t.seq"),
            {"p": f"guard/{uid}/%"})).all()
    return [tuple(r) for r in balances], [tuple(r) for r in journal]


async def booked(db: Database, uid: str) -> tuple[PostingEngine, str, str]:
    """Accounts a -> b with 100 moved (`{uid}-moved`) and 100 reserved (`{uid}-reserved`)."""
    engine = PostingEngine(db, ledger_transactions(db))
    a, b = (AccountSpec(f"guard/{uid}/{n}", AccountCode.OPERATING, THB, 0) for n in "ab")
    (result,) = await engine.post([Unit([
        PlannedTransfer(f"{uid}-moved", a, b, 100, THB),
        PlannedTransfer(f"{uid}-reserved", a, b, 100, THB, TransferFlags.PENDING)])])
    assert result.status is Status.CREATED
    return engine, f"{uid}-moved", f"{uid}-reserved"


def resolution(tid: str, pending_id: str, flags: TransferFlags, amount: int = 0,
               ) -> PlannedTransfer:
    return PlannedTransfer(tid, 0, 0, amount, THB, flags, pending_id)


@pytest.mark.parametrize("flags", [POST, VOID])
async def test_posting_or_voiding_a_posted_transfer_changes_nothing(
    db: Database, uid: str, flags: TransferFlags,
) -> None:
    engine, moved, _ = await booked(db, uid)
    before = await state(db, uid)
    (result,) = await engine.post([Unit([resolution(f"{uid}-r", moved, flags)])])
    assert result.error is not None
    assert (result.error.code, result.error.field) == (ErrorCode.NOT_PENDING, "pending_id")
    assert await state(db, uid) == before


async def test_posting_more_than_reserved_changes_nothing(db: Database, uid: str) -> None:
    engine, _, reserved = await booked(db, uid)
    before = await state(db, uid)
    (result,) = await engine.post([Unit([resolution(f"{uid}-r", reserved, POST, 101)])])
    assert result.error is not None
    assert (result.error.code, result.error.field) == (
        ErrorCode.PENDING_AMOUNT_EXCEEDED, "amount_minor")
    assert await state(db, uid) == before
    (result,) = await engine.post([Unit([resolution(f"{uid}-r", reserved, POST, 100)])])
    assert result.status is Status.CREATED


async def test_resolving_one_reservation_twice_in_a_unit_changes_nothing(
    db: Database, uid: str,
) -> None:
    engine, _, reserved = await booked(db, uid)
    before = await state(db, uid)
    (result,) = await engine.post([Unit([resolution(f"{uid}-p", reserved, POST, 30),
                                         resolution(f"{uid}-v", reserved, VOID)])])
    assert result.error is not None
    assert (result.error.code, result.error.index) == (ErrorCode.PENDING_ALREADY_RESOLVED, 1)
    assert await state(db, uid) == before


@pytest.mark.parametrize("amount", [0, AMOUNT_MINOR_MAX])
async def test_a_zero_or_overflowing_transfer_changes_nothing(
    db: Database, uid: str, amount: int,
) -> None:
    engine, _, _ = await booked(db, uid)
    before = await state(db, uid)
    a, b = (AccountSpec(f"guard/{uid}/{n}", AccountCode.OPERATING, THB, 0) for n in "ab")
    (result,) = await engine.post([Unit([PlannedTransfer(f"{uid}-x", a, b, amount, THB)])])
    assert result.error is not None
    assert result.error.code is (ErrorCode.INVALID_AMOUNT if amount == 0 else ErrorCode.OVERFLOW)
    assert await state(db, uid) == before


async def test_two_employers_name_their_contributions_for_one_month(
    db: Database, uid: str,
) -> None:
    """Each keeps its caller-named id, both book into the worker's one member account, and the
    month is one insurance period (the first contribution's)."""
    worker = f"wkr_{uid}"
    contributions = [validate_contribution(ContributionInput(
        worker_id=worker, fund="TH-SSO", scheme="s33-old-age", month="2026-01",
        wage_base=Money(900_000, THB), shares=[("employer", Money(amount, THB))], id=cid))
        for cid, amount in ((f"emp-a/{uid}", 27_000), (f"emp-b/{uid}", 13_500))]
    engine = PostingEngine(db, ledger_transactions(db))
    results = await engine.post([Unit(plan_transfers(c), c) for c in contributions])
    assert [r.status for r in results] == [Status.CREATED, Status.CREATED]
    async with db.engine.connect() as conn:
        member = (await conn.execute(text(
            "SELECT credits_posted FROM accounts WHERE key = :k"),
            {"k": f"member/{worker}/TH-SSO/s33-old-age/THB"})).scalar_one()
        ids = (await conn.execute(text(
            "SELECT id FROM contributions WHERE worker_id = :w ORDER BY id"),
            {"w": worker})).scalars().all()
        periods = (await conn.execute(text(
            "SELECT contribution_id FROM insurance_periods WHERE worker_id = :w"),
            {"w": worker})).scalars().all()
    assert member == 40_500
    assert list(ids) == [f"emp-a/{uid}", f"emp-b/{uid}"]
    assert list(periods) == [f"emp-a/{uid}"]
