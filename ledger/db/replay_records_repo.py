"""Deleting the records that answer retries, once past their retention (ADR 0054): idempotency
keys with their stored responses, and the inbox's applied messages (ids, bytes and results).

Each call deletes at most `limit` rows in one short transaction, oldest first in no particular
order, so that a long prune never holds locks for long and can stop and start again anywhere.
"""

from __future__ import annotations

from sqlalchemy import func, select, tuple_

from ledger.db.engine import Database
from ledger.db.tables import idempotency_keys, inbox_messages, settlement_windows

# Only messages already applied may go: a held or received one has yet to be applied, and its
# row is what applies it.
APPLIED_STATES = ("processed", "failed")


async def windows(db: Database) -> list[tuple[str, str, str, int]]:
    """(id, currency, state, opened_at_us) of every settlement window: one per cycle and
    currency, so few."""
    w = settlement_windows.c
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(w.id, w.currency, w.state, w.opened_at_us))).all()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]


async def delete_idempotency_keys(db: Database, before_us: int, limit: int) -> int:
    """Delete up to `limit` keys stored before `before_us`; how many went."""
    k = idempotency_keys.c
    async with db.engine.begin() as conn:
        found = [tuple(r) for r in (await conn.execute(select(k.principal, k.key).where(
            k.created_at_us < before_us).limit(limit))).all()]
        if found:
            await conn.execute(idempotency_keys.delete().where(
                tuple_(k.principal, k.key).in_(found)))
    return len(found)


async def delete_applied_messages(db: Database, before_us: int, limit: int) -> int:
    """Delete up to `limit` applied inbox messages received before `before_us`."""
    m = inbox_messages.c
    async with db.engine.begin() as conn:
        found = [tuple(r) for r in (await conn.execute(select(m.audience, m.issuer, m.jti).where(
            m.received_at_us < before_us, m.state.in_(APPLIED_STATES)).limit(limit))).all()]
        if found:
            await conn.execute(inbox_messages.delete().where(
                tuple_(m.audience, m.issuer, m.jti).in_(found),
                m.state.in_(APPLIED_STATES)))
    return len(found)


async def count_before(db: Database, before_us: int) -> tuple[int, int]:
    """(idempotency keys, applied inbox messages) that a prune at `before_us` would delete."""
    k, m = idempotency_keys.c, inbox_messages.c
    async with db.engine.connect() as conn:
        keys = (await conn.execute(select(func.count()).where(
            k.created_at_us < before_us))).scalar_one()
        messages = (await conn.execute(select(func.count()).where(
            m.received_at_us < before_us, m.state.in_(APPLIED_STATES)))).scalar_one()
    return int(keys), int(messages)
