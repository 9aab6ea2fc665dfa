"""Importing a fund's declaration file: parse, check every row, book idempotently, report.

`ImportService.import_file` streams the file through the fund's codec in chunks, checks each
chunk against the fund's rules in a worker thread (`services/import_chunks.py`), and stages,
checks against the ledger and books each chunk with set-based SQL (`db/import_store.py`) as soon
as it is ready, while the thread works on the next one: all in one transaction, rolled back at
the end if the file is not bookable. Nothing is booked if any row is rejected, unless the caller
asked for partial acceptance; nothing is ever booked if the header's totals do not match the
rows (the file itself is inconsistent). Re-importing a file changes nothing: the same bytes are
recognised by their SHA-256, and any row already booked (by an earlier file or through the API)
is recognised by its business key (worker, fund, scheme, month).

Per-worker money is booked for long-term (portable) schemes; short-term branches are booked per
file into pool accounts (ADR 0008).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from ledger import metrics
from ledger.adapters.base import FundAdapter
from ledger.adapters.declarations import DeclarationChecker
from ledger.adapters.formats import DeclaredHeader, RowError, reconcile
from ledger.adapters.registry import codec, get_adapter
from ledger.db.engine import Database
from ledger.db.import_store import (
    PAYERS,
    ChunkBooked,
    ContributionClash,
    ImportTx,
    MemberLookup,
    import_transaction,
    lookup_import,
    member_lookup,
)
from ledger.domain.accounts import (
    AccountCode,
    branch_pool_account,
    declarations_account,
    source_account,
)
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.ledger import AccountFlags
from ledger.domain.pii import PiiVault
from ledger.domain.principals import Principal, PrincipalKind
from ledger.services.employments import canonical_employer
from ledger.services.import_chunks import ChunkReader, StagedChunk
from ledger.services.posting import now_us

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
    rows_parsed: int = 0  # rows that could be read at all; rows_total counts unreadable ones too
    rows_accepted: int = 0
    rows_rejected: int = 0
    rows_already_booked: int = 0  # accepted rows an earlier import (or the API) had booked
    contributions_booked: int = 0
    pooled_minor: dict[str, dict[str, str]] = field(default_factory=dict)
    header_read: bool = True  # False: the file was refused at its header, no row was read
    header_reconciled: bool = True  # False too when the header could not be read
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_not_listed: int = 0
    replayed: bool = False  # the same file was imported before: this is its original report

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def posted_anything(self) -> bool:
        return self.status in ("posted", "partial")

    def rejection(self) -> str:
        """Why nothing was booked, in one sentence that names the first reason."""
        if not self.header_read:
            return f"the header could not be read: {self.first_reason()}; nothing was booked"
        if self.rows_parsed == 0:
            what = "no row could be read"
        else:
            what = f"{self.rows_rejected} of {self.rows_total} rows rejected"
            if not self.header_reconciled:
                what += "; the header totals do not match the rows"
        return f"{what}: {self.first_reason()}; nothing was booked"

    def first_reason(self) -> str:
        """The first error of a row, else of the file: a row's own error says more than the
        header totals it put out of balance."""
        if not self.errors:
            return "no reason recorded"
        error = next((e for e in self.errors if e["line"]), self.errors[0])
        if error["line"]:
            return f"line {error['line']}, {error['field']}: {error['reason']}"
        if error["field"] == "file":
            return f"the file {error['reason']}"
        return f"{error['field']}: {error['reason']}"


class _Errors:
    """Row errors of one kind, in line order; the first ERRORS_KEPT kept, all counted."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.lines: set[int] = set()
        self.count = 0

    def add(self, error: RowError) -> None:
        self.count += 1
        self.lines.add(error.line)
        if len(self.kept) < ERRORS_KEPT:
            self.kept.append(error)


def _merged(kinds: list[_Errors]) -> _Errors:
    """One list of the errors of every kind, kinds in order: the report lists the first
    ERRORS_KEPT of them (file errors first, then each check against the ledger in turn)."""
    out = _Errors()
    for kind in kinds:
        out.lines |= kind.lines
        out.count += kind.count
        out.kept.extend(kind.kept[:ERRORS_KEPT - len(out.kept)])
    return out


def _as_dicts(errors: _Errors) -> list[dict[str, Any]]:
    # Rows by line, then the file's own errors (line 0): a row's error comes before the header
    # totals it put out of balance.
    ordered = sorted(errors.kept, key=lambda e: (e.line == 0, e.line))
    return [{"line": e.line, "field": e.field, "reason": e.reason} for e in ordered]


class ImportService:
    """`one_statement=False` books every chunk the careful way on PostgreSQL too (a statement
    per check, as SQLite does): the general path the one-statement booking of a plain chunk
    (ADR 0027) must equal, which tests/differential/test_imports.py runs beside it."""

    def __init__(self, db: Database, vault: PiiVault, *, one_statement: bool = True) -> None:
        self.db = db
        self.vault = vault
        self.one_statement = one_statement

    async def import_file(
        self, principal: Principal, fund: str, source: IO[bytes], *, partial: bool = False,
        progress: Progress | None = None,
    ) -> ImportReport:
        adapter = get_adapter(fund)
        principal.require(principal.can_post_contribution(fund),
                          f"import declarations for {fund}")
        # An employer declares as itself (the header's employer) for its employees only.
        employer = principal.employer if principal.kind is PrincipalKind.EMPLOYER else None
        sha, size = _sha256(source)
        import_id = "imp_" + hashlib.sha256(f"{fund}\x00{sha}".encode()).hexdigest()[:24]
        stored = await lookup_import(self.db, fund, sha)
        if stored is not None:
            replayed = _replayed(stored)
            if employer is not None:  # another employer's file, sent again: not its report
                _require_own_header_account(replayed.employer or "", employer)
            return replayed
        fmt = codec(fund)
        report = ImportReport(import_id, fund, sha, fmt.name, "rejected")
        lookups = member_lookup(self.db) if self.one_statement else contextlib.nullcontext()
        async with import_transaction(self.db) as (store, tx), lookups as lookup:
            await store.create_staging()
            errors = _Errors()
            booking = _Booking(store, adapter, import_id, partial, errors, lookup, employer)
            header = await self._stage_file(store, adapter, fmt.parse(_lines(
                source, size, progress, fmt.line_max_bytes, fmt.name)), report, errors,
                booking.chunk, booking.look_ahead, employer)
            # The ledger's checks count only for a file whose header holds: a file refused
            # whole lists what is wrong with the file itself.
            checked = header is not None and report.header_reconciled and report.rows_accepted
            log = _merged([errors, *booking.kinds()] if checked else [errors])
            if checked:
                report.rows_already_booked = booking.already
            if header is None:  # nothing to reconcile: the rows were never read
                report.header_read = report.header_reconciled = False
            # Line numbers name rows once a header was read; before that, only the file.
            report.rows_rejected = len(log.lines - {0}) if header is not None else 0
            report.rows_accepted = report.rows_total - report.rows_rejected
            report.errors = _as_dicts(log)
            report.errors_not_listed = log.count - len(report.errors)
            bookable = (header is not None and report.header_reconciled
                        and report.rows_accepted > 0 and (partial or log.count == 0))
            if not bookable:
                report.status = "rejected"
                await tx.rollback()  # whatever the chunks booked so far
                _count_rows(report)
                return report
            await booking.finish(report)
            report.status = "partial" if log.count else "posted"
            await store.record_import({
                "id": import_id, "fund": fund, "sha": sha, "principal": principal.name,
                "status": report.status, "total": report.rows_total,
                "accepted": report.rows_accepted, "rejected": report.rows_rejected,
                "report": json.dumps(report.to_dict(), separators=(",", ":")), "now": now_us(),
            })
        _count_rows(report)
        return report

    # -- parse, check, stage -----------------------------------------------------------------
    async def _stage_file(
        self, store: ImportTx, adapter: FundAdapter, parsed: Iterator[object],
        report: ImportReport, errors: _Errors,
        on_chunk: Callable[[StagedChunk, Callable[[], None]], Awaitable[None]] | None = None,
        look_ahead: Callable[[StagedChunk], Awaitable[None]] | None = None,
        employer: str | None = None,
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
        if employer is not None:
            _require_own_header(header, employer)
        reader = ChunkReader(adapter, DeclarationChecker(adapter, header), parsed,
                              self.vault, copy_text=store.copy_text)
        # Parsing, checking and hashing run in a worker thread, a chunk ahead of the database:
        # the event loop stays free for other requests, and the database checks and books
        # chunk k while the thread works on chunk k + 1. The thread starts on k + 1 once chunk
        # k is staged, not before: while both want the interpreter lock, staging's round trips
        # each waited for it (COPY of a chunk took 3-4 times what the server spent on it).
        # `look_ahead` prepares a chunk once read (PostgreSQL: finds its workers on a second
        # connection), still while the chunk before is being booked.
        pending: asyncio.Future[StagedChunk | None] | None = None

        async def read() -> StagedChunk | None:
            staged = await asyncio.to_thread(reader.next_chunk)
            if staged is not None and look_ahead is not None:
                await look_ahead(staged)
            return staged

        def read_next() -> None:
            nonlocal pending
            if pending is None:
                pending = asyncio.ensure_future(read())

        read_next()
        try:
            while pending is not None and (staged := await pending) is not None:
                pending = None
                for error in staged.errors:
                    errors.add(error)
                if on_chunk is None:
                    await store.stage(staged.rows, staged.items, staged.copy_text)
                elif staged.rows:
                    await on_chunk(staged, read_next)  # stages as its booking needs, then reads
                read_next()
        except BaseException:
            if pending is not None:
                pending.cancel()  # the thread finishes its chunk; nobody waits for it...
                with contextlib.suppress(BaseException):
                    await pending  # ...but a lookup ends before its connection is released
            raise
        report.rows_total, report.rows_parsed = reader.rows_total, reader.rows_parsed
        if report.rows_total == 0:
            errors.add(RowError(0, "file", "has a header but no rows"))
        mismatches = reconcile(header, reader.totals, reader.employer_per_row,
                               reader.rows_total - reader.rows_parsed)
        for mismatch in mismatches:
            errors.add(mismatch)
        report.header_reconciled = not mismatches
        report.rows_accepted = report.rows_total - len(errors.lines - {0})
        return header


class _Booking:
    """One import's checks against the ledger and its booking, chunk by chunk.

    Each staged chunk is checked against the ledger as it was before the import (the store's
    checks ignore what this import booked) and booked at once, unless the file already has an
    error and partial acceptance was not asked (the transaction will be rolled back then; the
    remaining chunks are still checked, for the report). The file's pooled short-term totals,
    the source accounts' debits and the counts add up across chunks; `finish` books them.
    """

    def __init__(self, store: ImportTx, adapter: FundAdapter, import_id: str, partial: bool,
                 file_errors: _Errors, lookup: MemberLookup | None = None,
                 employer: str | None = None) -> None:
        self.store = store
        # PostgreSQL: chunks to book in one statement are looked up ahead. Not for an
        # employer's file: its rows are checked against the employment relation first.
        self.lookup = lookup if employer is None else None
        self.employer = employer
        self.adapter = adapter
        self.fund = adapter.FUND_CODE
        self.currency = str(adapter.currency)
        self.import_id = import_id
        self.partial = partial
        self.file_errors = file_errors
        # The ledger's checks, each its own kind (the report lists them in this order).
        self.unregistered = _Errors()
        self.duplicates = _Errors()
        self.contribution_clashes = _Errors()
        self.period_clashes = _Errors()
        self.already = 0
        self.booking = True
        self.now = now_us()
        self.sources: dict[str, int] = {}
        self.contributions = 0
        self.declared_months = 0
        self.member_flags = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
        self.at_once = True  # PostgreSQL: try booking the next chunk in one statement
        # Per payer, the long-term shares booked to member accounts (through the declarations
        # account); per short-term scheme, the shares pooled.
        self.declared: dict[str, int] = {}
        self.pooled: dict[str, list[int]] = {}
        # Per scheme, the lines whose identical contribution was already booked (a byte per
        # line, allocated only for a scheme that has one): see `_own_bookings`.
        self.present: dict[str, bytearray] = {}

    def kinds(self) -> list[_Errors]:
        return [self.unregistered, self.duplicates, self.contribution_clashes,
                self.period_clashes]

    def _try_at_once(self, staged: StagedChunk) -> bool:
        """Whether booking this chunk in one statement is worth trying (PostgreSQL, where
        there is a `lookup`)."""
        return (self.at_once and self.booking and not staged.duplicates
                and staged.copy_text is not None
                and (self.partial or not self.file_errors.count))

    async def look_ahead(self, staged: StagedChunk) -> None:
        """Find the workers of a chunk that will be tried in one statement, on the lookup's
        own connection, while the import's connection books the chunk before."""
        if self.lookup is not None and self._try_at_once(staged):
            staged.workers = await self.lookup.workers(self.fund, staged.rows)

    async def chunk(self, staged: StagedChunk, staged_hook: Callable[[], None]) -> None:
        """Stage, check and book one chunk; `staged_hook` is called once it is staged (the
        next chunk is read from then on)."""
        store, fund = self.store, self.fund
        if self.lookup is not None and self._try_at_once(staged):
            # The steady state: every row registered and new. One statement books the chunk;
            # if any row is not plain it writes nothing and the checks below run instead. The
            # short-term items are pooled per file: their sums come from the worker thread,
            # and they are staged only if the checks need them.
            assert staged.copy_text is not None  # by `_try_at_once`
            if staged.workers is None:  # the state changed since the chunk was read
                staged.workers = await self.lookup.workers(fund, staged.rows)
            await store.stage(staged.rows, staged.items, staged.copy_text, short_term=False,
                              workers=staged.workers)
            staged_hook()
            booked = await store.book_chunk_at_once(
                fund, self.currency, self.import_id, self.member_flags,
                (await self._sources())["declarations"], self.now, sorted(staged.pooled))
            if booked is not None:
                booked.pooled = staged.pooled
                self._add(booked)
                return
            # Chunks of one file tend to look alike (e.g. a file sent again): try the one
            # statement again only after a chunk that the checks find plain.
            self.at_once = False
            await store.stage_short_term(staged.copy_text)
        else:
            await store.stage(staged.rows, staged.items, staged.copy_text)
            staged_hook()
        bad: set[int] = set()
        unresolved = set(await store.resolve(fund, self.import_id, self.employer))
        if unresolved and staged.previous_hashes:
            # A rotation is under way: members not yet re-hashed are found by the old hash.
            await store.rehash_lines({line: staged.previous_hashes[line]
                                      for line in unresolved if line in staged.previous_hashes})
            unresolved = set(await store.resolve(fund, self.import_id, self.employer))
        for line in sorted(unresolved):
            self.unregistered.add(RowError(line, "member_number", (
                f"no worker is registered with this {fund} member number; register the worker "
                "first (POST /v1/workers)") if self.employer is None else (
                f"not an employee of employer {self.employer} at {fund}: the fund registers "
                f"its employees (POST /v1/funds/{fund}/employers/{{employer}}/employees)")))
        duplicates = {line: first for line, first in staged.duplicates
                      if line not in unresolved}
        for line, first in sorted(duplicates.items()):
            self.duplicates.add(RowError(
                line, "member_number", f"the same worker and month are declared on line {first}"))
        contributions, periods = await store.clashes(fund)
        contributions = await self._own_bookings(contributions, duplicates, staged.first_line)
        present: list[tuple[int, str]] = []
        already: set[int] = set()
        for c in contributions:
            if c.is_new and c.long_term and c.same:
                present.append((c.line, c.scheme))
            elif not c.long_term:
                self.contribution_clashes.add(RowError(
                    c.line, "member_number", f"{c.scheme} for this month was already posted per "
                    f"worker ({c.contribution_id}); it cannot be booked again"))
                bad.add(c.line)
            else:
                self.contribution_clashes.add(RowError(
                    c.line, "wage", f"{c.contribution_id} is already recorded with other "
                    "amounts; a correction must reverse it, not re-declare it"))
                bad.add(c.line)
            if not c.is_new:
                already.add(c.line)
        for p in periods:
            self.period_clashes.add(RowError(
                p.line, "month", f"{p.scheme} for this month is already covered ({p.state}) by "
                f"{p.contribution_id}"))
            bad.add(p.line)
        self.already += len(already)
        await store.mark_present(present)
        for line, scheme in present:
            bits = self.present.setdefault(scheme, bytearray())
            if len(bits) <= line:
                bits.extend(bytes(line + 1 - len(bits)))
            bits[line] = 1
        bad |= unresolved | set(duplicates)
        if self.file_errors.count or bad:
            self.booking = self.booking and self.partial
        if self.booking:
            await store.drop_lines(bad)
            booked = await store.book_chunk(fund, self.currency, self.import_id,
                                            self.member_flags,
                                            (await self._sources())["declarations"], self.now)
            self._add(booked)
            self.at_once = not (bad or contributions or periods
                                or booked.declared_months < len(staged.rows))

    def _add(self, booked: ChunkBooked) -> None:
        self.contributions += booked.contributions
        self.declared_months += booked.declared_months
        for payer, amount in booked.owed.items():
            self.declared[payer] = self.declared.get(payer, 0) + amount
        for scheme, amounts in booked.pooled.items():
            total = self.pooled.setdefault(scheme, [0] * len(amounts))
            for k, amount in enumerate(amounts):
                total[k] += amount

    async def _own_bookings(self, clashes: list[ContributionClash], duplicates: dict[int, int],
                            chunk_first: int) -> list[ContributionClash]:
        """Leave out the contributions this import booked itself: a row declaring a worker and
        month again (a duplicate, already an error) meets the contribution booked for the first
        row in an earlier chunk, which the ledger did not hold before the import."""
        suspects = [c for c in clashes if duplicates.get(c.line, chunk_first) < chunk_first]
        if not suspects:
            return clashes
        where = await self.store.workers_of(c.line for c in suspects)
        booked = await self.store.declared_here(self.fund, self.import_id, where.values())
        own = set()
        for c in suspects:
            first = duplicates[c.line]
            bits = self.present.get(c.scheme, b"")
            if (booked.get(where[c.line]) == first and c.long_term
                    and not (first < len(bits) and bits[first])):
                own.add((c.line, c.scheme))
        return [c for c in clashes if (c.line, c.scheme) not in own]

    async def _sources(self) -> dict[str, int]:
        """The accounts the payers' shares come from, and the declarations account the file's
        long-term money passes through (created the first time)."""
        if not self.sources:
            currency = self.adapter.currency
            for name, spec in (
                    ("collections", source_account(self.fund, Payer.EMPLOYEE, currency)),
                    ("government", source_account(self.fund, Payer.GOVERNMENT, currency)),
                    ("declarations", declarations_account(self.fund, currency))):
                self.sources[name] = await self.store.ensure_account(
                    spec.key, str(spec.code), self.currency, int(spec.flags), self.fund, None,
                    self.now)
        return self.sources

    async def finish(self, report: ImportReport) -> None:
        """Per file: one transfer per payer into the declarations account (the rows' transfers
        took the same sums out of it, ADR 0026), the pooled short-term transfers, then the
        source accounts' debits (the hot system accounts are locked only for the end of the
        import transaction)."""
        assert self.booking, "every chunk of a bookable file has been booked"
        store, fund, currency = self.store, self.fund, self.currency
        report.contributions_booked = self.contributions
        report.rows_already_booked = report.rows_accepted - self.declared_months
        sources = await self._sources()
        owed = dict(self.declared)
        for payer, amount in self.declared.items():
            source = sources[_source_name(payer)]
            await store.insert_transfer(f"{self.import_id}/{payer}", source,
                                        sources["declarations"], amount, currency, self.now,
                                        code="import_source")
        if self.declared:
            total = sum(self.declared.values())
            await store.move_balances(sources["declarations"], debits=total, credits=total)
        pooled: dict[str, dict[str, int]] = {}
        for scheme in sorted(self.pooled):
            pooled[scheme] = {payer: amount for payer, amount in
                              zip(PAYERS, self.pooled[scheme], strict=True) if amount}
        for scheme, by_payer in pooled.items():
            spec = branch_pool_account(fund, scheme, self.adapter.currency)
            pool = await store.ensure_account(spec.key, str(AccountCode.BRANCH_POOL), currency,
                                              int(spec.flags), fund, scheme, self.now)
            for payer, amount in by_payer.items():
                source = sources[_source_name(payer)]
                await store.insert_transfer(f"{self.import_id}/{scheme}/{payer}", source, pool,
                                            amount, currency, self.now)
                owed[payer] = owed.get(payer, 0) + amount
            await store.move_balances(pool, credits=sum(by_payer.values()))
        report.pooled_minor = {s: {p: str(a) for p, a in by.items()} for s, by in pooled.items()}
        collections = sum(a for p, a in owed.items() if p != Payer.GOVERNMENT)
        if collections:
            await store.move_balances(sources["collections"], debits=collections)
        if owed.get(Payer.GOVERNMENT):
            await store.move_balances(sources["government"], debits=owed[Payer.GOVERNMENT])


def _count_rows(report: ImportReport) -> None:
    """Rows booked, rows rejected, and good rows of a file refused whole (not booked)."""
    booked = report.status != "rejected"
    metrics.IMPORT_ROWS.labels(report.fund, "booked" if booked else "not_booked").inc(
        report.rows_accepted)
    metrics.IMPORT_ROWS.labels(report.fund, "rejected").inc(report.rows_rejected)


def _require_own_header(header: DeclaredHeader, employer: str) -> None:
    """403 unless the file's header names the employer the uploading client is bound to."""
    _require_own_header_account(header.employer_account, employer)


def _require_own_header_account(account: str, employer: str) -> None:
    try:
        declared = canonical_employer(account, "employer")
    except DomainError:
        declared = None
    if declared != employer:
        raise DomainError(
            ErrorCode.FORBIDDEN, f"the file declares for employer {account!r}; this client "
            f"declares for employer {employer} only", field="file")


def _source_name(payer: str) -> str:
    """Which of `_Booking._sources` a payer's share comes from."""
    return "government" if payer == Payer.GOVERNMENT else "collections"


def _sha256(source: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    source.seek(0)
    while block := source.read(_HASH_BLOCK):
        digest.update(block)
        size += len(block)
    source.seek(0)
    return digest.hexdigest(), size


def _lines(source: IO[bytes], size: int, progress: Progress | None, line_max: int,
           format_name: str) -> Iterator[bytes]:
    """The file's lines, each read with a bound (issue 25 finding 7: a file without line breaks
    was read as one line, 2.6 times its size in memory); a longer line refuses the file."""
    done = rows = 0
    while line := source.readline(line_max + 1):
        rows += 1
        if len(line) > line_max:
            raise DomainError(
                ErrorCode.LINE_TOO_LONG, f"line {rows} is longer than {line_max} bytes, the "
                f"most a {format_name} line takes; nothing was booked", field="file")
        yield line
        if progress is not None:
            done += len(line)
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
