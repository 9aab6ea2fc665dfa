"""The ledger against its reference model, on the domain alone and on the store.

Hypothesis drives every operation a caller can attempt, valid or not, and after every step the
target's outcome (status, error code, field and index of the failing leg), its balances and its
journal must equal the model's (`ledger_reference.py`); the stored balances must also equal a
replay of the stored journal, and every currency must sum to zero.

Rules: `unit` (a linked unit of one to three legs: transfers, pending transfers, posts and voids
of any booked id, malformed flag combinations, unknown accounts, the same account twice, wrong
currencies, zero / negative / beyond-64-bit amounts), `group` (independent units in one group
commit), `linked_job` (units linked to each other; engine only), `retry` (a booked id again,
the same or with one field changed, alone or beside a new id), `reverse` (as the API builds a
reversal, including of a reversed transfer on the engine), `resolve` (post part / all / more /
nothing, or void, a pending, posted, resolved or unknown transfer), `resolve_twice_in_one_unit`,
`brim` (an amount at, or one past, what a balance can hold).

Budgets: `profiles.py`; `HYPOTHESIS_PROFILE=soak` runs long (docs/testing.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.domain.errors import ErrorCode
from ledger.domain.ledger import TransferFlags, TransferSpec
from ledger.domain.money import AMOUNT_MINOR_MAX, Currency
from tests.properties.ledger_reference import (
    CREDITS_LIMITED,
    DEBITS_LIMITED,
    GHOST,
    PENDING,
    POST,
    VOID,
    Booked,
    LedgerModel,
    Leg,
    Outcome,
)
from tests.properties.ledger_targets import DomainLedger, LedgerTarget, StoreLedger
from tests.properties.profiles import RunLog, machine_settings

ACCOUNTS = {  # name -> (currency, flags)
    "a": (Currency.THB, 0),
    "b": (Currency.THB, DEBITS_LIMITED),
    "c": (Currency.THB, CREDITS_LIMITED),
    "d": (Currency.THB, 0),
    "e": (Currency.THB, DEBITS_LIMITED | CREDITS_LIMITED),  # can take nothing at all
    "y": (Currency.JPY, 0),
    "z": (Currency.JPY, DEBITS_LIMITED),
}
NAMES = sorted(ACCOUNTS)
OTHER_CURRENCY = {Currency.THB: Currency.JPY, Currency.JPY: Currency.THB}
# Flag sets no caller may send, and whether each comes with a pending_id.
MALFORMED = [
    (PENDING | POST, True), (PENDING | VOID, True), (POST | VOID, True),
    (PENDING | POST | VOID, False), (POST, False), (VOID, False), (0, True), (PENDING, True),
]
# Every refusal a unit of transfers can meet; each run must produce all of them.
LEDGER_REFUSALS = {
    ErrorCode.INVALID_INPUT, ErrorCode.INVALID_AMOUNT, ErrorCode.SAME_ACCOUNT,
    ErrorCode.UNKNOWN_ACCOUNT, ErrorCode.CURRENCY_MISMATCH, ErrorCode.EXCEEDS_CREDITS,
    ErrorCode.EXCEEDS_DEBITS, ErrorCode.OVERFLOW, ErrorCode.PENDING_NOT_FOUND,
    ErrorCode.NOT_PENDING, ErrorCode.PENDING_ALREADY_RESOLVED,
    ErrorCode.PENDING_AMOUNT_EXCEEDED, ErrorCode.ID_CONFLICT,
}
ENGINE_REFUSALS = {ErrorCode.ALREADY_REVERSED, ErrorCode.LINKED_EVENT_FAILED}


class LedgerMachine(RuleBasedStateMachine):
    make_target: Callable[[], LedgerTarget]
    log: RunLog

    def __init__(self) -> None:
        super().__init__()
        self.target = self.make_target()
        self.model = LedgerModel(ACCOUNTS, engine=self.target.engine)
        self.ids = self.target.open(ACCOUNTS)
        self.ids[GHOST] = self.target.ghost_id
        self.names = {i: n for n, i in self.ids.items()}
        self.prefix = f"m{secrets.token_hex(4)}"
        self.counter = 0
        self.log.examples += 1

    def teardown(self) -> None:
        self.target.close()

    # -- helpers ----------------------------------------------------------------------------------
    def new_id(self) -> str:
        self.counter += 1
        return f"{self.prefix}-{self.counter}"

    def spec(self, leg: Leg) -> TransferSpec:
        resolving = leg.flags & (POST | VOID)
        return TransferSpec(
            leg.id, 0 if resolving else self.ids[leg.debit],
            0 if resolving else self.ids[leg.credit], leg.amount, leg.currency,
            TransferFlags(leg.flags), leg.pending_id, leg.reversal_of, leg.code)

    def record(self, got: list[Outcome], expected: list[Outcome], rule: str) -> None:
        assert got == expected, (rule, got, expected)
        self.log.step(rule)
        for outcome in got:
            self.log.outcomes[outcome.code.value if outcome.code else outcome.status] += 1

    def one(self, unit: list[Leg], rule: str) -> None:
        expected = self.model.submit(unit)
        self.record([self.target.submit([self.spec(leg) for leg in unit])], [expected], rule)

    def amounts(self) -> st.SearchStrategy[int]:
        # A store is shared with the rest of the suite: it never holds a balance near 2**63.
        edges = [0, -1, -(2**63), AMOUNT_MINOR_MAX + 1]
        if not self.target.engine:
            edges.append(AMOUNT_MINOR_MAX)
        return st.one_of(st.integers(1, 3000), st.sampled_from(edges))

    def draw_move(self, data: st.DataObject) -> Leg:
        """Mostly a transfer that can go through; one leg in three carries one fault."""
        fault = data.draw(st.sampled_from(
            [None] * 10 + ["ghost", "same", "currency", "amount", "limits"]))
        currency = data.draw(st.sampled_from([Currency.THB, Currency.THB, Currency.JPY]))
        group = [n for n in NAMES if ACCOUNTS[n][0] is currency and n != "e"]
        debit, credit = data.draw(st.permutations(group))[:2]
        amount = data.draw(st.integers(1, 3000))
        if fault == "ghost":
            debit, credit = data.draw(st.sampled_from([(GHOST, credit), (debit, GHOST)]))
        elif fault == "same":
            credit = debit
        elif fault == "currency":
            currency = OTHER_CURRENCY[currency]
        elif fault == "amount":
            amount = data.draw(self.amounts())
        elif fault == "limits":
            debit, credit = data.draw(st.sampled_from(
                [("e", "a"), ("a", "e"), ("b", "a"), ("a", "c")]))
            currency, amount = Currency.THB, data.draw(st.integers(1, 12000))
        pending = data.draw(st.booleans())
        return Leg(self.new_id(), debit, credit, amount, currency, PENDING if pending else 0)

    def draw_target_id(self, data: st.DataObject) -> str:
        """A pending transfer most of the time, else any booked id, or one never booked."""
        pending, booked = self.model.pending_ids(), list(self.model.journal)
        choices = [st.just(f"{self.prefix}-none")]
        if booked:
            choices.append(st.sampled_from(booked))
        if pending:
            choices += [st.sampled_from(pending)] * 3
        return data.draw(st.one_of(choices))

    def draw_resolution(self, data: st.DataObject, pending_id: str | None = None) -> Leg:
        pid = pending_id or self.draw_target_id(data)
        flags = data.draw(st.sampled_from([POST, POST, VOID]))
        original = self.model.journal.get(pid)
        full = original.amount if original else 100
        how = data.draw(st.sampled_from(
            ["all", "zero", "part", "part", "more", "negative", "any"]))
        amount = {
            "all": full, "zero": 0, "part": max(1, full // 3), "more": full + 1, "negative": -1,
            "any": data.draw(self.amounts()),
        }[how]
        code = "post" if flags == POST else "void"
        return Leg(self.new_id(), "", "", amount, Currency.THB, flags, pid, code=code)

    def draw_malformed(self, data: st.DataObject) -> Leg:
        flags, with_pid = data.draw(st.sampled_from(MALFORMED))
        pid = self.draw_target_id(data) if with_pid else None
        debit, credit = data.draw(st.sampled_from([("a", "d"), ("d", "a"), ("a", "b")]))
        return Leg(self.new_id(), debit, credit, data.draw(self.amounts()), Currency.THB, flags,
                   pid)

    def draw_leg(self, data: st.DataObject) -> Leg:
        kind = data.draw(st.sampled_from(["move"] * 5 + ["resolve"] * 2 + ["malformed"]))
        if kind == "move":
            return self.draw_move(data)
        if kind == "resolve":
            return self.draw_resolution(data)
        return self.draw_malformed(data)

    def draw_unit(self, data: st.DataObject) -> list[Leg]:
        return [self.draw_leg(data) for _ in range(data.draw(st.integers(1, 3)))]

    # -- rules ------------------------------------------------------------------------------------
    @initialize()
    def fund_the_flagged_accounts(self) -> None:
        """b (debits limited) holds credits and c (credits limited) debits to move."""
        unit = [Leg(self.new_id(), "a", "b", 5000, Currency.THB),
                Leg(self.new_id(), "c", "d", 5000, Currency.THB)]
        self.one(unit, "initialize")

    @rule(data=st.data())
    def unit(self, data: st.DataObject) -> None:
        self.one(self.draw_unit(data), "unit")

    @rule(data=st.data())
    def group(self, data: st.DataObject) -> None:
        units = [self.draw_unit(data) for _ in range(data.draw(st.integers(2, 4)))]
        expected = self.model.submit_group(units)
        got = self.target.submit_group([[self.spec(leg) for leg in u] for u in units])
        self.record(got, expected, "group")

    @precondition(lambda self: self.target.engine)
    @rule(data=st.data())
    def linked_job(self, data: st.DataObject) -> None:
        units = [self.draw_unit(data) for _ in range(data.draw(st.integers(2, 3)))]
        expected = self.model.submit_linked(units)
        got = self.target.submit_linked([[self.spec(leg) for leg in u] for u in units])
        self.record(got, expected, "linked_job")

    def retry_leg(self, data: st.DataObject, booked: Booked) -> Leg:
        if booked.flags & (POST | VOID):
            change = data.draw(st.sampled_from([None, "flags", "pending_id", "amount", "zero"]))
            pending = [i for i, b in self.model.journal.items() if b.flags & PENDING]
            return Leg(
                booked.id, "", "",
                {"amount": booked.amount + 1, "zero": 0}.get(str(change), booked.amount),
                booked.currency,
                booked.flags ^ (POST | VOID) if change == "flags" else booked.flags,
                data.draw(st.sampled_from([*pending, "nope"])) if change == "pending_id"
                else booked.pending_id, code=booked.code)
        change = data.draw(st.sampled_from(
            [None, "debit", "credit", "amount", "currency", "flags", "code"]))
        others = [n for n in NAMES if n not in (booked.debit, booked.credit)]
        return Leg(
            booked.id,
            data.draw(st.sampled_from(others)) if change == "debit" else booked.debit,
            data.draw(st.sampled_from(others)) if change == "credit" else booked.credit,
            booked.amount + (change == "amount"),
            OTHER_CURRENCY[booked.currency] if change == "currency" else booked.currency,
            booked.flags ^ PENDING if change == "flags" else booked.flags,
            None, booked.reversal_of, "other" if change == "code" else booked.code)

    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        """A booked id again: alone, beside another booked id, or beside a new one."""
        retriable = [b for b in self.model.journal.values()
                     if self.target.engine or not b.flags & (POST | VOID)]
        legs = [self.retry_leg(data, data.draw(st.sampled_from(retriable)))]
        beside = data.draw(st.sampled_from(["alone", "new before", "new after", "booked"]))
        if beside == "booked":
            other = data.draw(st.sampled_from(retriable))
            if other.id != legs[0].id:
                legs.append(self.retry_leg(data, other))
        elif beside != "alone":
            new = self.draw_move(data)
            legs = [new, *legs] if beside == "new before" else [*legs, new]
        self.one(legs, "retry")

    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        """A reversal as `TransferService.reverse` builds it: accounts swapped, same amount, of a
        transfer that moved money (not a pending one, not a void)."""
        movable = [b for b in self.model.journal.values()
                   if not b.flags & (PENDING | VOID)
                   and (self.target.engine or b.id not in self.model.reversed)]
        # On the engine, reversing a reversed transfer again is a refusal of its own: draw it
        # on purpose half the time, so that a short run cannot miss it by chance.
        again = [b for b in movable if b.id in self.model.reversed]
        if again and data.draw(st.booleans()):
            movable = again
        if not movable:
            leg = Leg(self.new_id(), "a", "d", 1, Currency.THB)
            self.one([leg], "transfer")
            movable = [self.model.journal[leg.id]]
        b = data.draw(st.sampled_from(movable))
        self.one([Leg(self.new_id(), b.credit, b.debit, b.amount, b.currency, reversal_of=b.id,
                      code="reversal")], "reverse")

    def a_pending_id(self, data: st.DataObject) -> str:
        """One of the open pending transfers, booking one first if there is none (a full
        balance may refuse it one way: then the other way)."""
        amount = data.draw(st.integers(1, 3000))
        for debit, credit in (("a", "d"), ("d", "a")):
            if self.model.pending_ids():
                break
            self.one([Leg(self.new_id(), debit, credit, amount, Currency.THB, PENDING)],
                     "pending")
        return data.draw(st.sampled_from(self.model.pending_ids() or list(self.model.journal)))

    @rule(data=st.data(), open_pending=st.booleans())
    def resolve(self, data: st.DataObject, open_pending: bool) -> None:
        """Post or void an open pending transfer, or any booked id, or one never booked."""
        pid = self.a_pending_id(data) if open_pending else None
        self.one([self.draw_resolution(data, pid)], "resolve")

    @rule(data=st.data())
    def resolve_twice_in_one_unit(self, data: st.DataObject) -> None:
        pid = self.a_pending_id(data)
        self.one([self.draw_resolution(data, pid), self.draw_resolution(data, pid)],
                 "resolve_twice_in_one_unit")

    @rule(data=st.data(), pair=st.sampled_from([("a", "d"), ("d", "a"), ("b", "a"), ("a", "c")]),
          pending=st.booleans())
    def brim(self, data: st.DataObject, pair: tuple[str, str], pending: bool) -> None:
        """Fill a balance to 2**63 - 1 exactly (the domain only: a store shares its accounts'
        currency totals with the suite), or one minor unit past it."""
        past = 1 if self.target.engine else data.draw(st.sampled_from([0, 1]))
        amount = self.model.headroom(*pair) + past
        self.one([Leg(self.new_id(), *pair, amount, Currency.THB, PENDING if pending else 0)],
                 "brim")

    # -- invariants -------------------------------------------------------------------------------
    @invariant()
    def target_equals_model(self) -> None:
        balances = self.target.balances()
        assert {self.names[i]: list(b) for i, b in balances.items()} == self.model.balances
        journal = [(tid, self.names[d], self.names[c], amount, currency, flags, pid, rev, code)
                   for tid, d, c, amount, currency, flags, pid, rev, code in self.target.journal()]
        assert journal == [
            (b.id, b.debit, b.credit, b.amount, b.currency.value, b.flags, b.pending_id,
             b.reversal_of, b.code) for b in self.model.journal.values()]
        assert replay(journal) == self.model.balances
        for currency in (Currency.THB, Currency.JPY):
            held = [b for n, b in self.model.balances.items() if ACCOUNTS[n][0] is currency]
            debits = (sum(b[0] for b in held), sum(b[1] for b in held))
            assert debits == (sum(b[2] for b in held), sum(b[3] for b in held)), currency


def replay(journal: list[tuple[str, str, str, int, str, int, str | None, str | None, str]],
           ) -> dict[str, list[int]]:
    """Balances from the journal alone (a post or void releases its pending transfer's amount)."""
    out = {n: [0, 0, 0, 0] for n in NAMES}
    amounts: dict[str, int] = {}
    for tid, debit, credit, amount, _, flags, pid, _, _ in journal:
        amounts[tid] = amount
        if flags & PENDING:
            out[debit][0] += amount
            out[credit][2] += amount
            continue
        if flags & (POST | VOID):
            assert pid is not None
            out[debit][0] -= amounts[pid]
            out[credit][2] -= amounts[pid]
            if flags & VOID:
                continue
        out[debit][1] += amount
        out[credit][3] += amount
    return out


def run(make_target: Callable[[], LedgerTarget], kind: str) -> RunLog:
    log = RunLog()
    machine = type("Machine", (LedgerMachine,), {"make_target": staticmethod(make_target),
                                                  "log": log})
    run_state_machine_as_test(machine, settings=machine_settings(kind))
    print(log.summary(f"ledger on {kind}"))
    return log


def assert_explored(log: RunLog, rules: set[str], refusals: set[ErrorCode]) -> None:
    assert set(log.rules) >= rules, rules - set(log.rules)
    missing = {c.value for c in refusals} - set(log.outcomes)
    assert not missing, f"no step produced {sorted(missing)}: widen the strategies"


BASE_RULES = {"unit", "group", "retry", "reverse", "resolve", "resolve_twice_in_one_unit", "brim"}


def test_domain_ledger_matches_the_model() -> None:
    log = run(DomainLedger, "pure")
    assert_explored(log, BASE_RULES, LEDGER_REFUSALS)


def test_stored_ledger_matches_the_model(database_url: str) -> None:
    log = run(lambda: StoreLedger(database_url), "store")
    assert_explored(log, BASE_RULES | {"linked_job"}, LEDGER_REFUSALS | ENGINE_REFUSALS)

