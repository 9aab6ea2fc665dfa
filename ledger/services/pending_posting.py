"""Resolving many flows' pending legs at once: the inbox's fast path for acknowledgements.

Owns one optimisation and nothing else. A batch of 1,000 `transfer.ack` messages posts 5,000
pending legs and pays 1,000 workers; through the general posting engine every one of those
6,000 transfers is planned, checked and applied as an object of its own (most of a batch's
Python time). Here a batch whose every unit is the ordinary case — each leg exists, is pending,
is not yet resolved, and nothing of the unit was written before — is applied with plain integer
arithmetic over the locked balances, and written with the engine's own store calls (same rows,
same ids, same balances, same lock order: accounts locked in id order).

Anything else — a leg missing or already resolved, an account not created yet, a transfer
already there, a balance flag that would break, a race lost to another transaction — writes
nothing here and returns False: the caller then submits the same units to the engine, which
gives each its exact result. So the fast path can only be faster, never different
(tests/e2e/test_pending_posting.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.db.ledger_store import (
    LedgerTx,
    PendingLeg,
    RaceLostError,
    TransferRow,
    WriteSet,
    currency_of,
)
from ledger.domain.accounts import AccountSpec
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.ledger import Balance, TransferFlags
from ledger.domain.money import Currency
from ledger.services.posting import PostingEngine, now_us
from ledger.settlement.legs import resolution_code, resolution_id

_POST = int(TransferFlags.POST_PENDING)
_VOID = int(TransferFlags.VOID_PENDING)
# (debit account, credit account, pending amount released, amount posted, currency)
_Move = tuple[int, int, int, int, Currency]


@dataclass(frozen=True, slots=True)
class Resolution:
    """One all-or-none unit: resolve these pending legs in full, then make the plain transfers
    (no pending or reversal; accounts given as specs), in this order."""

    legs: Sequence[str]
    post: bool
    then: Sequence[PlannedTransfer] = ()


async def resolve_all(engine: PostingEngine, units: Sequence[Resolution]) -> bool:
    """Apply every unit in one transaction and return True, or write nothing and return False
    (the general engine must then take them)."""
    if not units or any(t.pending_id or t.reversal_of or t.flags for u in units for t in u.then):
        return False
    try:
        return await _Resolve(engine, units).run()
    except RaceLostError:
        return False


class _DeclinedError(Exception):
    """Not the ordinary case: roll back, let the engine decide."""


class _Resolve:
    def __init__(self, engine: PostingEngine, units: Sequence[Resolution]) -> None:
        self.engine = engine
        self.units = units
        self.now = now_us()
        self.looked_up: dict[str, int] = {}

    async def run(self) -> bool:
        try:
            async with self.engine.transactions(self.engine.db) as tx:
                legs = [leg for u in self.units for leg in u.legs]
                # Only the legs are read. A transfer already written under one of the ids this
                # pass writes is caught by the unique index instead: the write then fails,
                # nothing is kept, and the engine takes the batch (RaceLostError).
                pending = await tx.unresolved_pending(legs)
                if len(pending) != len(legs):  # a leg missing, resolved, not pending, twice
                    raise _DeclinedError
                ids = await self._account_ids(tx, [a for u in self.units for t in u.then
                                                   for a in (t.debit, t.credit)])
                rows: list[TransferRow] = []
                moves: list[_Move] = []
                for unit in self.units:
                    self._plan(unit, pending, ids, rows, moves)
                # Transfers first, balances last: the fund-wide accounts every flow touches
                # (clearing, FX, positions) stay locked only for the balance update and the
                # commit, so another process's batch waits less for them.
                await tx.insert_transfer_rows(rows)
                balances = await tx.lock_balances(
                    sorted({a for m in moves for a in (m[0], m[1])}))
                await tx.write(WriteSet([], _apply(balances, moves), [], [], []), self.now)
        except _DeclinedError:
            return False
        self.engine.cache.remember(self.looked_up)
        return True

    async def _account_ids(self, tx: LedgerTx, refs: list[AccountSpec | int]
                           ) -> dict[str, int]:
        """Ids of the accounts the plain transfers name. Looked up, never created: an account
        that does not exist yet (a fund's first payout) is the engine's to create."""
        cached = self.engine.cache.ids
        keys = {r.key for r in refs if isinstance(r, AccountSpec)}
        found = {k: cached[k] for k in keys if k in cached}
        missing = [k for k in keys if k not in found]
        if missing:
            self.looked_up = await tx.find_accounts(missing)
            if len(self.looked_up) != len(missing):
                raise _DeclinedError
            found.update(self.looked_up)
        return found

    def _plan(self, unit: Resolution, pending: dict[str, PendingLeg], ids: dict[str, int],
              rows: list[TransferRow], moves: list[_Move]) -> None:
        """The unit's transfers as stored rows (the engine's ids, codes, amounts and accounts)
        and its balance moves."""
        code = resolution_code(unit.post)
        flags = _POST if unit.post else _VOID
        now = self.now
        for leg in unit.legs:
            debit, credit, amount, currency_code = pending[leg]
            rows.append((resolution_id(leg, unit.post), debit, credit, amount, currency_code,
                         flags, leg, None, code, None, now))
            # The pending amount is released on both sides; it is posted only when posting.
            moves.append((debit, credit, amount, amount if unit.post else 0,
                          currency_of(currency_code)))
        for t in unit.then:
            debit = t.debit if isinstance(t.debit, int) else ids[t.debit.key]
            credit = t.credit if isinstance(t.credit, int) else ids[t.credit.key]
            if debit == credit or t.amount_minor <= 0:
                raise _DeclinedError
            rows.append((t.id, debit, credit, t.amount_minor, t.currency.value, 0, None, None,
                         t.code, t.contribution_id, now))
            moves.append((debit, credit, 0, t.amount_minor, t.currency))


def _apply(balances: dict[int, Balance], moves: list[_Move]) -> list[Balance]:
    """Every move on the locked balances, in order; refuses (declines) any broken flag, any
    negative balance or overflow, and any currency mismatch the store would not catch.

    The engine checks both accounts after every transfer. Resolving a pending leg can break no
    flag (posting moves an amount from pending to posted on both sides; voiding only releases
    it), so only a plain transfer (`released == 0`) is checked as it is applied: a later credit
    in the batch must not excuse an overdraft the engine would have refused."""
    for debit_id, credit_id, released, posted, currency in moves:
        debit, credit = balances.get(debit_id), balances.get(credit_id)
        if (debit is None or credit is None or debit.currency is not currency
                or credit.currency is not currency):
            raise _DeclinedError
        debit.debits_pending -= released
        credit.credits_pending -= released
        debit.debits_posted += posted
        credit.credits_posted += posted
        if not released and (debit.violation() is not None or credit.violation() is not None):
            raise _DeclinedError
    touched = sorted({a for m in moves for a in (m[0], m[1])})
    out = [balances[a] for a in touched]
    for bal in out:
        if (bal.debits_pending < 0 or bal.credits_pending < 0 or bal.violation() is not None
                or bal.overflowed()):
            raise _DeclinedError
    return out
