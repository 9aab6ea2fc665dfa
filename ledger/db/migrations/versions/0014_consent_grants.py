"""Consent (issue 17): a worker lets an officer or helper read their statement for a while, and
sees who read it.

- `consent_grants`: one row per grant: the worker, the grantee (an API client's name), when it
  was made, when it expires, and when it was revoked (if it was). A grant is never deleted: the
  worker's list keeps the ones that ended.
- `statement_reads`: one row each time someone other than the worker read the worker's
  statement (page, JSON or signed), with the grant that allowed it, if any.
- `channel_payments`: an index by worker (the statement lists a worker's voluntary payments).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_grants",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("grantee", sa.String(128), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at_us", sa.BigInteger()),
    )
    op.create_index("ix_consent_grants_worker", "consent_grants", ["worker_id"])
    op.create_index("ix_consent_grants_grantee", "consent_grants", ["grantee", "worker_id"])
    op.create_table(
        "statement_reads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("reader", sa.String(128), nullable=False),
        sa.Column("reader_kind", sa.String(16), nullable=False),
        sa.Column("grant_id", sa.String(32)),
        sa.Column("what", sa.String(16), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_statement_reads_worker", "statement_reads", ["worker_id", "at_us"])
    op.create_index("ix_channel_payments_worker", "channel_payments", ["worker_id"])


def downgrade() -> None:
    op.drop_index("ix_channel_payments_worker", "channel_payments")
    op.drop_index("ix_statement_reads_worker", "statement_reads")
    op.drop_table("statement_reads")
    op.drop_index("ix_consent_grants_grantee", "consent_grants")
    op.drop_index("ix_consent_grants_worker", "consent_grants")
    op.drop_table("consent_grants")
