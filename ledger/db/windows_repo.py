"""Queries of settlement windows and the funds' confirmations.

One window per currency is open at a time; `open_window` finds it or opens the next one
(`USD-000001`, `USD-000002`, ...). State moves are compare-and-set on the stored state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.db.engine import Database
from ledger.db.tables import portability_transfers, settlement_windows, window_confirmations

Row = dict[str, Any]


async def open_window(db: Database, currency: str, now_us: int) -> str:
    for _ in range(5):
        async with db.engine.connect() as conn:
            row = (await conn.execute(select(settlement_windows.c.id).where(
                settlement_windows.c.currency == currency,
                settlement_windows.c.state == "open"))).first()
            if row is not None:
                return str(row[0])
            count = (await conn.execute(select(func.count()).select_from(
                settlement_windows).where(settlement_windows.c.currency == currency))).scalar()
        window_id = f"{currency}-{int(count or 0) + 1:06d}"
        try:
            async with db.engine.begin() as conn:
                await conn.execute(insert(settlement_windows).values(
                    id=window_id, currency=currency, state="open", opened_at_us=now_us,
                    updated_at_us=now_us))
            return window_id
        except IntegrityError:
            continue  # another process opened it first: read again
    raise RuntimeError("could not open a settlement window")


async def window(db: Database, window_id: str) -> Row | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(settlement_windows).where(
            settlement_windows.c.id == window_id))).first()
    return dict(row._mapping) if row else None


async def windows(db: Database, currency: str | None, limit: int) -> list[Row]:
    query = select(settlement_windows)
    if currency is not None:
        query = query.where(settlement_windows.c.currency == currency)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query.order_by(settlement_windows.c.opened_at_us.desc(),
                                                  settlement_windows.c.id.desc())
                                   .limit(limit))).all()
    return [dict(r._mapping) for r in rows]


async def move_window(db: Database, window_id: str, expected: str, values: Row) -> bool:
    async with db.engine.begin() as conn:
        result = await conn.execute(update(settlement_windows).where(and_(
            settlement_windows.c.id == window_id, settlement_windows.c.state == expected,
        )).values(**values))
    return bool(result.rowcount)


async def obligations(db: Database, window_id: str) -> list[tuple[str, str, str, int]]:
    """(flow id, host fund, home fund, settlement amount) of every posted flow in a window."""
    t = portability_transfers
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(t.c.id, t.c.host_fund, t.c.home_fund,
                                          t.c.settlement_minor).where(
            t.c.window_id == window_id, t.c.state == "posted").order_by(t.c.id))).all()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3] or 0)) for r in rows]


async def release_flows(db: Database, window_id: str, to_window: str) -> None:
    """An aborted window's flows go into another (open) window."""
    async with db.engine.begin() as conn:
        await conn.execute(update(portability_transfers).where(
            portability_transfers.c.window_id == window_id).values(window_id=to_window))


async def save_confirmation(db: Database, row: Row) -> bool:
    """Keep a fund's first confirmation of a window; False if one is already stored."""
    try:
        async with db.engine.begin() as conn:
            await conn.execute(insert(window_confirmations).values(**row))
    except IntegrityError:
        return False
    return True


async def confirmations(db: Database, window_id: str) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(window_confirmations).where(
            window_confirmations.c.window_id == window_id).order_by(
            window_confirmations.c.fund))).all()
    return [dict(r._mapping) for r in rows]
