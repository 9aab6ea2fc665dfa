"""Employers bound to their employees, shares that differ from the rules said so, refusals
retained by age (issue 25 findings 4 and 5, issue 22 item 3).

- `api_clients.employer`: an employer client's employer number at its fund (its scope); a
  client of kind employer without one may post nothing.
- `employments`: which workers an employer (fund, employer number) employs, registered by the
  fund or the operator; an employer posts contributions and declares rows only for these.
- `contributions.overrides`: the shares a caller declared apart from the fund's rules, each with
  its reason code and the rules' amount (JSON; NULL when every share is the rules').
- `inbox_rejections.received_at_us` indexed: refusals older than the retention are deleted.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_clients", sa.Column("employer", sa.String(32), nullable=True))
    op.add_column("contributions", sa.Column("overrides", sa.Text(), nullable=True))
    op.create_table(
        "employments",
        sa.Column("fund", sa.String(16), primary_key=True),
        sa.Column("employer", sa.String(32), primary_key=True),
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("registered_by", sa.String(128), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_inbox_rejections_received_at_us", "inbox_rejections",
                    ["received_at_us"])


def downgrade() -> None:
    op.drop_index("ix_inbox_rejections_received_at_us", "inbox_rejections")
    op.drop_table("employments")
    op.drop_column("contributions", "overrides")
    op.drop_column("api_clients", "employer")
