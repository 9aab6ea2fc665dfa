"""Importing a fund's declaration file: parse, check every row, book idempotently, report.

`ImportService.import_file` streams the file through the fund's codec in chunks, checks each
chunk against the fund's rules (`adapters/declarations.py`), stages the accepted rows in the
database and, once the whole file has been read, books them with set-based SQL
(`db/import_store.py`) in the same transaction. Nothing is booked if any row is rejected,
unless the caller asked for partial acceptance; nothing is ever booked if the header's totals do
not match the rows (the file itself is inconsistent). Re-importing a file changes nothing: the
same bytes are recognised by their SHA-256, and any row already booked (by an earlier file or
through the API) is recognised by its business key (worker, fund, scheme, month).

Per-worker money is booked for long-term (portable) schemes; short-term branches are booked per
file into pool accounts (ADR 0008).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from ledger.adapters.base import FundAdapter
from ledger.adapters.declarations import CheckedChunk, DeclarationChecker
from ledger.adapters.formats import DeclaredHeader, DeclaredRow, RowError, Totals, reconcile
from ledger.adapters.registry import codec, get_adapter
from ledger.db.engine import Database
from ledger.db.import_store import ImportTx, import_transaction, lookup_import
from ledger.domain.accounts import AccountCode, branch_pool_account, source_account
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, Payer
from ledger.domain.ledger import AccountFlags
from ledger.domain.pii import PiiVault
from ledger.domain.principals import Principal
from ledger.services.posting import now_us

CHUNK_ROWS = 20_000  # rows checked and staged at a time: bounds memory, amortises numpy calls
ERRORS_KEPT = 1_000  # row errors listed in a report (all are counted)
_HASH_BLOCK = 1 << 20

# (bytes read, bytes in the file, rows read)
Progress = Callable[[int, int, int], None]


@dataclass(slots=True)
class ImportReport:
    import_id: str
    fund: str
    file_sha256: str
    format: str
    status: str  # "posted", "partial" (some rows rejected, the rest booked), "rejected"
    month: str | None = None
    employer: str | None = None
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_already_booked: int = 0  # accepted rows an earlier import (or the API) had booked
    contributions_booked: int = 0
    pooled_minor: dict[str, dict[str, str]] = field(default_factory=dict)
    header_reconciled: bool = True
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_not_listed: int = 0
    replayed: bool = False  # the same file was imported before: this is its original report

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def posted_anything(self) -> bool:
        return self.status in ("posted", "partial")


class _Errors:
    """Row errors, in line order per source; the first ERRORS_KEPT kept, all counted."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.lines: set[int] = set()
        self.count = 0

    def add(self, error: RowError) -> None:
        self.count += 1
        self.lines.add(error.line)
        if len(self.kept) < ERRORS_KEPT:
            self.kept.append(error)

    def as_dicts(self) -> list[dict[str, Any]]:
        ordered = sorted(self.kept, key=lambda e: e.line)
        return [{"line": e.line, "field": e.field, "reason": e.reason} for e in ordered]


class ImportService:
    def __init__(self, db: Database, vault: PiiVault) -> None:
        self.db = db
        self.vault = vault

    async def import_file(
        self, principal: Principal, fund: str, source: IO[bytes], *, partial: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport:
        adapter = get_adapter(fund)
        principal.require(principal.can_post_contribution(fund),
                          f"import declarations for {fund}")
        sha, size = _sha256(source)
        import_id = "imp_" + hashlib.sha256(f"{fund}\x00{sha}".encode()).hexdigest()[:24]
        stored = await lookup_import(self.db, fund, sha)
        if stored is not None:
            return _replayed(stored)
        fmt = codec(fund)
        report = ImportReport(import_id, fund, sha, fmt.name, "rejected")
        async with import_transaction(self.db) as (store, tx):
            await store.create_staging()
            errors = _Errors()
            header = await self._stage_file(store, adapter, fmt.parse(_lines(source, size,
                                            progress)), report, errors)
            if header is not None and report.header_reconciled and report.rows_accepted:
                await store.index_staging()
                await self._check_against_ledger(store, fund, report, errors)
            report.rows_rejected = len(errors.lines - {0})
            report.rows_accepted = report.rows_total - report.rows_rejected
            report.errors = errors.as_dicts()
            report.errors_not_listed = errors.count - len(report.errors)
            bookable = (header is not None and report.header_reconciled
                        and report.rows_accepted > 0 and (partial or errors.count == 0))
            if not bookable:
                report.status = "rejected"
                await tx.rollback()
                return report
            await store.drop_lines(errors.lines)
            await self._book(store, adapter, import_id, report)
            report.status = "partial" if errors.count else "posted"
            await store.record_import({
                "id": import_id, "fund": fund, "sha": sha, "principal": principal.name,
                "status": report.status, "total": report.rows_total,
                "accepted": report.rows_accepted, "rejected": report.rows_rejected,
                "report": json.dumps(report.to_dict(), separators=(",", ":")), "now": now_us(),
            })
        return report

    # -- parse, check, stage -----------------------------------------------------------------
    async def _stage_file(
        self, store: ImportTx, adapter: FundAdapter, parsed: Iterator[object],
        report: ImportReport, errors: _Errors,
    ) -> DeclaredHeader | None:
        first = next(parsed, None)
        if first is None:
            errors.add(RowError(0, "file", "is empty"))
            return None
        if isinstance(first, RowError):
            errors.add(first)
            for item in parsed:  # the codec reports what else it can
                if isinstance(item, RowError):
                    errors.add(item)
            return None
        if not isinstance(first, DeclaredHeader):
            errors.add(RowError(1, "header", "the file does not start with a header"))
            return None
        header = first
        report.month, report.employer = str(header.month), header.employer_account
        if header.currency is not adapter.currency:
            errors.add(RowError(1, "currency", f"{adapter.FUND_CODE} books {adapter.currency}, "
                                               f"the header says {header.currency}"))
            return None
        reader = _ChunkReader(adapter, DeclarationChecker(adapter, header), parsed,
                              self.vault)
        # Parsing, checking and hashing run in a worker thread, a chunk ahead of the database:
        # the event loop stays free for other requests, and COPY overlaps the next chunk's work.
        pending = asyncio.ensure_future(asyncio.to_thread(reader.next_chunk))
        try:
            while (staged := await pending) is not None:
                pending = asyncio.ensure_future(asyncio.to_thread(reader.next_chunk))
                for error in staged.errors:
                    errors.add(error)
                await store.stage(staged.rows, staged.items)
        except BaseException:
            pending.cancel()  # the thread finishes its chunk; nobody waits for it
            raise
        report.rows_total = reader.rows_total
        if report.rows_total == 0:
            errors.add(RowError(0, "file", "has a header but no rows"))
        mismatches = reconcile(header, reader.totals, reader.employer_per_row)
        for mismatch in mismatches:
            errors.add(mismatch)
        report.header_reconciled = not mismatches
        report.rows_accepted = report.rows_total - len(errors.lines - {0})
        return header


    # -- what the ledger already holds -------------------------------------------------------
    async def _check_against_ledger(self, store: ImportTx, fund: str, report: ImportReport,
                                    errors: _Errors) -> None:
        for line in await store.resolve_workers(fund):
            errors.add(RowError(line, "member_number",
                                f"no worker is registered with this {fund} member number; "
                                "register the worker first (POST /v1/workers)"))
        for line, first in await store.duplicate_lines():
            errors.add(RowError(line, "member_number",
                                f"the same worker and month are declared on line {first}"))
        await store.mark_new(fund)
        present: list[tuple[int, str]] = []
        already: set[int] = set()
        for c in await store.contribution_clashes(fund):
            if c.is_new and c.long_term and c.same:
                present.append((c.line, c.scheme))
            elif not c.long_term:
                errors.add(RowError(c.line, "member_number",
                                    f"{c.scheme} for this month was already posted per worker "
                                    f"({c.contribution_id}); it cannot be booked again"))
            else:
                errors.add(RowError(c.line, "wage",
                                    f"{c.contribution_id} is already recorded with other amounts;"
                                    " a correction must reverse it, not re-declare it"))
            if not c.is_new:
                already.add(c.line)
        for p in await store.period_clashes(fund):
            errors.add(RowError(p.line, "month",
                                f"{p.scheme} for this month is already covered ({p.state}) by "
                                f"{p.contribution_id}"))
        await store.mark_present(present)
        report.rows_already_booked = len(already)

    # -- book --------------------------------------------------------------------------------
    async def _book(self, store: ImportTx, adapter: FundAdapter, import_id: str,
                    report: ImportReport) -> None:
        fund, currency = adapter.FUND_CODE, adapter.currency
        now = now_us()
        counts = await store.book(fund, str(currency), import_id,
                                  int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS), now)
        report.contributions_booked = counts["contributions"]
        report.rows_already_booked = report.rows_accepted - counts["declared_months"]
        sources: dict[str, int] = {}
        for name, source_payer in (("collections", Payer.EMPLOYEE),
                                   ("government", Payer.GOVERNMENT)):
            spec = source_account(fund, source_payer, currency)
            sources[name] = await store.ensure_account(spec.key, str(spec.code), str(currency),
                                                       int(spec.flags), fund, None, now)
        owed = await store.book_transfers(sources, str(currency), now)
        pooled = await store.pooled_totals()
        for scheme, by_payer in pooled.items():
            spec = branch_pool_account(fund, scheme, currency)
            pool = await store.ensure_account(spec.key, str(AccountCode.BRANCH_POOL),
                                              str(currency), int(spec.flags), fund, scheme, now)
            for payer, amount in by_payer.items():
                source = sources["government" if payer == Payer.GOVERNMENT else "collections"]
                await store.insert_transfer(f"{import_id}/{scheme}/{payer}", source, pool,
                                            amount, str(currency), now)
                owed[payer] = owed.get(payer, 0) + amount
            await store.move_balances(pool, credits=sum(by_payer.values()))
        report.pooled_minor = {s: {p: str(a) for p, a in by.items()} for s, by in pooled.items()}
        collections = sum(a for p, a in owed.items() if p != Payer.GOVERNMENT)
        if collections:
            await store.move_balances(sources["collections"], debits=collections)
        if owed.get(Payer.GOVERNMENT):
            await store.move_balances(sources["government"], debits=owed[Payer.GOVERNMENT])


@dataclass(slots=True)
class _Staged:
    """One chunk, checked and ready to stage: the records for the staging tables, the errors."""

    rows: list[tuple[Any, ...]]
    items: list[tuple[Any, ...]]
    errors: list[RowError]


class _ChunkReader:
    """Pulls the next chunk of rows off the codec's stream, checks it against the fund's rules
    and builds its staging records. Plain CPU work, run in a worker thread (one at a time)."""

    def __init__(self, adapter: FundAdapter, checker: DeclarationChecker,
                 parsed: Iterator[object], vault: PiiVault) -> None:
        self.adapter = adapter
        self.checker = checker
        self.parsed = parsed
        self.vault = vault
        self.fund = FUNDS[adapter.FUND_CODE]
        self.totals = Totals()
        self.rows_total = 0
        self.employer_per_row = False

    def next_chunk(self) -> _Staged | None:
        chunk: list[DeclaredRow] = []
        parse_errors: list[RowError] = []
        for item in self.parsed:
            if isinstance(item, RowError):
                self.rows_total += 1
                parse_errors.append(item)
            elif isinstance(item, DeclaredRow):
                self.rows_total += 1
                self.totals.add(item)
                self.employer_per_row = self.employer_per_row or item.employer_minor is not None
                chunk.append(item)
                if len(chunk) >= CHUNK_ROWS:
                    break
        if not chunk and not parse_errors:
            return None
        checked = self.checker.check(chunk)
        rows, items = self._records(checked)
        return _Staged(rows, items, parse_errors + checked.errors)

    def _records(self, checked: CheckedChunk) -> tuple[list[tuple[Any, ...]],
                                                         list[tuple[Any, ...]]]:
        code = self.adapter.FUND_CODE
        lookup = self.vault.lookup_hash
        rows = [
            (row.line, lookup(code, member), row.month.to_int(), str(row.month))
            for row, member in zip(checked.rows, checked.members, strict=True)
        ]
        items: list[tuple[Any, ...]] = []
        lines = [r.line for r in checked.rows]
        for scheme in checked.schemes:
            long_term = self.fund.scheme(scheme).long_term
            by_payer = checked.shares[scheme]
            zero = [0] * len(lines)
            columns = [by_payer[p].tolist() if p in by_payer else zero for p in Payer]
            bases = checked.bases[scheme].tolist()
            in_force = checked.in_force[scheme].tolist()
            for k, line in enumerate(lines):
                e, r, g, v = columns[0][k], columns[1][k], columns[2][k], columns[3][k]
                if not in_force[k] or e + r + g + v == 0:
                    continue  # nothing owed: no contribution, no period (e.g. VN abroad)
                items.append((line, scheme, int(long_term), bases[k],
                              _shares_json(e, r, g, v) if long_term else "", e, r, g, v))
        return rows, items


def _shares_json(employee: int, employer: int, government: int, voluntary: int) -> str:
    """The contribution's shares exactly as the posting engine stores them (sorted keys, amount
    strings, zero shares left out), so a month posted by API and by file compare equal."""
    parts = [f'"{name}":"{amount}"' for name, amount in (
        ("employee", employee), ("employer", employer), ("government", government),
        ("voluntary", voluntary)) if amount]
    return "{" + ",".join(parts) + "}"


def _sha256(source: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    source.seek(0)
    while block := source.read(_HASH_BLOCK):
        digest.update(block)
        size += len(block)
    source.seek(0)
    return digest.hexdigest(), size


def _lines(source: IO[bytes], size: int, progress: Progress | None) -> Iterator[bytes]:
    done = rows = 0
    for line in source:
        yield line
        if progress is not None:
            done += len(line)
            rows += 1
            if rows % 50_000 == 0 or done == size:
                progress(done, size, rows)


def _replayed(stored: str) -> ImportReport:
    data = json.loads(stored)
    data["replayed"] = True
    return ImportReport(**data)


def check_file_size(size: int, limit: int) -> None:
    if size > limit:
        raise DomainError(ErrorCode.BODY_TOO_LARGE,
                          f"the file is {size} bytes; at most {limit} per upload", field="file")
