"""Migrations that change data or refuse a database, run on a database of their own.

Each test migrates a new, empty database (a SQLite file, and a PostgreSQL database created and
dropped here when the suite runs on PostgreSQL) to the revision before, writes what an older
ledger held, and upgrades.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.db.engine import Database, open_database
from ledger.db.migrate import current_revision, head_revision, upgrade
from tests.conftest import TEST_DB

pytestmark = pytest.mark.anyio

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres_only)]


@pytest.fixture(params=STORES)
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path, uid: str
                   ) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        db = open_database(f"sqlite+aiosqlite:///{tmp_path}/migrations.db", 1)
        yield db
        await db.dispose()
        return
    import asyncpg

    base, name = TEST_DB.rsplit("/", 1)
    scratch = f"{name}_mig_{uid}"
    admin = await asyncpg.connect(f"{base}/{name}".replace("+asyncpg", ""))
    try:
        await admin.execute(f'CREATE DATABASE "{scratch}"')
        db = open_database(f"{base}/{scratch}", 1)
        try:
            yield db
        finally:
            await db.dispose()
            await admin.execute(f'DROP DATABASE "{scratch}"')
    finally:
        await admin.close()


async def test_0008_keeps_every_declared_month_under_the_new_key(empty_db: Database) -> None:
    await upgrade(empty_db, "0007")
    async with empty_db.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO declared_months (fund, worker_id, month, import_id, line) VALUES "
            "('TH-SSO', 'wkr_a', 202501, 'imp-1', 1), ('TH-SSO', 'wkr_a', 202502, 'imp-2', 1), "
            "('TH-SSO', 'wkr_b', 202501, 'imp-1', 2)"))
    await upgrade(empty_db, "0008")
    async with empty_db.engine.begin() as conn:
        rows = (await conn.execute(text(
            "SELECT fund, month, worker_id, import_id, line FROM declared_months "
            "ORDER BY fund, month, worker_id"))).all()
        assert [tuple(r) for r in rows] == [
            ("TH-SSO", 202501, "wkr_a", "imp-1", 1), ("TH-SSO", 202501, "wkr_b", "imp-1", 2),
            ("TH-SSO", 202502, "wkr_a", "imp-2", 1)]
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            await conn.execute(text(
                "INSERT INTO declared_months (fund, worker_id, month, import_id, line) VALUES "
                "('TH-SSO', 'wkr_b', 202501, 'imp-9', 7)"))


async def _accounts_at_0008(db: Database, *rows: tuple[str, str, str | None, str | None]
                            ) -> None:
    """Migrate to 0008 and open accounts given as (key, code, worker, payer), all TH-SSO THB."""
    await upgrade(db, "0008")
    async with db.engine.begin() as conn:
        for key, code, worker, payer in rows:
            await conn.execute(text(
                "INSERT INTO accounts (key, code, currency, flags, fund, scheme, worker_id, "
                "payer, debits_pending, debits_posted, credits_pending, credits_posted, "
                "created_at_us) VALUES (:key, :code, 'THB', 0, 'TH-SSO', 's33-old-age', "
                ":worker, :payer, 0, 0, 0, 0, 0)"),
                {"key": key, "code": code, "worker": worker, "payer": payer})


async def test_0009_refuses_a_ledger_with_per_payer_member_accounts(empty_db: Database) -> None:
    old_key = "member/wkr_a/TH-SSO/s33-old-age/employee/THB"
    await _accounts_at_0008(empty_db, (old_key, "member", "wkr_a", "employee"))
    with pytest.raises(RuntimeError, match=f"1 per-payer member account.*{old_key}"):
        await upgrade(empty_db)
    assert await current_revision(empty_db) == "0008"  # nothing half done


async def test_0009_upgrades_a_ledger_of_one_member_account_each(empty_db: Database) -> None:
    await _accounts_at_0008(
        empty_db, ("member/wkr_a/TH-SSO/s33-old-age/THB", "member", "wkr_a", None),
        ("fund/TH-SSO/source/employee/THB", "fund_collections", None, "employee"))
    await upgrade(empty_db)
    assert await current_revision(empty_db) == head_revision()
