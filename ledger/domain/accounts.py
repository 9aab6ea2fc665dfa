"""Account codes, the natural keys of system accounts, and the flags each kind carries.

Every account has a unique text key. System accounts (a worker's entitlement at a fund, a fund's
collections) have deterministic keys, so they are created on first use and found again by key;
accounts opened through the API carry the key their creator chose.

A hot account (one that every request of a kind would debit: a fund's collections, a payment
channel's wallet) is a *family* of `HOT_ACCOUNT_SHARDS` sub-accounts (`shards > 0`): the posting
engine books each transfer to the sub-account of the committer that posts it (`shard_key`), so
concurrent API processes never wait on one row; every report sums the family (ADR 0036).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from enum import StrEnum

from ledger.domain.funds import Payer
from ledger.domain.ledger import AccountFlags
from ledger.domain.money import Currency

# Sub-accounts of each hot account (a fund's collections, a channel's wallet): more than the API
# processes that post at once, so each committer has its own (ADR 0036).
HOT_ACCOUNT_SHARDS = 16


class AccountCode(StrEnum):
    MEMBER = "member"  # what a worker is owed at a fund, per scheme (payers: the contributions)
    FUND_COLLECTIONS = "fund_collections"  # contributions a fund has received (its cash)
    GOVERNMENT_RECEIVABLE = "government_receivable"  # co-contributions the state owes the fund
    CHANNEL = "channel"  # a payment channel's wallet, fees, collections and settlement position
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
    # > 0: not one account but a family of this many sub-accounts `{key}/sNN` (ADR 0036). The
    # posting engine picks the sub-account; nothing else may post to a family spec.
    shards: int = 0

    def shard(self, slot: int) -> AccountSpec:
        """The family's sub-account for committer `slot` (itself if it is not a family)."""
        return _shard(self, slot % self.shards) if self.shards else self


@functools.lru_cache(maxsize=65_536)
def _shard(family: AccountSpec, index: int) -> AccountSpec:
    return replace(family, key=shard_key(family.key, index), shards=0)


def shard_key(family_key: str, index: int) -> str:
    """The key of sub-account `index` of a family: `fund/TH-SSO/collections/THB/s03`."""
    return f"{family_key}/s{index:02d}"


def family_keys(family_key: str, shards: int = HOT_ACCOUNT_SHARDS) -> list[str]:
    """Every key a family's balance is spread over: the family key itself (paths that post to
    the plain account, e.g. declaration imports) and each sub-account."""
    return [family_key, *(shard_key(family_key, i) for i in range(shards))]


def hot(spec: AccountSpec) -> AccountSpec:
    """The same account as a family of HOT_ACCOUNT_SHARDS sub-accounts."""
    return replace(spec, shards=HOT_ACCOUNT_SHARDS)


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


@functools.cache
def hot_source_account(fund: str, payer: Payer, currency: Currency) -> AccountSpec:
    """`source_account` as a family: what every API contribution of a fund debits (ADR 0036)."""
    return hot(source_account(fund, payer, currency))
