"""What a worker pays in the wallet currency for a contribution in the home-fund currency.

Owns the arithmetic of one channel payment, exact and with named roundings:

    principal = contribution / rate         wallet minor units, the agreement's FX rounding
    fee       = the channel's schedule       capped by the agreement (registry.Channel.fee)
    total     = principal + fee              what the worker pays, and the payment must carry
    fx_difference = principal × rate − contribution
                                             home minor units, the same rounding: the few units
                                             the rounding of the principal leaves over, posted
                                             to the channel's FX-difference account

`rate` is home units per wallet unit (major units), e.g. 700 VND per THB; it is locked when the
quote is made and the payment uses the quote's rate. Rounding goes through `round_ratio` on the
exact ratio (never a Decimal quotient), so it is the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ledger.channels.registry import Channel
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Currency, Money, Rounding
from ledger.settlement.agreement import ChannelTerms
from ledger.settlement.rounding import round_ratio


@dataclass(frozen=True, slots=True)
class FxRate:
    """A locked rate: `rate` units of `home` per unit of `wallet` (major units)."""

    wallet: Currency
    home: Currency
    rate: Decimal
    source: str
    rounding: Rounding
    # Home minor units per wallet minor unit, exactly (worked out once: a quote serves many).
    _ratio: Fraction = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.rate.is_finite() or self.rate <= 0:
            raise DomainError(ErrorCode.INVALID_RATE, f"a rate is a positive decimal, "
                              f"not {self.rate}", field="rate")
        object.__setattr__(self, "_ratio", Fraction(self.rate) * Fraction(10) ** (
            self.home.exponent - self.wallet.exponent))

    def principal_for(self, contribution: Money) -> Money:
        ratio = self._ratio
        return Money(round_ratio(contribution.amount_minor * ratio.denominator, ratio.numerator,
                                 self.rounding), self.wallet)

    def fx_difference(self, principal: Money, contribution: Money) -> Money:
        value = principal.amount_minor * self._ratio - contribution.amount_minor
        return Money(round_ratio(value.numerator, value.denominator, self.rounding), self.home)

    def wire(self) -> dict[str, Any]:
        return {"base": self.wallet.value, "quote": self.home.value, "rate": str(self.rate),
                "source": self.source, "rounding": self.rounding.value}


@dataclass(frozen=True, slots=True)
class Price:
    contribution: Money  # home currency: what the worker's payment credits at the fund
    principal: Money  # wallet currency: the contribution's value at the locked rate
    fee: Money  # wallet currency: the channel's fee
    fx_difference: Money  # home currency: principal × rate − contribution (rounding left over)
    rate: FxRate

    @property
    def total(self) -> Money:
        return self.principal + self.fee

    def wire(self) -> dict[str, Any]:
        return {"contribution": self.contribution.to_wire(),
                "principal": self.principal.to_wire(), "fee": self.fee.to_wire(),
                "total": self.total.to_wire(), "fx_difference": self.fx_difference.to_wire(),
                "rate": self.rate.wire()}

    def check_paid(self, paid: Money) -> None:
        """The payment must carry exactly the total the worker was shown."""
        if paid != self.total:
            raise DomainError(
                ErrorCode.INVALID_AMOUNT,
                f"at {self.rate.rate} {self.rate.home}/{self.rate.wallet} the contribution "
                f"{self.contribution} costs {self.principal} plus a fee of {self.fee}: "
                f"{self.total}, the payment carries {paid}",
                field="paid.amount_minor", details={"expected": self.total.to_wire()})


def price(contribution: Money, rate: FxRate, channel: Channel, terms: ChannelTerms) -> Price:
    """The price of a positive contribution in the home currency, paid in `rate.wallet`."""
    if contribution.currency is not rate.home:
        raise DomainError(ErrorCode.CURRENCY_MISMATCH,
                          f"the rate converts into {rate.home}, the contribution is in "
                          f"{contribution.currency}", field="contribution.currency")
    if contribution.amount_minor <= 0:
        raise DomainError(ErrorCode.INVALID_AMOUNT, "the contribution must be positive",
                          field="contribution.amount_minor")
    principal = rate.principal_for(contribution)
    return Price(contribution, principal, channel.fee(principal, terms),
                 rate.fx_difference(principal, contribution), rate)
