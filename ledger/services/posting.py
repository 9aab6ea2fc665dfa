"""The posting engine: applies many independent units in one database transaction.

Each unit (a contribution, or a linked batch of transfers) succeeds or fails on its own, all or
nothing, while the transaction is shared (group commit). One pass costs a fixed number of round
trips: one read (idempotency records, existing transfers, contributions, periods), create missing
accounts, lock balances in id order, apply every unit in memory, one write, commit.

A batch that loses a race on a unique key (another process created the same transfer first) is
re-run from the start; on the second pass the other process's rows are simply "already exists".

A transfer may name a hot account *family* (`AccountSpec.shards`): the pass books it to the
family's sub-account for this engine's `slot`, one per committer, so two processes posting at
once lock different rows (ADR 0036). A job may also carry side rows (a payment's record) that are
written in the same transaction if and only if the job created its units.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ledger.db.engine import Database
from ledger.db.ledger_store import (
    ContributionRow,
    IdemKey,
    LedgerTx,
    PeriodKey,
    PeriodRow,
    RaceLostError,
    ReadRequest,
    ReadResult,
    SideRow,
    StoredResponse,
    TransactionFactory,
    TransferRecord,
    WriteSet,
)
from ledger.domain.accounts import AccountSpec
from ledger.domain.contributions import CONTRIBUTION_FIELDS, Contribution, PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ledger import (
    Balance,
    PendingInfo,
    TransferFlags,
    TransferSpec,
    apply_unit,
    first_difference,
)
from ledger.domain.periods import PeriodState
from ledger.limits import GROUP_COMMIT_RETRIES


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    principal: str
    key: str
    request_hash: str

    @property
    def ident(self) -> IdemKey:
        return (self.principal, self.key)


class Status(StrEnum):
    CREATED = "created"
    EXISTS = "exists"  # every transfer already existed with the same fields: nothing changed
    FAILED = "failed"
    REPLAYED = "replayed"  # the idempotency key was seen with this body: stored response


@dataclass(slots=True)
class UnitResult:
    status: Status
    transfers: list[TransferRecord] = field(default_factory=list)
    error: DomainError | None = None
    stored: StoredResponse | None = None

    @property
    def ok(self) -> bool:
        return self.status in (Status.CREATED, Status.EXISTS)


# Turns a job's results into (HTTP status, JSON body) to keep under its idempotency key.
Renderer = Callable[[list[UnitResult]], tuple[int, str]]


@dataclass(slots=True)
class Unit:
    """A linked batch of transfers (all or none), optionally a contribution with its period
    (`period=False`: the contribution buys no insurance period, e.g. a welfare fund's fee)."""

    transfers: list[PlannedTransfer]
    contribution: Contribution | None = None
    period: bool = True


@dataclass(slots=True)
class Job:
    """What one request asks for: its units, its idempotency claim, and whether the units are
    linked to each other (atomic: one failure fails them all, nothing is written). `rows` are
    written beside the units when the job creates them (not when they already existed).
    `store_when_exists=False`: a job whose units all existed already keeps no response under
    its key (its caller answers from the original's record, and so will every retry).
    `whole`: the units were made together, so a retry finds all of them or none."""

    units: list[Unit]
    claim: IdempotencyClaim | None = None
    render: Renderer | None = None
    atomic: bool = True
    rows: tuple[SideRow, ...] = ()
    store_when_exists: bool = True
    whole: bool = False  # its units exist all or none: some existing, some new is a conflict

    def keys(self) -> set[str]:
        """Ids that must not appear twice in one pass (see `split_rounds`)."""
        out: set[str] = set()
        for unit in self.units:
            out.update(f"t:{t.id}" for t in unit.transfers)
            out.update(f"p:{t.pending_id}" for t in unit.transfers if t.pending_id)
            out.update(f"r:{t.reversal_of}" for t in unit.transfers if t.reversal_of)
            if unit.contribution:
                out.add(f"c:{unit.contribution.id}")
        if self.claim:
            out.add(f"k:{self.claim.principal}\x00{self.claim.key}")
        return out


def split_rounds(jobs: Sequence[Job]) -> list[list[int]]:
    """Indexes in passes such that no id repeats inside a pass; later duplicates wait a pass and
    then see the earlier job's rows as already existing (or as a conflict)."""
    rounds: list[tuple[list[int], set[str]]] = []
    for index, job in enumerate(jobs):
        keys = job.keys()
        for members, seen in rounds:
            if not keys & seen:
                members.append(index)
                seen.update(keys)
                break
        else:
            rounds.append(([index], set(keys)))
    return [members for members, _ in rounds]


class AccountCache:
    """Account key -> id. Ids never change once committed, so entries never go stale."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self.ids: dict[str, int] = {}

    def remember(self, found: dict[str, int]) -> None:
        if len(self.ids) + len(found) > self.capacity:
            self.ids.clear()
        self.ids.update(found)


class PostingEngine:
    def __init__(self, db: Database, transactions: TransactionFactory,
                 cache: AccountCache | None = None, slot: int = 0) -> None:
        self.db = db
        self.transactions = transactions  # the store's, chosen by the composition root
        self.cache = cache or AccountCache()
        # Which sub-account of each hot family this engine books to (its committer claims one
        # no other process holds: ledger/db/slots.py).
        self.slot = slot

    async def post(self, units: Sequence[Unit]) -> list[UnitResult]:
        """Independent units (each all or none on its own), as one job without a claim."""
        return (await self.post_jobs([Job(list(units), atomic=False)]))[0]

    async def post_jobs(self, jobs: Sequence[Job]) -> list[list[UnitResult]]:
        if len(jobs) == 1:  # duplicates inside one job are handled by its layer
            return await self._post_round(list(jobs))
        results: list[list[UnitResult]] = [[] for _ in jobs]
        for members in split_rounds(jobs):
            batch = [jobs[i] for i in members]
            for index, result in zip(members, await self._post_round(batch), strict=True):
                results[index] = result
        return results

    async def _post_round(self, jobs: list[Job]) -> list[list[UnitResult]]:
        for attempt in range(GROUP_COMMIT_RETRIES):
            try:
                return await _Pass(self, jobs).run()
            except RaceLostError:
                if attempt == GROUP_COMMIT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")


class _Pass:
    """One attempt at one round of jobs: everything between BEGIN and COMMIT."""

    def __init__(self, engine: PostingEngine, jobs: list[Job]) -> None:
        self.engine = engine
        self.jobs = jobs
        self.results: list[list[UnitResult] | None] = [None] * len(jobs)
        self.now = now_us()
        self.account_ids: dict[str, int] = {}
        self.balances: dict[int, Balance] = {}
        self.existing: dict[str, TransferRecord] = {}
        self.pending_db: dict[str, TransferRecord] = {}
        self.resolved: set[str] = set()
        self.reversed: set[str] = set()
        self.periods: dict[PeriodKey, str] = {}
        self.contributions: dict[str, ContributionRow] = {}
        self.writes = _Writes()

    async def run(self) -> list[list[UnitResult]]:
        async with self.engine.transactions(self.engine.db) as tx:
            read = await tx.read(self._request())
            self._claims(read)
            await self._prepare(tx, read)
            for index in self._active():
                self.results[index] = self._apply_job(self.jobs[index])
            await tx.write(self._write_set(), self.now)
        self.engine.cache.remember(self.account_ids)
        return [r if r is not None else [] for r in self.results]

    def _active(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]

    def _active_units(self) -> list[Unit]:
        return [u for i in self._active() for u in self.jobs[i].units]

    def _request(self) -> ReadRequest:
        units = [u for job in self.jobs for u in job.units]
        planned = [t for u in units for t in u.transfers]
        pending = [t.pending_id for t in planned if t.pending_id]
        contributions = [u.contribution for u in units if u.contribution]
        return ReadRequest(
            transfer_ids=[t.id for t in planned] + pending,
            pending_ids=pending,
            reversal_ids=[t.reversal_of for t in planned if t.reversal_of],
            contribution_ids=[c.id for c in contributions],
            period_keys=[_period_key(c) for c in contributions],
            claim_keys=[j.claim.ident for j in self.jobs if j.claim],
        )

    def _claims(self, read: ReadResult) -> None:
        for index, job in enumerate(self.jobs):
            claim = job.claim
            if claim is None:
                continue
            size = len(job.units)
            previous = read.responses.get(claim.ident)
            if previous is not None:
                if previous.request_hash == claim.request_hash:
                    self.results[index] = [UnitResult(Status.REPLAYED, stored=previous)] * size
                else:
                    self.results[index] = [_failed(
                        ErrorCode.IDEMPOTENCY_KEY_REUSED,
                        "this Idempotency-Key was already used with a different request body",
                    )] * size
            elif claim.ident not in read.locked:
                self.results[index] = [_failed(
                    ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT,
                    "a request with this Idempotency-Key is still being processed",
                )] * size

    async def _prepare(self, tx: LedgerTx, read: ReadResult) -> None:
        """Split what was read, create missing accounts, lock every balance this pass touches."""
        planned = [t for u in self._active_units() for t in u.transfers]
        self.existing = {t.id: read.transfers[t.id] for t in planned if t.id in read.transfers}
        self.pending_db = {t.pending_id: read.transfers[t.pending_id] for t in planned
                           if t.pending_id and t.pending_id in read.transfers}
        self.resolved, self.reversed = read.resolved, read.reversed
        self.contributions, self.periods = read.contributions, read.periods
        fresh = [t for t in planned if t.id not in self.existing]
        await self._resolve_accounts(tx, fresh)
        lock_ids: set[int] = set(self.account_ids.values())
        lock_ids.update(a for t in fresh for a in (t.debit, t.credit) if isinstance(a, int))
        for record in self.pending_db.values():
            lock_ids.update((record.spec.debit_account_id, record.spec.credit_account_id))
        lock_ids.discard(0)
        self.balances = await tx.lock_balances(sorted(lock_ids))

    def concrete(self, ref: AccountSpec | int) -> AccountSpec | int:
        """The account a planned reference books to: a family's sub-account for this slot."""
        if isinstance(ref, AccountSpec) and ref.shards:
            return ref.shard(self.engine.slot)
        return ref

    async def _resolve_accounts(self, tx: LedgerTx, fresh: list[PlannedTransfer]) -> None:
        specs = {a.key: a for t in fresh for a in map(self.concrete, (t.debit, t.credit))
                 if isinstance(a, AccountSpec)}
        cached = self.engine.cache.ids
        missing = [spec for key, spec in specs.items() if key not in cached]
        self.account_ids = {key: cached[key] for key in specs if key in cached}
        if missing:
            self.account_ids.update(await tx.ensure_accounts(missing, self.now))

    def _apply_job(self, job: Job) -> list[UnitResult]:
        """Apply a job's units on a layer over the pass state; keep the layer unless the job is
        atomic and a unit failed (then nothing of it is written)."""
        layer = _Layer(self)
        results: list[UnitResult] = []
        for unit in job.units:
            try:
                results.append(layer.apply(unit))
            except DomainError as exc:
                results.append(UnitResult(Status.FAILED, error=exc))
        failed = [i for i, r in enumerate(results) if r.status is Status.FAILED]
        if job.atomic and failed and len(results) > 1:
            first = failed[0]
            return [
                r if r.status is Status.FAILED else _failed(
                    ErrorCode.LINKED_EVENT_FAILED,
                    f"not applied: item {first} of this linked batch failed",
                )
                for r in results
            ]
        if job.whole and not failed and len({r.status for r in results}) > 1:
            # Some units existed, others are new: not a retry of what was recorded under these
            # ids but another request reusing them (a payment's reference with other months).
            return [_failed(ErrorCode.ID_CONFLICT,
                            "part of this request is recorded already with other fields: "
                            "it is not a retry of the request first made under these ids")
                    ] * len(results)
        layer.merge()
        return results

    def _write_set(self) -> WriteSet:
        w = self.writes
        responses: list[tuple[IdemKey, StoredResponse]] = []
        rows: list[SideRow] = []
        for job, results in zip(self.jobs, self.results, strict=True):
            if (job.claim and job.render and results and _keep_response(results)
                    and (job.store_when_exists or not all(r.status is Status.EXISTS
                                                          for r in results))):
                status, body = job.render(results)
                responses.append(
                    (job.claim.ident, StoredResponse(job.claim.request_hash, status, body))
                )
            if job.rows and results and _created(results):
                rows.extend(job.rows)
        return WriteSet(
            transfers=w.transfers,
            balances=[self.balances[i] for i in sorted(w.touched)],
            contributions=w.contributions,
            periods=w.periods,
            responses=responses,
            rows=rows,
        )


class _Layer:
    """A job's tentative effects over the pass state (balances, created ids, resolutions)."""

    def __init__(self, pass_: _Pass) -> None:
        self.p = pass_
        self.balances: dict[int, Balance] = {}
        self.created: dict[str, TransferRecord] = {}
        self.contributions: dict[str, ContributionRow] = {}
        self.resolved: set[str] = set()
        self.reversed: set[str] = set()
        self.writes = _Writes()

    def merge(self) -> None:
        p = self.p
        p.balances.update(self.balances)
        p.existing.update(self.created)
        p.contributions.update(self.contributions)
        p.resolved.update(self.resolved)
        p.reversed.update(self.reversed)
        p.writes.absorb(self.writes)

    def balance(self, account_id: int) -> Balance | None:
        found = self.balances.get(account_id)
        return found if found is not None else self.p.balances.get(account_id)

    def known(self, tid: str) -> TransferRecord | None:
        return self.created.get(tid) or self.p.existing.get(tid)

    def apply(self, unit: Unit) -> UnitResult:
        known = [self.known(t.id) for t in unit.transfers]
        if any(known):
            return self._already(unit, known)
        contribution = unit.contribution
        if contribution is not None:
            self._check_contribution(contribution)
        for t in unit.transfers:
            reversal = t.reversal_of
            if reversal and (reversal in self.p.reversed or reversal in self.reversed):
                raise DomainError(
                    ErrorCode.ALREADY_REVERSED, f"{t.reversal_of} was already reversed"
                )
        specs = [self._spec(t) for t in unit.transfers]
        outcome = apply_unit(specs, self.balance, self._pending)
        self.balances.update(outcome.balances)
        self.writes.touched.update(outcome.balances)
        records = [TransferRecord(s, self.p.now) for s in outcome.transfers]
        self.writes.transfers.extend(outcome.transfers)
        for record in records:
            self.created[record.spec.id] = record
            if record.spec.pending_id:
                self.resolved.add(record.spec.pending_id)
            if record.spec.reversal_of:
                self.reversed.add(record.spec.reversal_of)
        if contribution is not None:
            row = _contribution_row(contribution, self.p.now)
            self.contributions[contribution.id] = row
            self.writes.contributions.append(row)
            if unit.period:
                self.writes.periods.append(_period_row(contribution))
        return UnitResult(Status.CREATED, records)

    def _check_contribution(self, contribution: Contribution) -> None:
        if contribution.id in self.p.contributions or contribution.id in self.contributions:
            raise DomainError(
                ErrorCode.ID_CONFLICT,
                f"contribution {contribution.id} exists with other transfers",
                field="id",
            )
        state = self.p.periods.get(_period_key(contribution))
        if state is not None and state != PeriodState.ACTIVE:
            raise DomainError(
                ErrorCode.PERIOD_WITHDRAWN,
                f"{contribution.month} at {contribution.fund}/{contribution.scheme} is "
                f"{state}: it was paid out or transferred and cannot take contributions",
                field="month",
            )

    def _pending(self, pid: str) -> PendingInfo | None:
        record = self.created.get(pid) or self.p.existing.get(pid) or self.p.pending_db.get(pid)
        if record is None:
            return None
        return PendingInfo(record.spec, pid in self.p.resolved or pid in self.resolved)

    def _spec(self, t: PlannedTransfer) -> TransferSpec:
        def account_id(ref: AccountSpec | int) -> int:
            if isinstance(ref, int):
                return ref
            if ref.shards:
                ref = ref.shard(self.p.engine.slot)
            return self.p.account_ids[ref.key]

        return TransferSpec(
            t.id, account_id(t.debit), account_id(t.credit), t.amount_minor, t.currency, t.flags,
            t.pending_id, t.reversal_of, t.code, t.contribution_id,
        )

    def _already(self, unit: Unit, known: list[TransferRecord | None]) -> UnitResult:
        """Every id known with the same fields: success with the originals; anything else is a
        conflict that names the first differing field."""
        records: list[TransferRecord] = []
        for index, (planned, record) in enumerate(zip(unit.transfers, known, strict=True)):
            if record is None:
                raise DomainError(
                    ErrorCode.ID_CONFLICT,
                    f"transfer {planned.id} is new but others in its linked batch already exist",
                    index=index,
                    field="id",
                )
            differs = _difference(planned, record.spec, self.p.account_ids)
            if differs is not None:
                raise DomainError(
                    ErrorCode.ID_CONFLICT,
                    f"transfer {planned.id} already exists with a different {differs}",
                    index=index,
                    field=differs,
                )
            records.append(record)
        contribution = unit.contribution
        row = None
        if contribution is not None:
            row = self.contributions.get(contribution.id) or self.p.contributions.get(
                contribution.id
            )
        if contribution is not None and row is not None:
            for name, mine, theirs in zip(
                CONTRIBUTION_FIELDS, contribution.identity(), row.identity(), strict=True
            ):
                if mine != theirs:
                    raise DomainError(
                        ErrorCode.ID_CONFLICT,
                        f"contribution {contribution.id} already exists with a different {name}",
                        field=name,
                    )
        return UnitResult(Status.EXISTS, records)


def _difference(
    planned: PlannedTransfer, stored: TransferSpec, account_ids: dict[str, int]
) -> str | None:
    if planned.flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING):
        # A retried post/void names only the pending id (and maybe an amount).
        if int(planned.flags) != int(stored.flags):
            return "flags"
        if planned.pending_id != stored.pending_id:
            return "pending_id"
        if planned.amount_minor and planned.amount_minor != stored.amount_minor:
            return "amount_minor"
        return None
    requested = TransferSpec(
        planned.id,
        _stored_or_planned(planned.debit, stored.debit_account_id, account_ids),
        _stored_or_planned(planned.credit, stored.credit_account_id, account_ids),
        planned.amount_minor, planned.currency, planned.flags, planned.pending_id,
        planned.reversal_of, planned.code, planned.contribution_id,
    )
    return first_difference(requested, stored)


@dataclass(slots=True)
class _Writes:
    transfers: list[TransferSpec] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    contributions: list[ContributionRow] = field(default_factory=list)
    periods: list[PeriodRow] = field(default_factory=list)

    def absorb(self, other: _Writes) -> None:
        self.transfers.extend(other.transfers)
        self.touched.update(other.touched)
        self.contributions.extend(other.contributions)
        self.periods.extend(other.periods)


def _created(results: list[UnitResult]) -> bool:
    """The job booked something new and nothing of it failed: its side rows belong with it."""
    return (all(r.ok for r in results)
            and any(r.status is Status.CREATED for r in results))


def _keep_response(results: list[UnitResult]) -> bool:
    """Responses are kept for replay unless the key itself was the problem."""
    first = results[0]
    if first.status is Status.REPLAYED:
        return False
    transient = (ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT, ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return not (first.error and first.error.code in transient)


def _stored_or_planned(ref: AccountSpec | int, stored_id: int, known: dict[str, int]) -> int:
    if isinstance(ref, int):
        return ref
    if ref.shards:
        # A family: the first attempt booked to its committer's sub-account, a retry through
        # another process names its own. The family itself follows from fields compared
        # separately (the contribution's fund and payers, a payment's channel and currency).
        return stored_id
    # System accounts are named by key; the key is derived from the contribution (worker, fund,
    # scheme, payer), whose fields are compared separately, so an unresolved key is a match.
    return known.get(ref.key, stored_id)


def _failed(code: ErrorCode, message: str) -> UnitResult:
    return UnitResult(Status.FAILED, error=DomainError(code, message))


def _period_key(c: Contribution) -> PeriodKey:
    return (c.worker_id, c.fund, c.scheme, c.month.to_int())


def _period_row(c: Contribution) -> PeriodRow:
    return PeriodRow(c.worker_id, c.fund, c.scheme, c.month.to_int(), str(c.kind), c.id)


def _contribution_row(c: Contribution, now: int) -> ContributionRow:
    return ContributionRow(
        c.id, c.worker_id, c.fund, c.scheme, c.month.to_int(), str(c.kind),
        c.wage_base.amount_minor, str(c.wage_base.currency),
        json.dumps(c.shares_minor(), sort_keys=True, separators=(",", ":")), now,
        c.overrides_json(),
    )
