"""Japan Pension Service contribution rules: EPI (厚生年金) and National Pension (国民年金).

EPI: 9.15% employee + 9.15% employer of the standard monthly remuneration, the grade the
remuneration falls in (32 grades, 88,000-650,000 yen since Sep 2020). Pass the monthly
remuneration the grade is set from (the 算定基礎届 average, or a 月額変更届 amount); passing a
standard amount itself returns the same grade. Every standard amount is a multiple of 2,000 yen
and 2,000 × 9.15% = 183, so the shares are whole yen and no rounding ever applies.
National Pension (category 1): the flat premium of the fiscal year (from April), self-paid
(`Payer.VOLUNTARY`); it is reported as a 100% share of a base equal to the premium.
Lump-sum withdrawal payments are in `lswp.py`.
"""

from __future__ import annotations

from fractions import Fraction
from types import MappingProxyType

from ledger.adapters.base import FundAdapter, Plan, Share, shares_from_percent
from ledger.adapters.context import WorkerContext
from ledger.adapters.jp_jps import ids, lswp
from ledger.adapters.jp_jps.params import ALL, EPI_GRADES, EPI_RATES, NP_PREMIUM, ROUNDING
from ledger.adapters.refunds import Claim, History, RefundResult
from ledger.adapters.wagebase import Fixed, Steps
from ledger.domain.funds import Payer
from ledger.domain.periods import Month


class JpJpsAdapter(FundAdapter):
    FUND_CODE = "JP-JPS"
    SCHEMES = ("epi", "np")
    DECLARATION_SCHEMES = ("epi",)
    PARAMS = ALL
    ID_KINDS = MappingProxyType({
        "basic_pension_number": ids.basic_pension_number,
        "my_number": ids.my_number,
    })
    MEMBER_ID_KINDS = ("basic_pension_number", "my_number")

    def grades(self, month: Month) -> Steps:
        rows = self.parameters.at(EPI_GRADES, month).root
        return Steps(
            bounds=tuple(self.minor(r[1]) for r in rows[1:]),
            values=tuple(self.minor(r[2]) for r in rows),
            lower_inclusive=True,  # "93,000 yen or more, less than 101,000 yen"
        )

    def plan(self, scheme: str, month: Month, context: WorkerContext) -> Plan:
        rounding = self.parameters.at(ROUNDING, month)
        if scheme == "np":
            premium = self.minor(self.parameters.at(NP_PREMIUM, month))
            return Plan(Fixed(premium), {Payer.VOLUNTARY: Share(Fraction(1))}, rounding)
        rates = self.parameters.at(EPI_RATES, month)
        return Plan(self.grades(month), shares_from_percent(rates), rounding)

    def withdrawal(self, history: History, claim: Claim) -> tuple[RefundResult, ...]:
        return lswp.withdrawal(self.parameters, history, claim)


ADAPTER = JpJpsAdapter
