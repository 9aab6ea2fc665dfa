"""Month partitions (issue 18 item 1, ledger/db/partitions.py, migration 0016), each test on a
database of its own: rows land in their month's partition, every partition keeps the guards, the
migration keeps every row, and the job that creates the months ahead is idempotent and moves
rows the default partition caught. On SQLite the same tables are unpartitioned and the job has
nothing to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.db.engine import Database
from ledger.db.migrate import upgrade
from ledger.db.partitions import (
    AHEAD_MONTHS,
    BACK_MONTHS,
    PARTITIONED,
    Created,
    current_month,
    ensure_partitions,
    monthly_partitions,
)
from ledger.domain.periods import Month
from tests.conftest import TEST_DB
from tests.db.test_migrations import empty_db  # noqa: F401 (a fixture)
from tests.fresh_db import fresh_database

pytestmark = pytest.mark.anyio
postgres_only = pytest.mark.postgres_only

PERIODS = PARTITIONED[0]
COLUMNS = "worker_id, fund, scheme, month, kind, state, contribution_id, created_at_us"


async def _period(db: Database, worker: str, month: int) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text(
            f"INSERT INTO insurance_periods ({COLUMNS}) VALUES "
            "(:w, 'TH-SSO', 's33-old-age', :m, 'mandatory', 'active', :c, 0)"),
            {"w": worker, "m": month, "c": f"ctb:{worker}:{month}"})


async def _where(db: Database) -> dict[tuple[str, int], str]:
    """Each period's (worker, month) and the table that holds its row."""
    where = ("tableoid::regclass::text" if db.engine.dialect.name == "postgresql"
             else "'insurance_periods'")
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text(
            f"SELECT worker_id, month, {where} FROM insurance_periods"))).all()
    return {(r[0], r[1]): r[2] for r in rows}


async def test_sqlite_has_the_table_unpartitioned_and_the_job_nothing_to_do(
        tmp_path: Path) -> None:
    if TEST_DB.startswith("postgres"):
        pytest.skip("the SQLite store's behaviour")
    async with fresh_database(tmp_path) as db:
        assert await ensure_partitions(db, current_month().plus(24)) == []
        await _period(db, "wkr_a", 209912)
        assert await _where(db) == {("wkr_a", 209912): "insurance_periods"}


@postgres_only
async def test_periods_land_in_their_months_partition(tmp_path: Path) -> None:
    now = current_month()
    async with fresh_database(tmp_path) as db:
        months = {"old": 201001, "first": now.plus(-BACK_MONTHS).to_int(),
                  "now": now.to_int(), "last": now.plus(AHEAD_MONTHS).to_int(),
                  "beyond": now.plus(AHEAD_MONTHS + 1).to_int(), "far": 209912}
        for name, month in months.items():
            await _period(db, f"wkr_{name}", month)
        assert await _where(db) == {
            ("wkr_old", 201001): "insurance_periods_history",
            ("wkr_first", months["first"]): f"insurance_periods_{months['first']}",
            ("wkr_now", months["now"]): f"insurance_periods_{months['now']}",
            ("wkr_last", months["last"]): f"insurance_periods_{months['last']}",
            ("wkr_beyond", months["beyond"]): "insurance_periods_default",
            ("wkr_far", 209912): "insurance_periods_default"}
        # The primary key holds the partition key: unique across partitions as before.
        with pytest.raises(Exception, match=r"(?i)duplicate key.*insurance_periods"):
            await _period(db, "wkr_now", months["now"])


async def _refusals(db: Database, partition: str, worker: str) -> list[str]:
    """Each forbidden change tried on `partition` directly; the messages that refused them."""
    found = []
    for statement in (f"DELETE FROM {partition} WHERE worker_id = :w",
                      f"UPDATE {partition} SET kind = 'voluntary' WHERE worker_id = :w",
                      f"TRUNCATE {partition}"):
        with pytest.raises(Exception, match="rows are immutable") as refused:
            async with db.engine.begin() as conn:
                await conn.execute(text(statement),
                                   {} if statement.startswith("TRUNCATE") else {"w": worker})
        found.append(str(refused.value).split("refused")[0].rsplit("clmtv: ", 1)[1].strip())
    return found


@postgres_only
async def test_every_partition_keeps_the_guards(tmp_path: Path) -> None:
    now = current_month()
    async with fresh_database(tmp_path) as db:
        beyond = now.plus(AHEAD_MONTHS + 1)
        await _period(db, "wkr_old", 201001)
        await _period(db, "wkr_now", now.to_int())
        await _period(db, "wkr_far", 209912)
        await _period(db, "wkr_new", beyond.to_int())
        await ensure_partitions(db, beyond)  # a partition the job made, not the migration
        for worker, partition in (("wkr_old", "insurance_periods_history"),
                                  ("wkr_now", f"insurance_periods_{now.to_int()}"),
                                  ("wkr_far", "insurance_periods_default"),
                                  ("wkr_new", f"insurance_periods_{beyond.to_int()}")):
            assert await _refusals(db, partition, worker) == [
                f"DELETE on {partition}", f"UPDATE on {partition}", f"TRUNCATE on {partition}"]
        # The one change allowed still is: active -> withdrawn, through the table.
        async with db.engine.begin() as conn:
            changed = await conn.execute(text(
                "UPDATE insurance_periods SET state = 'withdrawn' WHERE worker_id = 'wkr_new'"))
            assert changed.rowcount == 1


@postgres_only
async def test_the_job_is_idempotent_and_moves_rows_the_default_caught(tmp_path: Path) -> None:
    now = current_month()
    last = now.plus(AHEAD_MONTHS)
    async with fresh_database(tmp_path) as db:
        async with db.engine.connect() as conn:
            before = await monthly_partitions(conn, PERIODS)
        assert before[0] == now.plus(-BACK_MONTHS)
        assert before[-1] == last
        assert len(before) == BACK_MONTHS + AHEAD_MONTHS + 1
        await _period(db, "wkr_a", last.plus(2).to_int())
        await _period(db, "wkr_b", last.plus(2).to_int())
        await _period(db, "wkr_c", last.plus(9).to_int())
        assert await ensure_partitions(db, last) == []  # nothing due yet
        created = await ensure_partitions(db, last.plus(3))
        assert created == [Created(f"insurance_periods_{last.plus(1).to_int()}", 0),
                           Created(f"insurance_periods_{last.plus(2).to_int()}", 2),
                           Created(f"insurance_periods_{last.plus(3).to_int()}", 0)]
        assert await ensure_partitions(db, last.plus(3)) == []
        where = await _where(db)
        moved = last.plus(2).to_int()
        assert where[("wkr_a", moved)] == where[("wkr_b", moved)] == f"insurance_periods_{moved}"
        assert where[("wkr_c", last.plus(9).to_int())] == "insurance_periods_default"
        async with db.engine.connect() as conn:
            assert (await monthly_partitions(conn, PERIODS))[-1] == last.plus(3)
            # The default partition is attached again, with the guards cloned back onto it.
            guards = set((await conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = "
                "'insurance_periods_default'::regclass"))).scalars())
        assert guards == {"insurance_periods_no_delete", "insurance_periods_one_way",
                          "insurance_periods_default_no_truncate"}


async def test_0016_keeps_every_period(empty_db: Database) -> None:  # noqa: F811
    """Both stores: every row kept; on PostgreSQL, in the partitions of its months."""
    await upgrade(empty_db, "0015")
    now = current_month()
    months = [199901, now.plus(-BACK_MONTHS - 1).to_int(), now.to_int(),
              now.plus(AHEAD_MONTHS + 5).to_int()]
    async with empty_db.engine.begin() as conn:
        for k, month in enumerate(months):
            await conn.execute(text(
                f"INSERT INTO insurance_periods ({COLUMNS}) VALUES (:w, 'JP-NPS', 'pension', "
                ":m, 'mandatory', :s, :c, :t)"),
                {"w": f"wkr_{k}", "m": month, "s": "withdrawn" if k == 1 else "active",
                 "c": f"ctb:{k}", "t": 1_700_000_000_000_000 + k})
    async with empty_db.engine.connect() as conn:
        before = (await conn.execute(text(
            f"SELECT {COLUMNS} FROM insurance_periods ORDER BY worker_id"))).all()
    await upgrade(empty_db, "0016")
    async with empty_db.engine.connect() as conn:
        after = (await conn.execute(text(
            f"SELECT {COLUMNS} FROM insurance_periods ORDER BY worker_id"))).all()
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    assert len(after) == 4
    if empty_db.engine.dialect.name != "postgresql":
        return
    assert await _where(empty_db) == {
        ("wkr_0", 199901): "insurance_periods_history",
        ("wkr_1", months[1]): "insurance_periods_history",
        ("wkr_2", months[2]): f"insurance_periods_{months[2]}",
        ("wkr_3", months[3]): "insurance_periods_default"}
    # A withdrawn period stays withdrawn: the one-way guard holds on the new table.
    with pytest.raises(Exception, match="rows are immutable"):
        async with empty_db.engine.begin() as conn:
            await conn.execute(text(
                "UPDATE insurance_periods SET state = 'active' WHERE worker_id = 'wkr_1'"))


def test_month_arithmetic_of_the_migration_matches_the_domains() -> None:
    from importlib import import_module

    migration = import_module("ledger.db.migrations.versions.0016_month_partitions")
    for start in (Month(2026, 1), Month(2026, 12), Month(1999, 7)):
        for step in (-25, -13, -12, -1, 0, 1, 11, 12, 13, 25):
            assert migration._month_plus(start.to_int(), step) == start.plus(step).to_int()
