"""Runs the Alembic migrations programmatically (`clmtv db upgrade`, tests, the demo)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from ledger.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it serialises concurrent `db upgrade` runs on one PostgreSQL database.
_UPGRADE_LOCK = 7_311_001


def _upgrade_sync(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(db: Database, revision: str = "head") -> None:
    async with db.engine.begin() as conn:
        if db.is_postgres:
            await conn.execute(text(f"SELECT pg_advisory_xact_lock({_UPGRADE_LOCK})"))
        await conn.run_sync(_upgrade_sync, revision)


def head_revision() -> str:
    """The newest migration in the package: what `upgrade` brings a database to."""
    from alembic.script import ScriptDirectory

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
