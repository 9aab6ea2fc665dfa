"""One case per refusal the domain declares: what to call, and the code and field it must give.

`tests/unit/test_refusals.py` runs every case and checks that together they produce every site
`refusal_sites.declared_sites()` finds in `ledger/domain`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ledger.config import DEV_PII_ENCRYPTION_KEY
from ledger.domain.contributions import ContributionInput, validate_contribution
from ledger.domain.errors import ErrorCode
from ledger.domain.funds import Fund, FundCode, get_fund, register_fund
from ledger.domain.ids import check_id, check_worker_id, check_worker_id_carries_no_number
from ledger.domain.ledger import (
    Balance,
    PendingInfo,
    TransferFlags,
    TransferSpec,
    UnitOutcome,
    apply_unit,
)
from ledger.domain.money import AMOUNT_MINOR_MAX, Currency, Money, Rounding, parse_amount_minor
from ledger.domain.periods import Month
from ledger.domain.pii import PiiVault
from ledger.domain.principals import Principal, PrincipalKind

THB, JPY = Currency.THB, Currency.JPY
PENDING, POST, VOID = TransferFlags.PENDING, TransferFlags.POST_PENDING, TransferFlags.VOID_PENDING
_ANY = object()


@dataclass(frozen=True)
class Case:
    name: str
    call: Callable[[], object]
    code: ErrorCode
    field: str | None
    index: object = _ANY  # the error's index, when the case pins it
    reason: str | None = None  # a MessageRejected's reason


# -- the ledger state machine ----------------------------------------------------------------------
RESERVED = TransferSpec("reserved", 1, 2, 100, THB, PENDING)
MOVED = TransferSpec("moved", 1, 2, 100, THB)


def _balances() -> dict[int, Balance]:
    return {
        1: Balance(1, THB, 0),
        2: Balance(2, THB, 0),
        3: Balance(3, JPY, 0),
        4: Balance(4, THB, 1, credits_posted=50),  # debits must not exceed credits
        5: Balance(5, THB, 2, debits_posted=50),  # credits must not exceed debits
        6: Balance(6, THB, 0, debits_posted=AMOUNT_MINOR_MAX - 10),
    }


def unit(*specs: TransferSpec, resolved: Sequence[str] = ()) -> UnitOutcome:
    """Apply `specs` to fresh balances; `reserved` is pending, `moved` is posted."""
    balances = _balances()
    known = {t.id: PendingInfo(t, t.id in resolved) for t in (RESERVED, MOVED)}
    return apply_unit(specs, balances.get, known.get)


def move(amount: int = 10, debit: int = 1, credit: int = 2, currency: Currency = THB,
         flags: TransferFlags = TransferFlags.NONE, pending_id: str | None = None,
         tid: str = "t1") -> TransferSpec:
    return TransferSpec(tid, debit, credit, amount, currency, flags, pending_id)


def resolve(pending_id: str | None, amount: int = 0, flags: TransferFlags = POST,
            tid: str = "r1") -> TransferSpec:
    return TransferSpec(tid, 0, 0, amount, THB, flags, pending_id)


LEDGER = [
    Case("pending and posting at once", lambda: unit(move(flags=PENDING | POST, pending_id="x")),
         ErrorCode.INVALID_INPUT, "flags", 0),
    Case("posting and voiding at once", lambda: unit(resolve("reserved", flags=POST | VOID)),
         ErrorCode.INVALID_INPUT, "flags", 0),
    Case("a post naming no pending transfer", lambda: unit(resolve(None)),
         ErrorCode.INVALID_INPUT, "pending_id", 0),
    Case("a transfer naming a pending transfer", lambda: unit(move(pending_id="reserved")),
         ErrorCode.INVALID_INPUT, "pending_id", 0),
    Case("a negative post", lambda: unit(resolve("reserved", -1)),
         ErrorCode.INVALID_AMOUNT, "amount_minor", 0),
    Case("a zero transfer, second in its unit", lambda: unit(move(tid="a"), move(0, tid="b")),
         ErrorCode.INVALID_AMOUNT, "amount_minor", 1),
    Case("one account on both sides", lambda: unit(move(debit=2, credit=2)),
         ErrorCode.SAME_ACCOUNT, None, 0),
    Case("an unknown account", lambda: unit(move(credit=99)), ErrorCode.UNKNOWN_ACCOUNT, None, 0),
    Case("a transfer in another currency", lambda: unit(move(debit=1, credit=3)),
         ErrorCode.CURRENCY_MISMATCH, "currency", 0),
    Case("posting an unknown pending transfer", lambda: unit(resolve("nothing")),
         ErrorCode.PENDING_NOT_FOUND, "pending_id", 0),
    Case("posting a transfer that is not pending", lambda: unit(resolve("moved")),
         ErrorCode.NOT_PENDING, "pending_id", 0),
    Case("posting a resolved pending transfer",
         lambda: unit(resolve("reserved", flags=VOID), resolved=["reserved"]),
         ErrorCode.PENDING_ALREADY_RESOLVED, "pending_id", 0),
    Case("posting more than is pending", lambda: unit(resolve("reserved", 101)),
         ErrorCode.PENDING_AMOUNT_EXCEEDED, "amount_minor", 0),
    Case("a balance beyond 64 bits", lambda: unit(move(11, debit=6)),
         ErrorCode.OVERFLOW, None, 0),
    Case("debits above credits", lambda: unit(move(51, debit=4)),
         ErrorCode.EXCEEDS_CREDITS, None, 0),
    Case("credits above debits", lambda: unit(move(51, credit=5)),
         ErrorCode.EXCEEDS_DEBITS, None, 0),
]

# -- money, months, ids ------------------------------------------------------------------------
VALUES = [
    Case("an unknown currency", lambda: Currency.parse("XYZ", "wage_base.currency"),
         ErrorCode.UNKNOWN_CURRENCY, "wage_base.currency"),
    Case("a float amount", lambda: Money(1.5, THB),  # type: ignore[arg-type]
         ErrorCode.INVALID_AMOUNT, "amount_minor"),
    Case("an amount beyond 64 bits", lambda: Money(-(2**63), THB),
         ErrorCode.INVALID_AMOUNT, "amount_minor"),
    Case("major units as a float", lambda: Money.of_major(1.5, THB, Rounding.DOWN),  # type: ignore[arg-type]
         ErrorCode.INVALID_AMOUNT, "amount"),
    Case("money that is not an object", lambda: Money.from_wire(["1", "THB"], "wage_base"),
         ErrorCode.INVALID_AMOUNT, "wage_base"),
    Case("adding two currencies", lambda: Money(1, THB) + Money(1, JPY),
         ErrorCode.CURRENCY_MISMATCH, None),
    Case("a float rate", lambda: Money(1, THB).times(0.5, Rounding.DOWN),  # type: ignore[arg-type]
         ErrorCode.INVALID_RATE, None),
    Case("an infinite rate", lambda: Money(1, THB).convert(JPY, Decimal("Infinity"), Rounding.UP),
         ErrorCode.INVALID_RATE, None),
    Case("a decimal amount string", lambda: parse_amount_minor("1.5", "x.amount_minor"),
         ErrorCode.INVALID_AMOUNT, "x.amount_minor"),
    Case("an amount that is neither text nor integer", lambda: parse_amount_minor(1.0, "a"),
         ErrorCode.INVALID_AMOUNT, "a"),
    Case("an amount string beyond 64 bits", lambda: parse_amount_minor("9" * 19, "a"),
         ErrorCode.INVALID_AMOUNT, "a"),
    Case("month 13", lambda: Month(2026, 13), ErrorCode.INVALID_MONTH, None),
    Case("a month written badly", lambda: Month.parse("2026-1", "period"),
         ErrorCode.INVALID_MONTH, "period"),
    Case("a month out of range, parsed", lambda: Month.parse("2026-13", "period"),
         ErrorCode.INVALID_MONTH, "period"),
    Case("an empty id", lambda: check_id("", "transfers[0].id"),
         ErrorCode.INVALID_ID, "transfers[0].id"),
    Case("an id with a space", lambda: check_id("a b", "key"), ErrorCode.INVALID_ID, "key"),
    Case("a worker id of another form", lambda: check_worker_id("worker-1", "worker"),
         ErrorCode.INVALID_ID, "worker"),
    Case("a worker id carrying the worker's number", lambda: check_worker_id_carries_no_number(
        "wkr_th1101700234568", ["1-1017-00234-56-8"]), ErrorCode.INVALID_ID, "id"),
]

# -- registry, principals, identity numbers ------------------------------------------------------
_TH = get_fund("TH-SSO")
REGISTRY = [
    Case("a scheme not operating", lambda: get_fund("MM-SSB").scheme("old-age").check_in_force(
        Month(2026, 1), "periods.month"), ErrorCode.SCHEME_NOT_IN_FORCE, "periods.month"),
    Case("a month before the scheme", lambda: get_fund("KH-NSSF").scheme("pension")
         .check_in_force(Month(2022, 9)), ErrorCode.SCHEME_NOT_IN_FORCE, "month"),
    Case("an unknown scheme", lambda: _TH.scheme("pension", "scheme_code"),
         ErrorCode.UNKNOWN_SCHEME, "scheme_code"),
    Case("a built-in fund redefined", lambda: register_fund(Fund(
        FundCode("TH-SSO"), "Other", "TH", THB, MappingProxyType({}))),
         ErrorCode.INVALID_INPUT, "fund"),
    Case("an unknown fund", lambda: get_fund("XX-NONE", "home_fund"),
         ErrorCode.UNKNOWN_FUND, "home_fund"),
    Case("a principal doing what it may not", lambda: Principal(
        "auditor", PrincipalKind.AUDITOR).require(False, "post"), ErrorCode.FORBIDDEN, None),
    Case("an identity number sealed for another row", lambda: PiiVault(
        "k", DEV_PII_ENCRYPTION_KEY).open("member:w2", PiiVault("k", DEV_PII_ENCRYPTION_KEY)
                                         .seal("member:w1", "1234")),
         ErrorCode.FORBIDDEN, None),
]


# -- contributions -------------------------------------------------------------------------------
def contribution(**changes: Any) -> object:
    fields: dict[str, Any] = {
        "worker_id": "wkr_abcd", "fund": "TH-SSO", "scheme": "s33-old-age", "month": "2026-01",
        "wage_base": Money(1_500_000, THB),
        "shares": [("employee", Money(45_000, THB)), ("employer", Money(45_000, THB))],
    }
    fields.update(changes)
    return validate_contribution(ContributionInput(**fields))


def _shares(*pairs: tuple[str, int, Currency]) -> list[tuple[str, Money]]:
    return [(payer, Money(amount, currency)) for payer, amount, currency in pairs]


CONTRIBUTIONS = [
    Case("an unknown kind", lambda: contribution(kind="bonus"), ErrorCode.INVALID_INPUT, "kind"),
    Case("a wage base in another currency", lambda: contribution(wage_base=Money(1, JPY)),
         ErrorCode.CURRENCY_MISMATCH, "wage_base.currency"),
    Case("a negative wage base", lambda: contribution(wage_base=Money(-1, THB)),
         ErrorCode.INVALID_AMOUNT, "wage_base"),
    Case("no shares", lambda: contribution(shares=[]), ErrorCode.INVALID_INPUT, "shares"),
    Case("an unknown payer", lambda: contribution(shares=_shares(
        ("employee", 1, THB), ("boss", 1, THB))), ErrorCode.INVALID_INPUT, "shares[1].payer"),
    Case("a payer twice", lambda: contribution(shares=_shares(
        ("employer", 1, THB), ("employee", 1, THB), ("employer", 2, THB))),
         ErrorCode.DUPLICATE_PAYER, "shares[2].payer"),
    Case("a share in another currency", lambda: contribution(shares=_shares(
        ("employee", 1, THB), ("employer", 1, JPY))),
         ErrorCode.CURRENCY_MISMATCH, "shares[1].amount.currency"),
    Case("a share of nothing", lambda: contribution(shares=_shares(("government", 0, THB))),
         ErrorCode.INVALID_AMOUNT, "shares[0].amount.amount_minor"),
    Case("a bad caller-named id", lambda: contribution(id="two words"),
         ErrorCode.INVALID_ID, "id"),
]

CASES = LEDGER + VALUES + REGISTRY + CONTRIBUTIONS
