"""Runs the Alembic migrations programmatically (`clmtv db upgrade`, tests, the demo)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from ledger.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it serialises concurrent `db upgrade` runs on one PostgreSQL database.
_UPGRADE_LOCK = 7_311_001


def _upgrade_sync(connection: Connection, revision: str) -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(config, revision)
    after = MigrationContext.configure(connection).get_current_revision()
    if after is None or after == before:
        return []
    script = ScriptDirectory.from_config(config)
    applied = script.iterate_revisions(after, before or "base")  # newest first, `before` excluded
    return [r.revision for r in reversed(list(applied)) if r is not None]


async def upgrade(db: Database, revision: str = "head") -> list[str]:
    """Brings the schema to `revision`; returns the migrations applied, oldest first (none when
    the database was already there)."""
    async with db.engine.begin() as conn:
        if db.is_postgres:
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})"))
        return await conn.run_sync(_upgrade_sync, revision)


def head_revision() -> str:
    """The newest migration in the package: what `upgrade` brings a database to."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        exists = await conn.run_sync(
            lambda sync: sync.dialect.has_table(sync, "alembic_version")
        )
        if not exists:
            return None
        row = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
        return None if row is None else str(row[0])
