"""A migrated database of a test's own, in the store the suite runs on: for tests whose
subject is the whole database (retention horizons, key rotation, a dump), which rows left by
other tests in the shared one would disturb."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from ledger.db.engine import Database, open_database
from ledger.db.migrate import upgrade
from tests.conftest import TEST_DB


@asynccontextmanager
async def fresh_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A new, migrated database: a SQLite file under `tmp_path`, or a PostgreSQL database
    created beside the suite's and dropped afterwards."""
    if not TEST_DB.startswith("postgres"):
        db = open_database(f"sqlite+aiosqlite:///{tmp_path}/own.db", 5)
        await upgrade(db)
        try:
            yield db
        finally:
            await db.dispose()
        return
    import asyncpg

    base, name = TEST_DB.rsplit("/", 1)
    own = f"{name}_own_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(TEST_DB.replace("+asyncpg", ""))
    try:
        await admin.execute(f'CREATE DATABASE "{own}"')
        db = open_database(f"{base}/{own}", 5)
        try:
            await upgrade(db)
            yield db
        finally:
            await db.dispose()
            await admin.execute(f'DROP DATABASE "{own}" WITH (FORCE)')
    finally:
        await admin.close()
