"""The migrated schema matches the tables the application queries."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ledger.db.engine import Database
from ledger.db.tables import metadata

pytestmark = pytest.mark.anyio


async def test_migration_and_tables_agree(db: Database) -> None:
    """The metadata is the schema both stores share. On PostgreSQL, a partitioned table's month
    partitions are not tables of their own in it (their table is compared; they and their
    indexes are not), and the unique keys that a partitioned table cannot hold are plain lookup
    indexes there, held unique by transfer_keys (ledger/db/partitions.py, ADR 0062): exactly
    those differences are expected, and each must be there."""
    from sqlalchemy import text

    from ledger.db.partitions import LOOKUP_INDEXES, UNIQUE_ELSEWHERE

    postgres = db.engine.dialect.name == "postgresql"
    partitions: set[str] = set()
    async with db.engine.connect() as conn:
        if postgres:
            partitions = set((await conn.execute(text(
                "SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r' "
                "AND relnamespace = current_schema()::regnamespace"))).scalars())

    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn)  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    def label(d: object) -> tuple[str, str, str] | None:
        """(kind, table, name) of a difference about a table or an index; None otherwise."""
        if not isinstance(d, tuple):
            return None
        kind, item = str(d[0]), d[1]
        table: Any = getattr(item, "table", item)
        name = item.name or "_".join([table.name, *[c.name for c in item.columns], "key"])
        return kind, str(table.name), str(name)

    async with db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    expected = set()
    if postgres:
        for table, names in UNIQUE_ELSEWHERE.items():
            expected |= {("add_constraint" if n.endswith("_key") else "add_index", table, n)
                         for n in names}
        expected |= {("remove_index", t, n) for t, names in LOOKUP_INDEXES.items()
                     for n in names}
    found = set()
    left = []
    for d in differences:
        tag = label(d)
        if tag and (tag[1] == "alembic_version" or tag[1] in partitions):
            continue
        if tag in expected:
            found.add(tag)
        else:
            left.append(d)
    assert left == []
    assert found == expected


@pytest.mark.postgres_only
async def test_accounts_leave_room_for_one_hot_balance_update_per_account(
    db: Database, uid: str,
) -> None:
    """Migration 0006 (ADR 0022): the accounts table's fillfactor, as declared in the
    metadata, and its effect: raising every account's balance once keeps each row on its page
    (a HOT update; with fillfactor 70 most rows had to move to another page)."""
    from sqlalchemy import text

    from ledger.db.tables import accounts

    declared = accounts.dialect_options["postgresql"]["with"]["fillfactor"]
    where = "worker_id LIKE 'wkr_' || :u || '%'"
    block = f"SELECT key, (ctid::text::point)[0] FROM accounts WHERE {where} ORDER BY key"
    # One transaction, rolled back: the suite's database is shared, and balances raised without
    # transfers would unbalance every later test's totals.
    async with db.engine.connect() as conn:
        transaction = await conn.begin()
        options = (await conn.execute(text(
            "SELECT reloptions FROM pg_class WHERE relname = 'accounts' "
            "AND relnamespace = 'public'::regnamespace"))).scalar_one()
        assert options == [f"fillfactor={declared}"]
        # Member accounts as an import creates them: 600 rows fill a few dozen fresh pages.
        await conn.execute(text(
            "INSERT INTO accounts (key, code, currency, flags, fund, scheme, worker_id, payer, "
            "debits_pending, debits_posted, credits_pending, credits_posted, created_at_us) "
            "SELECT 'member/wkr_' || :u || lpad(g::text, 8, '0') || '/TH-SSO/s33-old-age/THB', "
            "'member', 'THB', 1, 'TH-SSO', 's33-old-age', "
            "'wkr_' || :u || lpad(g::text, 8, '0'), NULL, 0, 0, 0, 0, 0 "
            "FROM generate_series(1, 600) AS g"), {"u": uid})
        before = (await conn.execute(text(block), {"u": uid})).all()
        await conn.execute(text(
            f"UPDATE accounts SET credits_posted = credits_posted + 100 WHERE {where}"),
            {"u": uid})
        after = (await conn.execute(text(block), {"u": uid})).all()
        await transaction.rollback()
    assert len(before) == 600
    moved = sum(1 for b, a in zip(before, after, strict=True) if b != a)
    assert moved == 0, f"{moved} of 600 balance updates left their page"


@pytest.mark.postgres_only
async def test_inbox_results_are_written_in_place(db: Database, uid: str) -> None:
    """Migration 0007 (ADR 0024): the settlement tables' fillfactors are the metadata's, and a
    batch of inbox messages inserted then given their results keeps every row on its page."""
    from sqlalchemy import text

    from ledger.db.tables import inbox_messages, portability_transfers

    async with db.engine.connect() as conn:
        transaction = await conn.begin()
        for table in (inbox_messages, portability_transfers):
            options = (await conn.execute(text(
                "SELECT reloptions FROM pg_class WHERE relname = :t "
                "AND relnamespace = 'public'::regnamespace"), {"t": table.name})).scalar_one()
            declared = table.dialect_options["postgresql"]["with"]["fillfactor"]
            assert options == [f"fillfactor={declared}"], table.name
        await conn.execute(text(
            "INSERT INTO inbox_messages (audience, issuer, jti, seq, typ, payload_sha256, token, "
            "state, result, received_at_us, processed_at_us) SELECT 'HUB', 'T' || :u, "
            "'jti-' || g, g, 'transfer.ack', md5(g::text) || md5(g::text), repeat('x', 780), "
            "'received', NULL, 0, NULL FROM generate_series(1, 400) AS g"), {"u": uid})
        where = "issuer = 'T' || :u"
        block = f"SELECT seq, (ctid::text::point)[0] FROM inbox_messages WHERE {where} ORDER BY seq"
        before = (await conn.execute(text(block), {"u": uid})).all()
        await conn.execute(text(
            f"UPDATE inbox_messages SET state = 'processed', result = repeat('r', 600), "
            f"processed_at_us = 1 WHERE {where}"), {"u": uid})
        after = (await conn.execute(text(block), {"u": uid})).all()
        await transaction.rollback()
    assert len(before) == 400
    moved = sum(1 for b, a in zip(before, after, strict=True) if b != a)
    assert moved == 0, f"{moved} of 400 results left their page"
