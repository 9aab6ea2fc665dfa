"""Room for HOT updates on the two tables the settlement path updates row by row, and an
index of held inbox messages.

Every message the inbox takes is inserted (`received`, with its exact token) and then updated
once with its result and state; every acknowledged flow goes from `pending` to `posted`. None
of those columns is indexed, so the updates can be HOT — the new version written on the same
page, no index touched — if the page has room for it. At the default fillfactor (100) it never
has: each update wrote the row elsewhere plus a new entry in every index. Measured in psql on
20,000 inbox-shaped rows (0.8 kB token, 0.6 kB result): 260 ms at 100 against 80 ms at 40.

`inbox_messages`: a batch is inserted and then updated before any old version can be pruned,
so a page keeps room for a new, larger version of each of its rows: 40. `portability_transfers`:
rows (~0.6 kB) change state in separate transactions, one change per row per batch: 50.
SQLite has no such setting. ADR 0024.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FILLFACTOR = {"inbox_messages": 40, "portability_transfers": 50}


def upgrade() -> None:
    # Held messages are looked up at every intake, and are few among many processed ones: a
    # partial index keeps that lookup from reading every message of the channel.
    held = sa.text("state = 'held'")
    op.create_index("ix_inbox_messages_held", "inbox_messages", ["audience", "issuer", "seq"],
                    postgresql_where=held, sqlite_where=held)
    if op.get_bind().dialect.name == "postgresql":
        for table, fillfactor in FILLFACTOR.items():
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in FILLFACTOR:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    op.drop_index("ix_inbox_messages_held", "inbox_messages")
