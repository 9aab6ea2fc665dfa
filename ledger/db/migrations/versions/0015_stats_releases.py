"""Monitoring releases (issue 24, ADR 0052): the signed data packages and the privacy budget.

- `stats_releases`: one row per release: audience (`public`, `fund:<code>`, `ministry:<country>`),
  period, the ε it spent, the ledger position it was read at, its descriptor and the hub's JWS;
- `stats_release_files`: the package's files, byte for byte, so that the API serves what was
  signed;
- `stats_budget`: the ε each release spent on each month of data, per audience: what
  `privacy.Budget` sums before it allows another release of the same months.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stats_releases",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("audience", sa.String(32), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("epsilon", sa.String(32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("position_nonce", sa.String(32), nullable=False),
        sa.Column("descriptor", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("build_ms", sa.Integer(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_stats_releases_audience", "stats_releases", ["audience", "period"])
    op.create_table(
        "stats_release_files",
        sa.Column("release_id", sa.String(96), primary_key=True),
        sa.Column("path", sa.String(64), primary_key=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "stats_budget",
        sa.Column("audience", sa.String(32), primary_key=True),
        sa.Column("month", sa.Integer(), primary_key=True),
        sa.Column("release_id", sa.String(96), primary_key=True),
        sa.Column("epsilon", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_stats_releases_audience", table_name="stats_releases")
    for table in ("stats_budget", "stats_release_files", "stats_releases"):
        op.drop_table(table)
