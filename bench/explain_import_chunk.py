"""Where an import's time goes in PostgreSQL: EXPLAIN (ANALYZE, BUFFERS, WAL) of the statement
that books one plain chunk, in a database kept by `bench.bench_import --keep`.

    python -m bench.explain_import_chunk clmtv_bench_xxxxxxxx [--first-row 500000] [--month 3]

Writes a 20,000-row SSO 1-10 file for the bench's members from `--first-row` on, for a month
the database has not booked yet (March 2026 by default, after the bench's January and
February), reads and stages its one chunk as the import does (the members looked up ahead on
a second connection, ADR 0027), prints the plan of the one statement, and rolls everything
back: the database is left as it was.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import numpy as np
from sqlalchemy import text

from bench.bench_import import national_ids, write_file
from bench.common import database_url
from ledger.adapters.declarations import DeclarationChecker
from ledger.adapters.registry import codec, get_adapter
from ledger.config import get_settings
from ledger.db import import_store
from ledger.db.engine import open_database
from ledger.db.import_store import ImportTx, MemberLookup, at_once_params
from ledger.domain.accounts import declarations_account
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency
from ledger.domain.periods import Month
from ledger.domain.pii import PiiVault
from ledger.services.import_chunks import CHUNK_ROWS, ChunkReader
from ledger.services.imports import _lines


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database", help="a database kept by bench.bench_import --keep")
    parser.add_argument("--first-row", type=int, default=500_000)
    parser.add_argument("--month", type=int, default=3, help="a month of 2026 not yet booked")
    args = parser.parse_args()
    members = national_ids(args.first_row + CHUNK_ROWS)[args.first_row:]
    wages = np.random.default_rng(args.month).integers(165_000, 3_500_000, size=len(members))
    settings = get_settings()
    vault = PiiVault(settings.pii_hmac_key, settings.pii_encryption_key)
    adapter = get_adapter("TH-SSO")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chunk.txt"
        write_file(path, Month(2026, args.month), members, wages)
        with path.open("rb") as source:
            parsed = codec("TH-SSO").parse(_lines(source, 0, None))
            header = next(parsed)
            reader = ChunkReader(adapter, DeclarationChecker(adapter, header),  # type: ignore[arg-type]
                                  parsed, vault, copy_text=True)
            staged = reader.next_chunk()
    assert staged is not None
    assert staged.copy_text is not None
    db = open_database(database_url(args.database), pool_size=2)
    try:
        async with db.engine.connect() as lookup_conn:
            workers = await MemberLookup(lookup_conn).workers("TH-SSO", staged.rows)
        async with db.engine.connect() as conn:
            tx = await conn.begin()
            store = ImportTx(conn, True)
            await store.create_staging()
            await store.stage(staged.rows, staged.items, staged.copy_text, short_term=False,
                              workers=workers)
            key = declarations_account("TH-SSO", Currency.THB).key
            declarations = (await conn.execute(text("SELECT id FROM accounts WHERE key = :k"),
                                               {"k": key})).scalar_one()
            params = at_once_params("TH-SSO", "THB", "imp_explain",
                                    int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
                                    declarations, 0, sorted(staged.pooled))
            await conn.execute(text("SET LOCAL track_io_timing = on"))
            plan = await conn.execute(
                text("EXPLAIN (ANALYZE, BUFFERS, WAL) " + import_store._AT_ONCE), params)
            for (line,) in plan.all():
                print(line)
            await tx.rollback()
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
