"""The tamper-evident journal (issue 16 item 2, ADR 0050): the Merkle log of transfers, sealed.

- `journal_seals`: one row per signed tree head: the tree's size, root, the last transfer seq it
  covers, the right edge of the tree (to extend it without reading every leaf), the leaves this
  seal appended (one blob: seq, RFC 6962 leaf hash and id of each transfer, in seq order: one
  row per seal, not per transfer, keeps the sealer's writes small) and the hub's JWS.

It is append-only: on PostgreSQL and SQLite a trigger refuses UPDATE and DELETE (the verifier,
`clmtv audit verify`, does not rely on it: it recomputes everything from the transfers).
Self-contained: it creates its own guard function on PostgreSQL.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("journal_seals",)


def upgrade() -> None:
    op.create_table(
        "journal_seals",
        sa.Column("tree_size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("edge", sa.LargeBinary(), nullable=False),
        sa.Column("leaves", sa.LargeBinary(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("sealed_at_us", sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION clmtv_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'clmtv: % on % refused: the journal log is append-only',
                TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
            END $$;
            """
        )
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION clmtv_journal_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION clmtv_journal_append_only()")
    else:
        for table in TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"FOR EACH ROW BEGIN SELECT RAISE(ABORT, 'clmtv: {event} on {table} "
                    "refused: the journal log is append-only'); END")


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION clmtv_journal_append_only()")
