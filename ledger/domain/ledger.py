"""The double-entry state machine (after TigerBeetle), pure and in memory.

Owns account flags, transfer flags, balances and the rules that decide whether a *unit* (a linked
batch of transfers: all or none) may be applied to a set of balances. The database layer locks the
rows and calls `apply_unit`; nothing here does I/O.

Balances follow TigerBeetle: each account has debits/credits, each pending/posted. A pending
transfer reserves its amount (``*_pending``); posting moves all or part of it to ``*_posted`` and
releases the rest; voiding releases it all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import IntFlag

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import AMOUNT_MINOR_MAX, Currency

AccountId = int
TransferId = str


class AccountFlags(IntFlag):
    NONE = 0
    # Liability-like accounts (a worker's entitlement): cannot pay out more than was credited.
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    # Asset-like accounts (a fund's collections): cannot pay out more cash than came in.
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2


class TransferFlags(IntFlag):
    NONE = 0
    PENDING = 1  # reserve: counts in *_pending until posted or voided
    POST_PENDING = 2  # resolve a pending transfer by posting (all or part of) it
    VOID_PENDING = 4  # resolve a pending transfer by releasing it


# Plain ints for the hot path: IntFlag arithmetic builds enum members and costs microseconds.
_DEBITS_LIMITED = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CREDITS_LIMITED = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
_PENDING = int(TransferFlags.PENDING)
_POST = int(TransferFlags.POST_PENDING)
_VOID = int(TransferFlags.VOID_PENDING)
_RESOLVING = _POST | _VOID


@dataclass(slots=True)
class Balance:
    """One account's balances as locked from the store; mutated only on a scratch copy."""

    account_id: AccountId
    currency: Currency
    flags: int  # AccountFlags as a plain int
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def copy(self) -> Balance:
        return Balance(self.account_id, self.currency, self.flags, self.debits_pending,
                       self.debits_posted, self.credits_pending, self.credits_posted)

    def violation(self) -> ErrorCode | None:
        """The flag this balance breaks, if any (checked after every transfer of a unit)."""
        flags = self.flags
        if not flags:
            return None
        if (flags & _DEBITS_LIMITED
                and self.debits_pending + self.debits_posted > self.credits_posted):
            return ErrorCode.EXCEEDS_CREDITS
        if (flags & _CREDITS_LIMITED
                and self.credits_pending + self.credits_posted > self.debits_posted):
            return ErrorCode.EXCEEDS_DEBITS
        return None

    def overflowed(self) -> bool:
        return (self.debits_pending + self.debits_posted > AMOUNT_MINOR_MAX
                or self.credits_pending + self.credits_posted > AMOUNT_MINOR_MAX)


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """A transfer as requested. For POST/VOID, accounts and currency come from the pending one."""

    id: TransferId
    debit_account_id: AccountId
    credit_account_id: AccountId
    amount_minor: int
    currency: Currency
    flags: TransferFlags = TransferFlags.NONE
    pending_id: TransferId | None = None
    reversal_of: TransferId | None = None
    code: str = "transfer"
    contribution_id: str | None = None

    def identity(self) -> tuple[object, ...]:
        """The fields that must match for a retried transfer to count as 'already exists'."""
        return (
            self.debit_account_id,
            self.credit_account_id,
            self.amount_minor,
            self.currency,
            int(self.flags),
            self.pending_id,
            self.reversal_of,
            self.code,
            self.contribution_id,
        )


IDENTITY_FIELDS = (
    "debit_account_id",
    "credit_account_id",
    "amount_minor",
    "currency",
    "flags",
    "pending_id",
    "reversal_of",
    "code",
    "contribution_id",
)


def first_difference(requested: TransferSpec, stored: TransferSpec) -> str | None:
    """Name of the first field in which a retried transfer differs from the stored one."""
    for name, mine, theirs in zip(
        IDENTITY_FIELDS, requested.identity(), stored.identity(), strict=True
    ):
        if mine != theirs:
            return name
    return None


@dataclass(slots=True)
class PendingInfo:
    """What the state machine needs to know about a pending transfer being posted or voided."""

    transfer: TransferSpec
    resolved: bool  # already posted, voided (or being so earlier in this batch)


@dataclass(slots=True)
class UnitOutcome:
    """Balances after a successful unit and the transfers to insert (amounts finalised)."""

    balances: dict[AccountId, Balance]
    transfers: list[TransferSpec] = field(default_factory=list)


def check_shape(spec: TransferSpec) -> None:
    """Static checks that need no state: positive amount, two distinct accounts, coherent flags."""
    flags = int(spec.flags)
    resolving = flags & _RESOLVING
    if flags & _PENDING and resolving:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "a transfer cannot both be pending and resolve one",
            field="flags",
        )
    if resolving == _RESOLVING:
        raise DomainError(ErrorCode.INVALID_INPUT, "post and void are exclusive", field="flags")
    if resolving and not spec.pending_id:
        raise DomainError(ErrorCode.INVALID_INPUT, "pending_id is required", field="pending_id")
    if not resolving and spec.pending_id:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "pending_id only goes with post or void", field="pending_id"
        )
    if resolving:
        if spec.amount_minor < 0:
            raise DomainError(
                ErrorCode.INVALID_AMOUNT, "amount must not be negative", field="amount_minor"
            )
        return
    error = plain_shape_error(spec.debit_account_id, spec.credit_account_id, spec.amount_minor)
    if error is not None:
        raise error


def plain_shape_error(debit: AccountId, credit: AccountId, amount: int) -> DomainError | None:
    """What is wrong with a transfer that resolves no pending one, by its amount and accounts
    alone (the engine raises it; the acknowledgement fast path declines)."""
    if amount <= 0:
        return DomainError(ErrorCode.INVALID_AMOUNT, "amount must be positive",
                           field="amount_minor")
    if debit == credit:
        return DomainError(ErrorCode.SAME_ACCOUNT, "debit and credit accounts must differ")
    return None


def apply_unit(
    specs: Iterable[TransferSpec],
    balances: Callable[[AccountId], Balance | None],
    pending: Callable[[TransferId], PendingInfo | None],
) -> UnitOutcome:
    """Apply a linked unit on scratch copies of the balances `balances(id)` returns; raise at
    the first failing transfer.

    The caller commits `outcome.balances` only when this returns, so a unit is all or none.
    Errors carry the index of the failing transfer inside the unit.
    """
    scratch: dict[AccountId, Balance] = {}
    out: list[TransferSpec] = []

    def account(account_id: AccountId) -> Balance:
        if account_id not in scratch:
            found = balances(account_id)
            if found is None:
                raise DomainError(
                    ErrorCode.UNKNOWN_ACCOUNT, f"account {account_id} does not exist"
                )
            scratch[account_id] = found.copy()
        return scratch[account_id]

    resolved_here: set[TransferId] = set()
    for index, spec in enumerate(specs):
        try:
            check_shape(spec)
            final = _apply_one(spec, account, pending, resolved_here)
        except DomainError as exc:
            raise exc.at(index) from None
        out.append(final)
    return UnitOutcome(scratch, out)


def _apply_one(
    spec: TransferSpec,
    account: Callable[[AccountId], Balance],
    pending: Callable[[TransferId], PendingInfo | None],
    resolved_here: set[TransferId],
) -> TransferSpec:
    if int(spec.flags) & _RESOLVING:
        return _resolve_pending(spec, account, pending, resolved_here)
    debit, credit = account(spec.debit_account_id), account(spec.credit_account_id)
    for side, bal in (("debit", debit), ("credit", credit)):
        if bal.currency is not spec.currency:
            raise DomainError(
                ErrorCode.CURRENCY_MISMATCH,
                f"{side} account {bal.account_id} is in {bal.currency}, transfer in "
                f"{spec.currency}",
                field="currency",
            )
    if int(spec.flags) & _PENDING:
        move(debit, credit, -spec.amount_minor, 0)  # reserved: pending on both sides
    else:
        move(debit, credit, 0, spec.amount_minor)
    _check(debit, credit)
    return spec


def _resolve_pending(
    spec: TransferSpec,
    account: Callable[[AccountId], Balance],
    pending: Callable[[TransferId], PendingInfo | None],
    resolved_here: set[TransferId],
) -> TransferSpec:
    assert spec.pending_id is not None  # check_shape guarantees it
    info = pending(spec.pending_id)
    if info is None:
        raise DomainError(
            ErrorCode.PENDING_NOT_FOUND, f"no transfer {spec.pending_id}", field="pending_id"
        )
    original = info.transfer
    if not int(original.flags) & _PENDING:
        raise DomainError(
            ErrorCode.NOT_PENDING, f"transfer {original.id} is not pending", field="pending_id"
        )
    if info.resolved or spec.pending_id in resolved_here:
        raise DomainError(
            ErrorCode.PENDING_ALREADY_RESOLVED,
            f"pending transfer {original.id} was already posted or voided",
            field="pending_id",
        )
    posting = bool(int(spec.flags) & _POST)
    # Amount 0 on a post means "the full pending amount" (as in TigerBeetle).
    amount = (spec.amount_minor or original.amount_minor) if posting else original.amount_minor
    if amount > original.amount_minor:
        raise DomainError(
            ErrorCode.PENDING_AMOUNT_EXCEEDED,
            f"cannot post {amount}: pending amount is {original.amount_minor}",
            field="amount_minor",
        )
    debit, credit = account(original.debit_account_id), account(original.credit_account_id)
    move(debit, credit, original.amount_minor, amount if posting else 0)
    _check(debit, credit)
    resolved_here.add(spec.pending_id)
    return replace(
        spec,
        debit_account_id=original.debit_account_id,
        credit_account_id=original.credit_account_id,
        currency=original.currency,
        amount_minor=amount,
    )


def move(debit: Balance, credit: Balance, released: int, posted: int) -> None:
    """What one transfer does to its two balances: `released` leaves pending on both sides (a
    pending transfer posted or voided; negative when a pending transfer reserves it), `posted`
    enters posted. The one definition of it for the posting engine and the acknowledgement
    fast path; both then check the balances with `broken`."""
    debit.debits_pending -= released
    credit.credits_pending -= released
    debit.debits_posted += posted
    credit.credits_posted += posted


def broken(bal: Balance) -> bool:
    """Whether a balance is over the limit of an amount or against its flags: what the engine
    refuses after every transfer (`_check`) and the fast path declines."""
    return bal.overflowed() or bal.violation() is not None


def _check(debit: Balance, credit: Balance) -> None:
    for bal in (debit, credit):
        if not broken(bal):
            continue
        if bal.overflowed():
            raise DomainError(ErrorCode.OVERFLOW, f"account {bal.account_id} would overflow")
        violation = bal.violation()
        assert violation is not None
        raise DomainError(
            violation,
            f"account {bal.account_id} does not allow "
            + ("debits above credits" if violation is ErrorCode.EXCEEDS_CREDITS
               else "credits above debits"),
            details={"account_id": bal.account_id},
        )
