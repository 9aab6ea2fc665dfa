"""The database side of reads from a streaming-replication hot standby (ADR 0058): opening the
standby, the two WAL positions read-your-writes compares, and which failures mean "the standby
cannot answer" (so the read goes to the primary) rather than a fault of the read itself.

Positions are byte offsets in the WAL (`pg_lsn - '0/0'`), so they compare as integers: the
primary's after a write, the standby's replay position before a read.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import create_async_engine

from ledger.db.engine import PG_SESSION, Database, normalise_url
from ledger.limits import STANDBY_CONNECT_TIMEOUT_S

# On the primary: where its WAL is written up to. Read after a commit, it is at or past that
# commit's record (a commit is flushed before it returns, and the write position is never behind
# the flush position).
_WRITTEN = text("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
# On the standby: how far it has replayed. A server that is not in recovery (the URL names a
# primary, or the standby was promoted) has everything it will ever show: its own write position.
_REPLAYED = text(
    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint")


def open_standby(url: str, pool_size: int, connect_timeout_s: float) -> Database:
    """The standby's engine: like the primary's, but a connection attempt gives up after
    `connect_timeout_s` (asyncpg would wait a minute for a host that does not answer) and every
    transaction is read-only (a write sent there by mistake fails at once, by name)."""
    session = {**PG_SESSION, "default_transaction_read_only": "on"}
    engine = create_async_engine(
        normalise_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False,
        connect_args={"server_settings": session, "timeout": connect_timeout_s})
    return Database(normalise_url(url), engine)


async def written_position(primary: Database) -> int:
    async with primary.engine.connect() as conn:
        return int((await conn.execute(_WRITTEN)).scalar_one())


async def replayed_position(standby: Database) -> int:
    """Bounded by STANDBY_CONNECT_TIMEOUT_S, connection and query together: a standby that
    accepts connections but does not answer (hung, or its host overloaded) must not hold up a
    read that could go to the primary (TimeoutError is an OSError: `standby_unavailable`)."""
    async with asyncio.timeout(STANDBY_CONNECT_TIMEOUT_S):
        async with standby.engine.connect() as conn:
            found = (await conn.execute(_REPLAYED)).scalar_one()
    return -1 if found is None else int(found)  # NULL: it has replayed nothing yet


def standby_unavailable(error: BaseException) -> bool:
    """True for a failure that says the standby cannot serve now (down, unreachable, restarting,
    a query cancelled by a conflict with recovery): the read is tried again on the primary.
    A DBAPI error is always the server's or the connection's, never the read's own refusal (those
    are DomainErrors, raised above the database)."""
    return isinstance(error, (exc.DBAPIError, exc.TimeoutError, OSError))  # TimeoutError too
