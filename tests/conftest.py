"""Shared fixtures: one migrated database per test run, SQLite by default.

Async test modules set `pytestmark = pytest.mark.anyio`.
`CLMTV_TEST_DATABASE_URL` picks the store: `sqlite` (a temporary file) or a PostgreSQL URL of an
empty database (`python3 dev.py test --pg` creates a fresh one per run). Tests use unique ids, so
they share the database without seeing each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings

from ledger.db.engine import Database, open_database
from ledger.db.migrate import upgrade

TEST_DB = os.environ.get("CLMTV_TEST_DATABASE_URL", "sqlite")

if os.environ.get("CLMTV_MUTATION"):
    # `python3 dev.py mutate`: every mutant meets the same examples, so that a module's score
    # changes only when its code or its tests do (and no example database carries over).
    settings.register_profile("mutation", derandomize=True, database=None, deadline=None)
    settings.load_profile("mutation")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("postgres_only") and not TEST_DB.startswith("postgres"):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (dev.py test --pg)"))


def pytest_report_header() -> str:
    return f"clmtv test database: {TEST_DB.split('@')[-1]}"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


async def _migrate(url: str) -> None:
    db = open_database(url, pool_size=1)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DB == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db')}/clmtv-test.db"
    else:
        url = TEST_DB
    asyncio.run(_migrate(url))
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = open_database(database_url, pool_size=5)
    yield database
    await database.dispose()


@pytest.fixture
def uid() -> str:
    """A short unique suffix for ids created by one test."""
    return secrets.token_hex(5)
