"""Hardening (issue 25, issue 16): token lifecycle, bounded refusals, identity claims, key ids
per issuer.

- `api_clients`: `expires_at_us` and `revoked_at_us` (a token may expire and be revoked).
- `inbox_rejections`: `token_length`; the `token` column now keeps a bounded prefix only.
- `identity_claims`: a registration whose identity number another worker already holds is
  accepted and recorded here for review, instead of answering "exists" to a caller who may not
  see that worker (an identity oracle).
- `trusted_keys`: the primary key is (issuer, kid): a key id belongs to its issuer.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_clients", sa.Column("expires_at_us", sa.BigInteger(), nullable=True))
    op.add_column("api_clients", sa.Column("revoked_at_us", sa.BigInteger(), nullable=True))
    op.add_column("inbox_rejections", sa.Column("token_length", sa.Integer(), nullable=False,
                                                server_default="0"))
    op.create_table(
        "identity_claims",
        sa.Column("worker_id", sa.String(64), primary_key=True),
        sa.Column("identity_kind", sa.String(32), nullable=False),
        sa.Column("identity_hmac", sa.String(64), nullable=False, index=True),
        sa.Column("identity_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=False),
    )
    _rebuild_trusted_keys(["issuer", "kid"])


def _rebuild_trusted_keys(primary_key: list[str]) -> None:
    """A new primary key, the same on both stores: copy into a new table, swap (SQLite cannot
    alter a primary key in place, and alembic's batch mode would keep the reflected one)."""
    op.create_table(
        "trusted_keys_new",
        sa.Column("issuer", sa.String(32), nullable=False),
        sa.Column("kid", sa.String(128), nullable=False),
        sa.Column("jwk", sa.Text(), nullable=False),
        sa.Column("updated_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*primary_key, name=f"pk_trusted_keys_{len(primary_key)}"),
    )
    op.execute("INSERT INTO trusted_keys_new (issuer, kid, jwk, updated_at_us) "
               "SELECT issuer, kid, jwk, updated_at_us FROM trusted_keys")
    op.drop_table("trusted_keys")
    op.rename_table("trusted_keys_new", "trusted_keys")
    op.create_index("ix_trusted_keys_issuer", "trusted_keys", ["issuer"])


def downgrade() -> None:
    _rebuild_trusted_keys(["kid"])
    op.drop_table("identity_claims")
    op.drop_column("inbox_rejections", "token_length")
    op.drop_column("api_clients", "revoked_at_us")
    op.drop_column("api_clients", "expires_at_us")
