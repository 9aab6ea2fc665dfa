"""Shared bench helpers: a fresh PostgreSQL database, a bulk population, latency percentiles."""

from __future__ import annotations

import glob
import os
import secrets
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from ledger.db.engine import Database, open_database
from ledger.db.migrate import upgrade

ADMIN_URL = os.environ.get("CLMTV_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    """The asyncpg URL of database `name` on the bench's server."""
    server = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{server}/{name}"


@asynccontextmanager
async def fresh_postgres(keep: bool = False) -> AsyncIterator[tuple[Database, str]]:
    name = f"clmtv_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f"CREATE DATABASE {name}")
    url = database_url(name)
    db = open_database(url, pool_size=4)
    await upgrade(db)
    try:
        yield db, url
    finally:
        await db.dispose()
        if not keep:
            await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def run_sql(url: str, statement: str) -> None:
    """One statement on its own connection to the database `url` names (ANALYZE, VACUUM, an
    ALTER DATABASE): outside any pool, with no timeout."""
    connection = await asyncpg.connect(url.replace("+asyncpg", ""), command_timeout=None)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def analyze(url: str) -> None:
    """ANALYZE, as production's autovacuum would (it is off on the bench machines)."""
    await run_sql(url, "ANALYZE")


def postgres_cpu_s(database: str) -> float | None:
    """CPU seconds used so far by the PostgreSQL backends connected to `database`, read from
    /proc (Linux; None elsewhere). Backends that have exited are not counted: read it while the
    connection pool is open, before and after the work."""
    ticks = postgres_backend_ticks(database)
    return None if ticks is None else sum(ticks.values()) / os.sysconf("SC_CLK_TCK")


def postgres_backend_ticks(database: str) -> dict[int, int] | None:
    """Per PostgreSQL backend connected to `database` (by pid): its CPU so far, in clock ticks
    (utime + stime, /proc; None where there is no /proc)."""
    if not os.path.isdir("/proc"):
        return None
    found: dict[int, int] = {}
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as f:
                cmdline = f.read()
            if not cmdline.startswith(b"postgres:") or f" {database} ".encode() not in cmdline:
                continue
            with open(path.replace("cmdline", "stat")) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        found[int(path.split("/")[2])] = int(fields[11]) + int(fields[12])  # utime + stime
    return found


async def bulk_workers(db: Database, count: int, fund: str = "TH-SSO") -> list[str]:
    """Workers and memberships inserted directly (the bench measures posting, not enrolment)."""
    ids = [f"wkr_bench{i:08d}" for i in range(count)]
    raw = await asyncpg.connect(db.url.replace("+asyncpg", ""))
    try:
        await raw.copy_records_to_table(
            "workers", records=[(w, "MM", None, None, None, 0) for w in ids],
            columns=["id", "nationality", "identity_kind", "identity_hmac",
                     "identity_ciphertext", "created_at_us"])
        await raw.copy_records_to_table(
            "memberships", records=[(w, fund, f"h{w}", b"x", 0) for w in ids],
            columns=["worker_id", "fund", "member_number_hmac", "member_number_ciphertext",
                     "created_at_us"])
    finally:
        await raw.close()
    return ids


async def bulk_memberships(db: Database, ids: list[str], fund: str) -> None:
    """Memberships of existing workers at one more fund (payments into a home fund)."""
    raw = await asyncpg.connect(db.url.replace("+asyncpg", ""))
    try:
        await raw.copy_records_to_table(
            "memberships", records=[(w, fund, f"h{fund}{w}", b"x", 0) for w in ids],
            columns=["worker_id", "fund", "member_number_hmac", "member_number_ciphertext",
                     "created_at_us"])
    finally:
        await raw.close()


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": round(pick(0.50), 2), "p99_ms": round(pick(0.99), 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}
