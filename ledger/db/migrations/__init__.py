"""Alembic migrations; `ledger.db.migrate.upgrade` runs them programmatically."""
