"""The migrated schema matches the tables the application queries."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger.db.engine import Database
from ledger.db.tables import metadata

pytestmark = pytest.mark.anyio


async def test_migration_and_tables_agree(db: Database) -> None:
    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn)  # type: ignore[arg-type]
        return [d for d in compare_metadata(context, metadata)
                if not (isinstance(d, tuple) and d[0] == "remove_table"
                        and d[1].name == "alembic_version")]

    async with db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
