"""The reference model of the ledger: accounts by name, four balances each, the journal.

Written from the rules as README and ADR 0001 state them, not from `ledger/domain/ledger.py`:
what a caller may ask (a linked unit of transfers, pending / post / void, reversals, retries of
an id) and what each refusal is (code, field, index of the failing leg). The state machines in
this folder drive a target (the domain alone, or the posting engine on a store) and this model
side by side, and compare outcomes, balances and journals after every step.

The order in which a leg's checks apply is part of the contract (the first failing check names
the error), so the model states it once, in `_apply`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ledger.domain.errors import ErrorCode
from ledger.domain.money import AMOUNT_MINOR_MAX, Currency

PENDING, POST, VOID = 1, 2, 4
DEBITS_LIMITED, CREDITS_LIMITED = 1, 2  # account flags, as README names them
GHOST = "ghost"  # an account id that does not exist

CREATED, EXISTS, FAILED = "created", "exists", "failed"


@dataclass(frozen=True)
class Leg:
    """A transfer as a caller asks for it; accounts by name (a post/void names none)."""

    id: str
    debit: str
    credit: str
    amount: int
    currency: Currency
    flags: int = 0
    pending_id: str | None = None
    reversal_of: str | None = None
    code: str = "transfer"


@dataclass(frozen=True)
class Booked:
    """A transfer as the journal keeps it: a post or void carries its pending transfer's
    accounts and currency, and the amount it moved (a void: the pending amount)."""

    id: str
    debit: str
    credit: str
    amount: int
    currency: Currency
    flags: int
    pending_id: str | None
    reversal_of: str | None
    code: str


class Outcome(NamedTuple):
    status: str
    code: ErrorCode | None = None
    field: str | None = None
    item: int | None = None  # the failing leg (transfer) of the unit


class RefusedError(Exception):
    def __init__(self, code: ErrorCode, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass
class LedgerModel:
    """`engine`: the target also enforces what the posting engine adds to the domain (retries
    of a post/void, a transfer reversed once, linked jobs)."""

    accounts: Mapping[str, tuple[Currency, int]]
    engine: bool
    balances: dict[str, list[int]] = field(default_factory=dict)  # dp, dpo, cp, cpo
    journal: dict[str, Booked] = field(default_factory=dict)  # in booking order
    resolved: set[str] = field(default_factory=set)
    reversed: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.balances = {name: [0, 0, 0, 0] for name in self.accounts}

    # -- what a caller can submit ---------------------------------------------------------------
    def submit(self, unit: Sequence[Leg]) -> Outcome:
        """One linked unit: every leg applies, or none does."""
        known = [self.journal.get(leg.id) for leg in unit]
        if any(k is not None for k in known):
            return self._retry(unit, known)
        if self.engine and any(
            leg.reversal_of is not None and leg.reversal_of in self.reversed for leg in unit
        ):
            return Outcome(FAILED, ErrorCode.ALREADY_REVERSED)
        scratch = copy.deepcopy(self.balances)
        booked: list[Booked] = []
        resolved_here: set[str] = set()
        for index, leg in enumerate(unit):
            try:
                booked.append(self._apply(leg, scratch, resolved_here))
            except RefusedError as refusal:
                return Outcome(FAILED, refusal.code, refusal.field, index)
        self.balances = scratch
        for b in booked:
            self.journal[b.id] = b
            if b.pending_id is not None:
                self.resolved.add(b.pending_id)
            if b.reversal_of is not None:
                self.reversed.add(b.reversal_of)
        return Outcome(CREATED)

    def submit_group(self, units: Sequence[Sequence[Leg]]) -> list[Outcome]:
        """Independent units: on the engine they share one transaction (group commit), and a
        unit naming an id (transfer, pending, reversed) that an earlier one names waits for the
        next pass, so it runs after every unit that does not."""
        outcomes: list[Outcome | None] = [None] * len(units)
        for index in self.group_order(units) if self.engine else range(len(units)):
            outcomes[index] = self.submit(units[index])
        return [o for o in outcomes if o is not None]

    def submit_linked(self, units: Sequence[Sequence[Leg]]) -> list[Outcome]:
        """Units linked to each other (one job, atomic): a failed unit keeps its own error, the
        others fail as `linked_event_failed`, and nothing is booked."""
        trial = copy.deepcopy(self)
        outcomes = [trial.submit(unit) for unit in units]
        if all(o.status != FAILED for o in outcomes) or len(units) == 1:
            self.__dict__.update(trial.__dict__)
            return outcomes
        return [o if o.status == FAILED else Outcome(FAILED, ErrorCode.LINKED_EVENT_FAILED)
                for o in outcomes]

    @staticmethod
    def group_order(units: Sequence[Sequence[Leg]]) -> list[int]:
        passes: list[tuple[list[int], set[tuple[str, str]]]] = []
        for index, unit in enumerate(units):
            names = {("t", leg.id) for leg in unit}
            names |= {("p", leg.pending_id) for leg in unit if leg.pending_id}
            names |= {("r", leg.reversal_of) for leg in unit if leg.reversal_of}
            for members, taken in passes:
                if not names & taken:
                    members.append(index)
                    taken |= names
                    break
            else:
                passes.append(([index], names))
        return [i for members, _ in passes for i in members]

    # -- the rules --------------------------------------------------------------------------------
    def _retry(self, unit: Sequence[Leg], known: Sequence[Booked | None]) -> Outcome:
        """Ids already booked: the same fields again is success without effect; a new id beside
        booked ones, or another value of a field, names the first such leg and field."""
        for index, (leg, booked) in enumerate(zip(unit, known, strict=True)):
            if booked is None:
                return Outcome(FAILED, ErrorCode.ID_CONFLICT, "id", index)
            differs = self._differs(leg, booked)
            if differs is not None:
                return Outcome(FAILED, ErrorCode.ID_CONFLICT, differs, index)
        return Outcome(EXISTS)

    @staticmethod
    def _differs(leg: Leg, booked: Booked) -> str | None:
        if leg.flags & (POST | VOID):
            # A retried post/void names its pending transfer and maybe an amount, nothing else.
            if leg.flags != booked.flags:
                return "flags"
            if leg.pending_id != booked.pending_id:
                return "pending_id"
            if leg.amount and leg.amount != booked.amount:
                return "amount_minor"
            return None
        pairs = (
            ("debit_account_id", leg.debit, booked.debit),
            ("credit_account_id", leg.credit, booked.credit),
            ("amount_minor", leg.amount, booked.amount),
            ("currency", leg.currency, booked.currency),
            ("flags", leg.flags, booked.flags),
            ("pending_id", leg.pending_id, booked.pending_id),
            ("reversal_of", leg.reversal_of, booked.reversal_of),
            ("code", leg.code, booked.code),
        )
        return next((name for name, mine, theirs in pairs if mine != theirs), None)

    def _apply(self, leg: Leg, scratch: dict[str, list[int]], resolved_here: set[str]) -> Booked:
        resolving = leg.flags & (POST | VOID)
        if leg.flags & PENDING and resolving:
            raise RefusedError(ErrorCode.INVALID_INPUT, "flags")
        if resolving == POST | VOID:
            raise RefusedError(ErrorCode.INVALID_INPUT, "flags")
        if resolving and not leg.pending_id:
            raise RefusedError(ErrorCode.INVALID_INPUT, "pending_id")
        if not resolving and leg.pending_id:
            raise RefusedError(ErrorCode.INVALID_INPUT, "pending_id")
        if resolving:
            if leg.amount < 0:
                raise RefusedError(ErrorCode.INVALID_AMOUNT, "amount_minor")
            return self._resolve(leg, scratch, resolved_here)
        if leg.amount <= 0:
            raise RefusedError(ErrorCode.INVALID_AMOUNT, "amount_minor")
        if leg.debit == leg.credit:
            raise RefusedError(ErrorCode.SAME_ACCOUNT)
        for name in (leg.debit, leg.credit):
            if name not in self.accounts:
                raise RefusedError(ErrorCode.UNKNOWN_ACCOUNT)
        for name in (leg.debit, leg.credit):
            if self.accounts[name][0] is not leg.currency:
                raise RefusedError(ErrorCode.CURRENCY_MISMATCH, "currency")
        slot = 0 if leg.flags & PENDING else 1
        scratch[leg.debit][slot] += leg.amount
        scratch[leg.credit][slot + 2] += leg.amount
        self._limits(scratch, leg.debit, leg.credit)
        return Booked(leg.id, leg.debit, leg.credit, leg.amount, leg.currency, leg.flags, None,
                      leg.reversal_of, leg.code)

    def _resolve(self, leg: Leg, scratch: dict[str, list[int]], resolved_here: set[str]) -> Booked:
        assert leg.pending_id is not None
        original = self.journal.get(leg.pending_id)  # booked before this unit
        if original is None:
            raise RefusedError(ErrorCode.PENDING_NOT_FOUND, "pending_id")
        if not original.flags & PENDING:
            raise RefusedError(ErrorCode.NOT_PENDING, "pending_id")
        if leg.pending_id in self.resolved or leg.pending_id in resolved_here:
            raise RefusedError(ErrorCode.PENDING_ALREADY_RESOLVED, "pending_id")
        posting = bool(leg.flags & POST)
        amount = (leg.amount or original.amount) if posting else original.amount
        if amount > original.amount:
            raise RefusedError(ErrorCode.PENDING_AMOUNT_EXCEEDED, "amount_minor")
        scratch[original.debit][0] -= original.amount
        scratch[original.credit][2] -= original.amount
        if posting:
            scratch[original.debit][1] += amount
            scratch[original.credit][3] += amount
        self._limits(scratch, original.debit, original.credit)
        resolved_here.add(leg.pending_id)
        return Booked(leg.id, original.debit, original.credit, amount, original.currency,
                      leg.flags, leg.pending_id, leg.reversal_of, leg.code)

    def _limits(self, scratch: dict[str, list[int]], *names: str) -> None:
        for name in names:
            dp, dpo, cp, cpo = scratch[name]
            if dp + dpo > AMOUNT_MINOR_MAX or cp + cpo > AMOUNT_MINOR_MAX:
                raise RefusedError(ErrorCode.OVERFLOW)
            flags = self.accounts[name][1]
            if flags & DEBITS_LIMITED and dp + dpo > cpo:
                raise RefusedError(ErrorCode.EXCEEDS_CREDITS)
            if flags & CREDITS_LIMITED and cp + cpo > dpo:
                raise RefusedError(ErrorCode.EXCEEDS_DEBITS)

    # -- views ------------------------------------------------------------------------------------
    def pending_ids(self) -> list[str]:
        return [i for i, b in self.journal.items() if b.flags & PENDING and i not in self.resolved]

    def headroom(self, debit: str, credit: str) -> int:
        """The largest amount a new leg debit -> credit can move before a balance overflows."""
        dp, dpo, _, _ = self.balances[debit]
        _, _, cp, cpo = self.balances[credit]
        return AMOUNT_MINOR_MAX - max(dp + dpo, cp + cpo)
