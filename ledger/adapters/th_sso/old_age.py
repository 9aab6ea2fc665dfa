"""The Thai old-age benefit (s33 and s39): a pension from 180 months, a lump sum below
(funds.md §1.4: "Old age (s33/s39)").

The months of s33 (employed) and s39 (voluntary continuation) count together: one old-age
insurance, continued. 170 s33 months and 12 s39 months are 182 months, a pension. A month paid
under both (which the SSO would not allow) counts once, with its s33 record.

- under 12 months: the worker's own old-age contributions;
- 12 to 179 months: the worker's and the employer's old-age contributions plus an investment
  return (the SSO declares one each year; here an annual rate, simple interest by whole months
  from each contribution month to the claim month, a parameter);
- 180 months or more: a pension of 20% of the average wage base of the last 60 months (capped at
  the ceiling) plus 1.5% for each full 12 months beyond 180.

The lump sum's money is the s33 `s33-old-age` branch (the 3% "old age + child allowance" slice;
the part that is old-age savings is the parameter `old_age_share_of_slice`, unverified). The
old-age part of the s39 432 THB is not sourced (funds.md §1.4 gives the 9% whole), so s39 months
count towards the thresholds and the pension, and add nothing to the lump sum's money: the rule
understates, never overstates. The pension averages the wage base of the last 60 counted months
(4,800 THB for an s39 month).

Conditions: age 55 and insured status ended; a claim within the claim window (24 months) of the
month the right arose, when the claim says which (`Claim.entitled_month`). "Claimable only at
55" is the working assumption (unverified), and a parameter can open the lump sum on departure
for policy scenarios.
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
    CLAIM_WINDOW,
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
from ledger.domain.periods import Month

FUND = "TH-SSO"
SCHEME = "s33-old-age"
S39 = "s39-voluntary"
COUNTED = (SCHEME, S39)  # one old-age insurance: employed (s33), then continued (s39)

def ineligibility(params: Parameters, records: tuple[MonthRecord, ...], claim: Claim) -> list[str]:
    """Every unmet condition (empty: eligible)."""
    month = claim.claim_month
    reasons = []
    if not records:
        reasons.append("no s33 or s39 old-age contributions")
    age = params.at(CLAIM_AGE, month)
    departed = params.at(LUMP_SUM_ON_DEPARTURE, month) and claim.left_country_month is not None
    if claim.age_years is None and not departed:
        reasons.append("age is unknown")
    elif claim.age_years is not None and claim.age_years < age and not departed:
        reasons.append(f"age {claim.age_years} is under {age}")
    if params.at(REQUIRES_STATUS_ENDED, month) and not claim.insured_status_ended:
        reasons.append("insured status under s33 has not ended")
    entitled = claim.entitled_month
    window = params.at(CLAIM_WINDOW, month)
    if entitled is not None and entitled.months_until(month) > window:
        reasons.append(f"claimed {entitled.months_until(month)} months after the right arose "
                       f"({entitled}): the claim window is {window} months")
    return reasons


def counted_months(history: History) -> tuple[MonthRecord, ...]:
    """One record per month of old-age insurance, s33 and s39 together, in month order."""
    by_month: dict[Month, MonthRecord] = {}
    for record in history.active(COUNTED):
        if record.month not in by_month or record.scheme == SCHEME:
            by_month[record.month] = record
    return tuple(by_month[m] for m in sorted(by_month))


def old_age_benefit(params: Parameters, history: History, claim: Claim) -> RefundResult:
    records = counted_months(history)
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
    s33 = tuple(r for r in records if r.scheme == SCHEME)  # s39 money: see the docstring
    payments = [Payment("contributions",
                        _money(params, history, share_total(s33, payers) * share, claim))]
    annual = percent(params.at(RETURN_RATE, month))
    if both and annual:
        # Simple interest by whole months elapsed; rounded once, at the end.
        interest = sum(
            (share_total((r,), payers) * share * annual * r.month.months_until(month) / 12
             for r in s33),
            Fraction(0),
        )
        payments.append(Payment("investment_return", _money(params, history, interest, claim)))
    gross = Money(sum(p.amount.amount_minor for p in payments), history.currency)
    return RefundResult(
        FUND, SCHEME, BenefitKind.LUMP_SUM, gross, tuple(payments),
        tuple(r.month for r in records),
        {"months": str(len(records)), "s39_months": str(len(records) - len(s33)),
         "shares": "+".join(payers),
         "share_of_slice": fraction_text(share),
         "return_rate_annual": fraction_text(annual * 100) + "%"},
    )


def _average_and_rate(params: Parameters, history: History, records: tuple[MonthRecord, ...],
                      months: int, month: Month) -> tuple[Fraction, Fraction]:
    """The capped average wage base of the last 60 counted months, and the rate `months` give."""
    last = records[-params.at(AVERAGE_MONTHS, month):]
    ceiling = int(params.at(CEILING, last[-1].month).scaleb(history.currency.exponent))
    average = min(Fraction(sum(r.wage_base_minor for r in last), len(last)), Fraction(ceiling))
    steps = (months - params.at(PENSION_MONTHS, month)) // params.at(PENSION_STEP_MONTHS, month)
    rate = percent(params.at(PENSION_RATE, month)) + steps * percent(
        params.at(PENSION_STEP_RATE, month))
    return average, rate


def theoretical_pension(params: Parameters, history: History, totalised_months: int,
                        claim: Claim) -> Money:
    """The monthly pension as if all `totalised_months` were Thai, on the Thai wage record
    (EU Reg 883/2004 Art 52(1)(b)(i)): what an agreement's pro-rata share is taken of. Needs
    Thai months of its own and totalised months at the pension threshold."""
    records = counted_months(history)
    month = claim.claim_month
    if not records or totalised_months < params.at(PENSION_MONTHS, month):
        raise not_eligible(FUND, [f"{totalised_months} totalised months give no pension"])
    average, rate = _average_and_rate(params, history, records, totalised_months, month)
    return _money(params, history, average * rate, claim)


def _pension(
    params: Parameters, history: History, records: tuple[MonthRecord, ...], claim: Claim
) -> RefundResult:
    month = claim.claim_month
    average, rate = _average_and_rate(params, history, records, len(records), month)
    monthly = _money(params, history, average * rate, claim)
    return RefundResult(
        FUND, SCHEME, BenefitKind.PENSION, monthly, (Payment("monthly_pension", monthly),),
        tuple(r.month for r in records),
        {"months": str(len(records)),
         "s39_months": str(sum(1 for r in records if r.scheme == S39)),
         "average_wage_minor": fraction_text(average),
         "rate": fraction_text(rate * 100) + "%"},
    )
