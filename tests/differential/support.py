"""Fresh databases for differential tests, and a database's whole state in comparable form.

A differential test runs one random batch through a fast path and through the general path,
each on a database nothing else has touched, and compares everything the two wrote. Creating a
PostgreSQL database per Hypothesis example costs 150-300 ms to create and as much again (and
seconds when the server is busy) to drop; instead one scratch schema of the session's test
database is migrated once per session and emptied before each use: every row deleted with
triggers off (the ledger's immutability triggers refuse DELETE otherwise; this needs the
superuser the test database is created by) and every sequence restarted, about 15 ms. It is then
indistinguishable from a freshly migrated database: the same empty tables, the same ids handed
out from 1. The paths of one example therefore run one after the other. On SQLite each use gets
a copy of a migrated template file.

`ledger_state` reads every table the ledger writes, without what differs by construction
(timestamps, ciphertexts with random nonces, surrogate ids): account ids become account keys,
transfers keep their order (the journal is read in insertion order) but not their sequence
numbers (a rolled-back attempt consumes some on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy import event, select, text

from ledger.db import tables
from ledger.db.engine import Database, open_database
from ledger.db.migrate import upgrade
from tests.conftest import TEST_DB

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")


def differential_settings(default: int, soak: int) -> settings:
    """`default` examples in the ordinary suite, `soak` under HYPOTHESIS_PROFILE=soak. The
    function-scoped fixture (`fresh`) is meant to live across examples: it hands each one
    fresh databases. No explain phase: it replays a failing example a hundred times (minutes
    here) to annotate lines the report does not need."""
    return settings(max_examples=soak if PROFILE == "soak" else default, deadline=None,
                    phases=[p for p in Phase if p is not Phase.explain],
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


def store_under_test() -> str:
    """"postgres" or "sqlite": the store this test run is for (`dev.py test [--pg]`)."""
    return "postgres" if TEST_DB.startswith("postgres") else "sqlite"


# Written by the services these tests drive; the others (keys, inbox, windows) are not, or
# hold what is random by design (signing keys).
_COMPARED = ("workers", "memberships", "accounts", "transfers", "contributions",
             "insurance_periods", "imports", "declared_months", "portability_transfers",
             "fx_rates", "idempotency_keys")
_SURROGATE = {("accounts", "id"), ("transfers", "seq")}


def _compared_columns(table: Any) -> list[Any]:
    return [c for c in table.columns
            if not c.name.endswith(("_at_us", "_ciphertext"))
            and (table.name, c.name) not in _SURROGATE]


async def ledger_state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the compared tables, as tuples in a canonical order (transfers in the order
    they were written, the others sorted), with account ids replaced by account keys."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.engine.connect() as conn:
        keys = dict((await conn.execute(select(tables.accounts.c.id,
                                               tables.accounts.c.key))).all())
        for name in _COMPARED:
            table = tables.metadata.tables[name]
            query = select(*_compared_columns(table))
            if name == "transfers":
                query = query.order_by(table.c.seq)
            rows = [tuple(row) for row in (await conn.execute(query)).all()]
            if name == "transfers":
                names = [c.name for c in _compared_columns(table)]
                debit, credit = names.index("debit_account_id"), names.index("credit_account_id")
                rows = [tuple(keys[v] if i in (debit, credit) else v for i, v in enumerate(r))
                        for r in rows]
            else:
                rows.sort(key=repr)
            out[name] = rows
    return out


def first_difference(left: dict[str, list[tuple[Any, ...]]],
                     right: dict[str, list[tuple[Any, ...]]]) -> str | None:
    """Where two `ledger_state`s first differ, said briefly (for an assertion message)."""
    for name in _COMPARED:
        a, b = left[name], right[name]
        if a == b:
            continue
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            if x != y:
                return f"{name}[{i}]: {x!r} != {y!r}"
        return f"{name}: {len(a)} rows != {len(b)} rows; extra: {(a[len(b):] or b[len(a):])[:3]}"
    return None


class ScratchDatabases:
    """What fresh databases are made from, once per test session. PostgreSQL: a schema of the
    test database, migrated on first use and dropped at the end; SQLite: a migrated template
    file."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.schema: str | None = None
        self.template: Path | None = None
        self.copies = 0

    async def postgres(self) -> Database:
        """An engine on the scratch schema (the caller disposes of it)."""
        if self.schema is None:
            schema = f"differential_{secrets.token_hex(4)}"
            conn = await asyncpg.connect(_plain(TEST_DB))
            try:
                await conn.execute(f"CREATE SCHEMA {schema}")
            finally:
                await conn.close()
            db = _in_schema(open_database(TEST_DB, pool_size=1), schema)
            try:
                await upgrade(db)
            finally:
                await db.dispose()
            self.schema = schema
        return _in_schema(open_database(TEST_DB, pool_size=2), self.schema)

    async def sqlite_copy(self) -> Path:
        if self.template is None:
            template = self.tmp / "template.db"
            db = open_database(f"sqlite+aiosqlite:///{template}", pool_size=1)
            try:
                await upgrade(db)
            finally:
                await db.dispose()  # the last connection checkpoints the WAL into the file
            self.template = template
        self.copies += 1
        copy = self.tmp / f"example-{self.copies}.db"
        shutil.copyfile(self.template, copy)
        return copy

    def drop(self) -> None:
        async def drop(schema: str) -> None:
            conn = await asyncpg.connect(_plain(TEST_DB))
            try:
                await conn.execute(f"DROP SCHEMA {schema} CASCADE")
            finally:
                await conn.close()
        if self.schema is not None:
            asyncio.run(drop(self.schema))


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _in_schema(db: Database, schema: str) -> Database:
    """Every connection of `db` works in `schema`, and its commits do not wait for their WAL
    to reach the disk (nothing here has to survive the session)."""
    @event.listens_for(db.engine.sync_engine, "connect", insert=True)
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Outside a transaction, or the first rollback would undo the settings.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET search_path = {schema}")
        cursor.execute("SET synchronous_commit = off")
        cursor.close()
        dbapi_connection.autocommit = autocommit

    return db


class FreshDatabases:
    """`async with fresh.database(store) as db`: an empty, migrated database for one example
    (one at a time per store: on PostgreSQL it is the one scratch schema, emptied each time)."""

    def __init__(self, scratch: ScratchDatabases) -> None:
        self.scratch = scratch
        self.pg: Database | None = None
        self.in_use: set[str] = set()

    @asynccontextmanager
    async def database(self, store: str) -> AsyncIterator[Database]:
        assert store not in self.in_use, f"one {store} database at a time"
        self.in_use.add(store)
        try:
            if store == "sqlite":
                path = await self.scratch.sqlite_copy()
                db = open_database(f"sqlite+aiosqlite:///{path}", pool_size=2)
                try:
                    yield db
                finally:
                    await db.dispose()
                    for leftover in path.parent.glob(f"{path.name}*"):
                        leftover.unlink()
            else:
                assert store == "postgres" and TEST_DB.startswith("postgres"), store
                if self.pg is None:
                    self.pg = await self.scratch.postgres()
                await _empty(self.pg)
                yield self.pg
        finally:
            self.in_use.discard(store)

    async def close(self) -> None:
        if self.pg is not None:
            await self.pg.dispose()


async def _empty(db: Database) -> None:
    """Every row deleted (triggers off: the ledger's refuse it) and every sequence restarted."""
    async with db.engine.begin() as conn:
        names = [r[0] for r in (await conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename <> 'alembic_version'"))).all()]
        sequences = [r[0] for r in (await conn.execute(text(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"))).all()]
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("; ".join([
            "SET LOCAL session_replication_role = replica",
            *(f"DELETE FROM {name}" for name in names),
            *(f"ALTER SEQUENCE {name} RESTART" for name in sequences)]))


@pytest.fixture(scope="session")
def scratch_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchDatabases]:
    # SQLite files in memory where the machine has a tmpfs: every commit syncs its WAL
    # (synchronous=FULL), which on a disk is most of an example's time.
    shm = Path("/dev/shm")
    tmp = (Path(tempfile.mkdtemp(prefix="clmtv-differential-", dir=shm)) if shm.is_dir()
           else tmp_path_factory.mktemp("differential"))
    scratch = ScratchDatabases(tmp)
    try:
        yield scratch
    finally:
        scratch.drop()
        if tmp.parent == shm:
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
async def fresh(scratch_databases: ScratchDatabases) -> AsyncIterator[FreshDatabases]:
    databases = FreshDatabases(scratch_databases)
    yield databases
    await databases.close()
