"""The ledger legs of one portability flow: accounts, amounts, FX, as planned transfers.

Owns the shape of value moving between funds (docs/adr/0015-portability-legs.md). A flow takes
money out of the host fund's accounts in its currency and credits the worker at the home fund in
the home currency; in between, the host fund owes the home fund the settlement-currency amount,
which settlement windows net. Every leg is one currency; conversions go through the hub's FX
account of each currency, so each currency balances on its own:

    [host]  source accounts ──▶ clearing(host→home)      the worker's value, in transit
            (withheld tax ──▶ tax-withheld, the rest of a paid-off balance ──▶ retained)
    [host]  clearing(host→home) ──▶ fx(host)             sold at the agreement's rate
    [USD]   position(host) ──▶ position(home)            the obligation a window nets
    [home]  fx(home) ──▶ portability(worker at home)     bought, rounded with the named mode
    [home]  portability(worker) ──▶ payouts(home)        paid to the worker: posted at the ack

Pure: amounts and rates come in, `PlannedTransfer`s come out; the service reads balances and
rates, and posts these as one linked pending unit (posted on acknowledgement, voided on refusal).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ledger.domain.accounts import AccountCode, AccountSpec
from ledger.domain.contributions import PlannedTransfer
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.ledger import AccountFlags, TransferFlags
from ledger.domain.money import Currency, Money, Rounding


class Flow(StrEnum):
    TRANSFER = "transfer"  # a portable balance moves to the home fund (or to the worker)
    LUMP_SUM = "lump_sum"  # a fund's own lump sum (Japan's LSWP), net of withheld tax
    TAX_REFUND = "tax_refund"  # the withheld tax, reclaimed: the second cash flow


class Destination(StrEnum):
    MEMBER = "member"  # stays credited to the worker at the home fund (periods transferred)
    WORKER = "worker"  # paid out to the worker through the home fund (periods withdrawn)


# -- accounts -------------------------------------------------------------------------------------


def clearing_account(host: str, home: str, currency: Currency) -> AccountSpec:
    return AccountSpec(f"clearing/{host}/{home}/{currency}", AccountCode.CLEARING, currency,
                       AccountFlags.NONE, fund=host)


def fx_account(currency: Currency) -> AccountSpec:
    return AccountSpec(f"hub/fx/{currency}", AccountCode.FX, currency, AccountFlags.NONE)


def position_account(fund: str, currency: Currency) -> AccountSpec:
    """A fund's settlement position: debits = it owes the network, credits = it is owed."""
    return AccountSpec(f"fund/{fund}/position/{currency}", AccountCode.CLEARING, currency,
                       AccountFlags.NONE, fund=fund)


def hub_settlement_account(currency: Currency) -> AccountSpec:
    """The hub's settlement account: every window's pay-ins and pay-outs cancel here."""
    return AccountSpec(f"hub/settlement/{currency}", AccountCode.CLEARING, currency,
                       AccountFlags.NONE)


def tax_withheld_account(fund: str, currency: Currency) -> AccountSpec:
    return AccountSpec(f"fund/{fund}/tax-withheld/{currency}", AccountCode.TAX_WITHHELD,
                       currency, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS, fund=fund)


def retained_account(fund: str, currency: Currency) -> AccountSpec:
    """What a paid-off balance leaves with the fund (the LSWP returns less than was paid in)."""
    return AccountSpec(f"fund/{fund}/retained/{currency}", AccountCode.OPERATING, currency,
                       AccountFlags.NONE, fund=fund)


def portability_account(worker_id: str, fund: str, currency: Currency) -> AccountSpec:
    """The worker's value received at the home fund from other funds."""
    return AccountSpec(f"portability/{worker_id}/{fund}/{currency}", AccountCode.MEMBER, currency,
                       AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS, fund=fund,
                       scheme="portability-in", worker_id=worker_id)


@functools.cache  # an immutable spec per (fund, currency): one per acknowledged flow otherwise
def payouts_account(fund: str, currency: Currency) -> AccountSpec:
    return AccountSpec(f"fund/{fund}/payouts/{currency}", AccountCode.OPERATING, currency,
                       AccountFlags.NONE, fund=fund)


# -- amounts --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FxQuote:
    """Two conversions at the agreement's rounding: host → settlement → home currency."""

    to_settlement: Decimal  # settlement units per host unit (major units)
    from_settlement: Decimal  # home units per settlement unit
    rounding: Rounding
    source: str

    def convert(self, amount: Money, settlement: Currency, home: Currency) -> tuple[Money, Money]:
        """(settlement amount, home amount); each rounded once with the named mode."""
        middle = amount.convert(settlement, self.to_settlement, self.rounding)
        return middle, middle.convert(home, self.from_settlement, self.rounding)


@dataclass(frozen=True, slots=True)
class Use:
    """Where part of the host-currency value goes: the flow itself, withheld tax, retained."""

    label: str
    amount_minor: int
    account: AccountSpec


@dataclass(frozen=True, slots=True)
class FlowPlan:
    """Everything a flow moves. `sources` are drained in order to cover `uses` in order; the
    first use is the value that travels: its account is `clearing_account(host, home, ...)`."""

    flow_id: str
    worker_id: str
    host: str
    home: str
    destination: Destination
    sources: tuple[tuple[AccountSpec, int], ...]
    uses: tuple[Use, ...]
    settlement: Money
    target: Money

    @property
    def travelling(self) -> Money:
        first = self.uses[0]
        return Money(first.amount_minor, first.account.currency)


def plan_legs(plan: FlowPlan) -> list[PlannedTransfer]:
    """The pending transfers of a flow, in order, as one linked unit."""
    host_currency = plan.travelling.currency
    if sum(a for _, a in plan.sources) != sum(u.amount_minor for u in plan.uses):
        raise DomainError(ErrorCode.INVALID_INPUT, "sources and uses of a flow differ",
                          field="sources")
    if plan.uses[0].account != clearing_account(plan.host, plan.home, host_currency):
        raise DomainError(ErrorCode.INVALID_INPUT, "the travelling value goes to clearing",
                          field="uses")
    legs = _allocate(plan)
    settlement, target = plan.settlement, plan.target
    home_currency = target.currency
    clearing = clearing_account(plan.host, plan.home, host_currency)
    credit_at_home = portability_account(plan.worker_id, plan.home, home_currency)
    extra = [
        (clearing, fx_account(host_currency), plan.travelling.amount_minor, "fx-out"),
        (position_account(plan.host, settlement.currency),
         position_account(plan.home, settlement.currency), settlement.amount_minor, "obligation"),
        (fx_account(home_currency), credit_at_home, target.amount_minor, "fx-in"),
    ]
    for debit, credit, amount, label in extra:
        if amount > 0:
            legs.append(_leg(plan.flow_id, len(legs), label, debit, credit, amount))
    return legs


def _allocate(plan: FlowPlan) -> list[PlannedTransfer]:
    """Drain the sources in order across the uses in order (a use may span two sources)."""
    legs: list[PlannedTransfer] = []
    sources = [spec for spec, amount in plan.sources if amount > 0]
    left = [amount for _, amount in plan.sources if amount > 0]
    at = 0
    for use in plan.uses:
        credit = use.account
        need = use.amount_minor
        while need > 0:
            take = min(need, left[at])
            legs.append(_leg(plan.flow_id, len(legs), use.label, sources[at], credit, take))
            need -= take
            left[at] -= take
            if left[at] == 0:
                at += 1
    return legs


def _leg(flow_id: str, index: int, label: str, debit: AccountSpec, credit: AccountSpec,
         amount: int) -> PlannedTransfer:
    return PlannedTransfer(f"{flow_id}/{index}-{label}", debit, credit, amount, debit.currency,
                           TransferFlags.PENDING, code=f"portability.{label}")


def resolution_id(leg_id: str, post: bool) -> str:
    """The id of the transfer that posts (or voids) a pending leg."""
    return f"{leg_id}/post" if post else f"{leg_id}/void"


def resolution_code(post: bool) -> str:
    return "portability.post" if post else "portability.void"


def resolution_flags(post: bool) -> TransferFlags:
    return TransferFlags.POST_PENDING if post else TransferFlags.VOID_PENDING


def resolution(leg_ids: Sequence[str], post: bool) -> list[PlannedTransfer]:
    """Post (or void) every pending leg of a flow: one linked unit, all or none. (The
    acknowledgement fast path writes the same rows from `resolution_id`, `resolution_flags`
    and `resolution_code`.)"""
    flags = resolution_flags(post)
    code = resolution_code(post)
    return [PlannedTransfer(resolution_id(leg, post), 0, 0, 0, Currency.USD, flags, leg,
                            code=code) for leg in leg_ids]


def payout_leg(flow_id: str, worker_id: str, home: str, target: Money) -> PlannedTransfer:
    """Paying the worker out of what the home fund received for them. Posted (not pending) in
    the acknowledgement's unit, after the legs that credit the worker: a pending credit does
    not count toward what a member account may pay out."""
    currency = target.currency
    return PlannedTransfer(f"{flow_id}/payout", portability_account(worker_id, home, currency),
                           payouts_account(home, currency), target.amount_minor, currency,
                           code="portability.payout")
