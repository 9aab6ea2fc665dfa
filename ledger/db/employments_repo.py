"""Queries of the employment relation: which workers an employer (fund, employer number)
employs. An employer client posts contributions and declares rows only for these (issue 25
finding 4)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import insert, select, text

from ledger.db.engine import Database
from ledger.db.tables import employments


async def add(db: Database, fund: str, employer: str, worker_id: str, registered_by: str,
              now_us: int) -> bool:
    """Record that `employer` employs the worker; False when it was recorded already."""
    async with db.engine.begin() as conn:
        found = (await conn.execute(select(employments.c.worker_id).where(
            employments.c.fund == fund, employments.c.employer == employer,
            employments.c.worker_id == worker_id))).first()
        if found is not None:
            return False
        await conn.execute(insert(employments).values(
            fund=fund, employer=employer, worker_id=worker_id, registered_by=registered_by,
            created_at_us=now_us))
    return True


async def remove(db: Database, fund: str, employer: str, worker_id: str) -> bool:
    async with db.engine.begin() as conn:
        done = await conn.execute(employments.delete().where(
            employments.c.fund == fund, employments.c.employer == employer,
            employments.c.worker_id == worker_id))
    return bool(done.rowcount)


async def employees(db: Database, fund: str, employer: str) -> list[str]:
    async with db.engine.connect() as conn:
        rows = (await conn.execute(select(employments.c.worker_id).where(
            employments.c.fund == fund, employments.c.employer == employer)
            .order_by(employments.c.worker_id))).all()
    return [str(r[0]) for r in rows]


async def employed(db: Database, fund: str, employer: str, worker_ids: Collection[str]
                   ) -> set[str]:
    """Of these workers, the ones the employer employs (one query per 500 ids)."""
    wanted = sorted(set(worker_ids))
    found: set[str] = set()
    async with db.engine.connect() as conn:
        for start in range(0, len(wanted), 500):
            found.update(str(r[0]) for r in (await conn.execute(
                select(employments.c.worker_id).where(
                    employments.c.fund == fund, employments.c.employer == employer,
                    employments.c.worker_id.in_(wanted[start:start + 500])))).all())
    return found


async def add_many(db: Database, rows: Sequence[tuple[str, str, str]], registered_by: str,
                   now_us: int) -> None:
    """Record many (fund, employer, worker) at once; those recorded already are left alone."""
    sql = text("INSERT INTO employments (fund, employer, worker_id, registered_by, "
               "created_at_us) VALUES (:f, :e, :w, :by, :now) ON CONFLICT DO NOTHING")
    async with db.engine.begin() as conn:
        for start in range(0, len(rows), 5_000):
            await conn.execute(sql, [{"f": f, "e": e, "w": w, "by": registered_by, "now": now_us}
                                     for f, e, w in rows[start:start + 5_000]])
