"""Month partitions (issue 18 item 1, ledger/db/partitions.py, migration 0017), each test on a
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


async def _transfer(db: Database, ident: str, month: Month, at: int, *,
                    pending_id: str | None = None, reversal_of: str | None = None,
                    into: str = "transfers") -> None:
    """A transfer booked `at` µs into `month` (accounts 1 -> 2: no key points to accounts)."""
    start = PARTITIONED[1].bound(month)
    async with db.engine.begin() as conn:
        await conn.execute(text(
            f"INSERT INTO {into} (id, debit_account_id, credit_account_id, amount_minor, "
            "currency, flags, pending_id, reversal_of, code, contribution_id, created_at_us) "
            "VALUES (:i, 1, 2, 100, 'THB', 0, :p, :r, 'test', NULL, :t)"),
            {"i": ident, "p": pending_id, "r": reversal_of, "t": start + at})


async def _refusals(db: Database, partition: str, worker: str, column: str = "worker_id",
                    change: str = "kind = 'voluntary'") -> list[str]:
    """Each forbidden change tried on `partition` directly; the messages that refused them."""
    found = []
    for statement in (f"DELETE FROM {partition} WHERE {column} = :w",
                      f"UPDATE {partition} SET {change} WHERE {column} = :w",
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
        await _transfer(db, "tr_moved", last.plus(2), 0)
        created = await ensure_partitions(db, last.plus(3))
        assert created == [Created(f"insurance_periods_{last.plus(1).to_int()}", 0),
                           Created(f"insurance_periods_{last.plus(2).to_int()}", 2),
                           Created(f"insurance_periods_{last.plus(3).to_int()}", 0),
                           Created(f"transfers_{last.plus(1).to_int()}", 0),
                           Created(f"transfers_{last.plus(2).to_int()}", 1),
                           Created(f"transfers_{last.plus(3).to_int()}", 0)]
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
            home = (await conn.execute(text(
                "SELECT tableoid::regclass::text FROM transfers WHERE id = 'tr_moved'"))
                ).scalar_one()
            assert home == f"transfers_{last.plus(2).to_int()}"
            new_guards = set((await conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass)"),
                {"t": f"transfers_{last.plus(2).to_int()}"})).scalars())
        assert guards == {"insurance_periods_no_delete", "insurance_periods_one_way",
                          "insurance_periods_default_no_truncate"}
        partition = f"transfers_{last.plus(2).to_int()}"
        assert new_guards == {"transfers_immutable", f"{partition}_no_truncate",
                              f"{partition}_keys"}
        # The moved transfer's keys were not asked for twice, and its id is still taken.
        with pytest.raises(Exception, match="transfer_keys_pkey"):
            await _transfer(db, "tr_moved", now, 1)


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
    await upgrade(empty_db, "0017")
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

    migration = import_module("ledger.db.migrations.versions.0017_month_partitions")
    for start in (Month(2026, 1), Month(2026, 12), Month(1999, 7)):
        for step in (-25, -13, -12, -1, 0, 1, 11, 12, 13, 25):
            assert migration._month_plus(start.to_int(), step) == start.plus(step).to_int()


@postgres_only
async def test_transfers_land_in_their_booking_months_partition(tmp_path: Path) -> None:
    now = current_month()
    async with fresh_database(tmp_path) as db:
        booked = {"tr_old": Month(2010, 1), "tr_first": now.plus(-BACK_MONTHS),
                  "tr_now": now, "tr_last": now.plus(AHEAD_MONTHS),
                  "tr_beyond": now.plus(AHEAD_MONTHS + 1)}
        for ident, month in booked.items():
            await _transfer(db, ident, month, 0)
        await _transfer(db, "tr_month_end", now, PARTITIONED[1].bound(now.plus(1))
                        - PARTITIONED[1].bound(now) - 1)  # the last µs of the month
        async with db.engine.connect() as conn:
            where = {str(r[0]): str(r[1]) for r in (await conn.execute(text(
                "SELECT id, tableoid::regclass::text FROM transfers"))).all()}
            keys = set((await conn.execute(text("SELECT key FROM transfer_keys"))).scalars())
        assert where == {"tr_old": "transfers_history",
                         "tr_first": f"transfers_{now.plus(-BACK_MONTHS).to_int()}",
                         "tr_now": f"transfers_{now.to_int()}",
                         "tr_month_end": f"transfers_{now.to_int()}",
                         "tr_last": f"transfers_{now.plus(AHEAD_MONTHS).to_int()}",
                         "tr_beyond": "transfers_default"}
        assert keys == {f"i:{i}" for i in where}


@postgres_only
async def test_an_id_pending_id_or_reversal_is_unique_across_months(tmp_path: Path) -> None:
    now = current_month()
    async with fresh_database(tmp_path) as db:
        await _transfer(db, "tr_a", now.plus(-3), 0, pending_id="tr_p")
        await _transfer(db, "tr_b", now.plus(-2), 0, reversal_of="tr_r")
        duplicates: list[tuple[str, Month, dict[str, str]]] = [
            ("tr_a", now, {}),  # the same id in another month
            ("tr_a", Month(2010, 1), {}),  # ... in the history partition
            ("tr_a", now.plus(AHEAD_MONTHS + 5), {}),  # ... in the default one
            ("tr_c", now, {"pending_id": "tr_p"}),  # a pending transfer resolved twice
            ("tr_d", now.plus(1), {"reversal_of": "tr_r"}),  # reversed twice
            # Straight into a partition, past the table's trigger: the partition's own fires.
            ("tr_a", now, {"into": f"transfers_{now.to_int()}"}),
        ]
        for ident, month, extra in duplicates:
            with pytest.raises(Exception, match=r"duplicate key.*transfer_keys_pkey"):
                await _transfer(db, ident, month, 5, **extra)
        # Nothing of the refused ones was kept; a new id in any month is booked.
        await _transfer(db, "tr_e", now.plus(1), 0, pending_id="tr_p2", reversal_of="tr_r2")
        async with db.engine.connect() as conn:
            ids = sorted((await conn.execute(text("SELECT id FROM transfers"))).scalars())
            keys = sorted((await conn.execute(text("SELECT key FROM transfer_keys"))).scalars())
        assert ids == ["tr_a", "tr_b", "tr_e"]
        assert keys == ["i:tr_a", "i:tr_b", "i:tr_e", "p:tr_p", "p:tr_p2", "r:tr_r", "r:tr_r2"]


@postgres_only
async def test_every_transfers_partition_and_the_keys_refuse_change(tmp_path: Path) -> None:
    now = current_month()
    async with fresh_database(tmp_path) as db:
        beyond = now.plus(AHEAD_MONTHS + 1)
        for ident, month in (("tr_old", Month(2010, 1)), ("tr_now", now),
                             ("tr_far", Month(2099, 12)), ("tr_new", beyond)):
            await _transfer(db, ident, month, 0)
        await ensure_partitions(db, beyond)
        for ident, partition in (("tr_old", "transfers_history"),
                                 ("tr_now", f"transfers_{now.to_int()}"),
                                 ("tr_far", "transfers_default"),
                                 ("tr_new", f"transfers_{beyond.to_int()}"),
                                 ("i:tr_now", "transfer_keys")):
            column = "key" if partition == "transfer_keys" else "id"
            assert await _refusals(db, partition, ident, column, "seq = seq + 1") == [
                f"DELETE on {partition}", f"UPDATE on {partition}", f"TRUNCATE on {partition}"]


async def test_0017_keeps_every_transfer_and_their_sequence(empty_db: Database) -> None:  # noqa: F811
    """Both stores: every transfer kept, its keys in transfer_keys; on PostgreSQL each in its
    month's partition, and the next transfer numbered after the last."""
    await upgrade(empty_db, "0017")
    now = current_month()
    months = [Month(2001, 1), now.plus(-1), now, now.plus(AHEAD_MONTHS + 3)]
    for k, month in enumerate(months):
        await _transfer(empty_db, f"tr_{k}", month, k, pending_id="tr_p" if k == 1 else None,
                        reversal_of="tr_r" if k == 2 else None)
    columns = ("seq, id, debit_account_id, credit_account_id, amount_minor, currency, flags, "
               "pending_id, reversal_of, code, contribution_id, created_at_us")
    async with empty_db.engine.connect() as conn:
        before = [tuple(r) for r in (await conn.execute(text(
            f"SELECT {columns} FROM transfers ORDER BY seq"))).all()]
    await upgrade(empty_db, "0018")
    await _transfer(empty_db, "tr_after", now, 9)
    async with empty_db.engine.connect() as conn:
        after = [tuple(r) for r in (await conn.execute(text(
            f"SELECT {columns} FROM transfers ORDER BY seq"))).all()]
        keys = {str(r[0]): int(r[1]) for r in (await conn.execute(text(
            "SELECT key, seq FROM transfer_keys"))).all()}
    assert after[:4] == before
    assert after[4][1] == "tr_after"
    assert after[4][0] > before[-1][0]
    seqs = {row[1]: row[0] for row in after}
    assert keys == {**{f"i:{i}": s for i, s in seqs.items()}, "p:tr_p": seqs["tr_1"],
                    "r:tr_r": seqs["tr_2"]}
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await _transfer(empty_db, "tr_0", now.plus(1), 0)
    if empty_db.engine.dialect.name != "postgresql":
        return
    async with empty_db.engine.connect() as conn:
        where = {str(r[0]): str(r[1]) for r in (await conn.execute(text(
            "SELECT id, tableoid::regclass::text FROM transfers"))).all()}
    assert where == {"tr_0": "transfers_history", "tr_1": f"transfers_{now.plus(-1).to_int()}",
                     "tr_2": f"transfers_{now.to_int()}", "tr_3": "transfers_default",
                     "tr_after": f"transfers_{now.to_int()}"}
