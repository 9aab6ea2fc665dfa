"""Month partitions of the ledger's large tables on PostgreSQL (issue 18 item 1).

This module owns which tables are range-partitioned by month, how their partitions are named
and bounded, and `ensure_partitions`, the job that creates the months ahead (`clmtv db
partitions`). Migrations 0017 (insurance periods) and 0018 (transfers) turned the tables into
partitioned ones. SQLite has the same tables, unpartitioned: there the job does nothing.

Each partitioned table has:

- `{table}_history`: every month before the first monthly partition (MINVALUE to it);
- `{table}_{yyyymm}`: one partition a month;
- `{table}_default`: anything past the last monthly partition, so that an insert never fails
  for want of a partition (a period bought months ahead, a job that did not run). When the job
  later creates that month, it moves its rows out of the default partition in the same
  transaction.

Immutability: row triggers declared on the partitioned table are cloned by PostgreSQL onto every
partition, present and future; a statement trigger is not (TRUNCATE of one partition, or an
insert into it directly, does not fire its table's), so every partition gets its own
`..._no_truncate` trigger, and each of the transfers' its own `..._keys` trigger (ADR 0062).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.db.engine import Database
from ledger.domain.periods import Month


@dataclass(frozen=True)
class MonthlyPartitions:
    table: str
    column: str  # the partition key
    microseconds: bool = False  # the key is a time in µs since the epoch (UTC), not a yyyymm
    # Statement triggers every partition needs for itself (PostgreSQL clones row triggers only).
    statement_triggers: tuple[str, ...] = ("no_truncate",)

    def bound(self, month: Month) -> int:
        """The partition key's value where `month` starts."""
        if self.microseconds:
            return calendar.timegm((month.year, month.month, 1, 0, 0, 0)) * 1_000_000
        return month.to_int()

    def name(self, month: Month) -> str:
        return f"{self.table}_{month.to_int()}"

    @property
    def history(self) -> str:
        return f"{self.table}_history"

    @property
    def default(self) -> str:
        return f"{self.table}_default"


PARTITIONED = (
    # By the insured month: the primary key (worker_id, fund, scheme, month) holds the partition
    # key already, so its uniqueness holds across partitions as it did before.
    MonthlyPartitions("insurance_periods", "month"),
    # By the booking time. The primary key is (seq, created_at_us); the id, pending_id and
    # reversal_of are unique across partitions through transfer_keys (ADR 0062), which a
    # statement trigger on the table and on each partition fills.
    MonthlyPartitions("transfers", "created_at_us", microseconds=True,
                      statement_triggers=("no_truncate", "keys")),
)

# The unique keys of the metadata that PostgreSQL cannot hold on a partitioned table (they lack
# the partition key), by table: transfer_keys holds them instead, and plain indexes of these
# names serve the lookups. The drift test expects exactly these differences on PostgreSQL.
UNIQUE_ELSEWHERE = {"transfers": {"transfers_id_key", "uq_transfers_pending_id",
                                  "uq_transfers_reversal_of"}}
LOOKUP_INDEXES = {"transfers": {"ix_transfers_id", "ix_transfers_pending_id",
                                "ix_transfers_reversal_of"}}

# How far ahead of the current month the job creates partitions by default, and how far back
# migration 0017 starts the monthly ones (older months go to the history partition).
AHEAD_MONTHS = 3
BACK_MONTHS = 1


def current_month() -> Month:
    return Month.of(datetime.now(UTC).date())


def partition_triggers(p: MonthlyPartitions, partition: str) -> list[str]:
    """The statement triggers one partition needs (CREATE OR REPLACE: safe to repeat)."""
    made = {
        "no_truncate": f"CREATE OR REPLACE TRIGGER {partition}_no_truncate BEFORE TRUNCATE ON "
        f"{partition} FOR EACH STATEMENT EXECUTE FUNCTION clmtv_refuse_change()",
        "keys": f"CREATE OR REPLACE TRIGGER {partition}_keys AFTER INSERT ON {partition} "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "
        "clmtv_transfer_keys()",
    }
    return [made[t] for t in p.statement_triggers]


def create_month(p: MonthlyPartitions, month: Month) -> list[str]:
    """The statements that create `month`'s partition (none of them fails if it exists)."""
    name = p.name(month)
    return [f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {p.table} FOR VALUES FROM "
            f"({p.bound(month)}) TO ({p.bound(month.plus(1))})", *partition_triggers(p, name)]


@dataclass(frozen=True)
class Created:
    partition: str
    moved_rows: int  # rows moved out of the default partition into it


async def monthly_partitions(conn: AsyncConnection, p: MonthlyPartitions) -> list[Month]:
    """The months that have a partition of their own, in order."""
    names = (await conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:t AS regclass)"), {"t": p.table})).scalars().all()
    prefix = f"{p.table}_"
    return sorted(Month.from_int(int(n[len(prefix):])) for n in names
                  if n.startswith(prefix) and n[len(prefix):].isdigit())


async def ensure_partitions(db: Database, through: Month) -> list[Created]:
    """Create every missing monthly partition up to `through`, each in its own transaction.

    Idempotent: a second run creates nothing. Rows that an insert put in the default partition
    for a month now created move into it in the same transaction (the default partition is
    detached meanwhile, so its guards are not in the way, and attached again)."""
    if db.engine.dialect.name != "postgresql":
        return []
    created: list[Created] = []
    for p in PARTITIONED:
        async with db.engine.connect() as conn:
            months = await monthly_partitions(conn, p)
        if not months:
            raise RuntimeError(f"{p.table} has no monthly partitions: is it partitioned "
                               "(migration 0017)?")
        month = months[-1].plus(1)
        while month <= through:
            created.append(await _create(db, p, month))
            month = month.plus(1)
    return created


async def _create(db: Database, p: MonthlyPartitions, month: Month) -> Created:
    lo, hi = p.bound(month), p.bound(month.plus(1))
    async with db.engine.begin() as conn:
        # Serialises jobs and inserts for the time of one partition: a row cannot reach the
        # default partition for this month after it was looked at.
        await conn.execute(text(f"LOCK TABLE {p.table} IN SHARE ROW EXCLUSIVE MODE"))
        if month in await monthly_partitions(conn, p):
            return Created(p.name(month), 0)  # another job made it meanwhile
        waiting = (await conn.execute(text(
            f"SELECT count(*) FROM {p.default} WHERE {p.column} >= :lo "  # noqa: S608 (names: ours)
            f"AND {p.column} < :hi"),
            {"lo": lo, "hi": hi})).scalar_one()
        if not waiting:
            for statement in create_month(p, month):
                await conn.execute(text(statement))
            return Created(p.name(month), 0)
        await conn.execute(text(f"ALTER TABLE {p.table} DETACH PARTITION {p.default}"))
        table, *triggers = create_month(p, month)
        await conn.execute(text(table))
        # Detached, the default partition has lost the row guards cloned from its table; the
        # rows go straight into the new partition before it has its statement triggers, so
        # that transfer_keys, which holds their keys already, is not asked to take them again.
        await conn.execute(text(
            f"WITH moved AS (DELETE FROM {p.default} WHERE {p.column} >= :lo AND "  # noqa: S608
            f"{p.column} < :hi RETURNING *) INSERT INTO {p.name(month)} SELECT * FROM moved"),
            {"lo": lo, "hi": hi})
        for statement in triggers:
            await conn.execute(text(statement))
        await conn.execute(text(f"ALTER TABLE {p.table} ATTACH PARTITION {p.default} DEFAULT"))
        return Created(p.name(month), int(waiting))
