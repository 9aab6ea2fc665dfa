"""The posting engine's view of the database: set-based reads and writes inside one transaction.

Every method takes or returns whole batches, so a group-commit transaction costs a constant number
of round trips however many units it carries. `pg_store` and `sqlite_store` implement it and import
this module; `stores` picks one of them for a database (the composition root calls it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
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


_CURRENCIES: dict[str, Currency] = {c.value: c for c in Currency}
_TRANSFER_FLAGS: dict[int, TransferFlags] = {}


def currency_of(code: str) -> Currency:
    """`Currency(code)` for codes read back from the store, without the enum call (~0.3 µs,
    five times per acknowledged flow); an unknown code still raises ValueError."""
    found = _CURRENCIES.get(code)
    return found if found is not None else Currency(code)


def transfer_flags(value: int) -> TransferFlags:
    """`TransferFlags(value)`, memoised: flag combinations are few."""
    found = _TRANSFER_FLAGS.get(value)
    if found is None:
        found = _TRANSFER_FLAGS[value] = TransferFlags(value)
    return found


def transfer_from_row(row: Any) -> TransferRecord:
    """Map a row holding TRANSFER_COLUMNS (any mapping-like row) to a record."""
    spec = TransferSpec(
        id=row["id"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount_minor=row["amount_minor"],
        currency=currency_of(row["currency"]),
        flags=transfer_flags(row["flags"]),
        pending_id=row["pending_id"],
        reversal_of=row["reversal_of"],
        code=row["code"],
        contribution_id=row["contribution_id"],
    )
    return TransferRecord(spec, row["created_at_us"])


def balance_from_row(r: Any) -> Balance:
    """Map a row of (id, currency, flags, debits_pending, debits_posted, credits_pending,
    credits_posted) to the state machine's Balance."""
    return Balance(r["id"], currency_of(r["currency"]), r["flags"], r["debits_pending"],
                   r["debits_posted"], r["credits_pending"], r["credits_posted"])


BALANCE_COLUMNS = (
    "id, currency, flags, debits_pending, debits_posted, credits_pending, credits_posted"
)


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
    # Shares declared apart from the rules: canonical JSON {"payer": {"reason": ..,
    # "rules_minor": ..}}, or None (every share is the rules'). Not part of the identity.
    overrides: str | None = None

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


@dataclass(slots=True)
class ReadRequest:
    """Everything one pass needs to know before it locks anything."""

    transfer_ids: list[str]  # planned transfers and the pending ones they resolve
    pending_ids: list[str]  # which of these pending transfers were already posted/voided
    reversal_ids: list[str]  # which transfers were already reversed
    contribution_ids: list[str]
    period_keys: list[PeriodKey]
    claim_keys: list[IdemKey]  # idempotency keys: stored responses, and in-flight locks


@dataclass(slots=True)
class ReadResult:
    transfers: dict[str, TransferRecord]
    resolved: set[str]
    reversed: set[str]
    contributions: dict[str, ContributionRow]
    periods: dict[PeriodKey, str]
    responses: dict[IdemKey, StoredResponse]
    locked: set[IdemKey]  # claim keys no other transaction holds


# A row of another table written in a pass's transaction beside the ledger rows it belongs to
# (a channel payment's record): (table name, column values). Tables must be in SIDE_TABLES.
SideRow = tuple[str, dict[str, Any]]
SIDE_TABLES = frozenset({"channel_payments", "channel_payment_events", "channel_obligations"})


@dataclass(slots=True)
class WriteSet:
    transfers: Sequence[TransferSpec]
    balances: Sequence[Balance]
    contributions: Sequence[ContributionRow]
    periods: Sequence[PeriodRow]
    responses: Sequence[tuple[IdemKey, StoredResponse]]
    rows: Sequence[SideRow] = ()


class LedgerTx(Protocol):
    """One open database transaction, as the posting engine uses it: read everything, create
    missing accounts, lock balances, write everything."""

    async def read(self, request: ReadRequest) -> ReadResult: ...
    async def ensure_accounts(
        self, specs: Sequence[AccountSpec], now_us: int
    ) -> dict[str, int]: ...
    async def lock_balances(self, ids: Sequence[int]) -> dict[int, Balance]: ...
    async def unresolved_pending(self, ids: Sequence[str]) -> dict[str, PendingLeg]: ...
    async def find_accounts(self, keys: Sequence[str]) -> dict[str, int]: ...
    async def insert_transfer_rows(self, rows: Sequence[TransferRow]) -> None: ...
    async def write(self, writes: WriteSet, now_us: int) -> None: ...


# A transfer as stored, in TRANSFER_COLUMNS order: id, debit account, credit account, amount,
# currency code, flags, pending id, reversal of, code, contribution id, created at (µs). For
# batch writers that never need the transfer as an object.
TransferRow = tuple[str, int, int, int, str, int, str | None, str | None, str, str | None, int]

# A pending transfer not yet posted or voided: (debit account, credit account, amount, currency).
PendingLeg = tuple[int, int, int, str]
UNRESOLVED_PENDING_WHERE = (
    "(flags & 1) = 1 AND NOT EXISTS (SELECT 1 FROM transfers AS r "
    "WHERE r.pending_id = transfers.id AND r.pending_id IS NOT NULL)")


def side_row_groups(rows: Sequence[SideRow]) -> list[tuple[str, list[str], list[tuple[Any, ...]]]]:
    """Side rows grouped per table as (table, column names, value tuples) for one INSERT each.
    Every row of a table must name the same columns."""
    groups: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    for table, values in rows:
        if table not in SIDE_TABLES:
            raise ValueError(f"{table} takes no side rows")
        columns = sorted(values)
        group = groups.setdefault(table, (columns, []))
        if group[0] != columns:
            raise ValueError(f"side rows of {table} name different columns")
        group[1].append(tuple(values[c] for c in columns))
    return [(table, columns, values) for table, (columns, values) in groups.items()]


class RaceLostError(Exception):
    """Another transaction won a race on a unique key; the whole batch may simply be re-run."""


# Opens a write transaction on a database and yields the store for it; commits on normal exit.
# `ledger.db.stores.ledger_transactions` picks the factory for a database.
TransactionFactory = Callable[[Database], AbstractAsyncContextManager[LedgerTx]]
