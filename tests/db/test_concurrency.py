"""Many writers on the same accounts at once (PostgreSQL): no lost update, flags always hold.

Each writer has its own engine and connection pool, as separate server processes would. Writers
credit and debit one hot account whose flag forbids debits above credits; many debits must fail.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import text

from ledger.db.engine import open_database
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import ErrorCode
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency
from ledger.services.posting import PostingEngine, Status, Unit

pytestmark = [pytest.mark.anyio, pytest.mark.postgres_only]

WRITERS = 6
ROUNDS = 25
UNITS_PER_ROUND = 4


async def test_concurrent_writers_lose_nothing_and_respect_flags(database_url: str,
                                                                 uid: str) -> None:
    source = AccountSpec(f"conc/{uid}/source", AccountCode.OPERATING, Currency.THB,
                         AccountFlags.NONE)
    hot = AccountSpec(f"conc/{uid}/hot", AccountCode.OPERATING, Currency.THB,
                      AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    seed_db = open_database(database_url, 2)
    seed = PostingEngine(seed_db, ledger_transactions(seed_db))
    (funded,) = await seed.post([Unit([PlannedTransfer(f"{uid}-seed", source, hot, 1000,
                                                       Currency.THB)])])
    assert funded.status is Status.CREATED

    async def writer(number: int) -> tuple[int, int, int]:
        db = open_database(database_url, 2)
        engine = PostingEngine(db, ledger_transactions(db))
        rng = random.Random(number)
        credits = debits = refused = 0
        try:
            for round_ in range(ROUNDS):
                units, kinds = [], []
                for slot in range(UNITS_PER_ROUND):
                    tid = f"{uid}-{number}-{round_}-{slot}"
                    if rng.random() < 0.5:
                        units.append(Unit([PlannedTransfer(tid, source, hot, 10, Currency.THB)]))
                        kinds.append("credit")
                    else:
                        units.append(Unit([PlannedTransfer(tid, hot, source, 15, Currency.THB)]))
                        kinds.append("debit")
                for kind, result in zip(kinds, await engine.post(units), strict=True):
                    if result.status is Status.CREATED:
                        credits += kind == "credit"
                        debits += kind == "debit"
                    else:
                        assert result.error is not None
                        assert result.error.code is ErrorCode.EXCEEDS_CREDITS
                        refused += 1
        finally:
            await db.dispose()
        return credits, debits, refused

    outcomes = await asyncio.gather(*(writer(n) for n in range(WRITERS)))
    credits = sum(o[0] for o in outcomes)
    debits = sum(o[1] for o in outcomes)
    refused = sum(o[2] for o in outcomes)
    assert refused > 0, "the test must push the hot account to its limit"
    async with seed_db.engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT debits_posted, credits_posted FROM accounts WHERE key = :k"),
            {"k": hot.key})).one()
        journal = (await conn.execute(text(
            "SELECT count(*) FROM transfers WHERE id LIKE :p"), {"p": f"{uid}-%"})).scalar()
    await seed_db.dispose()
    assert tuple(row) == (15 * debits, 1000 + 10 * credits)
    assert row[0] <= row[1]
    assert journal == 1 + credits + debits
    assert credits + debits + refused == WRITERS * ROUNDS * UNITS_PER_ROUND
