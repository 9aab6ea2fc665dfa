"""Engine construction for both stores: SQLite (embedded default) and PostgreSQL (asyncpg).

SQLite runs in WAL mode with synchronous=FULL (an acknowledged commit survives power loss) and
takes the write lock at BEGIN (BEGIN IMMEDIATE), so that a transaction never fails half-way on an
upgrade from reader to writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@dataclass(slots=True)
class Database:
    url: str
    engine: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    async def dispose(self) -> None:
        await self.engine.dispose()


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// and sqlite:/// URLs and pick the async drivers."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    return url


# Per-connection settings for short OLTP statements (docs/adr/0004):
# - plan every execution: the ledger's tables grow from empty, and a generic plan cached while a
#   table was small (a full scan) would stay for the connection's life and grow with the table;
# - no JIT: compiling never pays off for statements of a millisecond.
PG_SESSION = {"plan_cache_mode": "force_custom_plan", "jit": "off"}


def open_database(url: str, pool_size: int = 10) -> Database:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
        _configure_sqlite(engine)
    else:
        engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False,
            connect_args={"server_settings": PG_SESSION},
        )
    return Database(url, engine)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (the sqlite3 module's implicit BEGIN is DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
