"""The Thai s33 old-age benefit: a pension from 180 months, a lump sum below (funds.md §1.4).

- under 12 months: the worker's own old-age contributions;
- 12 to 179 months: the worker's and the employer's old-age contributions plus an investment
  return (the SSO declares one each year; here an annual rate, simple interest by whole months
  from each contribution month to the claim month, a parameter);
- 180 months or more: a pension of 20% of the average wage base of the last 60 months (capped at
  the ceiling) plus 1.5% for each full 12 months beyond 180.

Only the `s33-old-age` branch counts (the 3% "old age + child allowance" slice; the part that is
old-age savings is the parameter `old_age_share_of_slice`, unverified). Conditions: age 55 and
insured status ended; "claimable only at 55" is the working assumption (unverified), and a
parameter can open the lump sum on departure for policy scenarios.
"""

from __future__ import annotations

from fractions import Fraction

from ledger.adapters.arith import fraction_text, percent, quantum_minor, round_fraction
from ledger.adapters.parameters import Parameters
from ledger.adapters.refunds import (
    BenefitKind,
    Claim,
    History,
    MonthRecord,
    Payment,
    RefundResult,
    not_eligible,
    share_total,
)
from ledger.adapters.th_sso.params import (
    AVERAGE_MONTHS,
    BOTH_SHARES_MONTHS,
    CEILING,
    CLAIM_AGE,
    LUMP_SUM_ON_DEPARTURE,
    PENSION_MONTHS,
    PENSION_RATE,
    PENSION_STEP_MONTHS,
    PENSION_STEP_RATE,
    QUANTUM,
    REQUIRES_STATUS_ENDED,
    RETURN_RATE,
    ROUNDING,
    SLICE_SHARE,
)
from ledger.domain.funds import Payer
from ledger.domain.money import Money

FUND = "TH-SSO"
SCHEME = "s33-old-age"

def ineligibility(params: Parameters, records: tuple[MonthRecord, ...], claim: Claim) -> list[str]:
    """Every unmet condition (empty: eligible)."""
    month = claim.claim_month
    reasons = []
    if not records:
        reasons.append("no s33 old-age contributions")
    age = params.at(CLAIM_AGE, month)
    departed = params.at(LUMP_SUM_ON_DEPARTURE, month) and claim.left_country_month is not None
    if claim.age_years is None and not departed:
        reasons.append("age is unknown")
    elif claim.age_years is not None and claim.age_years < age and not departed:
        reasons.append(f"age {claim.age_years} is under {age}")
    if params.at(REQUIRES_STATUS_ENDED, month) and not claim.insured_status_ended:
        reasons.append("insured status under s33 has not ended")
    return reasons


def old_age_benefit(params: Parameters, history: History, claim: Claim) -> RefundResult:
    records = history.active({SCHEME})
    reasons = ineligibility(params, records, claim)
    if reasons:
        raise not_eligible(FUND, reasons)
    if len(records) >= params.at(PENSION_MONTHS, claim.claim_month):
        return _pension(params, history, records, claim)
    return _lump_sum(params, history, records, claim)


def _money(params: Parameters, history: History, value: Fraction, claim: Claim) -> Money:
    month = claim.claim_month
    quantum = quantum_minor(params.at(QUANTUM, month), history.currency.exponent)
    return Money(round_fraction(value, params.at(ROUNDING, month), quantum), history.currency)


def _lump_sum(
    params: Parameters, history: History, records: tuple[MonthRecord, ...], claim: Claim
) -> RefundResult:
    month = claim.claim_month
    share = Fraction(params.at(SLICE_SHARE, month))
    both = len(records) >= params.at(BOTH_SHARES_MONTHS, month)
    payers = (Payer.EMPLOYEE, Payer.EMPLOYER) if both else (Payer.EMPLOYEE,)
    payments = [Payment("contributions",
                        _money(params, history, share_total(records, payers) * share, claim))]
    annual = percent(params.at(RETURN_RATE, month))
    if both and annual:
        # Simple interest by whole months elapsed; rounded once, at the end.
        interest = sum(
            (share_total((r,), payers) * share * annual * r.month.months_until(month) / 12
             for r in records),
            Fraction(0),
        )
        payments.append(Payment("investment_return", _money(params, history, interest, claim)))
    gross = Money(sum(p.amount.amount_minor for p in payments), history.currency)
    return RefundResult(
        FUND, SCHEME, BenefitKind.LUMP_SUM, gross, tuple(payments),
        tuple(r.month for r in records),
        {"months": str(len(records)), "shares": "+".join(payers),
         "share_of_slice": fraction_text(share),
         "return_rate_annual": fraction_text(annual * 100) + "%"},
    )


def _pension(
    params: Parameters, history: History, records: tuple[MonthRecord, ...], claim: Claim
) -> RefundResult:
    month = claim.claim_month
    last = records[-params.at(AVERAGE_MONTHS, month):]
    ceiling = int(params.at(CEILING, last[-1].month).scaleb(history.currency.exponent))
    average = min(Fraction(sum(r.wage_base_minor for r in last), len(last)), Fraction(ceiling))
    steps = (len(records) - params.at(PENSION_MONTHS, month)) // params.at(PENSION_STEP_MONTHS,
                                                                           month)
    rate = percent(params.at(PENSION_RATE, month)) + steps * percent(
        params.at(PENSION_STEP_RATE, month))
    monthly = _money(params, history, average * rate, claim)
    return RefundResult(
        FUND, SCHEME, BenefitKind.PENSION, monthly, (Payment("monthly_pension", monthly),),
        tuple(r.month for r in records),
        {"months": str(len(records)), "average_wage_minor": fraction_text(average),
         "rate": fraction_text(rate * 100) + "%"},
    )
