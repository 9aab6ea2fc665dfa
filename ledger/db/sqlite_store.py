"""SQLite implementation of the ledger store: executemany writes, chunked IN (...) reads.

The transaction is BEGIN IMMEDIATE (see engine.py), so it holds SQLite's single write lock from
its first statement: account rows need no further locking.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.db.engine import Database
from ledger.db.ledger_store import (
    BALANCE_COLUMNS,
    TRANSFER_COLUMNS,
    UNRESOLVED_PENDING_WHERE,
    ContributionRow,
    IdemKey,
    PendingLeg,
    PeriodKey,
    PeriodRow,
    RaceLostError,
    ReadRequest,
    ReadResult,
    StoredResponse,
    TransferRecord,
    TransferRow,
    WriteSet,
    balance_from_row,
    side_row_groups,
    transfer_from_row,
)
from ledger.domain.accounts import AccountSpec
from ledger.domain.ledger import Balance, TransferSpec

_CHUNK = 500  # well under SQLite's bound on host parameters per statement
T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ",".join("?" * count)


class SqliteLedgerTx:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def read(self, request: ReadRequest) -> ReadResult:
        # Embedded and local: several statements cost little here.
        return ReadResult(
            transfers=await self.transfers_by_id(request.transfer_ids),
            resolved=await self.resolved_pending(request.pending_ids),
            reversed=await self.reversed_ids(request.reversal_ids),
            contributions=await self.contributions_by_id(request.contribution_ids),
            periods=await self.period_states(request.period_keys),
            responses=await self.stored_responses(request.claim_keys),
            locked=set(request.claim_keys),  # BEGIN IMMEDIATE: no other writer is running
        )

    async def unresolved_pending(self, ids: Sequence[str]) -> dict[str, PendingLeg]:
        rows = await self._select_in(
            "SELECT id, debit_account_id, credit_account_id, amount_minor, currency "
            f"FROM transfers WHERE id IN ({{}}) AND {UNRESOLVED_PENDING_WHERE}", ids)
        return {r["id"]: (r["debit_account_id"], r["credit_account_id"], r["amount_minor"],
                          r["currency"]) for r in rows}

    async def find_accounts(self, keys: Sequence[str]) -> dict[str, int]:
        rows = await self._select_in("SELECT key, id FROM accounts WHERE key IN ({})", keys)
        return {r["key"]: r["id"] for r in rows}

    async def write(self, writes: WriteSet, now_us: int) -> None:
        await self.insert_transfers(writes.transfers, now_us)
        await self.update_balances(writes.balances)
        await self.insert_contributions(writes.contributions)
        await self.insert_periods(writes.periods, now_us)
        await self.store_responses(writes.responses, now_us)
        for table, columns, values in side_row_groups(writes.rows):
            await self._write(f"INSERT INTO {table} ({', '.join(columns)}) "
                              f"VALUES ({_marks(len(columns))})", values)

    async def _select_in(self, sql: str, values: Sequence[Any]) -> list[Any]:
        rows: list[Any] = []
        for chunk in _chunks(list(values)):
            result = await self.conn.exec_driver_sql(sql.format(_marks(len(chunk))), tuple(chunk))
            rows.extend(result.mappings().all())
        return rows

    async def _write(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        if not params:
            return
        try:
            await self.conn.exec_driver_sql(sql, params)
        except IntegrityError as exc:
            if isinstance(exc.orig, sqlite3.IntegrityError) and "UNIQUE" in str(exc.orig):
                raise RaceLostError(str(exc.orig)) from exc
            raise

    async def stored_responses(self, keys: Sequence[IdemKey]) -> dict[IdemKey, StoredResponse]:
        out: dict[IdemKey, StoredResponse] = {}
        for principal in {k[0] for k in keys}:
            names = [k[1] for k in keys if k[0] == principal]
            for chunk in _chunks(names):
                result = await self.conn.exec_driver_sql(
                    "SELECT key, request_hash, status_code, response FROM idempotency_keys "
                    f"WHERE principal = ? AND key IN ({_marks(len(chunk))})",
                    (principal, *chunk),
                )
                for r in result.mappings():
                    out[(principal, r["key"])] = StoredResponse(
                        r["request_hash"], r["status_code"], r["response"]
                    )
        return out

    async def transfers_by_id(self, ids: Sequence[str]) -> dict[str, TransferRecord]:
        rows = await self._select_in(
            f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id IN ({{}})",
            ids,
        )
        return {r["id"]: transfer_from_row(r) for r in rows}

    async def resolved_pending(self, pending_ids: Sequence[str]) -> set[str]:
        rows = await self._select_in(
            "SELECT pending_id FROM transfers WHERE pending_id IN ({})", pending_ids
        )
        return {r["pending_id"] for r in rows}

    async def reversed_ids(self, ids: Sequence[str]) -> set[str]:
        rows = await self._select_in(
            "SELECT reversal_of FROM transfers WHERE reversal_of IN ({})", ids
        )
        return {r["reversal_of"] for r in rows}

    async def contributions_by_id(self, ids: Sequence[str]) -> dict[str, ContributionRow]:
        rows = await self._select_in(
            "SELECT id, worker_id, fund, scheme, month, kind, wage_base_minor, currency, shares, "
            "created_at_us, overrides FROM contributions WHERE id IN ({})",
            ids,
        )
        return {r["id"]: ContributionRow(**dict(r)) for r in rows}

    async def ensure_accounts(self, specs: Sequence[AccountSpec], now_us: int) -> dict[str, int]:
        unique = list({s.key: s for s in specs}.values())
        await self._write(
            "INSERT INTO accounts (key, code, currency, flags, fund, scheme, worker_id, payer, "
            "debits_pending, debits_posted, credits_pending, credits_posted, created_at_us) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?) ON CONFLICT (key) DO NOTHING",
            [
                (s.key, s.code.value, s.currency.value, int(s.flags), s.fund, s.scheme,
                 s.worker_id, s.payer.value if s.payer else None, now_us)
                for s in unique
            ],
        )
        rows = await self._select_in(
            "SELECT id, key FROM accounts WHERE key IN ({})", [s.key for s in unique]
        )
        return {r["key"]: r["id"] for r in rows}

    async def lock_balances(self, ids: Sequence[int]) -> dict[int, Balance]:
        rows = await self._select_in(
            f"SELECT {BALANCE_COLUMNS} FROM accounts WHERE id IN ({{}})", sorted(set(ids))
        )
        return {r["id"]: balance_from_row(r) for r in rows}

    async def period_states(self, keys: Sequence[PeriodKey]) -> dict[PeriodKey, str]:
        out: dict[PeriodKey, str] = {}
        for key in keys:
            result = await self.conn.exec_driver_sql(
                "SELECT state FROM insurance_periods WHERE worker_id = ? AND fund = ? "
                "AND scheme = ? AND month = ?",
                key,
            )
            state = result.scalar()
            if state is not None:
                out[key] = str(state)
        return out

    async def insert_transfers(self, specs: Sequence[TransferSpec], now_us: int) -> None:
        await self.insert_transfer_rows([
            (s.id, s.debit_account_id, s.credit_account_id, s.amount_minor, s.currency.value,
             int(s.flags), s.pending_id, s.reversal_of, s.code, s.contribution_id, now_us)
            for s in specs
        ])

    async def insert_transfer_rows(self, rows: Sequence[TransferRow]) -> None:
        await self._write(
            "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_minor, "
            "currency, flags, pending_id, reversal_of, code, contribution_id, created_at_us) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(rows))

    async def update_balances(self, balances: Sequence[Balance]) -> None:
        await self._write(
            "UPDATE accounts SET debits_pending = ?, debits_posted = ?, credits_pending = ?, "
            "credits_posted = ? WHERE id = ?",
            [
                (b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted,
                 b.account_id)
                for b in balances
            ],
        )

    async def insert_contributions(self, rows: Sequence[ContributionRow]) -> None:
        await self._write(
            "INSERT INTO contributions (id, worker_id, fund, scheme, month, kind, wage_base_minor, "
            "currency, shares, created_at_us, overrides) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (r.id, r.worker_id, r.fund, r.scheme, r.month, r.kind, r.wage_base_minor,
                 r.currency, r.shares, r.created_at_us, r.overrides)
                for r in rows
            ],
        )

    async def insert_periods(self, rows: Sequence[PeriodRow], now_us: int) -> None:
        await self._write(
            "INSERT INTO insurance_periods (worker_id, fund, scheme, month, kind, state, "
            "contribution_id, created_at_us) VALUES (?, ?, ?, ?, ?, 'active', ?, ?) "
            "ON CONFLICT DO NOTHING",
            [
                (r.worker_id, r.fund, r.scheme, r.month, r.kind, r.contribution_id, now_us)
                for r in rows
            ],
        )

    async def store_responses(
        self, rows: Sequence[tuple[IdemKey, StoredResponse]], now_us: int
    ) -> None:
        await self._write(
            "INSERT INTO idempotency_keys (principal, key, request_hash, status_code, response, "
            "created_at_us) VALUES (?, ?, ?, ?, ?, ?)",
            [(k[0], k[1], v.request_hash, v.status_code, v.response, now_us) for k, v in rows],
        )


@asynccontextmanager
async def sqlite_transaction(db: Database) -> AsyncIterator[SqliteLedgerTx]:
    async with db.engine.begin() as conn:
        yield SqliteLedgerTx(conn)
