"""Queries of the portability lifecycle: flow rows, member balances, period states, FX rates.

State changes are compare-and-set (`UPDATE ... WHERE state = :expected`), so two callers racing
on one flow cannot both move it; the loser sees `False` and re-reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.types import Integer

from ledger.db.engine import Database
from ledger.db.sql import among
from ledger.db.tables import (
    accounts,
    contributions,
    fx_rates,
    insurance_periods,
    portability_transfers,
    workers,
)

Row = dict[str, Any]


async def insert_flow(db: Database, row: Row) -> bool:
    """Insert a flow unless its id exists; True if inserted."""
    async with db.engine.begin() as conn:
        found = (await conn.execute(select(portability_transfers.c.id).where(
            portability_transfers.c.id == row["id"]))).first()
        if found is not None:
            return False
        await conn.execute(insert(portability_transfers).values(**row))
    return True


async def flow(db: Database, flow_id: str) -> Row | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(portability_transfers).where(
            portability_transfers.c.id == flow_id))).first()
    return dict(row._mapping) if row else None


async def flows_by_ids(db: Database, ids: Sequence[str]) -> dict[str, Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(portability_transfers).where(
            among(db.is_postgres, portability_transfers.c.id, ids, "flow_ids")))).all()
    return {r.id: dict(r._mapping) for r in rows}


async def mark_posted(db: Database, periods: Sequence[tuple[str, str, str, list[int], str]],
                      flow_ids: Sequence[str], now_us: int) -> None:
    """After the ledger posted them: mark the flows' months, then the flows, in one
    transaction (a flow is `posted` only with its months marked)."""
    if not flow_ids:
        return
    p = insurance_periods
    # Workers with the same months at the same scheme (a batch of like flows) share a statement.
    groups: dict[tuple[str, str, tuple[int, ...], str], list[str]] = {}
    for worker, fund, scheme, months, state in periods:
        if months:
            groups.setdefault((fund, scheme, tuple(months), state), []).append(worker)
    async with db.engine.begin() as conn:
        for (fund, scheme, group_months, state), workers_ in groups.items():
            await conn.execute(update(p).where(
                among(db.is_postgres, p.c.worker_id, workers_, "workers"), p.c.fund == fund,
                p.c.scheme == scheme,
                among(db.is_postgres, p.c.month, group_months, "months", Integer),
            ).values(state=state))
        await conn.execute(update(portability_transfers).where(
            among(db.is_postgres, portability_transfers.c.id, flow_ids, "flow_ids"),
            portability_transfers.c.state == "pending",
        ).values(state="posted", updated_at_us=now_us))


async def window_amounts(db: Database, fund: str, window_id: str) -> list[tuple[str, str, int]]:
    """(host, home, settlement amount) of the window's flows the fund is part of, all of them."""
    t = portability_transfers
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(t.c.host_fund, t.c.home_fund, t.c.settlement_minor)
                                   .where(t.c.window_id == window_id,
                                          (t.c.host_fund == fund) | (t.c.home_fund == fund)))
                ).all()
    return [(str(r[0]), str(r[1]), int(r[2] or 0)) for r in rows]


async def flows(db: Database, *, worker_id: str | None = None, state: str | None = None,
                window_id: str | None = None, fund: str | None = None,
                limit: int = 500) -> list[Row]:
    query = select(portability_transfers)
    if worker_id is not None:
        query = query.where(portability_transfers.c.worker_id == worker_id)
    if state is not None:
        query = query.where(portability_transfers.c.state == state)
    if window_id is not None:
        query = query.where(portability_transfers.c.window_id == window_id)
    if fund is not None:
        query = query.where((portability_transfers.c.host_fund == fund)
                            | (portability_transfers.c.home_fund == fund))
    query = query.order_by(portability_transfers.c.created_at_us,
                           portability_transfers.c.id).limit(limit)
    async with db.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [dict(r._mapping) for r in rows]


async def move_flow(db: Database, flow_id: str, expected: str, values: Row) -> bool:
    """Set `values` on the flow if it is still in state `expected`."""
    async with db.engine.begin() as conn:
        result = await conn.execute(update(portability_transfers).where(and_(
            portability_transfers.c.id == flow_id, portability_transfers.c.state == expected,
        )).values(**values))
    return bool(result.rowcount)


async def member_accounts(db: Database, worker_id: str, fund: str, scheme: str) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(accounts).where(
            accounts.c.worker_id == worker_id, accounts.c.fund == fund,
            accounts.c.scheme == scheme, accounts.c.code == "member",
        ).order_by(accounts.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def history_rows(db: Database, worker_id: str, fund: str
                       ) -> tuple[list[Row], dict[tuple[str, int], str]]:
    """The worker's contributions at one fund and the state of each (scheme, month)."""
    async with db.engine.connect() as conn:
        found = (await conn.execute(select(contributions).where(
            contributions.c.worker_id == worker_id, contributions.c.fund == fund,
        ).order_by(contributions.c.month, contributions.c.scheme))).all()
        periods = (await conn.execute(select(
            insurance_periods.c.scheme, insurance_periods.c.month, insurance_periods.c.state,
        ).where(insurance_periods.c.worker_id == worker_id,
                insurance_periods.c.fund == fund))).all()
    return [dict(r._mapping) for r in found], {(r[0], int(r[1])): str(r[2]) for r in periods}


async def set_period_states(db: Database, worker_id: str, fund: str, scheme: str,
                            months: Sequence[int], state: str) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(update(insurance_periods).where(
            insurance_periods.c.worker_id == worker_id, insurance_periods.c.fund == fund,
            insurance_periods.c.scheme == scheme, insurance_periods.c.month.in_(list(months)),
        ).values(state=state))


async def nationality(db: Database, worker_id: str) -> str | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(workers.c.nationality).where(
            workers.c.id == worker_id))).first()
    return None if row is None else str(row[0])


async def fx_rate(db: Database, base: str, quote: str) -> Row | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(fx_rates).where(
            fx_rates.c.base == base, fx_rates.c.quote == quote))).first()
    return dict(row._mapping) if row else None


async def all_fx_rates(db: Database) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(fx_rates).order_by(fx_rates.c.base,
                                                             fx_rates.c.quote))).all()
    return [dict(r._mapping) for r in rows]


async def save_fx_rate(db: Database, row: Row) -> None:
    async with db.engine.begin() as conn:
        updated = await conn.execute(update(fx_rates).where(
            fx_rates.c.base == row["base"], fx_rates.c.quote == row["quote"],
        ).values(rate=row["rate"], source=row["source"], set_at_us=row["set_at_us"]))
        if not updated.rowcount:
            await conn.execute(insert(fx_rates).values(**row))
