"""The funds' refund rules over arrays of workers, equal to the adapters' scalar rules.

Owns the vectorised Thai s33 old-age lump sum (`th_lump_sum`) and Japanese EPI lump-sum
withdrawal (`jp_lswp`, with the tax really due on it: `retirement_tax_due`). They read the
same dated parameters as `ledger/adapters/th_sso/old_age.py`, `ledger/adapters/jp_jps/lswp.py`
and `retirement_tax.py`, and take a worker's history as the sums those rules compute
from it (shares, Σ share × month index, Σ standard remuneration, months), which the engine keeps
instead of a month-by-month history. Scalar rule pieces that depend on a few values only (the
payment rate for a months factor, the parameters at a month) are called once per distinct value.
Eligibility is the engine's business (policy, claim behaviour); these compute amounts.
`tests/simulator/test_refunds.py` checks them against the adapters on many random histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ledger.adapters.arith import IntArray, percent, quantum_minor, round_div_array
from ledger.adapters.jp_jps import lswp
from ledger.adapters.jp_jps.params import (
    LSWP_AMOUNT_ROUNDING,
    LSWP_FACTOR_STEP,
    LSWP_MAX_MONTHS,
    LSWP_MIN_MONTHS,
    LSWP_WITHHOLDING,
    LSWP_WITHHOLDING_ROUNDING,
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
from ledger.adapters.registry import get_adapter
from ledger.adapters.th_sso.params import (
    BOTH_SHARES_MONTHS,
    QUANTUM,
    RETURN_RATE,
    ROUNDING,
    SLICE_SHARE,
)
from ledger.domain.money import Currency, Rounding
from ledger.domain.periods import Month

# One implementation of the rounding modes over arrays, shared with the adapters' rules.
round_div = round_div_array


def _scaled(values: IntArray, value: Fraction, rounding: Rounding, quantum: int) -> IntArray:
    """round(values × value) to `quantum` minor units, exactly."""
    num = values * np.int64(value.numerator)
    den = np.full(values.shape, value.denominator * quantum, dtype=np.int64)
    out: IntArray = round_div(num, den, rounding) * np.int64(quantum)
    return out


@dataclass(frozen=True, slots=True)
class ThLumpSum:
    contributions: IntArray
    investment_return: IntArray

    @property
    def gross(self) -> IntArray:
        out: IntArray = self.contributions + self.investment_return
        return out


def th_lump_sum(employee: IntArray, employer: IntArray, employee_months_sum: IntArray,
                employer_months_sum: IntArray, months: IntArray, claim: IntArray,
                start: Month, params: Parameters | None = None) -> ThLumpSum:
    """The s33 old-age lump sum (fewer than 180 months) as `old_age._lump_sum` computes it.

    `employee`/`employer`: Σ old-age shares; `*_months_sum`: Σ share × month index (month
    indexes and `claim` count from `start`); `months`: the number of old-age months, s33 and
    s39 together (`old_age.counted_months`)."""
    params = params or get_adapter("TH-SSO").parameters
    contributions = np.zeros(months.shape, dtype=np.int64)
    interest = np.zeros(months.shape, dtype=np.int64)
    # The parameters rarely change with the claim month: price each distinct set once.
    months_, inverse = np.unique(claim, return_inverse=True)
    keys = [_th_rule(params, start.plus(int(c))) for c in months_.tolist()]
    distinct = sorted(set(keys), key=keys.index)
    group = np.asarray([distinct.index(k) for k in keys], dtype=np.int64)[inverse.reshape(-1)]
    for g, (share, rounding, quantum, both_min, annual) in enumerate(distinct):
        rows = np.flatnonzero(group == g)
        both = months[rows] >= both_min
        total = np.where(both, employee[rows] + employer[rows], employee[rows])
        contributions[rows] = _scaled(total, share, rounding, quantum)
        if annual:
            # Σ_r share_r × (claim - m_r) = claim × Σ share - Σ share × m, over both payers.
            weighted = claim[rows] * (employee[rows] + employer[rows]) - (
                employee_months_sum[rows] + employer_months_sum[rows])
            interest[rows] = np.where(both, _scaled(weighted, share * annual / 12, rounding,
                                                    quantum), 0)
    return ThLumpSum(contributions, interest)


def _th_rule(params: Parameters, month: Month) -> tuple[Fraction, Rounding, int, int, Fraction]:
    quantum = quantum_minor(params.at(QUANTUM, month), Currency.THB.exponent)
    return (Fraction(params.at(SLICE_SHARE, month)), params.at(ROUNDING, month), quantum,
            params.at(BOTH_SHARES_MONTHS, month), percent(params.at(RETURN_RATE, month)))


@dataclass(frozen=True, slots=True)
class JpLswp:
    eligible: IntArray  # 1 where the scheme has the minimum months, else 0
    gross: IntArray
    withheld: IntArray  # 20.42%, paid to the tax office at once
    refund: IntArray  # withheld less the tax really due: reclaimed later through a tax agent

    @property
    def paid_now(self) -> IntArray:
        out: IntArray = self.gross - self.withheld
        return out


def jp_lswp(standard_sum: IntArray, months: IntArray, last: IntArray, claim: IntArray,
            start: Month, params: Parameters | None = None) -> JpLswp:
    """The EPI lump-sum withdrawal as `lswp.epi_lswp` computes it.

    `standard_sum`: Σ standard monthly remuneration (and bonuses); `last`: index of the last
    insured month; `claim`: index of the claim month (tax law of the payment)."""
    params = params or get_adapter("JP-JPS").parameters
    gross = np.zeros(months.shape, dtype=np.int64)
    withheld = np.zeros(months.shape, dtype=np.int64)
    refund = np.zeros(months.shape, dtype=np.int64)
    eligible = np.zeros(months.shape, dtype=np.int64)
    for c in np.unique(claim).tolist():
        eligible[claim == c] = months[claim == c] >= params.at(LSWP_MIN_MONTHS, start.plus(c))
    # One group per (last insured month, claim month): a 1-D key is much faster to unique.
    span = int(claim.max(initial=0)) + 1
    keys = last * np.int64(span) + claim
    for key in np.unique(keys).tolist():
        last_i, c = divmod(int(key), span)
        rows = np.flatnonzero((keys == key) & (eligible == 1))
        if rows.size == 0:
            continue
        last_month, paid = start.plus(last_i), start.plus(c)
        step = params.at(LSWP_FACTOR_STEP, last_month)
        factors = np.minimum(months[rows] // step * step, params.at(LSWP_MAX_MONTHS, last_month))
        withholding = percent(params.at(LSWP_WITHHOLDING, paid))
        for factor in np.unique(factors).tolist():
            sub = rows[factors == factor]
            rate = lswp.payment_rate(params, int(factor), last_month)
            den = months[sub] * np.int64(rate.denominator)
            g = round_div(standard_sum[sub] * np.int64(rate.numerator), den,
                          params.at(LSWP_AMOUNT_ROUNDING, last_month))
            gross[sub] = g
            withheld[sub] = _scaled(g, withholding,
                                    params.at(LSWP_WITHHOLDING_ROUNDING, paid), 1)
            due = retirement_tax_due(params, g, months[sub], paid)
            refund[sub] = np.maximum(withheld[sub] - due, 0)
    return JpLswp(eligible, gross, withheld, refund)


def retirement_tax_due(params: Parameters, gross: IntArray, months: IntArray,
                       paid: Month) -> IntArray:
    """The tax really due on each lump sum, as `jp_jps/retirement_tax.retirement_tax` computes
    it (income tax and surtax), for payments made in `paid`."""
    years = round_div(months, np.int64(12), params.at(SERVICE_YEARS_ROUNDING, paid))
    deduction = np.maximum(years * np.int64(params.at(RETIREMENT_DEDUCTION_PER_YEAR, paid)),
                           np.int64(params.at(RETIREMENT_DEDUCTION_MIN, paid)))
    above = np.maximum(gross - deduction, 0)
    ratio = Fraction(params.at(RETIREMENT_TAXABLE_RATIO, paid))
    limit = np.int64(params.at(RETIREMENT_SHORT_SERVICE_HALF_LIMIT, paid))
    short = years <= params.at(RETIREMENT_SHORT_SERVICE_YEARS_MAX, paid)
    # The taxable income times the ratio's denominator, exactly; then down to the step.
    scaled = np.where(short,
                      np.minimum(above, limit) * np.int64(ratio.numerator)
                      + np.maximum(above - limit, 0) * np.int64(ratio.denominator),
                      above * np.int64(ratio.numerator))
    step = np.int64(params.at(RETIREMENT_TAXABLE_STEP, paid))
    taxable = scaled // (np.int64(ratio.denominator) * step) * step
    tax = np.zeros(gross.shape, dtype=np.int64)
    for lower, rate, less in params.at(TAX_BRACKETS, paid):
        r = percent(rate)
        band = (taxable > lower) | (lower == 0)
        tax = np.where(band, taxable * np.int64(r.numerator) // np.int64(r.denominator) - less,
                       tax)
    tax = np.where(taxable == 0, 0, tax)
    surtax_rate = percent(params.at(SURTAX_RATE, paid))
    surtax = round_div(tax * np.int64(surtax_rate.numerator),
                       np.full(tax.shape, surtax_rate.denominator, dtype=np.int64),
                       params.at(SURTAX_ROUNDING, paid))
    out: IntArray = tax + surtax
    return out
