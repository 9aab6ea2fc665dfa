"""The ledger's rules one by one, on the domain alone: each test names the guard it holds.

Worked by hand from README's ledger model (TigerBeetle's semantics): a pending transfer reserves
its amount; a post moves all or part of it and releases the rest; a void releases it; neither
applies to anything but an open pending transfer; no balance passes 2**63 - 1.
"""

from __future__ import annotations

import pytest

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ledger import (
    AccountFlags,
    Balance,
    PendingInfo,
    TransferFlags,
    TransferSpec,
    UnitOutcome,
    apply_unit,
)
from ledger.domain.money import AMOUNT_MINOR_MAX, Currency

THB = Currency.THB
PENDING, POST, VOID = TransferFlags.PENDING, TransferFlags.POST_PENDING, TransferFlags.VOID_PENDING
RESERVED = TransferSpec("reserved", 1, 2, 100, THB, PENDING)  # debit 1, credit 2
MOVED = TransferSpec("moved", 1, 2, 100, THB)


def apply(*specs: TransferSpec, start: dict[int, Balance] | None = None) -> UnitOutcome:
    balances = start or {
        1: Balance(1, THB, 0, debits_pending=100, debits_posted=100),
        2: Balance(2, THB, 0, credits_pending=100, credits_posted=100),
    }
    known = {t.id: PendingInfo(t, False) for t in (RESERVED, MOVED)}
    return apply_unit(specs, balances.get, known.get)


def refusal(*specs: TransferSpec, start: dict[int, Balance] | None = None) -> DomainError:
    with pytest.raises(DomainError) as refused:
        apply(*specs, start=start)
    return refused.value


def resolve(pending_id: str, flags: TransferFlags = POST, amount: int = 0,
            tid: str = "r") -> TransferSpec:
    return TransferSpec(tid, 0, 0, amount, THB, flags, pending_id)


def four(b: Balance) -> tuple[int, int, int, int]:
    return b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted


@pytest.mark.parametrize("flags", [POST, VOID])
def test_posting_or_voiding_a_transfer_that_is_not_pending_is_refused(
    flags: TransferFlags,
) -> None:
    """Guard: `_resolve_pending`'s "not pending" check. Without it the posted transfer would be
    resolved: pending balances -100 and, for a post, its amount booked a second time."""
    error = refusal(resolve("moved", flags))
    assert (error.code, error.field, error.index) == (ErrorCode.NOT_PENDING, "pending_id", 0)


def test_posting_more_than_the_pending_amount_is_refused() -> None:
    """Guard: "amount exceeds pending". Posting 101 against a reservation of 100 would book
    1 that was never reserved."""
    error = refusal(resolve("reserved", amount=101))
    assert (error.code, error.field, error.index) == (
        ErrorCode.PENDING_AMOUNT_EXCEEDED, "amount_minor", 0)
    # At the boundary, all of it; 0 also means all; less releases the rest.
    for amount, posted in ((100, 100), (0, 100), (40, 40)):
        outcome = apply(resolve("reserved", amount=amount))
        assert four(outcome.balances[1]) == (0, 100 + posted, 0, 0)
        assert four(outcome.balances[2]) == (0, 0, 0, 100 + posted)
        assert outcome.transfers[0].amount_minor == posted


def test_a_void_releases_the_whole_reservation_whatever_amount_it_names() -> None:
    outcome = apply(resolve("reserved", VOID, amount=7))
    assert four(outcome.balances[1]) == (0, 100, 0, 0)
    assert outcome.transfers[0].amount_minor == 100
    assert (outcome.transfers[0].debit_account_id, outcome.transfers[0].credit_account_id) == (1, 2)


def test_one_pending_resolved_twice_in_one_unit_is_refused() -> None:
    """Guard: `resolved_here`. A post and a void of one reservation in one linked unit would
    release it twice (pending balances -100)."""
    for second in (resolve("reserved", VOID, tid="r2"), resolve("reserved", POST, tid="r2")):
        error = refusal(resolve("reserved", POST, 30, tid="r1"), second)
        assert (error.code, error.field, error.index) == (
            ErrorCode.PENDING_ALREADY_RESOLVED, "pending_id", 1)


@pytest.mark.parametrize("amount", [0, -1])
def test_a_transfer_of_nothing_or_less_is_refused(amount: int) -> None:
    """Guard: `check_shape`'s "amount must be positive", on the second leg of a unit."""
    error = refusal(TransferSpec("a", 1, 2, 5, THB), TransferSpec("b", 1, 2, amount, THB))
    assert (error.code, error.field, error.index) == (ErrorCode.INVALID_AMOUNT, "amount_minor", 1)


@pytest.mark.parametrize("pending", [False, True])
@pytest.mark.parametrize("side", ["debit", "credit"])
def test_a_balance_past_2_63_is_refused_and_one_at_it_is_not(side: str, pending: bool) -> None:
    """Guard: `Balance.overflowed` (checked for both accounts). Balances live in BIGINT."""
    flags = PENDING if pending else TransferFlags.NONE
    full = {"debit": Balance(1, THB, 0, debits_posted=10),
            "credit": Balance(2, THB, 0, credits_pending=10)}
    start = {1: Balance(1, THB, 0), 2: Balance(2, THB, 0)}
    start[1 if side == "debit" else 2] = full[side]
    room = AMOUNT_MINOR_MAX - 10
    error = refusal(TransferSpec("t", 1, 2, room + 1, THB, flags), start=start)
    assert (error.code, error.field, error.index) == (ErrorCode.OVERFLOW, None, 0)
    outcome = apply(TransferSpec("t", 1, 2, room, THB, flags), start=start)
    total = four(outcome.balances[1 if side == "debit" else 2])
    assert sum(total) == AMOUNT_MINOR_MAX


def test_a_refusal_names_the_side_and_the_account_it_is_about() -> None:
    """A currency mismatch says which side's account is in another currency; a broken balance
    flag names its account in the message and in `details` (the API returns both)."""
    yen = Currency.JPY
    transfer = TransferSpec("t", 1, 2, 5, THB)
    debit_side = refusal(transfer, start={1: Balance(1, yen, 0), 2: Balance(2, THB, 0)})
    assert (debit_side.code, debit_side.field, debit_side.message) == (
        ErrorCode.CURRENCY_MISMATCH, "currency", "debit account 1 is in JPY, transfer in THB")
    credit_side = refusal(transfer, start={1: Balance(1, THB, 0), 2: Balance(2, yen, 0)})
    assert credit_side.message == "credit account 2 is in JPY, transfer in THB"
    owed = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    liability = refusal(transfer, start={1: Balance(1, THB, owed), 2: Balance(2, THB, 0)})
    assert (liability.code, liability.message, liability.details) == (
        ErrorCode.EXCEEDS_CREDITS, "account 1 does not allow debits above credits",
        {"account_id": 1})
    cash = AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
    asset = refusal(transfer, start={1: Balance(1, THB, 0), 2: Balance(2, THB, cash)})
    assert (asset.code, asset.message, asset.details) == (
        ErrorCode.EXCEEDS_DEBITS, "account 2 does not allow credits above debits",
        {"account_id": 2})
