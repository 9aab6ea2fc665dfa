"""The choice of ledger store: one write-transaction factory per database kind.

`ledger_store` holds the types and the protocol both stores implement; `pg_store` and
`sqlite_store` implement it; this module, which imports both and is imported by neither, picks one
for a database. The composition root calls it and hands the factory to the posting engine.
"""

from __future__ import annotations

from ledger.db.engine import Database
from ledger.db.ledger_store import TransactionFactory
from ledger.db.pg_store import pg_transaction
from ledger.db.sqlite_store import sqlite_transaction


def ledger_transactions(db: Database) -> TransactionFactory:
    """The store's transaction factory for `db` (PostgreSQL through asyncpg, or SQLite)."""
    return pg_transaction if db.is_postgres else sqlite_transaction
