"""PostgreSQL implementation of the ledger store: one statement per step, arrays via unnest().

A pass costs five round trips whatever its size: BEGIN, one read (JSON aggregates), account
creation when the cache misses, the lock, one write (data-modifying CTEs), COMMIT. Hot rows (a
fund's collections account) stay locked only for the write and the commit. Rows are locked in id
order (deadlock-free between concurrent writers); balances are written as absolute values
computed from the locked rows. Runs on the asyncpg connection underneath SQLAlchemy's pool and
manages its own transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson

from ledger.db.engine import Database
from ledger.db.ledger_store import (
    BALANCE_COLUMNS,
    TRANSFER_COLUMNS,
    ContributionRow,
    IdemKey,
    PendingLeg,
    RaceLostError,
    ReadRequest,
    ReadResult,
    StoredResponse,
    TransferRecord,
    TransferRow,
    WriteSet,
    balance_from_row,
    currency_of,
    side_row_groups,
    transfer_flags,
)
from ledger.domain.accounts import AccountSpec
from ledger.domain.ledger import Balance, TransferSpec


def _advisory_key(key: IdemKey) -> int:
    digest = hashlib.blake2b(f"{key[0]}\x00{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgLedgerTx:
    def __init__(self, conn: asyncpg.Connection[Any]) -> None:
        self.conn = conn

    async def read(self, request: ReadRequest) -> ReadResult:
        """Every read of a pass in one round trip: one JSON aggregate per question."""
        keys = request.period_keys
        claims = request.claim_keys
        advisory = {_advisory_key(k): k for k in claims}
        claim_set = set(claims)
        row = await self.conn.fetchrow(
            _READ_SQL,
            _keys("i:", request.transfer_ids), _keys("p:", request.pending_ids),
            _keys("r:", request.reversal_ids),
            request.contribution_ids,
            [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
            [k[3] for k in keys],
            [k[0] for k in claims], [k[1] for k in claims], list(advisory),
        )
        assert row is not None
        return ReadResult(
            transfers={t[0]: _transfer(t) for t in orjson.loads(row[0])},
            resolved=set(orjson.loads(row[1])),
            reversed=set(orjson.loads(row[2])),
            contributions={c[0]: ContributionRow(*c) for c in orjson.loads(row[3])},
            periods={(p[0], p[1], p[2], p[3]): p[4] for p in orjson.loads(row[4])},
            responses={(r[0], r[1]): StoredResponse(r[2], r[3], r[4])
                       for r in orjson.loads(row[5]) if (r[0], r[1]) in claim_set},
            locked={advisory[k] for k in orjson.loads(row[6])},
        )

    async def ensure_accounts(self, specs: Sequence[AccountSpec], now_us: int) -> dict[str, int]:
        if not specs:
            return {}
        ordered = sorted({s.key: s for s in specs}.values(), key=lambda s: s.key)
        # Inserting in key order keeps concurrent batches from deadlocking on the unique index.
        rows = await self.conn.fetch(
            "WITH new AS (INSERT INTO accounts (key, code, currency, flags, fund, scheme, "
            "worker_id, payer, debits_pending, debits_posted, credits_pending, credits_posted, "
            "created_at_us) SELECT k, c, cu, f, fu, s, w, p, 0, 0, 0, 0, $9 FROM "
            "unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], "
            "$7::text[], $8::text[]) "
            "AS t(k, c, cu, f, fu, s, w, p) ON CONFLICT (key) DO NOTHING RETURNING id, key) "
            "SELECT id, key FROM new UNION ALL "
            "SELECT id, key FROM accounts WHERE key = ANY($1::text[])",
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
        found = {row["key"]: row["id"] for row in rows}
        late = [s.key for s in ordered if s.key not in found]
        if late:
            # Created by a transaction that committed after this statement's snapshot: it
            # conflicted (so not in `new`) yet was invisible to the SELECT. A new statement sees it.
            rows = await self.conn.fetch(
                "SELECT id, key FROM accounts WHERE key = ANY($1::text[])", late)
            found.update({row["key"]: row["id"] for row in rows})
        return found

    async def lock_balances(self, ids: Sequence[int]) -> dict[int, Balance]:
        if not ids:
            return {}
        rows = await self.conn.fetch(
            f"SELECT {BALANCE_COLUMNS} FROM accounts WHERE id = ANY($1::bigint[]) "
            "ORDER BY id FOR UPDATE",
            sorted(set(ids)),
        )
        return {r["id"]: balance_from_row(r) for r in rows}

    async def unresolved_pending(self, ids: Sequence[str]) -> dict[str, PendingLeg]:
        """Those of `ids` that are pending transfers not yet posted or voided (plain rows,
        no JSON: the acknowledgement fast path reads five per flow)."""
        rows = await self.conn.fetch(
            "SELECT id, debit_account_id, credit_account_id, amount_minor, currency "
            f"FROM {_BY_KEYS.format(param='$1')} WHERE {_UNRESOLVED_PENDING}",
            _keys("i:", ids))
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    async def find_accounts(self, keys: Sequence[str]) -> dict[str, int]:
        """Ids of the accounts that exist among `keys` (a read: nothing is created)."""
        rows = await self.conn.fetch("SELECT key, id FROM accounts WHERE key = ANY($1::text[])",
                                     keys)
        return {r[0]: r[1] for r in rows}

    async def insert_transfer_rows(self, rows: Sequence[TransferRow]) -> None:
        try:
            await self.conn.copy_records_to_table("transfers", columns=_TRANSFER_COPY,
                                                  records=rows)
        except asyncpg.UniqueViolationError as exc:
            raise RaceLostError(str(exc)) from exc

    async def write(self, writes: WriteSet, now_us: int) -> None:
        """Every write of a pass in one statement (data-modifying CTEs all run to completion).

        Large passes first COPY the append-only rows: binary COPY beats array parameters once a
        pass carries hundreds of rows, while small passes are dominated by round trips.
        """
        t, b, c = writes.transfers, writes.balances, writes.contributions
        p, r = writes.periods, writes.responses
        try:
            if len(t) >= COPY_THRESHOLD:
                await self._copy(t, c, now_us)
                t, c = [], []
            await self.conn.execute(
                _WRITE_SQL,
                [x.id for x in t], [x.debit_account_id for x in t],
                [x.credit_account_id for x in t], [x.amount_minor for x in t],
                [str(x.currency) for x in t], [int(x.flags) for x in t],
                [x.pending_id for x in t], [x.reversal_of for x in t], [x.code for x in t],
                [x.contribution_id for x in t],
                # One JSON text instead of five bigint arrays: asyncpg encodes arrays element by
                # element (an isinstance check each); orjson writes thousands of rows at once.
                orjson.dumps([(x.account_id, x.debits_pending, x.debits_posted,
                               x.credits_pending, x.credits_posted) for x in b]).decode(),
                [x.id for x in c], [x.worker_id for x in c], [x.fund for x in c],
                [x.scheme for x in c], [x.month for x in c], [x.kind for x in c],
                [x.wage_base_minor for x in c], [x.currency for x in c], [x.shares for x in c],
                [x.overrides for x in c],
                [x.worker_id for x in p], [x.fund for x in p], [x.scheme for x in p],
                [x.month for x in p], [x.kind for x in p], [x.contribution_id for x in p],
                [k[0] for k, _ in r], [k[1] for k, _ in r], [v.request_hash for _, v in r],
                [v.status_code for _, v in r], [v.response for _, v in r],
                now_us,
            )
            for table, columns, values in side_row_groups(writes.rows):
                # One statement for a table's rows, as JSON: an executemany would plan each
                # row's INSERT afresh (plan_cache_mode = force_custom_plan, ADR 0004), tens of
                # µs of PostgreSQL CPU per channel payment in a batch.
                names = ", ".join(columns)
                await self.conn.execute(
                    f"INSERT INTO {table} ({names}) SELECT {names} FROM "
                    f"json_populate_recordset(NULL::{table}, $1::json)",
                    orjson.dumps([dict(zip(columns, row, strict=True))
                                  for row in values]).decode())
        except asyncpg.UniqueViolationError as exc:
            raise RaceLostError(str(exc)) from exc

    async def _copy(
        self, transfers: Sequence[TransferSpec], contributions: Sequence[ContributionRow],
        now_us: int,
    ) -> None:
        await self.conn.copy_records_to_table("transfers", columns=_TRANSFER_COPY, records=[
            (x.id, x.debit_account_id, x.credit_account_id, x.amount_minor, str(x.currency),
             int(x.flags), x.pending_id, x.reversal_of, x.code, x.contribution_id, now_us)
            for x in transfers])
        if contributions:
            await self.conn.copy_records_to_table("contributions", columns=_CONTRIBUTION_COPY,
                                                  records=[
                (x.id, x.worker_id, x.fund, x.scheme, x.month, x.kind, x.wage_base_minor,
                 x.currency, x.shares, now_us, x.overrides)
                for x in contributions])


COPY_THRESHOLD = 256  # rows per pass from which COPY is faster (bench/bench_service.py)
_TRANSFER_COPY = ["id", "debit_account_id", "credit_account_id", "amount_minor", "currency",
                  "flags", "pending_id", "reversal_of", "code", "contribution_id", "created_at_us"]
_CONTRIBUTION_COPY = ["id", "worker_id", "fund", "scheme", "month", "kind", "wage_base_minor",
                      "currency", "shares", "created_at_us", "overrides"]


def _transfer(t: list[Any]) -> TransferRecord:
    return TransferRecord(
        TransferSpec(t[0], t[1], t[2], t[3], currency_of(t[4]), transfer_flags(t[5]), t[6], t[7],
                     t[8], t[9]),
        t[10],
    )


def _agg(select: str, source: str) -> str:
    return f"(SELECT coalesce(json_agg({select}), '[]'::json)::text FROM {source})"


# Transfers are found through `transfer_keys` (ADR 0062): one probe of its primary key gives
# the transfer's (seq, created_at_us), and the inner scan is pruned at run time to that one
# month's partition, where `WHERE id = ANY(...)` would probe every month's index. Whether a
# pending transfer was resolved, or a transfer reversed, is the key table's alone to say.
#
# Every lookup by a list of keys is written as one probe per key (a LATERAL subquery with
# LIMIT 1, which the planner cannot flatten into a join): with `key = ANY($1)` over a thousand
# keys, a table of a few hundred thousand rows was scanned whole, the array tested against every
# row, because the planner costs a thousand index descents above one sequential pass. The
# pass's read then grew with the table until the planner changed its mind at a few million rows
# (issue 18's empty ledger posted slower than the full one: docs/benchmarks.md).
def _probe(table: str, column: str, param: str, select: str = "*") -> str:
    """Rows of `table` whose unique `column` is one of the text array `param`, one index probe
    each (a key that is absent gives no row; a repeated key, its row twice)."""
    return (f"(SELECT x.* FROM unnest({param}::text[]) AS q(v) CROSS JOIN LATERAL "
            f"(SELECT {select} FROM {table} WHERE {column} = q.v LIMIT 1) AS x)")


_BY_KEYS = ("(SELECT t.* FROM " + _probe("transfer_keys", "key", "{param}", "seq, created_at_us")
            + " AS k CROSS JOIN LATERAL (SELECT * FROM transfers WHERE seq = k.seq AND "
            "created_at_us = k.created_at_us LIMIT 1) AS t) AS t")


# ledger_store.UNRESOLVED_PENDING_WHERE through the keys: pending (flag 1), and no `p:` key.
# OFFSET 0 keeps the NOT EXISTS a probe per transfer: without it the planner turns it into an
# anti-join that hashes the whole key table (tests/db/test_read_plans.py).
_UNRESOLVED_PENDING = ("(t.flags & 1) = 1 AND NOT EXISTS (SELECT 1 FROM transfer_keys AS r "
                       "WHERE r.key = 'p:' || t.id OFFSET 0)")


def _keys(prefix: str, ids: Sequence[str]) -> list[str]:
    """`transfer_keys`' form of ids: `i:` an id, `p:` a pending id, `r:` a reversed id."""
    return [prefix + i for i in ids]


_READ_SQL = "SELECT " + ", ".join([
    _agg("json_build_array(" + TRANSFER_COLUMNS + ")", _BY_KEYS.format(param="$1")),
    _agg("substr(key, 3)", _probe("transfer_keys", "key", "$2", "key") + " AS k"),
    _agg("substr(key, 3)", _probe("transfer_keys", "key", "$3", "key") + " AS k"),
    _agg("json_build_array(id, worker_id, fund, scheme, month, kind, wage_base_minor, currency, "
         "shares, created_at_us, overrides)", _probe("contributions", "id", "$4") + " AS c"),
    _agg("json_build_array(p.worker_id, p.fund, p.scheme, p.month, p.state)",
         "insurance_periods p JOIN unnest($5::text[], $6::text[], $7::text[], $8::int[]) "
         "AS k(w, f, s, m) ON p.worker_id = k.w AND p.fund = k.f AND p.scheme = k.s "
         "AND p.month = k.m"),
    # ANY on both primary-key columns (pairs are re-checked in Python): an index scan whatever
    # the statistics say; a join with unnest() planned a full scan on a never-analysed table.
    _agg("json_build_array(principal, key, request_hash, status_code, response)",
         "idempotency_keys WHERE principal = ANY($9::text[]) AND key = ANY($10::text[])"),
    _agg("k", "unnest($11::bigint[]) AS k WHERE pg_try_advisory_xact_lock(k)"),
])

_WRITE_SQL = """
WITH t AS (
  INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_minor, currency, flags,
                         pending_id, reversal_of, code, contribution_id, created_at_us)
  SELECT i, d, c, a, cu, f, p, r, co, ct, $33 FROM unnest($1::text[], $2::bigint[], $3::bigint[],
    $4::bigint[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[])
    WITH ORDINALITY AS x(i, d, c, a, cu, f, p, r, co, ct, n) ORDER BY n
), b AS (
  UPDATE accounts a SET debits_pending = (u.v->>1)::bigint, debits_posted = (u.v->>2)::bigint,
                        credits_pending = (u.v->>3)::bigint, credits_posted = (u.v->>4)::bigint
  FROM json_array_elements($11::json) AS u(v) WHERE a.id = (u.v->>0)::bigint
), c AS (
  INSERT INTO contributions (id, worker_id, fund, scheme, month, kind, wage_base_minor, currency,
                             shares, created_at_us, overrides)
  SELECT i, w, f, s, m, k, wb, cu, sh, $33, o FROM unnest($12::text[], $13::text[], $14::text[],
    $15::text[], $16::int[], $17::text[], $18::bigint[], $19::text[], $20::text[], $21::text[])
    AS x(i, w, f, s, m, k, wb, cu, sh, o)
), p AS (
  INSERT INTO insurance_periods (worker_id, fund, scheme, month, kind, state, contribution_id,
                                 created_at_us)
  SELECT w, f, s, m, k, 'active', c, $33 FROM unnest($22::text[], $23::text[], $24::text[],
    $25::int[], $26::text[], $27::text[]) AS x(w, f, s, m, k, c)
  ON CONFLICT DO NOTHING
), r AS (
  INSERT INTO idempotency_keys (principal, key, request_hash, status_code, response,
                                created_at_us)
  SELECT p, k, h, s, b, $33 FROM unnest($28::text[], $29::text[], $30::text[], $31::int[],
    $32::text[]) AS x(p, k, h, s, b)
)
SELECT 1
"""

@asynccontextmanager
async def pg_transaction(db: Database) -> AsyncIterator[PgLedgerTx]:
    async with db.engine.connect() as sa_conn:
        raw = await sa_conn.get_raw_connection()
        conn: asyncpg.Connection[Any] = raw.driver_connection  # type: ignore[assignment]
        async with conn.transaction():
            yield PgLedgerTx(conn)
