"""Trusted keys: each fund's published signing keys (public JWKs with validity windows).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_keys",
        sa.Column("kid", sa.String(128), primary_key=True),
        sa.Column("issuer", sa.String(32), nullable=False, index=True),
        sa.Column("jwk", sa.Text(), nullable=False),  # public JWK incl. nbf / exp / revoked_at
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trusted_keys")
