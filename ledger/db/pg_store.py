"""PostgreSQL implementation of the ledger store: one statement per step, arrays via unnest().

Runs on the asyncpg connection underneath SQLAlchemy's pool and manages its own transaction, so a
batch of any size costs a fixed number of round trips. Account rows are locked in id order
(deadlock-free between concurrent writers); balances are then written as absolute values computed
from the locked rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from ledger.db.engine import Database
from ledger.db.ledger_store import (
    TRANSFER_COLUMNS,
    ContributionRow,
    IdemKey,
    PeriodKey,
    PeriodRow,
    RaceLostError,
    StoredResponse,
    TransferRecord,
    transfer_from_row,
)
from ledger.domain.accounts import AccountSpec
from ledger.domain.ledger import Balance, TransferSpec
from ledger.domain.money import Currency

_TRANSFER_INSERT_COLUMNS = [
    "id", "debit_account_id", "credit_account_id", "amount_minor", "currency", "flags",
    "pending_id", "reversal_of", "code", "contribution_id", "created_at_us",
]
_CONTRIBUTION_COLUMNS = [
    "id", "worker_id", "fund", "scheme", "month", "kind", "wage_base_minor", "currency",
    "shares", "created_at_us",
]


def _advisory_key(key: IdemKey) -> int:
    digest = hashlib.blake2b(f"{key[0]}\x00{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgLedgerTx:
    def __init__(self, conn: asyncpg.Connection[Any]) -> None:
        self.conn = conn

    async def try_lock_keys(self, keys: Sequence[IdemKey]) -> set[IdemKey]:
        if not keys:
            return set()
        rows = await self.conn.fetch(
            "SELECT k, pg_try_advisory_xact_lock(k) AS ok FROM unnest($1::bigint[]) AS t(k)",
            [_advisory_key(k) for k in keys],
        )
        granted = {row["k"] for row in rows if row["ok"]}
        return {k for k in keys if _advisory_key(k) in granted}

    async def stored_responses(self, keys: Sequence[IdemKey]) -> dict[IdemKey, StoredResponse]:
        if not keys:
            return {}
        rows = await self.conn.fetch(
            "SELECT i.principal, i.key, i.request_hash, i.status_code, i.response "
            "FROM idempotency_keys i JOIN unnest($1::text[], $2::text[]) AS t(p, k) "
            "ON i.principal = t.p AND i.key = t.k",
            [k[0] for k in keys],
            [k[1] for k in keys],
        )
        return {
            (r["principal"], r["key"]): StoredResponse(
                r["request_hash"], r["status_code"], r["response"]
            )
            for r in rows
        }

    async def transfers_by_id(self, ids: Sequence[str]) -> dict[str, TransferRecord]:
        if not ids:
            return {}
        rows = await self.conn.fetch(
            f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id = ANY($1::text[])", list(ids)
        )
        return {row["id"]: transfer_from_row(row) for row in rows}

    async def resolved_pending(self, pending_ids: Sequence[str]) -> set[str]:
        if not pending_ids:
            return set()
        rows = await self.conn.fetch(
            "SELECT pending_id FROM transfers WHERE pending_id = ANY($1::text[])",
            list(pending_ids),
        )
        return {row["pending_id"] for row in rows}

    async def reversed_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        rows = await self.conn.fetch(
            "SELECT reversal_of FROM transfers WHERE reversal_of = ANY($1::text[])", list(ids)
        )
        return {row["reversal_of"] for row in rows}

    async def contributions_by_id(self, ids: Sequence[str]) -> dict[str, ContributionRow]:
        if not ids:
            return {}
        rows = await self.conn.fetch(
            "SELECT id, worker_id, fund, scheme, month, kind, wage_base_minor, currency, shares, "
            "created_at_us FROM contributions WHERE id = ANY($1::text[])",
            list(ids),
        )
        return {row["id"]: ContributionRow(**dict(row)) for row in rows}

    async def ensure_accounts(self, specs: Sequence[AccountSpec], now_us: int) -> dict[str, int]:
        if not specs:
            return {}
        ordered = sorted({s.key: s for s in specs}.values(), key=lambda s: s.key)
        # Inserting in key order keeps concurrent batches from deadlocking on the unique index.
        await self.conn.execute(
            "INSERT INTO accounts (key, code, currency, flags, fund, scheme, worker_id, payer, "
            "debits_pending, debits_posted, credits_pending, credits_posted, created_at_us) "
            "SELECT k, c, cu, f, fu, s, w, p, 0, 0, 0, 0, $9 FROM unnest($1::text[], $2::text[], "
            "$3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[]) "
            "AS t(k, c, cu, f, fu, s, w, p) ON CONFLICT (key) DO NOTHING",
            [s.key for s in ordered],
            [s.code.value for s in ordered],
            [s.currency.value for s in ordered],
            [int(s.flags) for s in ordered],
            [s.fund for s in ordered],
            [s.scheme for s in ordered],
            [s.worker_id for s in ordered],
            [s.payer.value if s.payer else None for s in ordered],
            now_us,
        )
        rows = await self.conn.fetch(
            "SELECT id, key FROM accounts WHERE key = ANY($1::text[])", [s.key for s in ordered]
        )
        return {row["key"]: row["id"] for row in rows}

    async def lock_balances(self, ids: Sequence[int]) -> dict[int, Balance]:
        if not ids:
            return {}
        rows = await self.conn.fetch(
            "SELECT id, currency, flags, debits_pending, debits_posted, credits_pending, "
            "credits_posted FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
            sorted(set(ids)),
        )
        return {
            r["id"]: Balance(
                r["id"], Currency(r["currency"]), r["flags"], r["debits_pending"],
                r["debits_posted"], r["credits_pending"], r["credits_posted"],
            )
            for r in rows
        }

    async def period_states(self, keys: Sequence[PeriodKey]) -> dict[PeriodKey, str]:
        if not keys:
            return {}
        rows = await self.conn.fetch(
            "SELECT p.worker_id, p.fund, p.scheme, p.month, p.state FROM insurance_periods p "
            "JOIN unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS t(w, f, s, m) "
            "ON p.worker_id = t.w AND p.fund = t.f AND p.scheme = t.s AND p.month = t.m",
            [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
            [k[3] for k in keys],
        )
        return {(r["worker_id"], r["fund"], r["scheme"], r["month"]): r["state"] for r in rows}

    async def insert_transfers(self, specs: Sequence[TransferSpec], now_us: int) -> None:
        if not specs:
            return
        # Binary COPY: append-only rows need no ON CONFLICT, and COPY skips per-element array
        # encoding. A duplicate id still raises UniqueViolationError (-> the batch is re-run).
        await self._copy("transfers", _TRANSFER_INSERT_COLUMNS, [
            (s.id, s.debit_account_id, s.credit_account_id, s.amount_minor, s.currency.value,
             int(s.flags), s.pending_id, s.reversal_of, s.code, s.contribution_id, now_us)
            for s in specs
        ])

    async def update_balances(self, balances: Sequence[Balance]) -> None:
        if not balances:
            return
        await self.conn.execute(
            "UPDATE accounts a SET debits_pending = u.dpe, debits_posted = u.dpo, "
            "credits_pending = u.cpe, credits_posted = u.cpo FROM unnest($1::bigint[], "
            "$2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u(id, dpe, dpo, cpe, cpo) "
            "WHERE a.id = u.id",
            [b.account_id for b in balances],
            [b.debits_pending for b in balances],
            [b.debits_posted for b in balances],
            [b.credits_pending for b in balances],
            [b.credits_posted for b in balances],
        )

    async def insert_contributions(self, rows: Sequence[ContributionRow]) -> None:
        if not rows:
            return
        await self._copy("contributions", _CONTRIBUTION_COLUMNS, [
            (r.id, r.worker_id, r.fund, r.scheme, r.month, r.kind, r.wage_base_minor, r.currency,
             r.shares, r.created_at_us)
            for r in rows
        ])

    async def insert_periods(self, rows: Sequence[PeriodRow], now_us: int) -> None:
        if not rows:
            return
        await self.conn.execute(
            "INSERT INTO insurance_periods (worker_id, fund, scheme, month, kind, state, "
            "contribution_id, created_at_us) SELECT w, f, s, m, k, 'active', c, $7 FROM "
            "unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[]) "
            "AS t(w, f, s, m, k, c) ON CONFLICT DO NOTHING",
            [r.worker_id for r in rows], [r.fund for r in rows], [r.scheme for r in rows],
            [r.month for r in rows], [r.kind for r in rows], [r.contribution_id for r in rows],
            now_us,
        )

    async def store_responses(
        self, rows: Sequence[tuple[IdemKey, StoredResponse]], now_us: int
    ) -> None:
        if not rows:
            return
        await self._guard(
            "INSERT INTO idempotency_keys (principal, key, request_hash, status_code, response, "
            "created_at_us) SELECT p, k, h, s, r, $6 FROM unnest($1::text[], $2::text[], "
            "$3::text[], $4::int[], $5::text[]) AS t(p, k, h, s, r)",
            [k[0] for k, _ in rows], [k[1] for k, _ in rows],
            [v.request_hash for _, v in rows], [v.status_code for _, v in rows],
            [v.response for _, v in rows], now_us,
        )

    async def _copy(self, table: str, columns: list[str], records: list[tuple[Any, ...]]) -> None:
        try:
            await self.conn.copy_records_to_table(table, records=records, columns=columns)
        except asyncpg.UniqueViolationError as exc:
            raise RaceLostError(str(exc)) from exc

    async def _guard(self, sql: str, *args: object) -> None:
        try:
            await self.conn.execute(sql, *args)
        except asyncpg.UniqueViolationError as exc:
            raise RaceLostError(str(exc)) from exc


@asynccontextmanager
async def pg_transaction(db: Database) -> AsyncIterator[PgLedgerTx]:
    async with db.engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        conn: asyncpg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        async with conn.transaction():
            yield PgLedgerTx(conn)
