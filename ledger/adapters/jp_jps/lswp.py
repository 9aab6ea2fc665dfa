"""The Japanese Lump-sum Withdrawal Payment (脱退一時金), EPI and National Pension (funds.md §1.5).

EPI: average standard remuneration × payment rate, where
  average = (Σ standard monthly remuneration + Σ standard bonus) ÷ insured months, and
  payment rate = premium rate × ½ × months factor, rounded half up to one decimal, as JPS
  publishes it (0.5, 1.1, 1.6, 2.2, 2.7, 3.3, 3.8, 4.4, 4.9, 5.5 for 6 ... 60 months). The
  premium rate is the one in force in October of the year before the last insured month.
  20.42% is withheld: the worker gets the rest now. The tax really due on it as retirement
  income (`retirement_tax.py`) is usually less: the difference is a separate receivable, the
  tax refund, reclaimed later through a tax agent within 5 years. It is the whole 20.42% only
  when the retirement-income deduction covers the payment.
NP: the premium of the fiscal year of the last paid month × ½ × months factor; untaxed.
Months factor: months rounded down to a multiple of 6 (6-11 -> 6, 12-17 -> 12, ...), capped at the
dated cap for the last insured month (36; 60 from April 2021; 8 years from a date to be set).
The payment erases every period of the scheme, beyond the cap too: all of them are returned.
"""

from __future__ import annotations

from fractions import Fraction

from ledger.adapters.arith import fraction_text, percent, round_fraction
from ledger.adapters.jp_jps.params import (
    EPI_RATES,
    LSWP_AMOUNT_ROUNDING,
    LSWP_CLAIM_WINDOW,
    LSWP_FACTOR_STEP,
    LSWP_MAX_MONTHS,
    LSWP_MIN_MONTHS,
    LSWP_RATE_ROUNDING,
    LSWP_REENTRY_BAR,
    LSWP_WITHHOLDING,
    LSWP_WITHHOLDING_ROUNDING,
    NP_PREMIUM,
    TAX_REFUND_CLAIM_WINDOW,
)
from ledger.adapters.jp_jps.retirement_tax import retirement_tax
from ledger.adapters.parameters import Parameters
from ledger.adapters.refunds import (
    BenefitKind,
    Claim,
    History,
    MonthRecord,
    Payment,
    RefundResult,
    not_eligible,
)
from ledger.domain.money import Money
from ledger.domain.periods import Month

FUND = "JP-JPS"


def months_factor(params: Parameters, months: int, last: Month) -> int:
    step = params.at(LSWP_FACTOR_STEP, last)
    return min(months // step * step, params.at(LSWP_MAX_MONTHS, last))


def payment_rate(params: Parameters, factor: int, last: Month) -> Fraction:
    """The EPI payment rate as JPS publishes it (e.g. 2.7 for 30 months at 18.3%)."""
    reference = Month(last.year - 1, 10)
    premium = percent(sum(params.at(EPI_RATES, reference).values()))
    rule = params.at(LSWP_RATE_ROUNDING, last)
    scale = 10**rule.decimals
    return Fraction(round_fraction(premium / 2 * factor * scale, rule.rounding), scale)


def claim_ineligibility(params: Parameters, claim: Claim) -> list[str]:
    """Conditions on the claimant, whatever the scheme (empty: none unmet)."""
    reasons = []
    if not claim.foreign_national:
        reasons.append("the LSWP is for non-Japanese nationals")
    if claim.pension_entitled:
        reasons.append("was entitled to a Japanese pension")
    left = claim.left_country_month
    window = params.at(LSWP_CLAIM_WINDOW, claim.claim_month)
    if left is None:
        reasons.append("still has an address in Japan")
    elif claim.claim_month < left:
        reasons.append(f"claim month {claim.claim_month} is before leaving Japan ({left})")
    elif left.months_until(claim.claim_month) > window:
        reasons.append(f"claimed more than {window} months after leaving Japan ({left})")
    if params.at(LSWP_REENTRY_BAR, claim.claim_month) and claim.reentry_permit_valid:
        reasons.append("a re-entry permit is still valid")
    return reasons


def withdrawal(params: Parameters, history: History, claim: Claim) -> tuple[RefundResult, ...]:
    """One result per scheme with enough months (EPI, then NP)."""
    reasons = claim_ineligibility(params, claim)
    if reasons:
        raise not_eligible(FUND, reasons)
    results = []
    for scheme, rule in (("epi", epi_lswp), ("np", np_lswp)):
        records = history.active({scheme})
        needed = params.at(LSWP_MIN_MONTHS, claim.claim_month)
        if len(records) >= needed:
            results.append(rule(params, history, records, claim))
        else:
            reasons.append(f"{scheme}: {len(records)} insured months, {needed} needed")
    if not results:
        raise not_eligible(FUND, reasons)
    return tuple(results)


def epi_lswp(
    params: Parameters, history: History, records: tuple[MonthRecord, ...], claim: Claim
) -> RefundResult:
    last = records[-1].month
    factor = months_factor(params, len(records), last)
    rate = payment_rate(params, factor, last)
    average = Fraction(sum(r.wage_base_minor + r.bonus_minor for r in records), len(records))
    gross = round_fraction(average * rate, params.at(LSWP_AMOUNT_ROUNDING, last))
    paid = claim.claim_month  # tax is withheld at payment: the law of the claim's month
    withholding = percent(params.at(LSWP_WITHHOLDING, paid))
    withheld = round_fraction(gross * withholding, params.at(LSWP_WITHHOLDING_ROUNDING, paid))
    tax = retirement_tax(params, gross, len(records), paid)
    refund = max(withheld - tax.due, 0)
    cur = history.currency
    return RefundResult(
        FUND, "epi", BenefitKind.LUMP_SUM, Money(gross, cur),
        (Payment("lump_sum", Money(gross - withheld, cur)),
         Payment("tax_refund", Money(refund, cur), receivable=True)),
        tuple(r.month for r in records),
        {"months": str(len(records)), "months_factor": str(factor),
         "payment_rate": fraction_text(rate), "average_remuneration": fraction_text(average),
         "withholding_rate": fraction_text(withholding * 100) + "%",
         "tax_withheld": str(withheld), "service_years": str(tax.service_years),
         "retirement_deduction": str(tax.deduction), "taxable_income": str(tax.taxable),
         "tax_due": str(tax.due), "tax_refund": str(refund),
         "tax_refund_claim_window_months": str(params.at(TAX_REFUND_CLAIM_WINDOW, paid))},
    )


def np_lswp(
    params: Parameters, history: History, records: tuple[MonthRecord, ...], claim: Claim
) -> RefundResult:
    last = records[-1].month
    factor = months_factor(params, len(records), last)
    premium = params.at(NP_PREMIUM, last)  # dated by fiscal year: the FY of the last month
    gross = round_fraction(Fraction(premium) / 2 * factor, params.at(LSWP_AMOUNT_ROUNDING, last))
    amount = Money(gross, history.currency)
    return RefundResult(
        FUND, "np", BenefitKind.LUMP_SUM, amount, (Payment("lump_sum", amount),),
        tuple(r.month for r in records),
        {"months": str(len(records)), "months_factor": str(factor), "premium": str(premium)},
    )
