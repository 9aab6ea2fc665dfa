"""Consent grants and the record of who read a worker's statement (migration 0014)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from ledger.db.engine import Database
from ledger.db.tables import api_clients, channel_payments, consent_grants, statement_reads

Row = dict[str, Any]


async def client_kind(db: Database, name: str) -> str | None:
    """The kind of the client named `name`, unless it is unknown or revoked."""
    async with db.engine.connect() as conn:
        found = (await conn.execute(select(api_clients.c.kind).where(
            api_clients.c.name == name, api_clients.c.revoked_at_us.is_(None)))).first()
    return str(found[0]) if found else None


async def insert_grant(db: Database, row: Row) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(insert(consent_grants).values(**row))


async def grant(db: Database, grant_id: str) -> Row | None:
    async with db.engine.connect() as conn:
        found = (await conn.execute(
            select(consent_grants).where(consent_grants.c.id == grant_id))).first()
    return dict(found._mapping) if found else None


async def grants_of_worker(db: Database, worker_id: str) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(consent_grants).where(
            consent_grants.c.worker_id == worker_id).order_by(
            consent_grants.c.created_at_us.desc(), consent_grants.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def grant_in_force(db: Database, worker_id: str, grantee: str, now_us: int) -> Row | None:
    """A grant of `worker_id` to `grantee` neither expired nor revoked at `now_us`."""
    async with db.engine.connect() as conn:
        found = (await conn.execute(select(consent_grants).where(
            consent_grants.c.worker_id == worker_id, consent_grants.c.grantee == grantee,
            consent_grants.c.expires_at_us > now_us,
            (consent_grants.c.revoked_at_us.is_(None))
            | (consent_grants.c.revoked_at_us > now_us),
        ).order_by(consent_grants.c.expires_at_us.desc()).limit(1))).first()
    return dict(found._mapping) if found else None


async def revoke_grant(db: Database, grant_id: str, now_us: int) -> bool:
    """Revoke a grant still in force; False when it had already ended."""
    async with db.engine.begin() as conn:
        result = await conn.execute(update(consent_grants).where(
            consent_grants.c.id == grant_id, consent_grants.c.revoked_at_us.is_(None),
            consent_grants.c.expires_at_us > now_us,
        ).values(revoked_at_us=now_us))
    return bool(result.rowcount)


async def insert_read(db: Database, row: Row) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(insert(statement_reads).values(**row))


async def reads_of_worker(db: Database, worker_id: str, limit: int) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(statement_reads).where(
            statement_reads.c.worker_id == worker_id).order_by(
            statement_reads.c.at_us.desc(), statement_reads.c.id.desc()).limit(limit))).all()
    return [dict(r._mapping) for r in rows]


async def payments_of_worker(db: Database, worker_id: str, limit: int) -> list[Row]:
    """A worker's voluntary payments through channels, newest first, with their receipts."""
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(channel_payments).where(
            channel_payments.c.worker_id == worker_id).order_by(
            channel_payments.c.paid_at_us.desc()).limit(limit))).all()
    return [dict(r._mapping) for r in rows]
