"""A country-of-origin migrant welfare fund: flat fees per contract or per year, and its benefits.

Vietnam has one (the Overseas Employment Support Fund, funds.md §1.3: 100,000 VND from the
worker and 150,000 VND from the sending firm per contract); Cambodia, Lao PDR and Myanmar have
none that funds.md found, so theirs are placeholders an agreement may open. Every home fund's
parameters.yaml holds one `migrant_welfare` value of this shape; the payment unit (contract or
year) is in its `voluntary_payment_rules` (`voluntary_terms.py`). The fees are priced as fixed
shares of a base equal to their sum, so a booked contribution shows the whole fee as its base.
The benefits are data for statements and channels; the hub pays none of them (they are the
welfare fund's own decisions).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.adapters.base import FundAdapter, Plan, Share
from ledger.adapters.parameters import Param, param
from ledger.adapters.voluntary_terms import Benefit, VoluntaryTerms, payment_rule
from ledger.adapters.wagebase import Fixed
from ledger.domain.funds import Payer
from ledger.domain.money import Rounding
from ledger.domain.periods import Month

SCHEME = "migrant-welfare"


class WelfareFund(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fees: dict[Payer, Decimal] = Field(min_length=1)  # per unit (contract or year), by payer
    benefits: tuple[Benefit, ...] = ()

    @model_validator(mode="after")
    def _positive(self) -> WelfareFund:
        if any(fee <= 0 for fee in self.fees.values()):
            raise ValueError("every fee must be positive (leave a payer out instead)")
        return self


# The handle every home fund's params.py lists (one key name across funds).
WELFARE: Param[WelfareFund] = param("migrant_welfare", "currency", WelfareFund)


def welfare_plan(adapter: FundAdapter, month: Month, rounding: Rounding) -> Plan:
    """Each payer's flat fee as a fixed share; the base is the fees' sum."""
    fund = adapter.parameters.at(WELFARE, month)
    fees = {payer: adapter.minor(fee) for payer, fee in fund.fees.items()}
    shares = {payer: Share(Fraction(0), fixed=fee) for payer, fee in fees.items()}
    return Plan(Fixed(sum(fees.values())), shares, rounding)


def welfare_terms(adapter: FundAdapter, month: Month) -> VoluntaryTerms:
    """The welfare fund's payment terms at `month`: its dated payment rule, no declared income,
    no insurance periods, and its benefits."""
    return VoluntaryTerms(payment_rule(adapter.parameters, SCHEME, month),
                          insurance_periods=False,
                          benefits=adapter.parameters.at(WELFARE, month).benefits)
