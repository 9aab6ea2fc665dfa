"""The tax really due on an EPI lump sum, and so what of the 20.42% withheld comes back.

JPS withholds 20.42% of the EPI lump-sum withdrawal payment. The payment is taxed as retirement
income (funds.md §1.5): a tax agent files a final return (選択課税 for non-residents) and the
difference between the withholding and the tax really due is refunded, within 5 years. That is
the whole 20.42% only when the retirement-income deduction covers the payment; a large payment
gets less back. Step by step, each step a dated parameter of `parameters.yaml`:

1. years of service: the insured months the payment is for, in years, a part year rounded up;
2. deduction: 400,000 yen a year, at least 800,000 (an LSWP is never for 10 years or more: ten
   insured years give a pension right, so the 700,000-a-year band past 20 years never applies);
3. taxable retirement income: half of the payment above the deduction; for a short service
   (5 years or less, from 2022) only the first 3,000,000 above it is halved; rounded down to
   1,000 yen;
4. income tax by the bracket table (rate × income − the bracket's deduction), plus the 2.1%
   reconstruction surtax on it, rounded down to the yen;
5. refund = withheld − tax due, never below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ledger.adapters.arith import percent, round_fraction
from ledger.adapters.jp_jps.params import (
    RETIREMENT_DEDUCTION_MIN,
    RETIREMENT_DEDUCTION_PER_YEAR,
    RETIREMENT_SHORT_SERVICE_HALF_LIMIT,
    RETIREMENT_SHORT_SERVICE_YEARS_MAX,
    RETIREMENT_TAXABLE_RATIO,
    RETIREMENT_TAXABLE_STEP,
    SERVICE_YEARS_ROUNDING,
    SURTAX_RATE,
    SURTAX_ROUNDING,
    TAX_BRACKETS,
)
from ledger.adapters.parameters import Parameters
from ledger.domain.periods import Month


@dataclass(frozen=True, slots=True)
class RetirementTax:
    service_years: int
    deduction: int
    taxable: int  # taxable retirement income, after halving and the 1,000-yen step
    income_tax: int
    surtax: int

    @property
    def due(self) -> int:
        return self.income_tax + self.surtax


def service_years(params: Parameters, months: int, paid: Month) -> int:
    return round_fraction(Fraction(months, 12), params.at(SERVICE_YEARS_ROUNDING, paid))


def taxable_income(params: Parameters, gross: int, years: int, paid: Month
                   ) -> tuple[int, int]:
    """(deduction, taxable retirement income) in yen."""
    deduction = max(int(params.at(RETIREMENT_DEDUCTION_PER_YEAR, paid)) * years,
                    int(params.at(RETIREMENT_DEDUCTION_MIN, paid)))
    above = max(gross - deduction, 0)
    ratio = Fraction(params.at(RETIREMENT_TAXABLE_RATIO, paid))
    if years <= params.at(RETIREMENT_SHORT_SERVICE_YEARS_MAX, paid):
        limit = int(params.at(RETIREMENT_SHORT_SERVICE_HALF_LIMIT, paid))
        value = min(above, limit) * ratio + max(above - limit, 0)
    else:
        value = above * ratio
    step = int(params.at(RETIREMENT_TAXABLE_STEP, paid))
    return deduction, int(value // step) * step  # "rounded down to 1,000 yen": never negative


def income_tax(params: Parameters, taxable: int, paid: Month) -> int:
    """The bracket table's quick formula: taxable × rate − the bracket's deduction."""
    rate, less = Fraction(0), 0
    for lower, bracket_rate, bracket_less in params.at(TAX_BRACKETS, paid):
        if taxable > lower or lower == 0:
            rate, less = percent(bracket_rate), int(bracket_less)
    if taxable == 0:
        return 0
    return int(taxable * rate) - less  # taxable is a multiple of 1,000: whole yen


def retirement_tax(params: Parameters, gross: int, months: int, paid: Month) -> RetirementTax:
    """The tax really due on a lump sum of `gross` yen for `months` insured months, paid in
    `paid` (the law of the payment's month)."""
    years = service_years(params, months, paid)
    deduction, taxable = taxable_income(params, gross, years, paid)
    tax = income_tax(params, taxable, paid)
    surtax = round_fraction(tax * percent(params.at(SURTAX_RATE, paid)),
                            params.at(SURTAX_ROUNDING, paid))
    return RetirementTax(years, deduction, taxable, tax, surtax)
