"""Portability and settlement: transfer lifecycles, FX rates, the message inbox, windows.

- `portability_transfers`: one row per flow of value for a worker and scheme (a transfer to the
  home fund, a lump sum, the Japanese tax refund), its lifecycle state, amounts in the host,
  settlement and home currencies, the rates used and the ledger legs it created;
- `fx_rates`: the reference rate in force per currency pair (Decimal text, never a float);
- `message_channels`: per (issuer, audience) the next sequence number expected (inbound) or to
  send (outbound, the hub's acknowledgements);
- `inbox_messages`: every verified message, its exact token, held or processed, and the result
  handed back to a retry; `inbox_rejections`: every refused arrival, its exact bytes and reason;
- `settlement_windows` and `window_confirmations`: windows per currency, the netting, the hub's
  signed statement, each fund's signed confirmation and the reconciliation report.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portability_transfers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("worker_id", sa.String(64), nullable=False, index=True),
        sa.Column("flow", sa.String(16), nullable=False),  # transfer, lump_sum, tax_refund
        sa.Column("reason", sa.String(16), nullable=False),  # return_home, status_change, claim
        sa.Column("host_fund", sa.String(16), nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("home_fund", sa.String(16), nullable=False),
        sa.Column("destination", sa.String(16), nullable=False),  # member, worker
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("agreement", sa.String(64), nullable=False),
        sa.Column("source_minor", sa.BigInteger()),
        sa.Column("source_currency", sa.String(3), nullable=False),
        sa.Column("settlement_minor", sa.BigInteger()),
        sa.Column("settlement_currency", sa.String(3), nullable=False),
        sa.Column("target_minor", sa.BigInteger()),
        sa.Column("target_currency", sa.String(3), nullable=False),
        sa.Column("months", sa.Text(), nullable=False),  # JSON list of yyyymm
        sa.Column("linked_id", sa.String(128)),  # a tax refund names its lump sum
        sa.Column("window_id", sa.String(128), index=True),
        sa.Column("detail", sa.Text(), nullable=False),  # JSON: rates, legs, basis, reasons
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "fx_rates",
        sa.Column("base", sa.String(3), primary_key=True),
        sa.Column("quote", sa.String(3), primary_key=True),
        sa.Column("rate", sa.String(48), nullable=False),  # units of quote per unit of base
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("set_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "message_channels",
        sa.Column("issuer", sa.String(32), primary_key=True),
        sa.Column("audience", sa.String(32), primary_key=True),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "inbox_messages",
        sa.Column("audience", sa.String(32), primary_key=True),
        sa.Column("issuer", sa.String(32), primary_key=True),
        sa.Column("jti", sa.String(128), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("typ", sa.String(32), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),  # held, processed, failed
        sa.Column("result", sa.Text()),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
        sa.Column("processed_at_us", sa.BigInteger()),
        sa.UniqueConstraint("audience", "issuer", "seq", name="uq_inbox_messages_seq"),
    )
    op.create_table(
        "inbox_rejections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("audience", sa.String(32), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "settlement_windows",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("netting", sa.Text()),  # JSON summary, fixed at close
        sa.Column("statement", sa.Text()),  # the hub's signed settlement statement (JWS)
        sa.Column("reconciliation", sa.Text()),  # JSON report, written when settled
        sa.Column("abort_reason", sa.Text()),
        sa.Column("opened_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "window_confirmations",
        sa.Column("window_id", sa.String(128), primary_key=True),
        sa.Column("fund", sa.String(16), primary_key=True),
        sa.Column("token", sa.Text(), nullable=False),  # the fund's signed confirmation (JWS)
        sa.Column("position_minor", sa.BigInteger(), nullable=False),
        sa.Column("received_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in ("window_confirmations", "settlement_windows", "inbox_rejections",
                  "inbox_messages", "message_channels", "fx_rates", "portability_transfers"):
        op.drop_table(table)
