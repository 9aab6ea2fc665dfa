"""The posting engine's view of the database: set-based reads and writes inside one transaction.

Every method takes or returns whole batches, so a group-commit transaction costs a constant number
of round trips however many units it carries. `pg_store` and `sqlite_store` implement it; the
`transaction` factory opens one for the current database.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.db.engine import Database
from ledger.domain.accounts import AccountSpec
from ledger.domain.ledger import Balance, TransferFlags, TransferSpec
from ledger.domain.money import Currency

PeriodKey = tuple[str, str, str, int]  # worker_id, fund, scheme, month (yyyymm)
IdemKey = tuple[str, str]  # principal, idempotency key


@dataclass(frozen=True, slots=True)
class TransferRecord:
    spec: TransferSpec
    created_at_us: int


TRANSFER_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount_minor, currency, flags, pending_id, "
    "reversal_of, code, contribution_id, created_at_us"
)


def transfer_from_row(row: Any) -> TransferRecord:
    """Map a row holding TRANSFER_COLUMNS (any mapping-like row) to a record."""
    spec = TransferSpec(
        id=row["id"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount_minor=row["amount_minor"],
        currency=Currency(row["currency"]),
        flags=TransferFlags(row["flags"]),
        pending_id=row["pending_id"],
        reversal_of=row["reversal_of"],
        code=row["code"],
        contribution_id=row["contribution_id"],
    )
    return TransferRecord(spec, row["created_at_us"])


@dataclass(frozen=True, slots=True)
class ContributionRow:
    id: str
    worker_id: str
    fund: str
    scheme: str
    month: int
    kind: str
    wage_base_minor: int
    currency: str
    shares: str  # canonical JSON {"payer": "amount_minor", ...}
    created_at_us: int

    def identity(self) -> tuple[object, ...]:
        shares: dict[str, str] = json.loads(self.shares)
        return (
            self.worker_id, self.fund, self.scheme, self.month, self.kind,
            self.wage_base_minor, self.currency, tuple(sorted(shares.items())),
        )


@dataclass(frozen=True, slots=True)
class PeriodRow:
    worker_id: str
    fund: str
    scheme: str
    month: int
    kind: str
    contribution_id: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_hash: str
    status_code: int
    response: str


class LedgerTx(Protocol):
    """One open database transaction, as the posting engine uses it."""

    async def try_lock_keys(self, keys: Sequence[IdemKey]) -> set[IdemKey]: ...
    async def stored_responses(self, keys: Sequence[IdemKey]) -> dict[IdemKey, StoredResponse]: ...
    async def transfers_by_id(self, ids: Sequence[str]) -> dict[str, TransferRecord]: ...
    async def resolved_pending(self, pending_ids: Sequence[str]) -> set[str]: ...
    async def reversed_ids(self, ids: Sequence[str]) -> set[str]: ...
    async def contributions_by_id(self, ids: Sequence[str]) -> dict[str, ContributionRow]: ...
    async def ensure_accounts(
        self, specs: Sequence[AccountSpec], now_us: int
    ) -> dict[str, int]: ...
    async def lock_balances(self, ids: Sequence[int]) -> dict[int, Balance]: ...
    async def period_states(self, keys: Sequence[PeriodKey]) -> dict[PeriodKey, str]: ...
    async def insert_transfers(self, specs: Sequence[TransferSpec], now_us: int) -> None: ...
    async def update_balances(self, balances: Sequence[Balance]) -> None: ...
    async def insert_contributions(self, rows: Sequence[ContributionRow]) -> None: ...
    async def insert_periods(self, rows: Sequence[PeriodRow], now_us: int) -> None: ...
    async def store_responses(
        self, rows: Sequence[tuple[IdemKey, StoredResponse]], now_us: int
    ) -> None: ...


class RaceLostError(Exception):
    """Another transaction won a race on a unique key; the whole batch may simply be re-run."""


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[LedgerTx]:
    """Open a write transaction on `db` and yield the store for it; commit on normal exit."""
    if db.is_postgres:
        from ledger.db.pg_store import pg_transaction

        async with pg_transaction(db) as tx:
            yield tx
    else:
        from ledger.db.sqlite_store import sqlite_transaction

        async with sqlite_transaction(db) as tx:
            yield tx

