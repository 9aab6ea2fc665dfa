"""The Vietnamese one-time social-insurance withdrawal (BHXH một lần), funds.md §1.3.

Amount: per contribution year, 1.5 months of the average insured salary for years before 2014
and 2 months for years from 2014. Under one year in all: the contributions actually paid (every
payer's share of retirement & survivorship), capped at 2 months of the average salary.
Years are counted from months: odd months before 2014 join the period from 2014, and an odd
remainder of 1-6 months counts as half a year, 7-11 as a full year (Circular 59/2015, general
knowledge: the parameter `odd_months` can switch to exact months / 12). The average is the plain
average of the insured wages: the official revaluation of past wages by a price index is not
modelled.
Conditions by claim month: before July 2025 (Law 58/2014) one year after stopping with fewer
than 20 years, retirement age with fewer than 20 years, emigrating, severe illness; from July 2025
(Law 41/2024) a pension needs 15 years, and people first insured from July 2025 may withdraw
only at retirement age with fewer than 15 years, on emigrating, for severe illness or 81%+
incapacity. The reason is the claimant's assertion (`Claim.reason`); years and waiting time are
checked here. The withdrawal pays for, and erases, every retirement & survivorship month.
"""

from __future__ import annotations

from fractions import Fraction

from ledger.adapters.arith import fraction_text, round_fraction
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
from ledger.adapters.vn_vss.params import (
    ROUNDING,
    WITHDRAWAL_ACCRUAL,
    WITHDRAWAL_CONDITIONS,
    OddMonths,
    WithdrawalAccrual,
)
from ledger.domain.money import Money
from ledger.domain.periods import Month

FUND = "VN-VSS"
SCHEME = "retirement-survivorship"


def ineligibility(params: Parameters, records: tuple[MonthRecord, ...], claim: Claim) -> list[str]:
    if not records:
        return ["no retirement & survivorship contributions"]
    conditions = params.at(WITHDRAWAL_CONDITIONS, claim.claim_month)
    grounds = conditions.reasons
    new_from = conditions.new_entrant_from
    if new_from is not None and records[0].month >= Month.parse(new_from):
        grounds = conditions.new_entrant_reasons
    rule = grounds.get(claim.reason or "")
    if rule is None:
        return [f"reason {claim.reason!r} does not open a withdrawal; "
                f"allowed: {', '.join(sorted(grounds))}"]
    reasons = []
    if rule.max_years is not None and len(records) >= rule.max_years * 12:
        reasons.append(f"{len(records)} months of contributions: {rule.max_years} years or more "
                       "leads to a pension, not a withdrawal")
    waited = records[-1].month.months_until(claim.claim_month)
    if waited < rule.waiting_months:
        reasons.append(f"only {max(waited, 0)} months since the last contribution, "
                       f"{rule.waiting_months} needed")
    return reasons


def contribution_years(accrual: WithdrawalAccrual, records: tuple[MonthRecord, ...]
                       ) -> tuple[Fraction, Fraction]:
    """(years before the split month, years from it), odd months handled as the rule says."""
    split = Month.parse(accrual.split_month)
    before = sum(1 for r in records if r.month < split)
    after = len(records) - before
    if accrual.odd_months is OddMonths.EXACT:
        return Fraction(before, 12), Fraction(after, 12)
    if accrual.carry_odd_months_before_split:
        after += before % 12
        before -= before % 12
    return _banded(before), _banded(after)


def _banded(months: int) -> Fraction:
    whole, odd = divmod(months, 12)
    return whole + (Fraction(0) if odd == 0 else Fraction(1, 2) if odd <= 6 else Fraction(1))


def one_time_withdrawal(params: Parameters, history: History, claim: Claim) -> RefundResult:
    records = history.active({SCHEME})
    reasons = ineligibility(params, records, claim)
    if reasons:
        raise not_eligible(FUND, reasons)
    accrual = params.at(WITHDRAWAL_ACCRUAL, claim.claim_month)
    average = Fraction(sum(r.wage_base_minor for r in records), len(records))
    basis = {"months": str(len(records)), "average_salary": fraction_text(average)}
    if len(records) < 12:
        paid = sum(sum(r.shares_minor.values()) for r in records)
        amount = min(Fraction(paid), average * Fraction(accrual.under_one_year_cap_months))
        basis["rule"] = "under one year: contributions paid, capped"
    else:
        before, after = contribution_years(accrual, records)
        salary_months = (before * Fraction(accrual.months_per_year_before)
                         + after * Fraction(accrual.months_per_year_from))
        amount = average * salary_months
        basis |= {"years_before_split": fraction_text(before),
                  "years_from_split": fraction_text(after),
                  "salary_months": fraction_text(salary_months)}
    gross = Money(round_fraction(amount, params.at(ROUNDING, claim.claim_month)), history.currency)
    return RefundResult(FUND, SCHEME, BenefitKind.LUMP_SUM, gross, (Payment("lump_sum", gross),),
                        tuple(r.month for r in records), basis)
