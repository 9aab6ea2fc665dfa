"""Transfers range-partitioned by booking month on PostgreSQL; their unique keys in
`transfer_keys` on both stores (issue 18 item 1, ADR 0062).

PostgreSQL requires the partition key in every unique index of a partitioned table, so a
transfer's id, pending_id and reversal_of (caller-chosen, with no month in them) cannot be
unique indexes of the partitioned `transfers`. They are rows of `transfer_keys` instead
(`i:` id, `p:` pending_id, `r:` reversal_of; primary key `key`), written by an AFTER INSERT
statement trigger on the table and on each of its partitions (a statement trigger fires for
the table named in the statement only). A duplicate is the same unique violation as before, in
the same transaction. Plain indexes on the three columns serve the lookups.

On PostgreSQL the table is rebuilt, in this migration's one transaction: primary key (seq,
created_at_us), the same checks and guards (row guards cloned onto every partition, the
TRUNCATE guard and the key trigger on each), the same sequence for `seq` (handed on, not
restarted), a history partition before the first monthly one, a partition a month from the month
before the migration's to 3 after, and a default partition; every row copied in seq
order, which fills `transfer_keys` through the trigger.

On SQLite `transfers` keeps its unique indexes and its rowid `seq`, and a row trigger fills
`transfer_keys` the same way: the same tables and the same rows on both stores.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BACK, AHEAD = 1, 3  # as 0017: few partitions, since every lookup by id probes each
COLUMNS = ("seq, id, debit_account_id, credit_account_id, amount_minor, currency, flags, "
           "pending_id, reversal_of, code, contribution_id, created_at_us")


def _month_plus(yyyymm: int, months: int) -> int:
    index = (yyyymm // 100) * 12 + (yyyymm % 100 - 1) + months
    return (index // 12) * 100 + index % 12 + 1


def _start_us(yyyymm: int) -> int:
    start = datetime(yyyymm // 100, yyyymm % 100, 1, tzinfo=UTC)
    return int(start.timestamp()) * 1_000_000


def _partition_triggers(partition: str) -> list[str]:
    return [f"CREATE OR REPLACE TRIGGER {partition}_no_truncate BEFORE TRUNCATE ON {partition} "
            "FOR EACH STATEMENT EXECUTE FUNCTION clmtv_refuse_change()",
            f"CREATE OR REPLACE TRIGGER {partition}_keys AFTER INSERT ON {partition} "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "
            "clmtv_transfer_keys()"]


def upgrade() -> None:
    op.create_table(
        "transfer_keys",
        sa.Column("key", sa.String(130), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres()
    else:
        _sqlite()


def _sqlite() -> None:
    for event in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER transfer_keys_no_{event.lower()} BEFORE {event} ON "
                   "transfer_keys FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'clmtv: "
                   f"{event} on transfer_keys refused: rows are immutable'); END")
    op.execute("""
        CREATE TRIGGER transfers_keys AFTER INSERT ON transfers FOR EACH ROW BEGIN
          INSERT INTO transfer_keys (key, seq, created_at_us)
            VALUES ('i:' || NEW.id, NEW.seq, NEW.created_at_us);
          INSERT INTO transfer_keys (key, seq, created_at_us)
            SELECT 'p:' || NEW.pending_id, NEW.seq, NEW.created_at_us
            WHERE NEW.pending_id IS NOT NULL;
          INSERT INTO transfer_keys (key, seq, created_at_us)
            SELECT 'r:' || NEW.reversal_of, NEW.seq, NEW.created_at_us
            WHERE NEW.reversal_of IS NOT NULL;
        END
    """)
    op.execute(_backfill("transfers"))


def _backfill(source: str) -> str:
    return (
        "INSERT INTO transfer_keys (key, seq, created_at_us) "  # noqa: S608 (constant names)
        f"SELECT 'i:' || id, seq, created_at_us FROM {source} UNION ALL "
        f"SELECT 'p:' || pending_id, seq, created_at_us FROM {source} "
        "WHERE pending_id IS NOT NULL UNION ALL "
        f"SELECT 'r:' || reversal_of, seq, created_at_us FROM {source} "
        "WHERE reversal_of IS NOT NULL")


def _postgres() -> None:
    op.execute("CREATE TRIGGER transfer_keys_immutable BEFORE UPDATE OR DELETE ON transfer_keys "
               "FOR EACH ROW EXECUTE FUNCTION clmtv_refuse_change()")
    op.execute("CREATE TRIGGER transfer_keys_no_truncate BEFORE TRUNCATE ON transfer_keys "
               "FOR EACH STATEMENT EXECUTE FUNCTION clmtv_refuse_change()")
    op.execute("""
        CREATE FUNCTION clmtv_transfer_keys() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO transfer_keys (key, seq, created_at_us)
          SELECT 'i:' || id, seq, created_at_us FROM new_rows
          UNION ALL SELECT 'p:' || pending_id, seq, created_at_us FROM new_rows
                    WHERE pending_id IS NOT NULL
          UNION ALL SELECT 'r:' || reversal_of, seq, created_at_us FROM new_rows
                    WHERE reversal_of IS NOT NULL;
          RETURN NULL;
        END $$
    """)
    today = datetime.now(UTC).date()
    now = today.year * 100 + today.month
    first, last = _month_plus(now, -BACK), _month_plus(now, AHEAD)
    old = "transfers_unpartitioned"
    op.execute(f"ALTER TABLE transfers RENAME TO {old}")
    # Free the names of its constraints and indexes for the new table; it is dropped below.
    for constraint in ("transfers_pkey", "transfers_id_key", "ck_transfers_amount_positive",
                       "ck_transfers_distinct_accounts"):
        op.execute(f"ALTER TABLE {old} DROP CONSTRAINT {constraint}")
    for index in ("ix_transfers_credit_account_id", "ix_transfers_debit_account_id",
                  "uq_transfers_pending_id", "uq_transfers_reversal_of"):
        op.execute(f"DROP INDEX {index}")
    op.execute(f"ALTER TABLE {old} ALTER COLUMN seq DROP DEFAULT")
    op.execute("""
        CREATE TABLE transfers (
          seq BIGINT NOT NULL DEFAULT nextval('transfers_seq_seq'),
          id VARCHAR(128) NOT NULL,
          debit_account_id BIGINT NOT NULL,
          credit_account_id BIGINT NOT NULL,
          amount_minor BIGINT NOT NULL,
          currency VARCHAR(3) NOT NULL,
          flags INTEGER NOT NULL,
          pending_id VARCHAR(128),
          reversal_of VARCHAR(128),
          code VARCHAR(32) NOT NULL,
          contribution_id VARCHAR(128),
          created_at_us BIGINT NOT NULL,
          CONSTRAINT transfers_pkey PRIMARY KEY (seq, created_at_us),
          CONSTRAINT ck_transfers_amount_positive CHECK (amount_minor > 0),
          CONSTRAINT ck_transfers_distinct_accounts CHECK (debit_account_id <> credit_account_id)
        ) PARTITION BY RANGE (created_at_us)
    """)
    # The journal reads the sequence by its column (pg_get_serial_sequence): it moves with it.
    op.execute("ALTER SEQUENCE transfers_seq_seq OWNED BY transfers.seq")
    op.execute("CREATE INDEX ix_transfers_id ON transfers (id)")
    for column in ("pending_id", "reversal_of"):
        op.execute(f"CREATE INDEX ix_transfers_{column} ON transfers ({column}) "
                   f"WHERE {column} IS NOT NULL")
    for column in ("debit_account_id", "credit_account_id"):
        op.execute(f"CREATE INDEX ix_transfers_{column} ON transfers ({column})")
    op.execute("CREATE TRIGGER transfers_immutable BEFORE UPDATE OR DELETE ON transfers "
               "FOR EACH ROW EXECUTE FUNCTION clmtv_refuse_change()")
    for statement in _partition_triggers("transfers"):
        op.execute(statement)
    op.execute("CREATE TABLE transfers_history PARTITION OF transfers "
               f"FOR VALUES FROM (MINVALUE) TO ({_start_us(first)})")
    parts = ["transfers_history"]
    month = first
    while month <= last:
        name = f"transfers_{month}"
        op.execute(f"CREATE TABLE {name} PARTITION OF transfers FOR VALUES FROM "
                   f"({_start_us(month)}) TO ({_start_us(_month_plus(month, 1))})")
        parts.append(name)
        month = _month_plus(month, 1)
    op.execute("CREATE TABLE transfers_default PARTITION OF transfers DEFAULT")
    parts.append("transfers_default")
    for name in parts:
        for statement in _partition_triggers(name):
            op.execute(statement)
    # Through the table: its key trigger fills transfer_keys with every transfer's keys.
    op.execute(f"INSERT INTO transfers ({COLUMNS}) "  # noqa: S608 (constant names)
               f"SELECT {COLUMNS} FROM {old} ORDER BY seq")
    op.execute(f"DROP TABLE {old}")
    op.execute("ANALYZE transfers")
    op.execute("ANALYZE transfer_keys")


def downgrade() -> None:
    raise NotImplementedError("the ledger is append-only; restore from backup instead")
