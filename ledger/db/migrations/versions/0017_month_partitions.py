"""Insurance periods range-partitioned by month on PostgreSQL (issue 18 item 1, ADR 0062).

The table is rebuilt as a partitioned one with the same columns, key, check and guards, and
every row is copied into it, in the migration's one transaction: a history partition for the
months before the first monthly one, a partition a month from the month before the migration's
to 3 after, and a default partition for anything later (`clmtv db partitions` creates
the months ahead and moves such rows in; `ledger/db/partitions.py`). The primary key (worker_id,
fund, scheme, month) holds the partition key, so it is unique across partitions as before.

The row guards (no DELETE; the only change is active -> withdrawn | transferred) are declared on
the partitioned table, and PostgreSQL clones them onto every partition, future ones included;
the TRUNCATE guard is a statement trigger, which is not cloned: each partition gets its own.

SQLite keeps the table as it is: the same schema, unpartitioned.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BACK, AHEAD = 1, 3  # monthly partitions from BACK months before the migration's to AHEAD after


def _month_plus(yyyymm: int, months: int) -> int:
    index = (yyyymm // 100) * 12 + (yyyymm % 100 - 1) + months
    return (index // 12) * 100 + index % 12 + 1


def _no_truncate(partition: str) -> str:
    return (f"CREATE OR REPLACE TRIGGER {partition}_no_truncate BEFORE TRUNCATE ON {partition} "
            "FOR EACH STATEMENT EXECUTE FUNCTION clmtv_refuse_change()")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    today = datetime.now(UTC).date()
    now = today.year * 100 + today.month
    first, last = _month_plus(now, -BACK), _month_plus(now, AHEAD)
    op.execute("ALTER TABLE insurance_periods RENAME TO insurance_periods_unpartitioned")
    op.execute("ALTER TABLE insurance_periods_unpartitioned RENAME CONSTRAINT "
               "insurance_periods_pkey TO insurance_periods_unpartitioned_pkey")
    op.execute("ALTER TABLE insurance_periods_unpartitioned RENAME CONSTRAINT "
               "ck_periods_state TO ck_periods_state_unpartitioned")
    op.execute("""
        CREATE TABLE insurance_periods (
          worker_id VARCHAR(64) NOT NULL,
          fund VARCHAR(16) NOT NULL,
          scheme VARCHAR(64) NOT NULL,
          month INTEGER NOT NULL,
          kind VARCHAR(16) NOT NULL,
          state VARCHAR(16) NOT NULL,
          contribution_id VARCHAR(128) NOT NULL,
          created_at_us BIGINT NOT NULL,
          CONSTRAINT insurance_periods_pkey PRIMARY KEY (worker_id, fund, scheme, month),
          CONSTRAINT ck_periods_state CHECK (state IN ('active', 'withdrawn', 'transferred'))
        ) PARTITION BY RANGE (month)
    """)
    op.execute("CREATE TRIGGER insurance_periods_no_delete BEFORE DELETE ON insurance_periods "
               "FOR EACH ROW EXECUTE FUNCTION clmtv_refuse_change()")
    op.execute("""
        CREATE TRIGGER insurance_periods_one_way BEFORE UPDATE ON insurance_periods FOR EACH ROW
        WHEN (OLD.state <> 'active'
              OR (OLD.worker_id, OLD.fund, OLD.scheme, OLD.month, OLD.kind, OLD.contribution_id)
                 IS DISTINCT FROM
                 (NEW.worker_id, NEW.fund, NEW.scheme, NEW.month, NEW.kind, NEW.contribution_id))
        EXECUTE FUNCTION clmtv_refuse_change()
    """)
    op.execute(_no_truncate("insurance_periods"))
    op.execute("CREATE TABLE insurance_periods_history PARTITION OF insurance_periods "
               f"FOR VALUES FROM (MINVALUE) TO ({first})")
    op.execute(_no_truncate("insurance_periods_history"))
    month = first
    while month <= last:
        name = f"insurance_periods_{month}"
        op.execute(f"CREATE TABLE {name} PARTITION OF insurance_periods "
                   f"FOR VALUES FROM ({month}) TO ({_month_plus(month, 1)})")
        op.execute(_no_truncate(name))
        month = _month_plus(month, 1)
    op.execute("CREATE TABLE insurance_periods_default PARTITION OF insurance_periods DEFAULT")
    op.execute(_no_truncate("insurance_periods_default"))
    columns = "worker_id, fund, scheme, month, kind, state, contribution_id, created_at_us"
    op.execute(f"INSERT INTO insurance_periods ({columns}) "  # noqa: S608 (constant names)
               f"SELECT {columns} FROM insurance_periods_unpartitioned")
    # The old table's guards refuse TRUNCATE and row deletes, not DROP: it goes whole.
    op.execute("DROP TABLE insurance_periods_unpartitioned")
    # Migration 0016's recording of period state changes (ADR 0059), on the new table, after
    # the copy (the copied periods' changes are recorded already). Statement triggers on the
    # partitioned table see, through their transition tables, the rows of every partition a
    # statement naming the table touches.
    op.execute("CREATE TRIGGER insurance_periods_record_created AFTER INSERT ON insurance_periods "
               "REFERENCING NEW TABLE AS created FOR EACH STATEMENT "
               "EXECUTE FUNCTION clmtv_period_created()")
    op.execute("CREATE TRIGGER insurance_periods_record_changed AFTER UPDATE ON insurance_periods "
               "REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change "
               "FOR EACH STATEMENT EXECUTE FUNCTION clmtv_period_changed()")
    op.execute("ANALYZE insurance_periods")


def downgrade() -> None:
    raise NotImplementedError("the ledger is append-only; restore from backup instead")
