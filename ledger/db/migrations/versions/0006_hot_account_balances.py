"""Accounts fillfactor 45 on PostgreSQL: every balance update of an import stays HOT.

An import raises each of its member accounts' balances once. An update is HOT (written on the
same page, no index touched) only if the page has room for the row's new version. With
fillfactor 70 (0001) a page of ~29 member accounts (~196 bytes each with its line pointer) has
room for ~12 new versions: the other ~60% of the updates went to another page and rewrote all
three of the table's indexes (primary key, key, worker_id). At 45 a page holds ~18 accounts and
keeps room for one new version of each, plus margin for longer keys and the redirect line
pointers that pruning leaves (ADR 0022). SQLite has no such setting: nothing to do there.

The setting applies to pages filled from now on; existing accounts move to such pages when the
table is rewritten (`VACUUM FULL accounts` or `CLUSTER`, a maintenance-window step, not a
migration's: it cannot run in a transaction).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

FILLFACTOR = 45


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE accounts SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE accounts SET (fillfactor = 70)")
