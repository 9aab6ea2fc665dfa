"""Identity key rotation (ADR 0055): every stored identity and member number re-hashed (HMAC)
and re-sealed (AES-GCM, bound to its row and column) under the current key pair, online, in
batches.

The servers run with the new pair as current and the old one as previous while this runs:
they write under the new pair, read under either, and look numbers up by both hashes. A row
already under the current pair is recognised by its ciphertext (it opens under the current
key), so a run that was stopped is resumed by running again: it reads the rows done before
and writes only the rest. A batch is one transaction; a row that a unique index refuses under
its new hash (the same number written under the new key meanwhile) is left as it was and
named in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.db import identity_rotation_repo as repo
from ledger.db.engine import Database
from ledger.db.repositories import DuplicateKeyError
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.pii import PiiVault

BATCH_ROWS = 1000


@dataclass(slots=True)
class TableProgress:
    """One table's count so far: rows read, rewritten now, found done before; rows neither key
    opens, and rows a unique index refused (their keys)."""

    table: str
    examined: int = 0
    rotated: int = 0
    already: int = 0
    unreadable: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"table": self.table, "examined": self.examined, "rotated": self.rotated,
                "already_current": self.already, "unreadable": self.unreadable,
                "refused": self.refused}


@dataclass(slots=True)
class RotationReport:
    tables: list[TableProgress]

    @property
    def complete(self) -> bool:
        """Every stored number is under the current pair."""
        return not any(t.unreadable or t.refused for t in self.tables)

    def to_dict(self) -> dict[str, object]:
        return {"complete": self.complete, "tables": [t.to_dict() for t in self.tables]}


Progress = Callable[[TableProgress], None]


async def rotate(db: Database, vault: PiiVault, *, batch: int = BATCH_ROWS,
                 progress: Progress | None = None) -> RotationReport:
    """Bring every row under `vault`'s current pair, reading old ones with its previous pair;
    `progress` is called after each batch (an exception from it stops the run between
    batches, as an interruption would)."""
    if vault.previous is None:
        raise DomainError(ErrorCode.INVALID_INPUT, "no previous identity keys: set "
                          "CLMTV_PII_PREVIOUS_HMAC_KEY and CLMTV_PII_PREVIOUS_ENCRYPTION_KEY to "
                          "the keys being replaced, and the new ones as the current keys",
                          field="pii_previous_hmac_key")
    report = RotationReport([])
    for source in repo.SOURCES:
        done = TableProgress(source.name)
        report.tables.append(done)
        cursor: tuple[str, ...] | None = None
        while True:
            rows = await repo.page(db, source, cursor, batch)
            if not rows:
                break
            cursor = rows[-1].key
            rewrites = _rewrites(vault, rows, done)
            await _store(db, source, rewrites, done)
            if progress:
                progress(done)
            if len(rows) < batch:
                break
    return report


def _rewrites(vault: PiiVault, rows: list[repo.SealedRow], done: TableProgress
              ) -> list[repo.Rewrite]:
    assert vault.previous is not None  # by `rotate`
    out = []
    for row in rows:
        done.examined += 1
        if vault.open_current(row.context, row.sealed) is not None:
            done.already += 1
            continue
        clear = vault.previous.open_current(row.context, row.sealed)
        if clear is None:
            done.unreadable.append("/".join(row.key))
            continue
        out.append(repo.Rewrite(row, vault.lookup_hash(row.kind, clear),
                                vault.seal(row.context, clear)))
    return out


async def _store(db: Database, source: repo.Source, rewrites: list[repo.Rewrite],
                 done: TableProgress) -> None:
    try:
        done.rotated += await repo.rewrite(db, source, rewrites)
        return
    except DuplicateKeyError:
        pass
    for one in rewrites:  # the batch was refused whole: find the row(s) a unique index refuses
        try:
            done.rotated += await repo.rewrite(db, source, [one])
        except DuplicateKeyError:
            done.refused.append("/".join(one.row.key))
