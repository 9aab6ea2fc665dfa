"""The bulk path of declaration imports: staging tables and set-based SQL, in one transaction.

A million-row file cannot go through the per-request posting engine (one Python object per
transfer). Instead each chunk of checked rows is loaded into temporary tables (COPY on
PostgreSQL, executemany on SQLite), checked against the ledger and booked with a handful of
INSERT ... SELECT statements that produce exactly the rows the engine would have written for the
same contributions: the same contribution ids (business keys), transfer ids, account keys,
period rows and balances. So a month posted through the API and then imported by file is
recognised, and re-importing changes nothing. Balances are raised by the sums of the new
transfers; imports only ever credit member and pool accounts and debit fund collections /
government receivable, which can never break those accounts' balance flags, so no per-transfer
limit check is needed (ADR 0008).

Chunks are booked as they arrive, all in the import's one transaction: the service rolls it
back if the file turns out to be bad. Checks therefore ignore what this import itself booked
(`declared_months.import_id`), so that a later chunk is judged against the ledger as it was
before the import. Lookups into the ledger's large tables are correlated subqueries, which
both stores run as one index probe per staged row: a chunk is small, the tables are not, and a
hash join would read a whole table per chunk.

The SQL is written once for both stores (PostgreSQL 15 and SQLite >= 3.35: UPDATE ... FROM, row
values, MATERIALIZED and ON CONFLICT DO NOTHING are common to both; SQLite needs a WHERE before
an upsert's ON CONFLICT to parse INSERT ... SELECT).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.db.engine import Database
from ledger.domain.funds import Payer

ROW_COLUMNS = ("line", "member_hmac", "month", "month_text")
ITEM_COLUMNS = ("line", "scheme", "long_term", "wage_base", "shares", "employee", "employer",
                "government", "voluntary")
PAYERS = tuple(str(p) for p in Payer)
_EXECUTEMANY_CHUNK = 5_000
IMPORT_WORK_MEM = "256MB"

# One chunk at a time: emptied before each chunk is loaded. `{suffix}` is "ON COMMIT DROP" on
# PostgreSQL (SQLite drops its temp tables explicitly); `{line}` makes the line SQLite's rowid
# (its joins by line are then lookups; PostgreSQL hashes a chunk cheaper than it indexes it).
_CREATE = (
    "CREATE TEMP TABLE chunk_rows (line INTEGER {line}, member_hmac VARCHAR(64) NOT NULL, "
    "month INTEGER NOT NULL, month_text VARCHAR(7) NOT NULL, worker_id VARCHAR(64), "
    "is_new INTEGER) {suffix}",
    "CREATE TEMP TABLE chunk_items (line INTEGER NOT NULL, scheme VARCHAR(64) NOT NULL, "
    "long_term INTEGER NOT NULL, wage_base BIGINT NOT NULL, shares TEXT NOT NULL, "
    "employee BIGINT NOT NULL, employer BIGINT NOT NULL, government BIGINT NOT NULL, "
    "voluntary BIGINT NOT NULL, present INTEGER NOT NULL DEFAULT 0) {suffix}",
    "CREATE TEMP TABLE chunk_moves (line INTEGER NOT NULL, cid VARCHAR(128) NOT NULL, "
    "worker_id VARCHAR(64) NOT NULL, scheme VARCHAR(64) NOT NULL, "
    "key VARCHAR(256) NOT NULL, amount BIGINT NOT NULL, account_id BIGINT) {suffix}",
    "CREATE TEMP TABLE chunk_dropped (line INTEGER NOT NULL) {suffix}",
    # PostgreSQL: the chunk's workers as looked up ahead on a second connection (`MemberLookup`)
    "CREATE TEMP TABLE chunk_workers (line INTEGER NOT NULL, worker_id VARCHAR(64) NOT NULL) "
    "{suffix}",
)
_CHUNK_TABLES = ("chunk_rows", "chunk_items", "chunk_moves", "chunk_dropped", "chunk_workers")



def _cid(scheme: str) -> str:
    """A staged row's contribution id for `scheme` (a column): the business key of
    `domain.contributions.default_contribution_id`, which the API's contributions carry too."""
    return f"('ctb:' || r.worker_id || ':' || :fund || ':' || {scheme} || ':' || r.month_text)"


_CID = _cid("i.scheme")
_KEY = "('member/' || r.worker_id || '/' || :fund || '/' || i.scheme || '/' || :currency)"
_AMOUNT = "(i.employee + i.employer + i.government + i.voluntary)"
_SAME = "(c.wage_base_minor = i.wage_base AND c.shares = i.shares AND c.kind = 'compulsory')"
_NEW_LONG_TERM = "r.is_new = 1 AND i.long_term = 1 AND i.present = 0"
DECLARED_SUFFIX = "/declared"  # a file's long-term contribution: `{contribution id}/declared`

# What booking writes, for both paths (the careful statements and the one statement), each
# from its own columns: the rows themselves are defined once. Each is completed by the
# caller's FROM.
_BOOK_DECLARED = (
    "INSERT INTO declared_months (fund, worker_id, month, import_id, line) "
    "SELECT CAST(:fund AS VARCHAR(16)), worker_id, month, CAST(:import_id AS VARCHAR(64)), "
    "line ")


def _book_contributions(*, cid: str, worker: str, scheme: str, month: str, wage_base: str,
                        shares: str) -> str:
    return ("INSERT INTO contributions (id, worker_id, fund, scheme, month, kind, "
            "wage_base_minor, currency, shares, created_at_us) "
            f"SELECT {cid}, {worker}, CAST(:fund AS VARCHAR(16)), {scheme}, {month}, "
            f"'compulsory', {wage_base}, CAST(:currency AS VARCHAR(3)), {shares}, "
            "CAST(:now AS BIGINT) ")


def _book_periods(*, worker: str, scheme: str, month: str, cid: str) -> str:
    return ("INSERT INTO insurance_periods (worker_id, fund, scheme, month, kind, state, "
            "contribution_id, created_at_us) "
            f"SELECT {worker}, CAST(:fund AS VARCHAR(16)), {scheme}, {month}, 'compulsory', "
            f"'active', {cid}, CAST(:now AS BIGINT) ")


def _book_member_accounts(*, key: str, scheme: str, worker: str, credits: str,
                          distinct: bool = False) -> str:
    return ("INSERT INTO accounts (key, code, currency, flags, fund, scheme, worker_id, "
            "payer, debits_pending, debits_posted, credits_pending, credits_posted, "
            f"created_at_us) SELECT {'DISTINCT ' if distinct else ''}{key}, 'member', "
            "CAST(:currency AS VARCHAR(3)), CAST(:flags AS INTEGER), "
            f"CAST(:fund AS VARCHAR(16)), {scheme}, {worker}, NULL, 0, 0, 0, {credits}, "
            "CAST(:now AS BIGINT) ")


def _book_transfers(*, cid: str, account: str, amount: str) -> str:
    """Each long-term item's transfer from the fund's declarations account (ADR 0026)."""
    return ("INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_minor, "
            "currency, flags, pending_id, reversal_of, code, contribution_id, created_at_us) "
            f"SELECT {cid} || '{DECLARED_SUFFIX}', CAST(:declarations AS BIGINT), {account}, "
            f"{amount}, CAST(:currency AS VARCHAR(3)), 0, NULL, NULL, 'contribution', {cid}, "
            "CAST(:now AS BIGINT) ")


# The whole of a plain chunk in one statement (PostgreSQL: data-modifying CTEs). All its parts
# see the ledger as it was before the statement; the counts tell the caller whether every row
# went in (see `book_chunk_at_once`). Its workers were looked up ahead on another connection
# (`MemberLookup`, ADR 0027): a row whose member was not found has none and makes it roll back.
# The inserts are plain, not ON CONFLICT DO NOTHING: a row already declared or booked is a
# unique violation that aborts the statement (the caller then takes the careful path), so no
# row pays for speculative insertion (a confirmation record in the WAL for each insert) or an
# upsert's row lock (another record): 15% fewer WAL records and ~9% less time a chunk (EXPLAIN
# ANALYZE, 20,000 rows at 1,000,000 workers). Member accounts are raised by one UPDATE, one row
# per (worker, scheme) -- a worker declared for two months in one chunk is raised once -- and
# the ones it did not find are created by an INSERT (the first file for a worker). The UPDATE
# probes the key index once per account because the planner sizes a CTE's filtered rows by its
# default selectivity (~100 rows), as `chunk_moves` does for the careful path; a hash join
# would read the whole accounts table per chunk.
_AT_ONCE = (
    "WITH r AS MATERIALIZED (SELECT c.line AS line, c.month AS month, "
    "c.month_text AS month_text, w.worker_id AS worker_id "
    "FROM chunk_rows AS c LEFT JOIN chunk_workers AS w ON w.line = c.line), "
    "x AS MATERIALIZED (SELECT i.line AS line, i.scheme AS scheme, i.long_term AS long_term, "
    "i.wage_base AS wage_base, i.shares AS shares, i.employee AS employee, "
    "i.employer AS employer, i.government AS government, i.voluntary AS voluntary, "
    "r.worker_id AS worker_id, r.month AS month, "
    f"{_CID} AS cid, {_KEY} AS key, {_AMOUNT} AS amount FROM chunk_items AS i "
    "JOIN r ON r.line = i.line "
    "WHERE r.worker_id IS NOT NULL), "
    f"d AS ({_BOOK_DECLARED}FROM r WHERE worker_id IS NOT NULL RETURNING 1), "
    "c AS (" + _book_contributions(cid="cid", worker="worker_id", scheme="scheme", month="month",
                                   wage_base="wage_base", shares="shares")
    + "FROM x WHERE long_term = 1 ORDER BY line RETURNING 1), "
    "p AS (" + _book_periods(worker="worker_id", scheme="scheme", month="month", cid="cid")
    + "FROM x WHERE long_term = 1 RETURNING 1), "
    # In key order (as the upsert before it): two imports raising the same accounts this way
    # lock them in one order, where a hash aggregate would hand them over in any.
    "g AS MATERIALIZED (SELECT key, worker_id, scheme, sum(amount) AS amount FROM x "
    "WHERE long_term = 1 GROUP BY key, worker_id, scheme ORDER BY key), "
    "u AS (UPDATE accounts SET credits_posted = accounts.credits_posted + g.amount FROM g "
    "WHERE accounts.key = g.key RETURNING accounts.id AS id, accounts.key AS key, "
    "accounts.worker_id AS worker_id, accounts.scheme AS scheme), "
    "n AS (" + _book_member_accounts(key="g.key", scheme="g.scheme", worker="g.worker_id",
                                     credits="g.amount")
    + "FROM g LEFT JOIN u ON u.key = g.key WHERE u.key IS NULL "
    "ORDER BY g.key RETURNING id, worker_id, scheme), "
    "a AS (SELECT id, worker_id, scheme FROM u UNION ALL SELECT id, worker_id, scheme FROM n), "
    "t AS (" + _book_transfers(cid="x.cid", account="a.id", amount="x.amount")
    + "FROM x JOIN a ON a.worker_id = x.worker_id AND a.scheme = x.scheme "
    "WHERE x.long_term = 1 ORDER BY x.line RETURNING 1), "
    "s AS (SELECT count(*) AS n, coalesce(sum(employee), 0) AS e, "
    "coalesce(sum(employer), 0) AS r, coalesce(sum(government), 0) AS g, "
    "coalesce(sum(voluntary), 0) AS v FROM x WHERE long_term = 1) "
    "SELECT (SELECT count(*) FROM r WHERE worker_id IS NULL), (SELECT count(*) FROM d), "
    "(SELECT count(*) FROM r), s.n, "
    "(SELECT count(*) FROM c), (SELECT count(*) FROM p), (SELECT count(*) FROM t), "
    # A short-term branch posted per worker through the API: the careful path refuses it.
    # (Short-term items are not staged on this path: every short-term scheme of the chunk is
    # probed for every row. A scalar subquery, not EXISTS: the planner would turn EXISTS into
    # a hash semi-join reading the whole contributions table, once per chunk.)
    "(SELECT count(*) FROM r CROSS JOIN unnest(CAST(:short_schemes AS VARCHAR[])) AS b(scheme) "
    "WHERE r.worker_id IS NOT NULL AND (SELECT k.id FROM contributions AS k WHERE k.id = "
    f"{_cid('b.scheme')}) IS NOT NULL), "
    "s.e, s.r, s.g, s.v FROM s"
)


def at_once_params(fund: str, currency: str, import_id: str, member_flags: int,
                   declarations: int, now_us: int, short_schemes: Sequence[str]
                   ) -> dict[str, Any]:
    """The bind parameters of `_AT_ONCE` (also for `bench.explain_import_chunk`)."""
    return {"fund": fund, "currency": currency, "import_id": import_id, "flags": member_flags,
            "declarations": declarations, "now": now_us, "short_schemes": list(short_schemes)}


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


@dataclass(slots=True)
class ChunkBooked:
    """What booking one chunk wrote: counts, per payer what the source accounts owe for the
    member transfers, and the chunk's short-term shares per scheme (employee, employer,
    government, voluntary), to be pooled per file."""

    contributions: int = 0
    declared_months: int = 0
    owed: dict[str, int] = field(default_factory=dict)
    pooled: dict[str, list[int]] = field(default_factory=dict)


class ImportTx:
    """One import's transaction: per chunk stage, resolve, check, book. Commit on exit."""

    def __init__(self, conn: AsyncConnection, is_postgres: bool) -> None:
        self.conn = conn
        self.is_postgres = is_postgres
        self.copy_text = is_postgres  # chunks can be staged as COPY text (see `stage`)
        self.analysed = False  # the chunk tables have statistics
        self.analysed_with_short_term = False  # ...taken with short-term items staged

    async def _all(self, sql: str, **params: Any) -> list[Any]:
        return list((await self.conn.execute(text(sql), params)).all())

    async def _run(self, sql: str, **params: Any) -> int:
        result = await self.conn.execute(text(sql), params)
        return int(getattr(result, "rowcount", 0) or 0)

    async def create_staging(self) -> None:
        if self.is_postgres:
            # Sorts and hashes over a chunk stay in memory, this transaction only.
            await self._run(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'")
            await self._run("SET LOCAL jit = off")
            # Every ledger lookup here is one row by a unique key: a bitmap scan only adds
            # its bitmap (measured on the membership probe of a 1,000,000-row file).
            await self._run("SET LOCAL enable_bitmapscan = off")
        else:
            await self.drop_staging()
        suffix = "ON COMMIT DROP" if self.is_postgres else ""
        line = "NOT NULL" if self.is_postgres else "PRIMARY KEY"
        for statement in _CREATE:
            await self._run(statement.format(suffix=suffix, line=line))
        if not self.is_postgres:
            await self._run("CREATE INDEX temp.chunk_items_line ON chunk_items (line)")

    async def drop_staging(self) -> None:
        if not self.is_postgres:
            for table in _CHUNK_TABLES:
                await self._run(f"DROP TABLE IF EXISTS temp.{table}")

    async def stage(self, rows: Sequence[tuple[Any, ...]], items: Sequence[tuple[Any, ...]],
                    copy_text: tuple[bytes, bytes, bytes] | None = None,
                    short_term: bool = True, workers: bytes = b"") -> None:
        """Replace the chunk tables' contents with one chunk's records, given as tuples or
        (PostgreSQL) as COPY text: the rows', the long-term items', the short-term items'
        (left out unless `short_term`; `stage_short_term` adds them later), and the workers
        looked up ahead (`MemberLookup.workers`, for the one-statement path)."""
        if self.is_postgres:
            await self._run(f"TRUNCATE {', '.join(_CHUNK_TABLES)}")
        else:
            for table in _CHUNK_TABLES:
                await self._run(f"DELETE FROM temp.{table}")
        if copy_text is not None:
            await self._copy("chunk_rows", ROW_COLUMNS, copy_text[0])
            await self._copy("chunk_items", ITEM_COLUMNS,
                             copy_text[1], *(copy_text[2:] if short_term else ()))
            await self._copy("chunk_workers", ("line", "worker_id"), workers)
        else:
            await self._load("chunk_rows", ROW_COLUMNS, rows)
            await self._load("chunk_items", ITEM_COLUMNS, items)
        if rows:
            await self._analyse(with_short_term=short_term)

    async def _analyse(self, with_short_term: bool) -> None:
        """Temporary tables are never analysed automatically; without statistics the planner
        joins items to rows by line with a nested loop (quadratic). Once is enough (the
        statistics survive TRUNCATE, and each chunk's size is read from its pages at planning
        time) -- and once more when short-term items are first staged: statistics taken
        without them say no item is short-term, and the careful path's pooled sums then
        joined items to rows with a nested loop (measured: minutes for one chunk). The
        reverse is harmless: the one-statement path plans for fewer long-term items than it
        gets. `chunk_moves` stays unanalysed on purpose: its default estimate (200 accounts)
        keeps the balance update an index probe per account rather than a hash join over the
        whole accounts table."""
        if not self.is_postgres or (self.analysed and (self.analysed_with_short_term
                                                       or not with_short_term)):
            return
        await self._run("ANALYZE chunk_rows")
        await self._run("ANALYZE chunk_items")
        await self._run("ANALYZE chunk_workers")  # empty unless looked up: planned as small
        self.analysed = True
        self.analysed_with_short_term = with_short_term

    async def stage_short_term(self, copy_text: tuple[bytes, bytes, bytes]) -> None:
        """Add a chunk's short-term items, left out by `stage(short_term=False)`."""
        await self._copy("chunk_items", ITEM_COLUMNS, copy_text[2])
        await self._analyse(with_short_term=True)

    async def _copy(self, table: str, columns: Sequence[str], *payloads: bytes) -> None:
        if not any(payloads):
            return
        raw = (await self.conn.get_raw_connection()).driver_connection
        await raw.copy_to_table(  # type: ignore[union-attr]
            table, source=_as_async(*payloads), columns=list(columns))

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

    # -- resolve and check ---------------------------------------------------------------------
    async def rehash_lines(self, hashes: dict[int, str]) -> None:
        """Stage these lines under another member hash (the previous key's, during an identity
        key rotation), to be resolved again."""
        if hashes:
            await self.conn.execute(
                text("UPDATE chunk_rows SET member_hmac = :h WHERE line = :line"),
                [{"line": line, "h": digest} for line, digest in sorted(hashes.items())])

    async def resolve(self, fund: str, import_id: str, employer: str | None = None
                      ) -> list[int]:
        """Fill the chunk's worker ids from memberships, and mark each row new unless its
        (fund, worker, month) was booked by an earlier import; the lines whose member number is
        not registered. One probe of each primary key per row. With `employer` (an employer's
        upload), a worker it does not employ is left unresolved too: the employer learns no more
        of that worker than of a number nobody holds, and nothing is checked or booked for it."""
        await self._run(
            # A scalar subquery, not EXISTS: PostgreSQL turns that EXISTS into an IN over all
            # the month's declared rows (the worker condition left out), once per row.
            "UPDATE chunk_rows SET (worker_id, is_new) = (SELECT m.worker_id, CASE WHEN "
            "(SELECT d.import_id FROM declared_months AS d WHERE d.fund = :fund "
            "AND d.worker_id = m.worker_id AND d.month = chunk_rows.month) <> :import_id "
            "THEN 0 ELSE 1 END FROM memberships AS m "
            "WHERE m.fund = :fund AND m.member_number_hmac = chunk_rows.member_hmac)",
            fund=fund, import_id=import_id)
        if employer is not None:
            await self._run(
                "UPDATE chunk_rows SET worker_id = NULL, is_new = NULL WHERE worker_id IS NOT "
                "NULL AND NOT EXISTS (SELECT 1 FROM employments AS e WHERE e.fund = :fund AND "
                "e.employer = :employer AND e.worker_id = chunk_rows.worker_id)",
                fund=fund, employer=employer)
        return [r[0] for r in await self._all(
            "SELECT line FROM chunk_rows WHERE worker_id IS NULL ORDER BY line")]

    async def clashes(self, fund: str) -> tuple[list[ContributionClash], list[PeriodClash]]:
        """Existing contributions under the chunk's business keys (for new rows all of them,
        for rows booked before only those whose amounts differ), and periods of new rows'
        long-term schemes held by another contribution. One pass, one probe per key."""
        rows = await self._all(
            "WITH x AS MATERIALIZED (SELECT i.line AS line, i.scheme AS scheme, "
            f"i.long_term AS long_term, r.is_new AS is_new, {_CID} AS cid, "
            f"(SELECT CASE WHEN {_SAME} THEN 1 ELSE 0 END FROM contributions AS c "
            f"WHERE c.id = {_CID}) AS same, "
            "CASE WHEN r.is_new = 1 AND i.long_term = 1 THEN (SELECT p.contribution_id "
            "|| ' ' || p.state FROM insurance_periods AS p WHERE p.worker_id = r.worker_id "
            "AND p.fund = :fund AND p.scheme = i.scheme AND p.month = r.month "
            f"AND p.contribution_id <> {_CID}) END AS held "
            "FROM chunk_items AS i JOIN chunk_rows AS r ON r.line = i.line "
            "WHERE r.worker_id IS NOT NULL) "
            "SELECT line, scheme, long_term, is_new, same, cid, held FROM x "
            "WHERE (same IS NOT NULL AND (is_new = 1 OR same = 0)) OR held IS NOT NULL "
            "ORDER BY line, scheme", fund=fund)
        contributions = [ContributionClash(r[0], r[1], bool(r[2]), bool(r[3]), bool(r[4]), r[5])
                         for r in rows if r[4] is not None and (r[3] == 1 or r[4] == 0)]
        periods = [PeriodClash(r[0], r[1], *str(r[6]).rsplit(" ", 1))
                   for r in rows if r[6] is not None]
        return contributions, periods

    async def declared_here(self, fund: str, import_id: str,
                            keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Of these (worker, month), the ones this import has booked, with the line."""
        found: dict[tuple[str, int], int] = {}
        for worker, month in set(keys):
            for (line,) in await self._all(
                    "SELECT line FROM declared_months WHERE fund = :fund AND worker_id = :w "
                    "AND month = :m AND import_id = :import_id",
                    fund=fund, w=worker, m=month, import_id=import_id):
                found[(worker, month)] = int(line)
        return found

    async def workers_of(self, lines: Iterable[int]) -> dict[int, tuple[str, int]]:
        params = [{"line": line} for line in sorted(set(lines))]
        out: dict[int, tuple[str, int]] = {}
        for p in params:
            for line, worker, month in await self._all(
                    "SELECT line, worker_id, month FROM chunk_rows WHERE line = :line", **p):
                out[int(line)] = (str(worker), int(month))
        return out

    async def mark_present(self, items: Iterable[tuple[int, str]]) -> None:
        """Items whose identical contribution is already booked (e.g. posted via the API)."""
        params = [{"line": line, "scheme": scheme} for line, scheme in items]
        if params:
            await self.conn.execute(text(
                "UPDATE chunk_items SET present = 1 WHERE line = :line AND scheme = :scheme"),
                params)

    async def drop_lines(self, lines: Iterable[int]) -> None:
        """Leave these lines of the chunk out of its booking."""
        records = [(line,) for line in sorted(set(lines))]
        if records:
            await self._load("chunk_dropped", ("line",), records)
            for table in ("chunk_items", "chunk_rows"):
                await self._run(
                    f"DELETE FROM {table} WHERE line IN (SELECT line FROM chunk_dropped)")

    # -- book --------------------------------------------------------------------------------
    async def book_chunk(self, fund: str, currency: str, import_id: str, member_flags: int,
                         declarations: int, now_us: int) -> ChunkBooked:
        """Contributions, periods, member accounts, transfers and balances for the chunk's new
        long-term items; the declared months of its new rows; its short-term totals. Each
        long-term item is one transfer from the fund's declarations account (ADR 0026)."""
        p = {"fund": fund, "currency": currency, "now": now_us}
        booked = ChunkBooked()
        # Each move with its member account's id (one probe of the key index each).
        await self._run(
            "INSERT INTO chunk_moves (line, cid, worker_id, scheme, key, amount, account_id) "
            "SELECT x.line, x.cid, x.worker_id, x.scheme, x.key, x.amount, "
            "(SELECT a.id FROM accounts AS a WHERE a.key = x.key) FROM ("
            f"SELECT i.line AS line, {_CID} AS cid, r.worker_id AS worker_id, "
            f"i.scheme AS scheme, {_KEY} AS key, {_AMOUNT} AS amount "
            "FROM chunk_items AS i JOIN chunk_rows AS r ON r.line = i.line "
            f"WHERE {_NEW_LONG_TERM}) AS x", **p)
        # New member accounts: the first file for a worker. In the steady state all exist.
        if (await self._all("SELECT count(*) FROM chunk_moves WHERE account_id IS NULL"))[0][0]:
            await self._run(
                _book_member_accounts(key="key", scheme="scheme", worker="worker_id",
                                      credits="0", distinct=True)
                + "FROM chunk_moves WHERE account_id IS NULL ORDER BY key "
                "ON CONFLICT (key) DO NOTHING", flags=member_flags, **p)
            await self._run(
                "UPDATE chunk_moves SET account_id = (SELECT a.id FROM accounts AS a "
                "WHERE a.key = chunk_moves.key) WHERE account_id IS NULL")
        booked.contributions = await self._run(
            _book_contributions(cid=_CID, worker="r.worker_id", scheme="i.scheme",
                                month="r.month", wage_base="i.wage_base", shares="i.shares")
            + "FROM chunk_items AS i JOIN chunk_rows AS r ON r.line = i.line "
            f"WHERE {_NEW_LONG_TERM} ORDER BY i.line", **p)
        await self._run(
            _book_periods(worker="r.worker_id", scheme="i.scheme", month="r.month", cid=_CID)
            + "FROM chunk_items AS i JOIN chunk_rows AS r ON r.line = i.line "
            f"WHERE {_NEW_LONG_TERM}", **p)
        booked.declared_months = await self._run(
            f"{_BOOK_DECLARED}FROM chunk_rows WHERE is_new = 1", fund=fund, import_id=import_id)
        await self._run(
            _book_transfers(cid="m.cid", account="m.account_id", amount="m.amount")
            + "FROM chunk_moves AS m ORDER BY m.line, m.cid",
            declarations=declarations, currency=currency, now=now_us)
        # Balances raised in account id order: the order the rows lie in the table, so the
        # updates walk its pages once instead of jumping between them.
        await self._run(
            "UPDATE accounts SET credits_posted = accounts.credits_posted + s.amount "
            "FROM (SELECT account_id, sum(amount) AS amount FROM chunk_moves "
            "GROUP BY account_id ORDER BY account_id) AS s WHERE accounts.id = s.account_id")
        owed = (await self._all(
            "SELECT coalesce(sum(i.employee), 0), coalesce(sum(i.employer), 0), "
            "coalesce(sum(i.government), 0), coalesce(sum(i.voluntary), 0) "
            "FROM chunk_items AS i JOIN chunk_rows AS r ON r.line = i.line "
            f"WHERE {_NEW_LONG_TERM}"))[0]
        booked.owed = {payer: int(amount) for payer, amount in zip(PAYERS, owed, strict=True)
                       if amount}
        booked.pooled = {r[0]: [int(v) for v in r[1:]] for r in await self._all(
            "SELECT i.scheme, sum(i.employee), sum(i.employer), sum(i.government), "
            "sum(i.voluntary) FROM chunk_items AS i JOIN chunk_rows AS r ON r.line = i.line "
            "WHERE r.is_new = 1 AND i.long_term = 0 GROUP BY i.scheme")}
        return booked

    async def book_chunk_at_once(self, fund: str, currency: str, import_id: str,
                                 member_flags: int, declarations: int, now_us: int,
                                 short_schemes: Sequence[str] = ()) -> ChunkBooked | None:
        """PostgreSQL: book a chunk in one statement, betting that every row is registered and
        new (the steady state of a monthly file): the inserts' unique keys do the checks that
        `resolve` and `clashes` make beforehand, member accounts are raised by one update (and
        the missing ones created). Inside a savepoint: if any row is not plain (unregistered,
        declared before, already booked, a period held, a short-term branch posted per
        worker), everything the statement wrote is rolled back and None returned: the caller
        takes the careful path, which finds and reports exactly what is wrong. Only the
        long-term items are staged: `short_schemes` are the chunk's short-term schemes, whose
        pooled sums the caller has."""
        params = at_once_params(fund, currency, import_id, member_flags, declarations, now_us,
                                short_schemes)
        savepoint = await self.conn.begin_nested()
        try:
            counts = (await self._all(_AT_ONCE, **params))[0]
        except DBAPIError:
            await savepoint.rollback()
            return None
        unresolved, declared, rows, items, contributions, periods, transfers, short_clash = (
            int(v) for v in counts[:8])
        if (unresolved or short_clash or declared != rows
                or not contributions == periods == transfers == items):
            await savepoint.rollback()
            return None
        await savepoint.commit()
        booked = ChunkBooked(contributions=contributions, declared_months=declared)
        booked.owed = {payer: int(amount) for payer, amount in zip(PAYERS, counts[8:12],
                                                                   strict=True) if amount}
        return booked

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
                              currency: str, now_us: int, code: str = "import_pool") -> None:
        await self._run(
            "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount_minor, "
            "currency, flags, pending_id, reversal_of, code, contribution_id, created_at_us) "
            "VALUES (:id, :debit, :credit, :amount, :currency, 0, NULL, NULL, :code, NULL, :now)",
            id=transfer_id, debit=debit, credit=credit, amount=amount, currency=currency,
            now=now_us, code=code)

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


async def _as_async(*payloads: bytes) -> AsyncIterator[bytes]:
    """Payloads for asyncpg's COPY as they are: given a file object instead, asyncpg reads it
    in the default thread pool, 512 kB at a time (a thread hop per piece)."""
    for payload in payloads:
        if payload:
            yield payload


# One probe of the membership index per row (a scalar subquery: a join could be planned as a
# hash join over all the fund's members); the found ones as COPY text for `chunk_workers`.
_LOOKUP = (
    "SELECT string_agg(line || E'\\t' || worker_id || E'\\n', '') FROM (SELECT h.line AS line, "
    "(SELECT m.worker_id FROM memberships AS m WHERE m.fund = $1 "
    "AND m.member_number_hmac = h.member_hmac) AS worker_id "
    "FROM unnest($2::INTEGER[], $3::VARCHAR[]) AS h(line, member_hmac)) AS found "
    "WHERE worker_id IS NOT NULL"
)


class MemberLookup:
    """PostgreSQL: finds a chunk's workers by member number on a connection of its own,
    outside the import's transaction, so that the lookup runs on the other core while the
    import's connection books the chunk before (the probes were a fifth of that statement's
    time). Memberships are only ever added, never changed or removed: a worker found here is
    still the member when the chunk is booked. A member number registered in between is not
    found; its chunk then takes the careful path, which looks up again inside the import."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def workers(self, fund: str, rows: Sequence[tuple[Any, ...]]) -> bytes:
        """(line, worker id) of the rows (`ROW_COLUMNS` tuples) whose member is found, as
        COPY text for `ImportTx.stage(workers=...)`."""
        raw = (await self.conn.get_raw_connection()).driver_connection
        found = await raw.fetchval(  # type: ignore[union-attr]
            _LOOKUP, fund, [r[0] for r in rows], [r[1] for r in rows])
        return str(found or "").encode()


@asynccontextmanager
async def member_lookup(db: Database) -> AsyncIterator[MemberLookup | None]:
    """A `MemberLookup` on a second connection for the duration of an import (PostgreSQL)."""
    if not db.is_postgres:
        yield None
        return
    async with db.engine.connect() as conn:
        yield MemberLookup(conn)


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
