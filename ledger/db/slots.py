"""Committer slots: which sub-account of every hot account family a process books to (ADR 0036).

Each group committer claims a slot no other live process holds, so that two API processes never
lock the same sub-account of a fund's collections or a channel's wallet. On PostgreSQL a slot is
a session advisory lock held on one pooled connection for the committer's life (released when
the committer stops, or by the server when the process dies); the first process takes slot 0,
the next slot 1, and so on. SQLite has one writer at a time anyway: slot 0.

A slot is a performance matter only: two processes on one slot wait on each other's row locks,
as every process did before families existed, and book correctly.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.db.engine import Database

log = logging.getLogger(__name__)

# Advisory lock keys of the slots: a namespace far from the idempotency keys' 64-bit hashes.
_BASE = int.from_bytes(hashlib.blake2b(b"clmtv-committer-slot", digest_size=8).digest(),
                       "big", signed=True) & ~0xFFFF


@dataclass(slots=True)
class SlotClaim:
    slot: int
    _conn: AsyncConnection | None = None
    _key: int | None = None

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.execute("SELECT pg_advisory_unlock($1)", self._key)
        finally:
            await conn.close()


async def claim_slot(db: Database, count: int) -> SlotClaim:
    """The first of `count` slots no other process holds (a shared one if all are taken)."""
    if not db.is_postgres:
        return SlotClaim(0)
    conn = await db.engine.connect()
    try:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        for slot in range(count):
            key = _BASE + slot
            if await driver.fetchval("SELECT pg_try_advisory_lock($1)", key):
                return SlotClaim(slot, conn, key)
    except Exception:
        await conn.close()
        raise
    await conn.close()
    shared = os.getpid() % count
    log.warning("all %d committer slots are taken; sharing slot %d", count, shared)
    return SlotClaim(shared)
