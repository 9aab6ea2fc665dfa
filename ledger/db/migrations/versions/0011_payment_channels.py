"""Payment channels (ADR 0037): quotes, payments, their reversals and refunds, day files,
and the daily net per fund that joins a settlement window.

- `channel_quotes`: a rate locked for a channel's wallet and home currency until it expires;
- `channel_payments`: one row per payment, written in the transaction of its ledger legs, with
  the amounts, the rate, the months paid and covered, the channel's business day and the signed
  receipt the worker got;
- `channel_payment_events`: a reversal or refund of a payment (at most one), with its day;
- `channel_day_files`: each day file received and its line-by-line reconciliation report;
- `channel_obligations`: per channel, day and fund the net collected, converted into the
  settlement currency: an obligation a settlement window nets like a portability flow.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channel_quotes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("wallet_currency", sa.String(3), nullable=False),
        sa.Column("home_currency", sa.String(3), nullable=False),
        sa.Column("rate", sa.String(64), nullable=False),
        sa.Column("rate_source", sa.Text(), nullable=False),
        sa.Column("rounding", sa.String(16), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("expires_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "channel_payments",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("channel_ref", sa.String(48), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.Column("fund", sa.String(16), nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("quote_id", sa.String(32)),
        sa.Column("wallet_currency", sa.String(3), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("principal_minor", sa.BigInteger(), nullable=False),
        sa.Column("home_currency", sa.String(3), nullable=False),
        sa.Column("contribution_minor", sa.BigInteger(), nullable=False),
        sa.Column("state_support_minor", sa.BigInteger(), nullable=False),
        sa.Column("fx_difference_minor", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.String(64), nullable=False),
        sa.Column("rate_source", sa.Text(), nullable=False),
        sa.Column("rounding", sa.String(16), nullable=False),
        sa.Column("months", sa.Text(), nullable=False),
        sa.Column("months_covered", sa.Text(), nullable=False),
        sa.Column("insurance_periods", sa.Integer(), nullable=False),
        sa.Column("paid_at_us", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
    )
    op.create_index("ix_channel_payments_day", "channel_payments", ["channel", "day"])
    op.create_table(
        "channel_payment_events",
        sa.Column("payment_id", sa.String(96), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("contribution_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
    )
    op.create_index("ix_channel_payment_events_day", "channel_payment_events",
                    ["channel", "day"])
    op.create_table(
        "channel_day_files",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_channel_day_files_day", "channel_day_files", ["channel", "day"])
    op.create_table(
        "channel_obligations",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("fund", sa.String(16), nullable=False),
        sa.Column("home_currency", sa.String(3), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("settlement_currency", sa.String(3), nullable=False),
        sa.Column("settlement_minor", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.String(64), nullable=False),
        sa.Column("window_id", sa.String(128)),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_channel_obligations_window_id", "channel_obligations", ["window_id"])
    op.create_index("ix_channel_obligations_day", "channel_obligations", ["channel", "day"])


def downgrade() -> None:
    for table in ("channel_obligations", "channel_day_files", "channel_payment_events",
                  "channel_payments", "channel_quotes"):
        op.drop_table(table)
