"""Queries of the monitoring statistics: the facts a release is built from (periods,
contributions, channel payments, portability flows, each with the worker's nationality), the
ledger position, and the releases and privacy budget kept once built.

The facts and the position are read in one `snapshot`: a single read transaction (REPEATABLE
READ on PostgreSQL; on SQLite a read transaction sees one state of the file), so a release's
position and its tables describe the same moment of the ledger.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Select, and_, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.db.engine import Database
from ledger.db.tables import (
    channel_payments,
    contributions,
    insurance_periods,
    portability_transfers,
    stats_budget,
    stats_release_files,
    stats_releases,
    transfers,
    workers,
)

Row = dict[str, Any]
Snapshot = AsyncConnection  # what `snapshot` yields, for callers that do not import SQLAlchemy


def _scoped(query: Select[Any], fund_column: Any, fund: str | None, nationality: str | None
            ) -> Select[Any]:
    if fund is not None:
        query = query.where(fund_column == fund)
    if nationality is not None:
        query = query.where(workers.c.nationality == nationality)
    return query


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[AsyncConnection]:
    """One read transaction for every query of a build."""
    async with db.engine.connect() as conn:
        if db.is_postgres:
            await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            yield conn


async def _rows(conn: AsyncConnection, query: Select[Any]) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in (await conn.execute(query)).all()]


async def period_kinds(conn: Snapshot, first: int, last: int, fund: str | None = None,
                       nationality: str | None = None) -> list[tuple[Any, ...]]:
    """(worker, nationality, fund, month, kind), each once, for months first..last (YYYYMM)."""
    ip = insurance_periods
    query = (select(ip.c.worker_id, workers.c.nationality, ip.c.fund, ip.c.month, ip.c.kind)
             .distinct().join(workers, workers.c.id == ip.c.worker_id)
             .where(ip.c.month.between(first, last)))
    return await _rows(conn, _scoped(query, ip.c.fund, fund, nationality))


async def contribution_shares(conn: Snapshot, first: int, last: int, fund: str | None = None,
                              nationality: str | None = None) -> list[tuple[Any, ...]]:
    """(worker, nationality, fund, month, currency, shares JSON) for months first..last."""
    c = contributions
    query = (select(c.c.worker_id, workers.c.nationality, c.c.fund, c.c.month, c.c.currency,
                    c.c.shares).join(workers, workers.c.id == c.c.worker_id)
             .where(c.c.month.between(first, last)))
    return await _rows(conn, _scoped(query, c.c.fund, fund, nationality))


async def channel_paid(conn: Snapshot, start_us: int, stop_us: int, fund: str | None = None,
                       nationality: str | None = None) -> list[tuple[Any, ...]]:
    """(worker, nationality, fund, paid_at_us, wallet currency, fee, home currency,
    contribution) of the payments made in [start_us, stop_us)."""
    p = channel_payments
    query = (select(p.c.worker_id, workers.c.nationality, p.c.fund, p.c.paid_at_us,
                    p.c.wallet_currency, p.c.fee_minor, p.c.home_currency,
                    p.c.contribution_minor).join(workers, workers.c.id == p.c.worker_id)
             .where(and_(p.c.paid_at_us >= start_us, p.c.paid_at_us < stop_us)))
    return await _rows(conn, _scoped(query, p.c.fund, fund, nationality))


async def flows(conn: Snapshot, start_us: int, stop_us: int, fund: str | None = None,
                nationality: str | None = None) -> list[tuple[Any, ...]]:
    """(worker, nationality, host fund, flow, state, source amount, source currency,
    created_at_us, updated_at_us) of the flows filed or moved in [start_us, stop_us)."""
    f = portability_transfers
    query = (select(f.c.worker_id, workers.c.nationality, f.c.host_fund, f.c.flow, f.c.state,
                    f.c.source_minor, f.c.source_currency, f.c.created_at_us, f.c.updated_at_us)
             .join(workers, workers.c.id == f.c.worker_id)
             .where(((f.c.created_at_us >= start_us) & (f.c.created_at_us < stop_us))
                    | ((f.c.updated_at_us >= start_us) & (f.c.updated_at_us < stop_us))))
    return await _rows(conn, _scoped(query, f.c.host_fund, fund, nationality))


async def position(conn: AsyncConnection) -> int:
    """The ledger position a build reads at: the last transfer's sequence number (0: none)."""
    return int((await conn.execute(select(func.max(transfers.c.seq)))).scalar() or 0)


async def budget_spent(db: Database, audience: str, months: Sequence[int]) -> list[Row]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(select(stats_budget).where(and_(
            stats_budget.c.audience == audience, stats_budget.c.month.in_(list(months)))))
        return [dict(r._mapping) for r in rows]


async def store_release(db: Database, release: Row, files: Iterable[tuple[str, bytes]],
                        budget: Iterable[Row]) -> None:
    """The release, its files and the ε it spent per month: one transaction, all or none."""
    async with db.engine.begin() as conn:
        await conn.execute(insert(stats_releases).values(**release))
        await conn.execute(insert(stats_release_files), [
            {"release_id": release["id"], "path": p, "content": d} for p, d in files])
        spent = list(budget)
        if spent:
            await conn.execute(insert(stats_budget), spent)


async def releases(db: Database, audiences: Sequence[str]) -> list[Row]:
    r = stats_releases
    query = (select(r.c.id, r.c.audience, r.c.period, r.c.epsilon, r.c.position,
                    r.c.build_ms, r.c.created_at_us)
             .where(r.c.audience.in_(list(audiences))).order_by(r.c.created_at_us, r.c.id))
    async with db.engine.connect() as conn:
        return [dict(x._mapping) for x in (await conn.execute(query)).all()]


async def release(db: Database, release_id: str) -> Row | None:
    async with db.engine.connect() as conn:
        row = (await conn.execute(select(stats_releases).where(
            stats_releases.c.id == release_id))).first()
    return dict(row._mapping) if row else None


async def release_files(db: Database, release_id: str) -> dict[str, bytes]:
    f = stats_release_files
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(f.c.path, f.c.content).where(
            f.c.release_id == release_id))).all()
    return {str(p): bytes(c) for p, c in rows}


async def release_count(db: Database, audience: str, period: str) -> int:
    r = stats_releases
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).where(and_(
            r.c.audience == audience, r.c.period == period)))).scalar() or 0)
