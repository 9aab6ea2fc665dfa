"""Hub acknowledgements: each signed `transfer.ack` the hub sent, once, by (recipient, seq).

One acknowledgement answers a whole batch of a fund's messages; the messages keep only its
sequence number, so a batch of a thousand stores one token, not a thousand copies.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_acks",
        sa.Column("recipient", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hub_acks")
