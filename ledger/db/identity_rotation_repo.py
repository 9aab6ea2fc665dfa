"""The rows that hold identity and member numbers, read and rewritten in batches for an
identity key rotation (ADR 0055): workers' identities, identity claims, memberships.

Reads go in primary-key order after a cursor (keyset pages: each is an index range, however
large the table). A batch's rewrites are one transaction, and each compares the ciphertext it
read: a row changed in between is left alone, not overwritten with a stale number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError

from ledger.db.engine import Database
from ledger.db.repositories import DuplicateKeyError
from ledger.db.tables import identity_claims, memberships, workers


@dataclass(frozen=True, slots=True)
class SealedRow:
    """One stored number: its row's key, what the number is (the hash's kind or fund), how it
    was sealed (the AES-GCM context) and the ciphertext."""

    key: tuple[str, ...]
    kind: str
    context: str
    sealed: bytes


@dataclass(frozen=True, slots=True)
class Rewrite:
    row: SealedRow
    number_hmac: str
    sealed: bytes


@dataclass(frozen=True, slots=True)
class Source:
    """A table of sealed numbers: its columns and how to page through it."""

    name: str
    table: Table
    key_columns: tuple[str, ...]
    hmac_column: str
    sealed_column: str

    def row(self, found: Any) -> SealedRow:
        if self.table is memberships:
            return SealedRow((found.worker_id, found.fund), found.fund,
                             f"member:{found.worker_id}:{found.fund}",
                             bytes(found.member_number_ciphertext))
        worker_id = found.worker_id if self.table is identity_claims else found.id
        return SealedRow((worker_id,), found.identity_kind or "national_id",
                         f"identity:{worker_id}", bytes(found.identity_ciphertext))


SOURCES = (
    Source("workers", workers, ("id",), "identity_hmac", "identity_ciphertext"),
    Source("identity_claims", identity_claims, ("worker_id",), "identity_hmac",
           "identity_ciphertext"),
    Source("memberships", memberships, ("worker_id", "fund"), "member_number_hmac",
           "member_number_ciphertext"),
)


def _after(source: Source, cursor: tuple[str, ...]) -> Any:
    """Rows after `cursor` in primary-key order (a row-value comparison, spelt out)."""
    columns = [source.table.c[c] for c in source.key_columns]
    if len(columns) == 1:
        return columns[0] > cursor[0]
    first, second = columns
    return or_(first > cursor[0], and_(first == cursor[0], second > cursor[1]))


async def page(db: Database, source: Source, cursor: tuple[str, ...] | None, limit: int
               ) -> list[SealedRow]:
    t = source.table
    query = select(t).where(t.c[source.sealed_column].isnot(None))
    if cursor is not None:
        query = query.where(_after(source, cursor))
    query = query.order_by(*[t.c[c] for c in source.key_columns]).limit(limit)
    async with db.engine.connect() as conn:
        return [source.row(r) for r in (await conn.execute(query)).all()]


async def rewrite(db: Database, source: Source, rewrites: Sequence[Rewrite]) -> int:
    """Store the new hashes and ciphertexts in one transaction; how many rows changed (a row
    whose ciphertext is no longer the one read is left alone). A unique index refusing a new
    hash raises DuplicateKeyError and changes nothing."""
    if not rewrites:
        return 0
    t = source.table
    where = [t.c[c] == bindparam(f"k_{c}") for c in source.key_columns]
    statement = update(t).where(*where, t.c[source.sealed_column] == bindparam("old")).values(
        {source.hmac_column: bindparam("new_hmac"), source.sealed_column: bindparam("new")})
    params = [{**{f"k_{c}": v for c, v in zip(source.key_columns, r.row.key, strict=True)},
               "old": r.row.sealed, "new_hmac": r.number_hmac, "new": r.sealed}
              for r in rewrites]
    try:
        async with db.engine.begin() as conn:
            changed = 0
            for one in params:  # a row each: executemany reports no per-row count everywhere
                changed += int((await conn.execute(statement, one)).rowcount or 0)
    except IntegrityError as exc:
        raise DuplicateKeyError(str(exc.orig)) from None
    return changed
