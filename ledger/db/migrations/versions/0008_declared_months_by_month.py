"""Declared months keyed by (fund, month, worker) instead of (fund, worker, month).

A monthly file declares each of its workers once for one month. Under the old key order each
new month's entries fell between the previous months' entries of the same worker, all over the
index: every chunk touched (and split) leaf pages across the whole index, which had long
outgrown the buffer cache. Keyed by month first, a month's entries are appended together at
one place, like the first month's. The only lookup (fund, worker, month — all three equal)
uses the index either way. ADR 0026.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _rekey(columns: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE declared_months DROP CONSTRAINT declared_months_pkey, "
                   f"ADD CONSTRAINT declared_months_pkey PRIMARY KEY ({columns})")
        return
    # SQLite cannot change a primary key: copy the rows into a table with the new one.
    op.execute("CREATE TABLE declared_months_rekeyed (fund VARCHAR(16) NOT NULL, "
               "month INTEGER NOT NULL, worker_id VARCHAR(64) NOT NULL, "
               "import_id VARCHAR(64) NOT NULL, line INTEGER NOT NULL, "
               f"PRIMARY KEY ({columns}))")
    op.execute("INSERT INTO declared_months_rekeyed (fund, month, worker_id, import_id, line) "
               "SELECT fund, month, worker_id, import_id, line FROM declared_months")
    op.execute("DROP TABLE declared_months")
    op.execute("ALTER TABLE declared_months_rekeyed RENAME TO declared_months")


def upgrade() -> None:
    _rekey("fund, month, worker_id")


def downgrade() -> None:
    _rekey("fund, worker_id, month")
