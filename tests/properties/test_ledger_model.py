"""Stateful property test: the ledger against an in-memory model written independently of it.

Hypothesis drives random operations (linked batches, group-committed independent units, retries
with the same or different fields, pending -> post/void, reversals, currency and flag failures)
and checks after every step that (1) every balance equals the model, (2) every balance equals a
replay of the journal stored in the database, (3) every currency sums to zero.

`HYPOTHESIS_PROFILE=soak` runs it much longer (see docs/testing.md).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass, field

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from ledger.db.engine import open_database
from ledger.db.stores import ledger_transactions
from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import ErrorCode
from ledger.domain.ledger import AccountFlags, TransferFlags
from ledger.domain.money import Currency
from ledger.services.posting import PostingEngine, Status, Unit, UnitResult

settings.register_profile("default", max_examples=25, stateful_step_count=20, deadline=None,
                          suppress_health_check=list(HealthCheck))
settings.register_profile("soak", max_examples=500, stateful_step_count=60, deadline=None,
                          suppress_health_check=list(HealthCheck))

ACCOUNTS = {  # name -> (currency, flags)
    "a": (Currency.THB, AccountFlags.NONE),
    "b": (Currency.THB, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
    "c": (Currency.THB, AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS),
    "d": (Currency.THB, AccountFlags.NONE),
    "y": (Currency.JPY, AccountFlags.NONE),
}
NAMES = sorted(ACCOUNTS)


@dataclass
class ModelTransfer:
    debit: str
    credit: str
    amount: int
    pending: bool = False


@dataclass
class Model:
    """Balances as [debits_pending, debits_posted, credits_pending, credits_posted]."""

    balances: dict[str, list[int]] = field(default_factory=lambda: {n: [0] * 4 for n in NAMES})
    transfers: dict[str, ModelTransfer] = field(default_factory=dict)
    resolved: set[str] = field(default_factory=set)
    reversed: set[str] = field(default_factory=set)

    def violates(self, b: dict[str, list[int]]) -> ErrorCode | None:
        for name, (dp, dpo, cp, cpo) in b.items():
            flags = ACCOUNTS[name][1]
            if flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and dp + dpo > cpo:
                return ErrorCode.EXCEEDS_CREDITS
            if flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS and cp + cpo > dpo:
                return ErrorCode.EXCEEDS_DEBITS
        return None

    def try_moves(self, moves: list[tuple[str, str, str, int, bool]]) -> ErrorCode | None:
        """Apply a linked batch of new transfers all-or-none; return the error if it fails."""
        scratch = {k: list(v) for k, v in self.balances.items()}
        for _tid, debit, credit, amount, pending in moves:
            if debit == credit:
                return ErrorCode.SAME_ACCOUNT
            if ACCOUNTS[debit][0] != ACCOUNTS[credit][0] or ACCOUNTS[debit][0] != Currency.THB:
                return ErrorCode.CURRENCY_MISMATCH
            slot = 0 if pending else 1
            scratch[debit][slot] += amount
            scratch[credit][slot + 2] += amount
            error = self.violates(scratch)
            if error:
                return error
        self.balances = scratch
        for tid, debit, credit, amount, pending in moves:
            self.transfers[tid] = ModelTransfer(debit, credit, amount, pending)
        return None


class LedgerMachine(RuleBasedStateMachine):
    url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = open_database(self.url, pool_size=2)
        self.engine = PostingEngine(self.db, ledger_transactions(self.db))
        self.prefix = secrets.token_hex(6)
        self.model = Model()
        self.specs = {
            n: AccountSpec(f"prop/{self.prefix}/{n}", AccountCode.OPERATING, cur, flags)
            for n, (cur, flags) in ACCOUNTS.items()
        }
        self.counter = 0

    def teardown(self) -> None:
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()

    def run(self, units: list[Unit]) -> list[UnitResult]:
        return self.loop.run_until_complete(self.engine.post(units))

    def new_id(self) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.counter}"

    def planned(self, tid: str, debit: str, credit: str, amount: int, pending: bool,
                ) -> PlannedTransfer:
        currency = ACCOUNTS[debit][0]
        flags = TransferFlags.PENDING if pending else TransferFlags.NONE
        return PlannedTransfer(tid, self.specs[debit], self.specs[credit], amount, currency, flags)

    @initialize()
    def fund_accounts(self) -> None:
        # Give the flagged accounts room to move, through the ledger itself.
        moves = [(self.new_id(), "a", "b", 5000, False), (self.new_id(), "c", "d", 5000, False)]
        assert self.model.try_moves(moves) is None
        results = self.run([Unit([self.planned(*m) for m in moves])])
        assert results[0].status is Status.CREATED

    moves_strategy = st.lists(
        st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES), st.integers(1, 4000),
                  st.booleans()),
        min_size=1, max_size=3)

    @rule(batch=moves_strategy)
    def linked_batch(self, batch: list[tuple[str, str, int, bool]]) -> None:
        moves = [(self.new_id(), d, c, a, p) for d, c, a, p in batch]
        expected = self.model.try_moves(moves)
        (result,) = self.run([Unit([self.planned(*m) for m in moves])])
        self.check(result, expected)

    @rule(batches=st.lists(moves_strategy, min_size=2, max_size=4))
    def group_committed_units(self, batches: list[list[tuple[str, str, int, bool]]]) -> None:
        """Independent units in one transaction: each succeeds or fails on its own."""
        all_moves = [[(self.new_id(), d, c, a, p) for d, c, a, p in b] for b in batches]
        expected = [self.model.try_moves(moves) for moves in all_moves]
        results = self.run([Unit([self.planned(*m) for m in moves]) for moves in all_moves])
        for result, error in zip(results, expected, strict=True):
            self.check(result, error)

    @precondition(lambda self: bool(self.model.transfers))
    @rule(data=st.data(), change=st.booleans())
    def retry(self, data: st.DataObject, change: bool) -> None:
        tid = data.draw(st.sampled_from(sorted(self.model.transfers)))
        t = self.model.transfers[tid]
        if t.debit == "" or tid.endswith(("-post", "-void", "-rev")):
            return
        amount = t.amount + (1 if change else 0)
        (result,) = self.run([Unit([self.planned(tid, t.debit, t.credit, amount, t.pending)])])
        if change:
            assert result.error is not None and result.error.code is ErrorCode.ID_CONFLICT
        else:
            assert result.status is Status.EXISTS, result

    @precondition(lambda self: any(t.pending for t in self.model.transfers.values()))
    @rule(data=st.data(), post=st.booleans(), part=st.integers(0, 4000))
    def resolve(self, data: st.DataObject, post: bool, part: int) -> None:
        pending = sorted(k for k, t in self.model.transfers.items() if t.pending)
        pid = data.draw(st.sampled_from(pending))
        t = self.model.transfers[pid]
        amount = min(part, t.amount) if post else 0
        flags = TransferFlags.POST_PENDING if post else TransferFlags.VOID_PENDING
        tid = f"{self.new_id()}-{'post' if post else 'void'}"
        planned = PlannedTransfer(tid, 0, 0, amount, Currency.THB, flags, pid)
        (result,) = self.run([Unit([planned])])
        if pid in self.model.resolved:
            assert result.error is not None
            assert result.error.code is ErrorCode.PENDING_ALREADY_RESOLVED
            return
        scratch = {k: list(v) for k, v in self.model.balances.items()}
        posted = (amount or t.amount) if post else 0
        scratch[t.debit][0] -= t.amount
        scratch[t.credit][2] -= t.amount
        scratch[t.debit][1] += posted
        scratch[t.credit][3] += posted
        error = self.model.violates(scratch)
        self.check(result, error)
        if error is None:
            self.model.balances = scratch
            self.model.resolved.add(pid)
            self.model.transfers[tid] = ModelTransfer(t.debit, t.credit, posted)

    @precondition(lambda self: any(not t.pending for t in self.model.transfers.values()))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        posted = sorted(k for k, t in self.model.transfers.items()
                        if not t.pending and t.amount > 0)
        original = data.draw(st.sampled_from(posted))
        t = self.model.transfers[original]
        tid = f"{self.new_id()}-rev"
        planned = PlannedTransfer(tid, self.specs[t.credit], self.specs[t.debit], t.amount,
                                  ACCOUNTS[t.debit][0], reversal_of=original)
        (result,) = self.run([Unit([planned])])
        if original in self.model.reversed:
            assert result.error is not None and result.error.code is ErrorCode.ALREADY_REVERSED
            return
        error = self.model.try_moves([(tid, t.credit, t.debit, t.amount, False)])
        self.check(result, error)
        if error is None:
            self.model.reversed.add(original)

    def check(self, result: UnitResult, expected: ErrorCode | None) -> None:
        if expected is None:
            assert result.status is Status.CREATED, result
        else:
            assert result.status is Status.FAILED and result.error is not None, result
            assert result.error.code is expected, (result.error, expected)

    def stored(self) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """(balances as stored, balances replayed from the stored journal)."""

        async def load() -> tuple[list[object], list[object]]:
            async with self.db.engine.connect() as conn:
                accounts = (await conn.execute(text(
                    "SELECT id, key, debits_pending, debits_posted, credits_pending, "
                    "credits_posted FROM accounts WHERE key LIKE :p"),
                    {"p": f"prop/{self.prefix}/%"})).all()
                ids = [a[0] for a in accounts]
                journal = (await conn.execute(text(
                    "SELECT id, debit_account_id, credit_account_id, amount_minor, flags, "
                    "pending_id FROM transfers WHERE debit_account_id IN ({0}) OR "
                    "credit_account_id IN ({0}) ORDER BY seq".format(
                        ",".join(str(int(i)) for i in ids) or "0")))).all()
            return list(accounts), list(journal)

        accounts, journal = self.loop.run_until_complete(load())
        name_of = {a[0]: a[1].rsplit("/", 1)[1] for a in accounts}  # type: ignore[index]
        stored = {n: [0] * 4 for n in NAMES}  # accounts open on first use: absent means zero
        stored.update({name_of[a[0]]: list(a[2:]) for a in accounts})  # type: ignore[index]
        replay = {n: [0] * 4 for n in NAMES}
        amounts = {}
        for tid, debit, credit, amount, flags, pending_id in journal:  # type: ignore[misc]
            amounts[tid] = (debit, credit, amount)
            if flags & TransferFlags.PENDING:
                replay[name_of[debit]][0] += amount
                replay[name_of[credit]][2] += amount
            elif flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING):
                od, oc, oa = amounts[pending_id]
                replay[name_of[od]][0] -= oa
                replay[name_of[oc]][2] -= oa
                if flags & TransferFlags.POST_PENDING:
                    replay[name_of[od]][1] += amount
                    replay[name_of[oc]][3] += amount
            else:
                replay[name_of[debit]][1] += amount
                replay[name_of[credit]][3] += amount
        return stored, replay

    @invariant()
    def balances_match_model_journal_and_zero_sum(self) -> None:
        stored, replay = self.stored()
        assert stored == self.model.balances
        assert replay == stored
        for currency in {c for c, _ in ACCOUNTS.values()}:
            names = [n for n, (c, _) in ACCOUNTS.items() if c == currency]
            dp, dpo, cp, cpo = (sum(stored[n][i] for n in names) for i in range(4))
            assert (dp, dpo) == (cp, cpo), currency


def test_ledger_matches_an_independent_model(database_url: str) -> None:
    LedgerMachine.url = database_url
    profile = os.environ.get("HYPOTHESIS_PROFILE", "default")
    run_state_machine_as_test(LedgerMachine, settings=settings.get_profile(profile))
