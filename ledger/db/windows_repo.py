"""Queries of settlement windows and the funds' confirmations.

One window per currency is open at a time; `open_window` finds it or opens the next one
(`USD-000001`, `USD-000002`, ...). Posted flows, and payment channels' daily obligations, wait
with no window until one closes and takes them all under its row lock. State moves are
compare-and-set on the stored state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.db.channels_repo import window_obligations_on
from ledger.db.engine import Database
from ledger.db.tables import (
    accounts,
    channel_obligations,
    portability_transfers,
    settlement_windows,
    transfers,
    window_confirmations,
)
from ledger.domain.ledger import TransferFlags

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


Obligation = tuple[str, str, str, int]  # flow id, host fund (pays), home fund (is paid), amount


def _obligations_query(window_id: str) -> Any:
    t = portability_transfers
    return select(t.c.id, t.c.host_fund, t.c.home_fund, t.c.settlement_minor).where(
        t.c.window_id == window_id, t.c.state == "posted").order_by(t.c.id)


async def obligations(db: Database, window_id: str) -> list[Obligation]:
    """(flow id, host fund, home fund, settlement amount) of every posted flow in a window."""
    async with db.engine.connect() as conn:
        rows = (await conn.execute(_obligations_query(window_id))).all()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3] or 0)) for r in rows]


async def unassigned(db: Database, currency: str) -> list[Obligation]:
    """Posted flows no window holds yet: what closing the open window would take."""
    t = portability_transfers
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(t.c.id, t.c.host_fund, t.c.home_fund,
                                          t.c.settlement_minor).where(
            t.c.window_id.is_(None), t.c.state == "posted",
            t.c.settlement_currency == currency).order_by(t.c.id))).all()
    return [(str(r[0]), str(r[1]), str(r[2]), int(r[3] or 0)) for r in rows]


async def close(db: Database, window_id: str, currency: str,
                decide: Callable[[list[Obligation]], Row]) -> Row:
    """Under the window's row lock: take every posted flow and every channel obligation no
    window holds, let `decide` net them (returns the window's new values), store it. What is
    posted meanwhile waits for the next window; nothing can be in two."""
    t = portability_transfers
    c = channel_obligations
    async with db.engine.begin() as conn:
        query = select(settlement_windows.c.state).where(settlement_windows.c.id == window_id)
        state = (await conn.execute(query.with_for_update() if db.is_postgres else query)
                 ).scalar()
        if state != "open":
            return {"state": state}
        await conn.execute(update(t).where(
            t.c.window_id.is_(None), t.c.state == "posted", t.c.settlement_currency == currency,
        ).values(window_id=window_id))
        await conn.execute(update(c).where(
            c.c.window_id.is_(None), c.c.settlement_currency == currency,
        ).values(window_id=window_id))
        rows = (await conn.execute(_obligations_query(window_id))).all()
        found = [(str(r[0]), str(r[1]), str(r[2]), int(r[3] or 0)) for r in rows]
        found += await window_obligations_on(conn, window_id)
        values = decide(found)
        await conn.execute(update(settlement_windows).where(
            settlement_windows.c.id == window_id).values(**values))
    return values


async def release_flows(db: Database, window_id: str) -> None:
    """An aborted window's flows go back to wait for the next window."""
    async with db.engine.begin() as conn:
        await conn.execute(update(portability_transfers).where(
            portability_transfers.c.window_id == window_id).values(window_id=None))
        await conn.execute(update(channel_obligations).where(
            channel_obligations.c.window_id == window_id).values(window_id=None))


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


async def ledger_obligations(db: Database, window_id: str) -> list[tuple[str, str, int]]:
    """The ledger's own record of a window's obligations: every posted `obligation` leg of its
    flows, as (fund debited, fund credited, amount) read from the position accounts."""
    t = portability_transfers
    async with db.engine.connect() as conn:
        details = (await conn.execute(select(t.c.detail).where(t.c.window_id == window_id))
                   ).scalars().all()
        legs = [leg for detail in details for leg in json.loads(detail).get("legs", [])
                if leg.endswith("-obligation")]
        if not legs:
            return []
        debit, credit = accounts.alias("debit"), accounts.alias("credit")
        rows: list[Any] = []
        # In parts: a window of 50,000 flows has 50,000 obligation legs, more bind parameters
        # than one statement may carry (32,767 on PostgreSQL, 32,766 on SQLite).
        for start in range(0, len(legs), _LEGS_PER_QUERY):
            rows += (await conn.execute(
                select(transfers.c.amount_minor, debit.c.fund, credit.c.fund)
                .join(debit, debit.c.id == transfers.c.debit_account_id)
                .join(credit, credit.c.id == transfers.c.credit_account_id)
                .where(transfers.c.pending_id.in_(legs[start:start + _LEGS_PER_QUERY]),
                       transfers.c.flags == int(TransferFlags.POST_PENDING)))).all()
    return [(str(r[1]), str(r[2]), int(r[0])) for r in rows]


_LEGS_PER_QUERY = 10_000
