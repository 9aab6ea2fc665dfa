"""The posting pass's read stays index probes on a ledger of any size (PostgreSQL; issue 18).

A pass asks for a thousand transfer ids at once. Written as `key = ANY($1)`, the planner chose,
on an analysed ledger of about a hundred thousand transfers, one sequential pass over the key
table with the array tested against every row: cheaper in its costs than a thousand index
descents, and a read whose cost grew with the ledger until a few million rows (the 50,000,000
transfer bench's empty side posted slower than its full side, docs/benchmarks.md). Each key is
now one probe (`ledger/db/pg_store.py`, `_probe`); these tests read the plans PostgreSQL makes
for the pass's statements after ANALYZE, on a database of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from ledger.db import pg_store
from ledger.db.engine import Database
from tests.fresh_db import fresh_database

pytestmark = [pytest.mark.anyio, pytest.mark.postgres_only]

TRANSFERS = 120_000
ASKED = 1_000


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


async def _ledger_of(db: Database, transfers: int) -> None:
    """`transfers` transfers among a hundred accounts, booked this month, then ANALYZE (as
    autovacuum would: it is off on these machines)."""
    async with pg_store.pg_transaction(db) as tx:
        await tx.conn.execute(
            "INSERT INTO accounts (key, code, currency, flags, debits_pending, debits_posted, "
            "credits_pending, credits_posted, created_at_us) SELECT 'plan/' || g, 'operating', "
            "'THB', 0, 0, 0, 0, 0, 0 FROM generate_series(0, 99) g")
        low = await tx.conn.fetchval("SELECT min(id) FROM accounts WHERE key LIKE 'plan/%'")
        await tx.conn.execute(
            "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_minor, "
            "currency, flags, code, created_at_us) SELECT 'plan-' || g, $1 + g % 100, "
            "$1 + (g + 1) % 100, 100, 'THB', 0, 'bench', "
            "(extract(epoch FROM now()) * 1000000)::bigint FROM generate_series(1, $2) g",
            low, transfers)
    async with pg_store.pg_transaction(db) as tx:
        await tx.conn.execute("ANALYZE")


async def _plan(db: Database, sql: str, *args: object) -> list[dict[str, Any]]:
    async with pg_store.pg_transaction(db) as tx:
        plan = await tx.conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
    parts = orjson.loads(plan) if isinstance(plan, str) else plan  # the pool decodes json
    return [node for part in parts for node in _nodes(part["Plan"])]


def _thrown_away(nodes: list[dict[str, Any]]) -> int:
    """Rows read and then dropped by a filter, over every loop (EXPLAIN gives each node's count
    per loop)."""
    return sum(round(n.get("Rows Removed by Filter", 0) * n.get("Actual Loops", 1))
               for n in nodes)


def _absent(prefix: str) -> list[str]:
    return [f"{prefix}absent-{n}" for n in range(ASKED)]


def _present(prefix: str) -> list[str]:
    return [f"{prefix}plan-{n}" for n in range(1, ASKED + 1)]


async def test_the_pass_read_probes_each_key_on_an_analysed_ledger(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db:
        await _ledger_of(db, TRANSFERS)
        for ids in (_absent("i:"), _present("i:")):
            nodes = await _plan(db, pg_store._READ_SQL, ids, _absent("p:"), _absent("r:"),
                                _absent("ctb:"), [], [], [], [], [], [], [])
            scanned = [n["Node Type"] for n in nodes if n.get("Relation Name") == "transfer_keys"]
            assert scanned and all("Index" in kind for kind in scanned), scanned
            # A probe reads only its key: no row of any table is read and then thrown away.
            assert _thrown_away(nodes) == 0
            found = next(n for n in nodes if n["Node Type"] == "Aggregate")
            assert found["Actual Rows"] == 1


async def test_the_pass_read_returns_each_present_transfer_once(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db:
        await _ledger_of(db, 2_000)
        ids = [f"plan-{n}" for n in (1, 7, 2_000)]
        async with pg_store.pg_transaction(db) as tx:
            row = await tx.conn.fetchrow(
                pg_store._READ_SQL, pg_store._keys("i:", [*ids, "plan-absent"]), [], [], [],
                [], [], [], [], [], [], [])
        assert row is not None
        assert sorted(t[0] for t in orjson.loads(row[0])) == sorted(ids)


async def test_unresolved_pending_probes_each_key(tmp_path: Path) -> None:
    async with fresh_database(tmp_path) as db:
        await _ledger_of(db, TRANSFERS)
        sql = ("SELECT id FROM " + pg_store._BY_KEYS.format(param="$1") + " WHERE "
               + pg_store._UNRESOLVED_PENDING)
        nodes = await _plan(db, sql, _present("i:"))
        assert _thrown_away(nodes) == ASKED  # each transfer read once, and not pending
        assert all("Index" in n["Node Type"] for n in nodes
                   if n.get("Relation Name") == "transfer_keys")
