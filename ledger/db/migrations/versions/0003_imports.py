"""Imports: one row per declaration file a fund or employer uploaded, with its report; and the
(fund, worker, month) of every declaration row ever booked, so a row is booked once whatever file
it arrives in (short-term branches are booked per file in aggregate, ADR 0008).

The file's SHA-256 with the fund identifies it: uploading the same bytes again returns the stored
report and posts nothing (the contributions' business keys would make it a no-op anyway; this
makes it cheap and auditable).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("fund", sa.String(16), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("principal", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # posted, partial, rejected
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),  # the JSON report as returned
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("fund", "file_sha256", "status", name="uq_imports_file"),
    )
    op.create_table(
        "declared_months",
        sa.Column("fund", sa.String(16), primary_key=True),
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("month", sa.Integer(), primary_key=True),
        sa.Column("import_id", sa.String(64), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("declared_months")
    op.drop_table("imports")
