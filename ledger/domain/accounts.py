"""Account codes, the natural keys of system accounts, and the flags each kind carries.

Every account has a unique text key. System accounts (a worker's entitlement at a fund, a fund's
collections) have deterministic keys, so they are created on first use and found again by key;
accounts opened through the API carry the key their creator chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.domain.funds import Payer
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency


class AccountCode(StrEnum):
    MEMBER = "member"  # what a worker is owed at a fund, per scheme (payers: the contributions)
    FUND_COLLECTIONS = "fund_collections"  # contributions a fund has received (its cash)
    GOVERNMENT_RECEIVABLE = "government_receivable"  # co-contributions the state owes the fund
    CHANNEL = "channel"  # a payment channel's settlement account (digital voluntary payments)
    CLEARING = "clearing"  # between two funds, for portability transfers
    FX = "fx"  # conversion differences, so that every currency balances
    TAX_WITHHELD = "tax_withheld"  # e.g. Japan's 20.42% on the lump-sum withdrawal payment
    BRANCH_POOL = "branch_pool"  # a short-term branch's contributions, per file, not per worker
    DECLARATIONS = "declarations"  # a file's money in transit: in per payer, out per row
    OPERATING = "operating"  # anything else the hub operator opens


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """What identifies an account: its key, plus the attributes fixed at creation."""

    key: str
    code: AccountCode
    currency: Currency
    flags: AccountFlags
    fund: str | None = None
    scheme: str | None = None
    worker_id: str | None = None
    payer: Payer | None = None


def member_account(worker_id: str, fund: str, scheme: str, currency: Currency) -> AccountSpec:
    """One account per worker, fund, scheme and currency, whoever paid (ADR 0026): who paid
    which share is kept by each contribution (`shares`), not by separate accounts."""
    return AccountSpec(
        key=f"member/{worker_id}/{fund}/{scheme}/{currency}",
        code=AccountCode.MEMBER,
        currency=currency,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        fund=fund,
        scheme=scheme,
        worker_id=worker_id,
    )


def declarations_account(fund: str, currency: Currency) -> AccountSpec:
    """Where a declaration file's long-term money passes through (ADR 0026): per file, one
    transfer per payer from its source account in; per row, one transfer out to the member
    account. Empty again once the file is booked."""
    return AccountSpec(
        key=f"fund/{fund}/declarations/{currency}",
        code=AccountCode.DECLARATIONS,
        currency=currency,
        flags=AccountFlags.NONE,
        fund=fund,
    )


def fund_collections_account(fund: str, currency: Currency) -> AccountSpec:
    return AccountSpec(
        key=f"fund/{fund}/collections/{currency}",
        code=AccountCode.FUND_COLLECTIONS,
        currency=currency,
        flags=AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS,
        fund=fund,
    )


def government_receivable_account(fund: str, currency: Currency) -> AccountSpec:
    return AccountSpec(
        key=f"fund/{fund}/government/{currency}",
        code=AccountCode.GOVERNMENT_RECEIVABLE,
        currency=currency,
        flags=AccountFlags.NONE,
        fund=fund,
    )


def branch_pool_account(fund: str, scheme: str, currency: Currency) -> AccountSpec:
    """Short-term branches (sickness, injury, health, unemployment) are not portable: imports
    book them per file into this pool rather than per worker (ADR 0008)."""
    return AccountSpec(
        key=f"fund/{fund}/pool/{scheme}/{currency}",
        code=AccountCode.BRANCH_POOL,
        currency=currency,
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
        fund=fund,
        scheme=scheme,
    )


def source_account(fund: str, payer: Payer, currency: Currency) -> AccountSpec:
    """Where a contribution share comes from: the state's share is booked as owed by it."""
    if payer is Payer.GOVERNMENT:
        return government_receivable_account(fund, currency)
    return fund_collections_account(fund, currency)
