"""What the ledger state machine drives: the domain alone, or the posting engine on a store.

Both take units of `TransferSpec`-like legs with account ids and answer with `Outcome`s, and both
show their balances and journal so the machine can compare them with the reference model.

- `DomainLedger` keeps balances and the journal in dicts and calls `apply_unit` (and
  `first_difference` for a retried id) exactly as the engine does, with nothing else around them.
- `StoreLedger` submits jobs to a `GroupCommitter` over a `PostingEngine` on the test database,
  then reads balances and the journal back with plain SQL.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import text

from ledger.db import repositories as repo
from ledger.db.engine import open_database
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ledger import (
    Balance,
    PendingInfo,
    TransferFlags,
    TransferSpec,
    apply_unit,
    first_difference,
)
from ledger.domain.money import Currency
from ledger.services.group_commit import GroupCommitter
from ledger.services.posting import Job, PostingEngine, Status, Unit, UnitResult
from tests.properties.ledger_reference import CREATED, EXISTS, FAILED, Outcome

# (id, debit id, credit id, amount, currency, flags, pending_id, reversal_of, code)
JournalRow = tuple[str, int, int, int, str, int, str | None, str | None, str]
BalanceRow = tuple[int, int, int, int]
_UNKNOWN_ACCOUNT_ID = 2**62  # never assigned: ids count up from 1


class LedgerTarget(Protocol):
    engine: bool  # also enforces the posting engine's rules (see LedgerModel)
    ghost_id: int

    def open(self, accounts: Mapping[str, tuple[Currency, int]]) -> dict[str, int]: ...
    def submit(self, unit: Sequence[TransferSpec]) -> Outcome: ...
    def submit_group(self, units: Sequence[Sequence[TransferSpec]]) -> list[Outcome]: ...
    def submit_linked(self, units: Sequence[Sequence[TransferSpec]]) -> list[Outcome]: ...
    def balances(self) -> dict[int, BalanceRow]: ...
    def journal(self) -> list[JournalRow]: ...
    def close(self) -> None: ...


def _failed(error: DomainError) -> Outcome:
    return Outcome(FAILED, error.code, error.field, error.index)


class DomainLedger:
    engine = False
    ghost_id = _UNKNOWN_ACCOUNT_ID

    def __init__(self) -> None:
        self.accounts: dict[int, Balance] = {}
        self.booked: dict[str, TransferSpec] = {}
        self.resolved: set[str] = set()

    def open(self, accounts: Mapping[str, tuple[Currency, int]]) -> dict[str, int]:
        ids = {name: index for index, name in enumerate(accounts, start=1)}
        for name, (currency, flags) in accounts.items():
            self.accounts[ids[name]] = Balance(ids[name], currency, flags)
        return ids

    def submit(self, unit: Sequence[TransferSpec]) -> Outcome:
        known = [self.booked.get(spec.id) for spec in unit]
        if any(k is not None for k in known):
            for index, (spec, booked) in enumerate(zip(unit, known, strict=True)):
                assert not spec.flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING), (
                    "retried posts and voids are the engine's (see StoreLedger)")
                if booked is None:
                    return Outcome(FAILED, ErrorCode.ID_CONFLICT, "id", index)
                differs = first_difference(spec, booked)
                if differs is not None:
                    return Outcome(FAILED, ErrorCode.ID_CONFLICT, differs, index)
            return Outcome(EXISTS)
        try:
            outcome = apply_unit(unit, self.accounts.get, self._pending)
        except DomainError as exc:
            return _failed(exc)
        self.accounts.update(outcome.balances)
        for spec in outcome.transfers:
            self.booked[spec.id] = spec
            if spec.pending_id is not None:
                self.resolved.add(spec.pending_id)
        return Outcome(CREATED)

    def _pending(self, pending_id: str) -> PendingInfo | None:
        found = self.booked.get(pending_id)
        return None if found is None else PendingInfo(found, pending_id in self.resolved)

    def submit_group(self, units: Sequence[Sequence[TransferSpec]]) -> list[Outcome]:
        return [self.submit(unit) for unit in units]

    def submit_linked(self, units: Sequence[Sequence[TransferSpec]]) -> list[Outcome]:
        raise AssertionError("linked jobs are the engine's")

    def balances(self) -> dict[int, BalanceRow]:
        return {i: (b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted)
                for i, b in self.accounts.items()}

    def journal(self) -> list[JournalRow]:
        return [(s.id, s.debit_account_id, s.credit_account_id, s.amount_minor, s.currency.value,
                 int(s.flags), s.pending_id, s.reversal_of, s.code) for s in self.booked.values()]

    def close(self) -> None:
        pass


class StoreLedger:
    """The posting engine behind a group committer, on the test database (SQLite or
    PostgreSQL). Accounts get a fresh key prefix per run; ids never collide with other tests."""

    engine = True
    ghost_id = _UNKNOWN_ACCOUNT_ID

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.db = open_database(url, pool_size=2)
        self.committer = GroupCommitter(PostingEngine(self.db, ledger_transactions(self.db)))
        self.prefix = f"model/{secrets.token_hex(6)}"
        self.ids: dict[str, int] = {}

    def open(self, accounts: Mapping[str, tuple[Currency, int]]) -> dict[str, int]:
        async def open_all() -> dict[str, int]:
            out = {}
            for name, (currency, flags) in accounts.items():
                row = await repo.open_account(self.db, {
                    "key": f"{self.prefix}/{name}", "code": AccountCode.OPERATING.value,
                    "currency": currency.value, "flags": flags, "fund": None,
                    "created_at_us": 0})
                out[name] = int(row["id"])
            return out

        self.ids = self.loop.run_until_complete(open_all())
        return self.ids

    @staticmethod
    def _job(units: Sequence[Sequence[TransferSpec]], atomic: bool = True) -> Job:
        return Job([Unit([PlannedTransfer(
            s.id, s.debit_account_id, s.credit_account_id, s.amount_minor, s.currency, s.flags,
            s.pending_id, s.reversal_of, s.code) for s in unit]) for unit in units], atomic=atomic)

    @staticmethod
    def _outcome(result: UnitResult) -> Outcome:
        if result.error is not None:
            assert result.status is Status.FAILED
            return _failed(result.error)
        return Outcome(CREATED if result.status is Status.CREATED else EXISTS)

    def _run(self, jobs: list[Job]) -> list[list[UnitResult]]:
        """Submit the jobs concurrently; the committer must carry them in one transaction."""
        before = self.committer.batches

        async def submit_all() -> list[list[UnitResult]]:
            return list(await asyncio.gather(*(self.committer.submit(j) for j in jobs)))

        results = self.loop.run_until_complete(submit_all())
        assert self.committer.batches == before + 1, "the jobs were not group-committed"
        return results

    def submit(self, unit: Sequence[TransferSpec]) -> Outcome:
        return self.submit_group([unit])[0]

    def submit_group(self, units: Sequence[Sequence[TransferSpec]]) -> list[Outcome]:
        results = self._run([self._job([unit]) for unit in units])
        return [self._outcome(r) for (r,) in results]

    def submit_linked(self, units: Sequence[Sequence[TransferSpec]]) -> list[Outcome]:
        (results,) = self._run([self._job(units, atomic=True)])
        return [self._outcome(r) for r in results]

    def _fetch(self, sql: str) -> list[Any]:
        async def fetch() -> list[Any]:
            async with self.db.engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(
                    text(sql), {"p": f"{self.prefix}/%"})).all()]

        return self.loop.run_until_complete(fetch())

    def balances(self) -> dict[int, BalanceRow]:
        rows = self._fetch("SELECT id, debits_pending, debits_posted, credits_pending, "
                           "credits_posted FROM accounts WHERE key LIKE :p")
        return {int(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}

    def journal(self) -> list[JournalRow]:
        rows = self._fetch(
            "SELECT t.id, t.debit_account_id, t.credit_account_id, t.amount_minor, t.currency, "
            "t.flags, t.pending_id, t.reversal_of, t.code FROM transfers t WHERE "
            "t.debit_account_id IN (SELECT id FROM accounts WHERE key LIKE :p) ORDER BY t.seq")
        return [tuple(r) for r in rows]

    def close(self) -> None:
        self.loop.run_until_complete(self.committer.stop())
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()
