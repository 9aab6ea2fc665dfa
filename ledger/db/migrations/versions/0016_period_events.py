"""Period state changes in the tamper-evident journal (issue 16 item 2, ADR 0059).

- `insurance_period_events`: every state an insurance period takes, in the order taken, with a
  seq of its own: the row's creation (active, as posted or imported) and every later change
  (withdrawn by a reversal or refund, transferred by a portability flow). Written by triggers on
  `insurance_periods` in the same transaction as the change, whichever path made it (the
  posting stores, imports, channels, portability): on PostgreSQL one statement-level trigger
  per event with a transition table (one INSERT .. SELECT per statement, however many rows), on
  SQLite one row trigger. Append-only: triggers refuse UPDATE and DELETE (and TRUNCATE).
- `period_seals`: the second Merkle log, the period changes', sealed like `journal_seals`.

The triggers record; they do not guard. Someone who switches them off and edits a period leaves
the table and its recorded changes disagreeing, which `clmtv audit verify` names.

Periods stored before this migration get one change each, their state as it is now, in the
order they were created (their earlier history was never recorded).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# Fixed column names, no input: the statements below are built from them (hence noqa S608).
COLUMNS = "worker_id, fund, scheme, month, kind, state, contribution_id"
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "insurance_period_events",
        sa.Column("seq", BigId, primary_key=True, autoincrement=True),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("fund", sa.String(16), nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("contribution_id", sa.String(128), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_insurance_period_events_period", "insurance_period_events",
                    ["worker_id", "fund", "scheme", "month"])
    op.create_table(
        "period_seals",
        sa.Column("tree_size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("edge", sa.LargeBinary(), nullable=False),
        sa.Column("leaves", sa.LargeBinary(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("sealed_at_us", sa.BigInteger(), nullable=False),
    )
    op.execute(f"INSERT INTO insurance_period_events ({COLUMNS}, at_us) SELECT {COLUMNS}, "  # noqa: S608
               "created_at_us FROM insurance_periods ORDER BY created_at_us, worker_id, fund, "
               "scheme, month")
    if postgres:
        _postgres()
    else:
        _sqlite()


def _postgres() -> None:
    op.execute(f"""
        CREATE FUNCTION clmtv_period_created() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO insurance_period_events ({COLUMNS}, at_us)
          SELECT {COLUMNS}, created_at_us FROM created;
          RETURN NULL;
        END $$;
    """)  # noqa: S608
    n = ", ".join(f"n.{c.strip()}" for c in COLUMNS.split(","))
    op.execute(f"""
        CREATE FUNCTION clmtv_period_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO insurance_period_events ({COLUMNS}, at_us)
          SELECT {n}, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
          FROM after_change AS n JOIN before_change AS o
            ON (o.worker_id, o.fund, o.scheme, o.month) = (n.worker_id, n.fund, n.scheme, n.month)
          WHERE o.state IS DISTINCT FROM n.state;
          RETURN NULL;
        END $$;
    """)  # noqa: S608
    op.execute("CREATE TRIGGER insurance_periods_record_created AFTER INSERT ON insurance_periods "
               "REFERENCING NEW TABLE AS created FOR EACH STATEMENT "
               "EXECUTE FUNCTION clmtv_period_created()")
    op.execute("CREATE TRIGGER insurance_periods_record_changed AFTER UPDATE ON insurance_periods "
               "REFERENCING OLD TABLE AS before_change NEW TABLE AS after_change "
               "FOR EACH STATEMENT EXECUTE FUNCTION clmtv_period_changed()")
    for table in ("insurance_period_events", "period_seals"):
        # clmtv_journal_append_only: migration 0013's guard
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION clmtv_journal_append_only()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION clmtv_journal_append_only()")


def _sqlite() -> None:
    values = ", ".join(f"NEW.{c.strip()}" for c in COLUMNS.split(","))
    op.execute("CREATE TRIGGER insurance_periods_record_created AFTER INSERT ON insurance_periods "  # noqa: S608
               f"FOR EACH ROW BEGIN INSERT INTO insurance_period_events ({COLUMNS}, at_us) "
               f"VALUES ({values}, NEW.created_at_us); END")
    op.execute("CREATE TRIGGER insurance_periods_record_changed AFTER UPDATE ON insurance_periods "  # noqa: S608
               "FOR EACH ROW WHEN OLD.state IS NOT NEW.state BEGIN "
               f"INSERT INTO insurance_period_events ({COLUMNS}, at_us) VALUES ({values}, "
               "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)); END")
    for table in ("insurance_period_events", "period_seals"):
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'clmtv: {event} on {table} "
                "refused: the journal log is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER insurance_periods_record_created ON insurance_periods")
        op.execute("DROP TRIGGER insurance_periods_record_changed ON insurance_periods")
        op.execute("DROP FUNCTION clmtv_period_created()")
        op.execute("DROP FUNCTION clmtv_period_changed()")
    else:
        op.execute("DROP TRIGGER insurance_periods_record_created")
        op.execute("DROP TRIGGER insurance_periods_record_changed")
    op.drop_table("period_seals")
    op.drop_table("insurance_period_events")
