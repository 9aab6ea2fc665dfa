"""One member account per worker, fund, scheme and currency (ADR 0026): refuse older ledgers.

Until now every payer's share went to its own member account (`member/{w}/{fund}/{scheme}/
{payer}/{cur}`). From this revision all shares go to one account and who paid stays with each
contribution. The old accounts cannot be folded into the new ones in place: their transfers
name them, and transfers and account identities are never edited (migration 0001's triggers).
So a ledger that already holds per-payer member accounts is refused with a clear message
instead of being left half in one model and half in the other; replay its contributions into a
new database (`clmtv import`, `POST /v1/contributions`) to bring them over. A database with no
such account (every new one) upgrades without change.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REFUSAL = ("this ledger holds {count} per-payer member account(s) (e.g. {example}); since "
           "revision 0009 a worker has one member account per fund, scheme and currency "
           "(docs/adr/0026-one-member-account.md). Transfers are never rewritten, so it cannot "
           "be upgraded in place: replay its contributions into a new database.")


def upgrade() -> None:
    found = op.get_bind().execute(sa.text(
        "SELECT count(*), min(key) FROM accounts WHERE code = 'member' AND payer IS NOT NULL"
    )).one()
    if found[0]:
        raise RuntimeError(REFUSAL.format(count=found[0], example=found[1]))


def downgrade() -> None:
    """Nothing to undo: the revision changed no table."""
