"""The crash-and-retry test, short (issue 16 item 1): clients post transfers and contributions
over HTTP to two `clmtv serve` processes on a PostgreSQL cluster of the test's own, drop answers
at random and retry with the same ids and keys, while the servers and PostgreSQL are killed with
SIGKILL and restarted. The checker must pass; a control run that retries with new ids and keys
must be caught by the same checker; the journal the servers sealed through the kills verifies.
The long run: `python3 -m tools.crashtest` (docs/security.md).

Also here: a server refuses to start on a PostgreSQL that would lose acknowledged postings.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from ledger.db.durability import durability_problems
from ledger.db.engine import open_database
from tests.conftest import TEST_DB
from tools.crashtest.cluster import PgCluster, free_port, pg_bindir
from tools.crashtest.run import RunConfig, crash_run
from tools.crashtest.servers import ROOT, server_environment

pytestmark = pytest.mark.skipif(pg_bindir() is None,
                                reason="PostgreSQL's server binaries (initdb) are not installed")


@pytest.mark.skipif(TEST_DB.startswith("postgres"), reason="store-independent (it starts its "
                    "own cluster): run once, in the SQLite pass of the suite")
def test_nothing_acknowledged_is_lost_or_doubled_through_kills_and_a_control_run_is_caught(
        tmp_path: Path) -> None:
    config = RunConfig(seconds=25, control_seconds=6, apis=2, clients=10, drop=0.25,
                       kill_every_s=4.5)
    report = asyncio.run(crash_run(config, tmp_path))
    print("\n".join(report.lines()))
    assert report.api_kills >= 2 and report.postgres_kills >= 1, report.lines()
    assert report.main["counts"].get("acknowledged", 0) > 50, report.lines()
    assert report.main_ok, report.to_dict()["main"]
    assert report.recovered, "a server did not acknowledge a transfer after the last restart"
    assert report.control_caught, report.to_dict()["control"]
    assert "applied 2 times" in str(report.control["checks"][0]["problems"])
    assert report.journal["ok"] and report.journal["tree_size"] > 0, report.journal
    # Contributions are acknowledged too (their shares the rules'): each made a period whose
    # change the period log sealed and verified through the kills.
    assert report.journal["periods"]["tree_size"] > 0, report.journal["periods"]


@pytest.fixture
def unsafe_cluster() -> Iterator[PgCluster]:
    cluster = PgCluster({"fsync": "off", "full_page_writes": "off"})
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


async def _durability_of(url: str) -> list[str]:
    db = open_database(url, 1)
    try:
        return await durability_problems(db)
    finally:
        await db.dispose()


async def _sql(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def test_a_server_refuses_postgresql_that_would_lose_acknowledged_postings(
        unsafe_cluster: PgCluster, tmp_path: Path) -> None:
    url = unsafe_cluster.url_of("postgres")
    asyncio.run(_sql(url, "ALTER DATABASE postgres SET synchronous_commit = off"))
    problems = asyncio.run(_durability_of(url))
    assert [p.split(" =")[0] for p in problems] == [
        "PostgreSQL runs with fsync", "PostgreSQL runs with synchronous_commit",
        "PostgreSQL runs with full_page_writes"]

    env = server_environment(url, tmp_path / "hub-key.jwk")
    done = subprocess.run([sys.executable, "-m", "ledger.cli", "serve", "--port",
                           str(free_port())], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    for setting in ("fsync", "synchronous_commit", "full_page_writes"):
        assert f"clmtv: refusing to start: PostgreSQL runs with {setting} = off" in done.stderr

    asyncio.run(_sql(url, "ALTER DATABASE postgres RESET synchronous_commit"))
    assert [p.split(" =")[0] for p in asyncio.run(_durability_of(url))] == [
        "PostgreSQL runs with fsync", "PostgreSQL runs with full_page_writes"]


def test_the_suites_own_store_is_durable(database_url: str) -> None:
    """The suite's store passes the check (SQLite always does: engine.py sets synchronous)."""
    assert asyncio.run(_durability_of(database_url)) == []
