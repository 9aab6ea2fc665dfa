"""The ledger legs of a channel payment, its reversal and its refund (ADR 0037).

A payment of `total = principal + fee` in the wallet currency W for a contribution in the home
currency H is one atomic job: a unit of money legs and one unit per month (or contract, or year)
paid, each carrying its contribution and, for an insurance scheme, its voluntary period.

    [W]  wallet(ch, W)            ──▶ fees(ch, W)               fee           channel.fee
    [W]  wallet(ch, W)            ──▶ fx(ch, W)                 principal     channel.principal
    [H]  collections(ch, F, H)    ──▶ fx-difference(ch, H)      principal × rate − contribution
    [H]  collections(ch, F, H)    ──▶ member(worker, F, S, H)   each unit's worker share
    [H]  government(F, H)         ──▶ member(worker, F, S, H)   each unit's state support

`wallet` is what the channel owes the hub for what it collected, `fx(W)` and `collections`
hold the two sides of the conversion at the locked rate (per channel, and per fund on the home
side, so each fund's collected total is one family's balance), `fx-difference` what rounding the
principal up left over. Every one of these is a hot family (ADR 0036): no single row is on the
payment path. Each currency balances on its own.

A reversal (the channel's mistake) reverses every leg, fee included; a refund (the worker's
money back) reverses all but the fee, which the channel keeps. Both at the locked amounts.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from ledger.domain.accounts import AccountCode, AccountSpec, hot, hot_source_account, member_account
from ledger.domain.contributions import Contribution, PlannedTransfer
from ledger.domain.funds import Payer
from ledger.domain.ledger import AccountFlags, TransferSpec
from ledger.domain.money import Currency, Money

# -- accounts -------------------------------------------------------------------------------------


@functools.cache  # one immutable spec per channel (and fund) and currency
def wallet_account(channel: str, currency: Currency) -> AccountSpec:
    """What the channel collected from workers and owes the hub (its debit balance)."""
    return hot(AccountSpec(f"channel/{channel}/wallet/{currency}", AccountCode.CHANNEL,
                           currency, AccountFlags.NONE))


@functools.cache  # one immutable spec per channel (and fund) and currency
def fees_account(channel: str, currency: Currency) -> AccountSpec:
    """The channel's fees: kept by the channel, never part of a fund's money."""
    return hot(AccountSpec(f"channel/{channel}/fees/{currency}", AccountCode.CHANNEL, currency,
                           AccountFlags.NONE))


@functools.cache  # one immutable spec per channel (and fund) and currency
def fx_account(channel: str, currency: Currency) -> AccountSpec:
    """The wallet-currency side of the channel's conversions at locked rates."""
    return hot(AccountSpec(f"channel/{channel}/fx/{currency}", AccountCode.FX, currency,
                           AccountFlags.NONE))


@functools.cache  # one immutable spec per channel (and fund) and currency
def collections_account(channel: str, fund: str, currency: Currency) -> AccountSpec:
    """The home-currency side: what the channel's payments credited at `fund` (its debits)."""
    return hot(AccountSpec(f"channel/{channel}/collections/{fund}/{currency}",
                           AccountCode.CHANNEL, currency, AccountFlags.NONE, fund=fund))


@functools.cache  # one immutable spec per channel (and fund) and currency
def fx_difference_account(channel: str, currency: Currency) -> AccountSpec:
    return hot(AccountSpec(f"channel/{channel}/fx-difference/{currency}", AccountCode.FX,
                           currency, AccountFlags.NONE))


def channel_position_account(channel: str, currency: Currency) -> AccountSpec:
    """The channel's settlement position (debits: it owes the network), as a fund's."""
    return AccountSpec(f"channel/{channel}/position/{currency}", AccountCode.CHANNEL, currency,
                       AccountFlags.NONE)


# -- ids ------------------------------------------------------------------------------------------


def payment_id(channel: str, channel_ref: str) -> str:
    return f"{channel}/{channel_ref}"


def leg_id(payment: str, leg: str) -> str:
    return f"chp/{payment}/{leg}"


FEE, PRINCIPAL, FX_DIFFERENCE = "fee", "principal", "fx-difference"


def unit_leg(contribution: Contribution, payer: Payer) -> str:
    return f"{contribution.month.to_int()}-{payer}"


# -- a payment ------------------------------------------------------------------------------------


def money_legs(payment: str, channel: str, fund: str, fee: Money, principal: Money,
               fx_difference: Money) -> list[PlannedTransfer]:
    """The wallet-currency legs and the FX difference (zero amounts are left out)."""
    wallet = principal.currency
    home = fx_difference.currency
    collections = collections_account(channel, fund, home)
    difference = fx_difference_account(channel, home)
    legs = [
        (FEE, wallet_account(channel, wallet), fees_account(channel, wallet), fee.amount_minor,
         wallet, "channel.fee"),
        (PRINCIPAL, wallet_account(channel, wallet), fx_account(channel, wallet),
         principal.amount_minor, wallet, "channel.principal"),
    ]
    amount = fx_difference.amount_minor
    if amount:
        debit, credit = (collections, difference) if amount > 0 else (difference, collections)
        legs.append((FX_DIFFERENCE, debit, credit, abs(amount), home, "channel.fx_difference"))
    return [PlannedTransfer(leg_id(payment, name), debit, credit, amount_minor, currency,
                            code=code)
            for name, debit, credit, amount_minor, currency, code in legs if amount_minor > 0]


def unit_legs(payment: str, channel: str, contribution: Contribution) -> list[PlannedTransfer]:
    """One unit paid: the worker's share from the channel's collections, the state's support
    from the fund's government receivable, both into the worker's one member account."""
    currency = contribution.wage_base.currency
    member = member_account(contribution.worker_id, contribution.fund, contribution.scheme,
                            currency)
    legs = []
    for payer, money in contribution.shares:
        source = (hot_source_account(contribution.fund, Payer.GOVERNMENT, currency)
                  if payer is Payer.GOVERNMENT
                  else collections_account(channel, contribution.fund, currency))
        legs.append(PlannedTransfer(leg_id(payment, unit_leg(contribution, payer)), source,
                                    member, money.amount_minor, currency, code="contribution",
                                    contribution_id=contribution.id))
    return legs


# -- reversal and refund --------------------------------------------------------------------------


def undo_legs(originals: Sequence[TransferSpec], refund: bool) -> list[PlannedTransfer]:
    """Mirror transfers of a payment's legs (a refund leaves the fee where it is)."""
    suffix, code = ("refund", "channel.refund") if refund else ("reversal", "channel.reversal")
    return [PlannedTransfer(f"{t.id}/{suffix}", t.credit_account_id, t.debit_account_id,
                            t.amount_minor, t.currency, reversal_of=t.id, code=code)
            for t in originals if not (refund and t.id.endswith("/" + FEE))]
