"""The bulk path of declaration imports: staging tables and set-based SQL, in one transaction.

A million-row file cannot go through the per-request posting engine (one Python object per
transfer). Instead the checked rows are loaded into temporary tables (COPY on PostgreSQL,
executemany on SQLite) and booked with a handful of INSERT ... SELECT statements that produce
exactly the rows the engine would have written for the same contributions: the same
contribution ids (business keys), transfer ids, account keys, period rows and balances. So a
month posted through the API and then imported by file is recognised, and re-importing changes
nothing. Balances are raised by the sums of the new transfers; imports only ever credit member
and pool accounts and debit fund collections / government receivable, which can never break
those accounts' balance flags, so no per-transfer limit check is needed (ADR 0008).

The SQL is written once for both stores (PostgreSQL 15 and SQLite >= 3.33: UPDATE ... FROM and
ON CONFLICT DO NOTHING are common to both; SQLite needs a WHERE before an upsert's ON CONFLICT
to parse INSERT ... SELECT).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.db.engine import Database
from ledger.domain.funds import Payer

ROW_COLUMNS = ("line", "member_hmac", "month", "month_text")
ITEM_COLUMNS = ("line", "scheme", "long_term", "wage_base", "shares", "employee", "employer",
                "government", "voluntary")
PAYERS = tuple(str(p) for p in Payer)
_EXECUTEMANY_CHUNK = 5_000
IMPORT_WORK_MEM = "256MB"

# `temp_suffix` is "ON COMMIT DROP" on PostgreSQL; SQLite drops its temp tables explicitly.
_CREATE = (
    "CREATE TEMP TABLE import_rows (line INTEGER NOT NULL, member_hmac VARCHAR(64) NOT NULL, "
    "month INTEGER NOT NULL, month_text VARCHAR(7) NOT NULL, worker_id VARCHAR(64), "
    "is_new INTEGER NOT NULL DEFAULT 1) {suffix}",
    "CREATE TEMP TABLE import_items (line INTEGER NOT NULL, scheme VARCHAR(64) NOT NULL, "
    "long_term INTEGER NOT NULL, wage_base BIGINT NOT NULL, shares TEXT NOT NULL, "
    "employee BIGINT NOT NULL, employer BIGINT NOT NULL, government BIGINT NOT NULL, "
    "voluntary BIGINT NOT NULL, present INTEGER NOT NULL DEFAULT 0) {suffix}",
    "CREATE TEMP TABLE import_payers (payer VARCHAR(16) NOT NULL) {suffix}",
    "CREATE TEMP TABLE import_moves (line INTEGER NOT NULL, cid VARCHAR(128) NOT NULL, "
    "payer VARCHAR(16) NOT NULL, worker_id VARCHAR(64) NOT NULL, scheme VARCHAR(64) NOT NULL, "
    "key VARCHAR(256) NOT NULL, amount BIGINT NOT NULL) {suffix}",
)
_TEMP_TABLES = ("import_rows", "import_items", "import_payers", "import_moves")

_CID = "('ctb:' || r.worker_id || ':' || :fund || ':' || i.scheme || ':' || r.month_text)"
_AMOUNT = ("CASE p.payer WHEN 'employee' THEN i.employee WHEN 'employer' THEN i.employer "
           "WHEN 'government' THEN i.government ELSE i.voluntary END")
_SAME = "(c.wage_base_minor = i.wage_base AND c.shares = i.shares AND c.kind = 'compulsory')"


@dataclass(frozen=True, slots=True)
class ContributionClash:
    line: int
    scheme: str
    long_term: bool
    is_new: bool
    same: bool
    contribution_id: str


@dataclass(frozen=True, slots=True)
class PeriodClash:
    line: int
    scheme: str
    contribution_id: str
    state: str


class ImportTx:
    """One import's transaction: stage, resolve, check, book. Commit happens on exit."""

    def __init__(self, conn: AsyncConnection, is_postgres: bool) -> None:
        self.conn = conn
        self.is_postgres = is_postgres

    async def _all(self, sql: str, **params: Any) -> list[Any]:
        return list((await self.conn.execute(text(sql), params)).all())

    async def _run(self, sql: str, **params: Any) -> int:
        result = await self.conn.execute(text(sql), params)
        return int(getattr(result, "rowcount", 0) or 0)

    async def create_staging(self) -> None:
        suffix = "ON COMMIT DROP" if self.is_postgres else ""
        if self.is_postgres:
            # Sorts and hashes over a million staged rows stay in memory, this transaction only.
            await self._run(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'")
        if not self.is_postgres:
            for table in _TEMP_TABLES:
                await self._run(f"DROP TABLE IF EXISTS temp.{table}")
        for statement in _CREATE:
            await self._run(statement.format(suffix=suffix))
        await self.conn.execute(text("INSERT INTO import_payers (payer) VALUES (:p)"),
                                [{"p": p} for p in PAYERS])

    async def drop_staging(self) -> None:
        if not self.is_postgres:
            for table in _TEMP_TABLES:
                await self._run(f"DROP TABLE IF EXISTS temp.{table}")

    async def stage(self, rows: Sequence[tuple[Any, ...]], items: Sequence[tuple[Any, ...]]
                    ) -> None:
        await self._load("import_rows", ROW_COLUMNS, rows)
        await self._load("import_items", ITEM_COLUMNS, items)

    async def _load(self, table: str, columns: Sequence[str], records: Sequence[tuple[Any, ...]]
                    ) -> None:
        if not records:
            return
        if self.is_postgres:
            raw = await self.conn.get_raw_connection()
            await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                table, records=records, columns=list(columns))
            return
        sql = text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                   f"({', '.join(':' + c for c in columns)})")
        for start in range(0, len(records), _EXECUTEMANY_CHUNK):
            chunk = records[start:start + _EXECUTEMANY_CHUNK]
            await self.conn.execute(sql, [dict(zip(columns, r, strict=True)) for r in chunk])

    async def index_staging(self) -> None:
        """Indexes after loading (cheaper than maintaining them row by row), then statistics:
        temporary tables are never analysed automatically."""
        await self._run("CREATE INDEX import_rows_line ON import_rows (line)")
        await self._run("CREATE INDEX import_items_line ON import_items (line)")
        await self._run("ANALYZE import_rows")
        await self._run("ANALYZE import_items")

    # -- resolve and check ---------------------------------------------------------------------
    async def resolve_workers(self, fund: str) -> list[int]:
        """Fill worker ids from memberships; the lines whose member number is not registered."""
        await self._run(
            "UPDATE import_rows SET worker_id = m.worker_id FROM memberships AS m "
            "WHERE m.fund = :fund AND m.member_number_hmac = import_rows.member_hmac", fund=fund)
        return [r[0] for r in await self._all(
            "SELECT line FROM import_rows WHERE worker_id IS NULL ORDER BY line")]

    async def duplicate_lines(self) -> list[tuple[int, int]]:
        """(line, first line) for every later row of a worker and month declared twice."""
        return [(r[0], r[1]) for r in await self._all(
            "SELECT r.line, d.first FROM import_rows AS r JOIN ("
            " SELECT worker_id, month, min(line) AS first FROM import_rows"
            " WHERE worker_id IS NOT NULL GROUP BY worker_id, month HAVING count(*) > 1"
            ") AS d ON d.worker_id = r.worker_id AND d.month = r.month "
            "WHERE r.line <> d.first ORDER BY r.line")]

    async def mark_new(self, fund: str) -> None:
        """A row is new unless its (fund, worker, month) was booked by an earlier import."""
        await self._run(
            "UPDATE import_rows SET is_new = 0 FROM declared_months AS d "
            "WHERE d.fund = :fund AND d.worker_id = import_rows.worker_id "
            "AND d.month = import_rows.month", fund=fund)

    async def contribution_clashes(self, fund: str) -> list[ContributionClash]:
        """Existing contributions under the rows' business keys: for new rows all of them, for
        rows booked before only those whose amounts differ."""
        rows = await self._all(
            f"SELECT i.line, i.scheme, i.long_term, r.is_new, {_SAME}, c.id "
            "FROM import_items AS i JOIN import_rows AS r ON r.line = i.line "
            f"JOIN contributions AS c ON c.id = {_CID} "
            f"WHERE r.is_new = 1 OR NOT {_SAME} ORDER BY i.line", fund=fund)
        return [ContributionClash(r[0], r[1], bool(r[2]), bool(r[3]), bool(r[4]), r[5])
                for r in rows]

    async def period_clashes(self, fund: str) -> list[PeriodClash]:
        """Periods of new rows' long-term schemes already held by another contribution."""
        rows = await self._all(
            "SELECT i.line, i.scheme, p.contribution_id, p.state "
            "FROM import_items AS i JOIN import_rows AS r ON r.line = i.line "
            "JOIN insurance_periods AS p ON p.worker_id = r.worker_id AND p.fund = :fund "
            "AND p.scheme = i.scheme AND p.month = r.month "
            f"WHERE r.is_new = 1 AND i.long_term = 1 AND p.contribution_id <> {_CID} "
            "ORDER BY i.line", fund=fund)
        return [PeriodClash(r[0], r[1], r[2], r[3]) for r in rows]

    async def mark_present(self, items: Iterable[tuple[int, str]]) -> None:
        """Items whose identical contribution is already booked (e.g. posted via the API)."""
        params = [{"line": line, "scheme": scheme} for line, scheme in items]
        if params:
            await self.conn.execute(text(
                "UPDATE import_items SET present = 1 WHERE line = :line AND scheme = :scheme"),
                params)

    async def drop_lines(self, lines: Iterable[int]) -> None:
        params = [{"line": line} for line in sorted(set(lines))]
        if params:
            for table in ("import_items", "import_rows"):
                await self.conn.execute(text(f"DELETE FROM {table} WHERE line = :line"),
                                        params)

    # -- book --------------------------------------------------------------------------------
    async def book(self, fund: str, currency: str, import_id: str, member_flags: int,
                   now_us: int) -> dict[str, int]:
        """Contributions, periods, member accounts and transfers for the new long-term items;
        the declared months of new rows. Returns counts and per-payer totals."""
        p = {"fund": fund, "currency": currency, "now": now_us}
        await self._run(
            "INSERT INTO import_moves (line, cid, payer, worker_id, scheme, key, amount) "
            f"SELECT i.line, {_CID}, p.payer, r.worker_id, i.scheme, "
            "'member/' || r.worker_id || '/' || :fund || '/' || i.scheme || '/' || p.payer "
            f"|| '/' || :currency, {_AMOUNT} "
            "FROM import_items AS i JOIN import_rows AS r ON r.line = i.line "
            "CROSS JOIN import_payers AS p "
            f"WHERE r.is_new = 1 AND i.long_term = 1 AND i.present = 0 AND {_AMOUNT} > 0", **p)
        if self.is_postgres:
            await self._run("ANALYZE import_moves")
        # Only keys not there yet: in the steady state every account exists, and a plain
        # anti-join is much cheaper than a speculative insert per key.
        await self._run(
            "INSERT INTO accounts (key, code, currency, flags, fund, scheme, worker_id, payer, "
            "debits_pending, debits_posted, credits_pending, credits_posted, created_at_us) "
            "SELECT DISTINCT key, 'member', CAST(:currency AS VARCHAR(3)), "
            "CAST(:flags AS INTEGER), CAST(:fund AS VARCHAR(16)), scheme, worker_id, payer, "
            "0, 0, 0, 0, CAST(:now AS BIGINT) FROM import_moves AS m WHERE NOT EXISTS "
            "(SELECT 1 FROM accounts AS a WHERE a.key = m.key) ON CONFLICT (key) DO NOTHING",
            flags=member_flags, **p)
        contributions = await self._run(
            "INSERT INTO contributions (id, worker_id, fund, scheme, month, kind, "
            "wage_base_minor, currency, shares, created_at_us) "
            f"SELECT {_CID}, r.worker_id, CAST(:fund AS VARCHAR(16)), i.scheme, r.month, "
            "'compulsory', i.wage_base, CAST(:currency AS VARCHAR(3)), i.shares, "
            "CAST(:now AS BIGINT) FROM import_items AS i "
            "JOIN import_rows AS r ON r.line = i.line "
            "WHERE r.is_new = 1 AND i.long_term = 1 AND i.present = 0 ORDER BY i.line", **p)
        await self._run(
            "INSERT INTO insurance_periods (worker_id, fund, scheme, month, kind, state, "
            "contribution_id, created_at_us) "
            f"SELECT r.worker_id, CAST(:fund AS VARCHAR(16)), i.scheme, r.month, 'compulsory', "
            f"'active', {_CID}, CAST(:now AS BIGINT) "
            "FROM import_items AS i JOIN import_rows AS r ON r.line = i.line "
            "WHERE r.is_new = 1 AND i.long_term = 1 AND i.present = 0", **p)
        declared = await self._run(
            "INSERT INTO declared_months (fund, worker_id, month, import_id, line) "
            "SELECT CAST(:fund AS VARCHAR(16)), worker_id, month, CAST(:import_id AS VARCHAR(64)), "
            "line FROM import_rows WHERE is_new = 1",
            fund=fund, import_id=import_id)
        return {"contributions": contributions, "declared_months": declared}

    async def book_transfers(self, source_ids: dict[str, int], currency: str, now_us: int
                             ) -> dict[str, int]:
        """One transfer per move (payer's source account -> member account), member balances
        raised by the sums. Returns the total per payer (what the source accounts owe)."""
        params = {"government": source_ids["government"],
                  "collections": source_ids["collections"], "currency": currency, "now": now_us}
        insert = (
            "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_minor, "
            "currency, flags, pending_id, reversal_of, code, contribution_id, created_at_us) "
            "SELECT m.cid || '/' || m.payer, CASE m.payer WHEN 'government' "
            "THEN CAST(:government AS BIGINT) ELSE CAST(:collections AS BIGINT) END, a.id, "
            "m.amount, CAST(:currency AS VARCHAR(3)), 0, NULL, NULL, 'contribution', m.cid, "
            "CAST(:now AS BIGINT) FROM import_moves AS m JOIN accounts AS a ON a.key = m.key "
            "ORDER BY m.line, m.cid, m.payer")
        if self.is_postgres:
            # One pass: the inserted transfers' credit accounts (ids, not keys) feed the update.
            await self._run(
                f"WITH ins AS ({insert} RETURNING credit_account_id, amount_minor) "
                "UPDATE accounts SET credits_posted = accounts.credits_posted + s.amount "
                "FROM (SELECT credit_account_id, sum(amount_minor) AS amount FROM ins "
                "GROUP BY credit_account_id) AS s WHERE accounts.id = s.credit_account_id",
                **params)
        else:
            await self._run(insert, **params)
            await self._run(
                "UPDATE accounts SET credits_posted = accounts.credits_posted + s.amount "
                "FROM (SELECT key, sum(amount) AS amount FROM import_moves GROUP BY key) AS s "
                "WHERE accounts.key = s.key")
        return {r[0]: int(r[1]) for r in await self._all(
            "SELECT payer, sum(amount) FROM import_moves GROUP BY payer")}

    async def pooled_totals(self) -> dict[str, dict[str, int]]:
        """Short-term items of new rows, summed per scheme and payer (booked per file)."""
        rows = await self._all(
            "SELECT i.scheme, sum(i.employee), sum(i.employer), sum(i.government), "
            "sum(i.voluntary) FROM import_items AS i JOIN import_rows AS r ON r.line = i.line "
            "WHERE r.is_new = 1 AND i.long_term = 0 GROUP BY i.scheme ORDER BY i.scheme")
        return {r[0]: {payer: int(v) for payer, v in zip(PAYERS, r[1:], strict=True) if v}
                for r in rows}

    async def ensure_account(self, key: str, code: str, currency: str, flags: int, fund: str,
                             scheme: str | None, now_us: int) -> int:
        await self._run(
            "INSERT INTO accounts (key, code, currency, flags, fund, scheme, worker_id, payer, "
            "debits_pending, debits_posted, credits_pending, credits_posted, created_at_us) "
            "VALUES (:key, :code, :currency, :flags, :fund, :scheme, NULL, NULL, 0, 0, 0, 0, "
            ":now) ON CONFLICT (key) DO NOTHING",
            key=key, code=code, currency=currency, flags=flags, fund=fund, scheme=scheme,
            now=now_us)
        return int((await self._all("SELECT id FROM accounts WHERE key = :key", key=key))[0][0])

    async def insert_transfer(self, transfer_id: str, debit: int, credit: int, amount: int,
                              currency: str, now_us: int) -> None:
        await self._run(
            "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_minor, "
            "currency, flags, pending_id, reversal_of, code, contribution_id, created_at_us) "
            "VALUES (:id, :debit, :credit, :amount, :currency, 0, NULL, NULL, 'import_pool', "
            "NULL, :now)",
            id=transfer_id, debit=debit, credit=credit, amount=amount, currency=currency,
            now=now_us)

    async def move_balances(self, account_id: int, debits: int = 0, credits: int = 0) -> None:
        """Raise one account's posted balances: done last, so the hot system accounts are
        locked only for the end of the import transaction."""
        await self._run(
            "UPDATE accounts SET debits_posted = debits_posted + :d, "
            "credits_posted = credits_posted + :c WHERE id = :id",
            d=debits, c=credits, id=account_id)

    async def find_import(self, fund: str, sha256: str) -> str | None:
        rows = await self._all(
            "SELECT report FROM imports WHERE fund = :fund AND file_sha256 = :sha "
            "AND status IN ('posted', 'partial') ORDER BY created_at_us LIMIT 1",
            fund=fund, sha=sha256)
        return str(rows[0][0]) if rows else None

    async def record_import(self, row: dict[str, Any]) -> None:
        await self._run(
            "INSERT INTO imports (id, fund, file_sha256, principal, status, rows_total, "
            "rows_accepted, rows_rejected, report, created_at_us) VALUES (:id, :fund, :sha, "
            ":principal, :status, :total, :accepted, :rejected, :report, :now) "
            "ON CONFLICT DO NOTHING", **row)


@asynccontextmanager
async def import_transaction(db: Database) -> AsyncIterator[tuple[ImportTx, Any]]:
    """Yield the import's store and its transaction handle (call `.rollback()` to post
    nothing); commit on normal exit otherwise."""
    async with db.engine.connect() as conn:
        tx = await conn.begin()
        store = ImportTx(conn, db.is_postgres)
        try:
            yield store, tx
        except BaseException:
            if tx.is_active:
                await tx.rollback()
            raise
        if tx.is_active:
            await store.drop_staging()
            await tx.commit()


async def lookup_import(db: Database, fund: str, sha256: str) -> str | None:
    async with db.engine.connect() as conn:
        return await ImportTx(conn, db.is_postgres).find_import(fund, sha256)
