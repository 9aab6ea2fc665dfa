"""The posting engine: applies many independent units in one database transaction.

Each unit (a contribution, or a linked batch of transfers) succeeds or fails on its own, all or
nothing, while the transaction is shared (group commit). One pass costs a fixed number of round
trips: read idempotency records, existing transfers and contributions, create missing accounts,
lock balances in id order, apply every unit in memory, write everything, commit.

A batch that loses a race on a unique key (another process created the same transfer first) is
re-run from the start; on the second pass the other process's rows are simply "already exists".
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
    StoredResponse,
    TransferRecord,
    transaction,
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


# Turns a result into (HTTP status, JSON body) to keep under the unit's idempotency key.
Renderer = Callable[["Unit", UnitResult], tuple[int, str]]


@dataclass(slots=True)
class Unit:
    transfers: list[PlannedTransfer]
    contribution: Contribution | None = None
    claim: IdempotencyClaim | None = None
    render: Renderer | None = None

    def keys(self) -> set[str]:
        """Ids that must not appear twice in one pass (see `split_rounds`)."""
        out = {f"t:{t.id}" for t in self.transfers}
        out.update(f"p:{t.pending_id}" for t in self.transfers if t.pending_id)
        out.update(f"r:{t.reversal_of}" for t in self.transfers if t.reversal_of)
        if self.contribution:
            out.add(f"c:{self.contribution.id}")
        if self.claim:
            out.add(f"k:{self.claim.principal}\x00{self.claim.key}")
        return out


def split_rounds(units: Sequence[Unit]) -> list[list[int]]:
    """Indexes in passes such that no id repeats inside a pass; later duplicates wait a pass and
    then see the earlier unit's rows as already existing (or as a conflict)."""
    rounds: list[tuple[list[int], set[str]]] = []
    for index, unit in enumerate(units):
        keys = unit.keys()
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
    def __init__(self, db: Database, cache: AccountCache | None = None) -> None:
        self.db = db
        self.cache = cache or AccountCache()

    async def post(self, units: Sequence[Unit]) -> list[UnitResult]:
        results: list[UnitResult | None] = [None] * len(units)
        for members in split_rounds(units):
            batch = [units[i] for i in members]
            for index, result in zip(members, await self._post_round(batch), strict=True):
                results[index] = result
        return [r for r in results if r is not None]

    async def _post_round(self, units: list[Unit]) -> list[UnitResult]:
        for attempt in range(GROUP_COMMIT_RETRIES):
            try:
                return await _Pass(self, units).run()
            except RaceLostError:
                if attempt == GROUP_COMMIT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")


class _Pass:
    """One attempt at one round: everything between BEGIN and COMMIT."""

    def __init__(self, engine: PostingEngine, units: list[Unit]) -> None:
        self.engine = engine
        self.units = units
        self.results: list[UnitResult | None] = [None] * len(units)
        self.now = now_us()
        self.account_ids: dict[str, int] = {}
        self.balances: dict[int, Balance] = {}
        self.existing: dict[str, TransferRecord] = {}
        self.pending_db: dict[str, TransferRecord] = {}
        self.resolved: set[str] = set()
        self.reversed: set[str] = set()
        self.periods: dict[PeriodKey, str] = {}
        self.contributions: dict[str, ContributionRow] = {}

    async def run(self) -> list[UnitResult]:
        async with transaction(self.engine.db) as tx:
            await self._claims(tx)
            await self._read(tx)
            writes = self._apply()
            await self._write(tx, writes)
        self.engine.cache.remember(self.account_ids)
        return [r if r is not None else UnitResult(Status.FAILED) for r in self.results]

    def _active(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]

    async def _claims(self, tx: LedgerTx) -> None:
        claimed = [(i, u.claim) for i, u in enumerate(self.units) if u.claim]
        if not claimed:
            return
        keys = [c.ident for _, c in claimed]
        locked = await tx.try_lock_keys(keys)
        stored = await tx.stored_responses(keys)
        for index, claim in claimed:
            previous = stored.get(claim.ident)
            if previous is not None:
                if previous.request_hash == claim.request_hash:
                    self.results[index] = UnitResult(Status.REPLAYED, stored=previous)
                else:
                    self.results[index] = _failed(
                        ErrorCode.IDEMPOTENCY_KEY_REUSED,
                        "this Idempotency-Key was already used with a different request body",
                    )
            elif claim.ident not in locked:
                self.results[index] = _failed(
                    ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT,
                    "a request with this Idempotency-Key is still being processed",
                )

    async def _read(self, tx: LedgerTx) -> None:
        active = [self.units[i] for i in self._active()]
        planned = [t for u in active for t in u.transfers]
        self.existing = await tx.transfers_by_id([t.id for t in planned])
        self.contributions = await tx.contributions_by_id(
            [u.contribution.id for u in active if u.contribution]
        )
        fresh = [t for t in planned if t.id not in self.existing]
        await self._resolve_accounts(tx, fresh)
        pending_ids = [t.pending_id for t in fresh if t.pending_id]
        self.pending_db = await tx.transfers_by_id(pending_ids)
        self.resolved = await tx.resolved_pending(pending_ids)
        self.reversed = await tx.reversed_ids([t.reversal_of for t in fresh if t.reversal_of])
        self.periods = await tx.period_states(
            [_period_key(u.contribution) for u in active if u.contribution]
        )
        lock_ids: set[int] = set(self.account_ids.values())
        lock_ids.update(a for t in fresh for a in (t.debit, t.credit) if isinstance(a, int))
        for record in self.pending_db.values():
            lock_ids.update((record.spec.debit_account_id, record.spec.credit_account_id))
        lock_ids.discard(0)
        self.balances = await tx.lock_balances(sorted(lock_ids))

    async def _resolve_accounts(self, tx: LedgerTx, fresh: list[PlannedTransfer]) -> None:
        specs = {a.key: a for t in fresh for a in (t.debit, t.credit) if isinstance(a, AccountSpec)}
        cached = self.engine.cache.ids
        missing = [spec for key, spec in specs.items() if key not in cached]
        self.account_ids = {key: cached[key] for key in specs if key in cached}
        if missing:
            self.account_ids.update(await tx.ensure_accounts(missing, self.now))

    def _apply(self) -> _Writes:
        writes = _Writes()
        created: dict[str, TransferSpec] = {}
        for index in self._active():
            unit = self.units[index]
            try:
                result = self._apply_unit(unit, created, writes)
            except DomainError as exc:
                result = UnitResult(Status.FAILED, error=exc)
            self.results[index] = result
        return writes

    def _apply_unit(
        self, unit: Unit, created: dict[str, TransferSpec], writes: _Writes
    ) -> UnitResult:
        known = [self.existing.get(t.id) for t in unit.transfers]
        if any(known):
            return self._already(unit, known)
        contribution = unit.contribution
        if contribution is not None:
            if contribution.id in self.contributions:
                raise DomainError(
                    ErrorCode.ID_CONFLICT,
                    f"contribution {contribution.id} exists with other transfers",
                    field="id",
                )
            state = self.periods.get(_period_key(contribution))
            if state is not None and state != PeriodState.ACTIVE:
                raise DomainError(
                    ErrorCode.PERIOD_WITHDRAWN,
                    f"{contribution.month} at {contribution.fund}/{contribution.scheme} is "
                    f"{state}: it was paid out or transferred and cannot take contributions",
                    field="month",
                )
        for t in unit.transfers:
            if t.reversal_of and t.reversal_of in self.reversed:
                raise DomainError(
                    ErrorCode.ALREADY_REVERSED, f"{t.reversal_of} was already reversed"
                )
        specs = [self._spec(t) for t in unit.transfers]

        def pending(pid: str) -> PendingInfo | None:
            spec = created.get(pid)
            if spec is None:
                record = self.pending_db.get(pid)
                spec = record.spec if record else None
            return None if spec is None else PendingInfo(spec, pid in self.resolved)

        outcome = apply_unit(specs, self.balances, pending)
        self.balances.update(outcome.balances)
        writes.touched.update(outcome.balances)
        writes.transfers.extend(outcome.transfers)
        for spec in outcome.transfers:
            created[spec.id] = spec
            if spec.pending_id:
                self.resolved.add(spec.pending_id)
            if spec.reversal_of:
                self.reversed.add(spec.reversal_of)
        if contribution is not None:
            writes.contributions.append(_contribution_row(contribution, self.now))
            writes.periods.append(_period_row(contribution))
        return UnitResult(
            Status.CREATED, [TransferRecord(s, self.now) for s in outcome.transfers]
        )

    def _spec(self, t: PlannedTransfer) -> TransferSpec:
        def account_id(ref: AccountSpec | int) -> int:
            return ref if isinstance(ref, int) else self.account_ids[ref.key]

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
            differs = self._difference(planned, record.spec)
            if differs is not None:
                raise DomainError(
                    ErrorCode.ID_CONFLICT,
                    f"transfer {planned.id} already exists with a different {differs}",
                    index=index,
                    field=differs,
                )
            records.append(record)
        contribution = unit.contribution
        if contribution is not None:
            row = self.contributions.get(contribution.id)
            if row is not None:
                for name, mine, theirs in zip(
                    CONTRIBUTION_FIELDS, contribution.identity(), row.identity(), strict=True
                ):
                    if mine != theirs:
                        raise DomainError(
                            ErrorCode.ID_CONFLICT,
                            f"contribution {contribution.id} already exists with a different "
                            f"{name}",
                            field=name,
                        )
        return UnitResult(Status.EXISTS, records)

    def _difference(self, planned: PlannedTransfer, stored: TransferSpec) -> str | None:
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
            _stored_or_planned(planned.debit, stored.debit_account_id, self.account_ids),
            _stored_or_planned(planned.credit, stored.credit_account_id, self.account_ids),
            planned.amount_minor, planned.currency, planned.flags, planned.pending_id,
            planned.reversal_of, planned.code, planned.contribution_id,
        )
        return first_difference(requested, stored)

    async def _write(self, tx: LedgerTx, writes: _Writes) -> None:
        await tx.insert_transfers(writes.transfers, self.now)
        await tx.update_balances([self.balances[i] for i in sorted(writes.touched)])
        await tx.insert_contributions(writes.contributions)
        await tx.insert_periods(writes.periods, self.now)
        responses: list[tuple[IdemKey, StoredResponse]] = []
        for unit, result in zip(self.units, self.results, strict=True):
            if unit.claim and unit.render and result and _keep_response(result):
                status, body = unit.render(unit, result)
                responses.append(
                    (unit.claim.ident, StoredResponse(unit.claim.request_hash, status, body))
                )
        await tx.store_responses(responses, self.now)


@dataclass(slots=True)
class _Writes:
    transfers: list[TransferSpec] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    contributions: list[ContributionRow] = field(default_factory=list)
    periods: list[PeriodRow] = field(default_factory=list)


def _keep_response(result: UnitResult) -> bool:
    if result.status is Status.REPLAYED:
        return False
    transient = (ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT, ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return not (result.error and result.error.code in transient)


def _stored_or_planned(ref: AccountSpec | int, stored_id: int, known: dict[str, int]) -> int:
    if isinstance(ref, int):
        return ref
    # An auto-created account has the same key => the same id; compare by key resolution.
    return known.get(ref.key, stored_id)


def _failed(code: ErrorCode, message: str) -> UnitResult:
    return UnitResult(Status.FAILED, error=DomainError(code, message))


def _period_key(c: Contribution) -> PeriodKey:
    return (c.worker_id, c.fund, c.scheme, c.month.to_int())


def _period_row(c: Contribution) -> PeriodRow:
    return PeriodRow(c.worker_id, c.fund, c.scheme, c.month.to_int(), c.kind.value, c.id)


def _contribution_row(c: Contribution, now: int) -> ContributionRow:
    return ContributionRow(
        c.id, c.worker_id, c.fund, c.scheme, c.month.to_int(), c.kind.value,
        c.wage_base.amount_minor, c.wage_base.currency.value,
        json.dumps(c.shares_minor(), sort_keys=True, separators=(",", ":")), now,
    )
