"""Read-only queries of the after-run audit: what the ledger holds for ids a client was told.

Owns the look-ups by id, in chunks, of imports (and the declared rows each booked), idempotent
contribution batches, portability flows, settlement windows, channel payments and contributions.
Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from ledger.db.engine import Database
from ledger.db.tables import (
    channel_payments,
    contributions,
    declared_months,
    idempotency_keys,
    imports,
    portability_transfers,
    settlement_windows,
)

CHUNK = 500
Row = dict[str, Any]


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    unique = sorted(set(ids))
    return [unique[i:i + CHUNK] for i in range(0, len(unique), CHUNK)]


async def imports_by_id(db: Database, ids: Sequence[str]) -> dict[str, Row]:
    """Per import id: its stored row counts and how many declared rows point at it."""
    out: dict[str, Row] = {}
    async with db.engine.connect() as conn:
        for chunk in _chunks(ids):
            for r in await conn.execute(select(imports.c.id, imports.c.status,
                                               imports.c.rows_accepted).where(
                                                   imports.c.id.in_(chunk))):
                out[r.id] = {"status": r.status, "rows_accepted": r.rows_accepted,
                             "declared": 0}
            for r in await conn.execute(select(declared_months.c.import_id, func.count()).where(
                    declared_months.c.import_id.in_(chunk)).group_by(
                        declared_months.c.import_id)):
                if r[0] in out:
                    out[r[0]]["declared"] = int(r[1])
    return out


async def idempotency_keys_found(db: Database, keys: Sequence[str]) -> dict[str, int]:
    """Per key: how many stored answers it has (one per principal that used it)."""
    out: dict[str, int] = {}
    async with db.engine.connect() as conn:
        for chunk in _chunks(keys):
            for r in await conn.execute(select(idempotency_keys.c.key, func.count()).where(
                    idempotency_keys.c.key.in_(chunk)).group_by(idempotency_keys.c.key)):
                out[r[0]] = int(r[1])
    return out


async def flows_by_id(db: Database, ids: Sequence[str]) -> dict[str, Row]:
    out: dict[str, Row] = {}
    async with db.engine.connect() as conn:
        for chunk in _chunks(ids):
            for r in await conn.execute(select(
                    portability_transfers.c.id, portability_transfers.c.state,
                    portability_transfers.c.window_id).where(
                        portability_transfers.c.id.in_(chunk))):
                out[r.id] = {"state": r.state, "window_id": r.window_id}
    return out


async def windows_by_id(db: Database, ids: Sequence[str]) -> dict[str, Row]:
    out: dict[str, Row] = {}
    async with db.engine.connect() as conn:
        for chunk in _chunks(ids):
            for r in await conn.execute(select(
                    settlement_windows.c.id, settlement_windows.c.state,
                    settlement_windows.c.reconciliation).where(
                        settlement_windows.c.id.in_(chunk))):
                out[r.id] = {"state": r.state, "reconciliation": r.reconciliation}
    return out


async def payments_by_id(db: Database, ids: Sequence[str]) -> dict[str, Row]:
    """Channel payments by id (`{channel}/{channel_ref}`)."""
    out: dict[str, Row] = {}
    async with db.engine.connect() as conn:
        for chunk in _chunks(ids):
            for r in await conn.execute(select(channel_payments).where(
                    channel_payments.c.id.in_(chunk))):
                out[r.id] = dict(r._mapping)
    return out


async def contributions_found(db: Database, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    async with db.engine.connect() as conn:
        for chunk in _chunks(ids):
            found.update(r[0] for r in await conn.execute(select(contributions.c.id).where(
                contributions.c.id.in_(chunk))))
    return found
