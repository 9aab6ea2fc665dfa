"""Cambodia NSSF contribution rules (funds.md §1.1).

Occupational risk (0.8%) and health care (2.6%, employer only from 2018; 1.3 + 1.3 before) are a
percentage of a *contributory wage looked up from the wage's rank*, not of the wage itself. The
official table (nssf.gov.kh) has 22 ranks: rank 1 is "below 200,000" riel and counts as 200,000;
rank k (2..21) is "(200,000 + 50,000 (k-2)) + 1 up to 200,000 + 50,000 (k-1)" and counts as the
middle of its step (225,000, 275,000, ..., 1,175,000); rank 22 is "1,200,001 up" and counts as
1,200,000. So a wage maps to the rank whose lower bound it *exceeds*: exactly 200,000 is rank 1,
200,000.01 is rank 2, exactly 1,200,000 is rank 21 (1,175,000), anything above is rank 22.
Pension: the wage clamped to 400,000-1,200,000, at a total rate that steps up with the scheme's
age (4% in years 1-5 from October 2022, 8% in years 6-10, 10.75% after, then +2.75 points every
10 years), split 50/50. Amounts are rounded half up to the sen (see parameters.yaml).
Voluntary pension membership (Mercer): the member pays the whole total rate on a declared income
between the pension floor and ceiling (both assumed: parameters.yaml). `migrant-welfare` is a
placeholder welfare fund no product operates (`welfare.py`; an agreement may open it).
"""

from __future__ import annotations

from fractions import Fraction
from types import MappingProxyType

from ledger.adapters.arith import percent, quantum_minor
from ledger.adapters.base import FundAdapter, Plan, Share, shares_from_percent
from ledger.adapters.context import WorkerContext
from ledger.adapters.kh_nssf import ids
from ledger.adapters.kh_nssf.params import (
    ALL,
    HC_RATES,
    OR_RATES,
    PENSION_CEILING,
    PENSION_FLOOR,
    PENSION_SCHEDULE,
    PENSION_SPLIT,
    QUANTUM,
    RANK_FLOOR,
    RANKS,
    ROUNDING,
    VOLUNTARY_CEILING,
    VOLUNTARY_FLOOR,
    VOLUNTARY_SHARE,
)
from ledger.adapters.voluntary_terms import VoluntaryTerms, payment_rule
from ledger.adapters.wagebase import Clamp, Steps
from ledger.adapters.welfare import SCHEME as WELFARE_SCHEME
from ledger.adapters.welfare import welfare_plan, welfare_terms
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.periods import Month

COMPULSORY = ("occupational-risk", "health-care", "pension")
VOLUNTARY_PENSION = "voluntary-pension"


class KhNssfAdapter(FundAdapter):
    FUND_CODE = "KH-NSSF"
    SCHEMES = (*COMPULSORY, VOLUNTARY_PENSION, WELFARE_SCHEME)
    DECLARATION_SCHEMES = COMPULSORY
    PARAMS = ALL
    ID_KINDS = MappingProxyType({"member_number": ids.member_number})
    MEMBER_ID_KINDS = ("member_number",)

    def ranks(self, month: Month) -> Steps:
        """The rank table as steps; an unverified floor (200,000 or 400,000) lifts low ranks."""
        rows = self.parameters.at(RANKS, month).root
        floor = self.minor(self.parameters.at(RANK_FLOOR, month))
        return Steps(
            bounds=tuple(self.minor(r[1]) for r in rows[1:] if r[1] is not None),
            values=tuple(max(self.minor(r[2]), floor) for r in rows),
            lower_inclusive=False,  # "200,001-250,000": a wage must exceed the bound
        )

    def pension_total_rate(self, month: Month) -> Fraction:
        schedule = self.parameters.at(PENSION_SCHEDULE, month)
        start = Month.parse(schedule.scheme_start)
        if month < start:
            raise DomainError(ErrorCode.PARAMETER_NOT_IN_FORCE,
                              f"the pension scheme starts {start}, not {month}", field="month")
        year = start.months_until(month) // 12 + 1
        first, total = max(s for s in schedule.steps if s[0] <= year)
        if first == schedule.steps[-1][0]:  # past the listed steps: +increment every N years
            total += (year - first) // schedule.increment_every_years * schedule.increment
        return percent(total)

    def plan(self, scheme: str, month: Month, context: WorkerContext) -> Plan:
        p = self.parameters
        rounding = p.at(ROUNDING, month)
        quantum = quantum_minor(p.at(QUANTUM, month), self.currency.exponent)
        if scheme == WELFARE_SCHEME:
            return welfare_plan(self, month, rounding)
        if scheme == VOLUNTARY_PENSION:
            rate = self.pension_total_rate(month) * percent(p.at(VOLUNTARY_SHARE, month))
            return Plan(self._voluntary_clamp(month), {Payer.VOLUNTARY: Share(rate)}, rounding,
                        quantum)
        if scheme == "pension":
            total = self.pension_total_rate(month)
            shares = {payer: Share(total * percent(split))
                      for payer, split in p.at(PENSION_SPLIT, month).items() if split != 0}
            clamp = Clamp(self.minor(p.at(PENSION_FLOOR, month)),
                          self.minor(p.at(PENSION_CEILING, month)))
            return Plan(clamp, shares, rounding, quantum)
        rates = p.at(OR_RATES if scheme == "occupational-risk" else HC_RATES, month)
        return Plan(self.ranks(month), shares_from_percent(rates), rounding, quantum)

    def _voluntary_clamp(self, month: Month) -> Clamp:
        p = self.parameters
        return Clamp(self.minor(p.at(VOLUNTARY_FLOOR, month)),
                     self.minor(p.at(VOLUNTARY_CEILING, month)))

    def voluntary_terms(self, scheme: str, month: Month) -> VoluntaryTerms | None:
        if scheme == VOLUNTARY_PENSION:
            clamp = self._voluntary_clamp(month)
            return VoluntaryTerms(payment_rule(self.parameters, scheme, month),
                                  income_floor_minor=clamp.floor,
                                  income_ceiling_minor=clamp.ceiling)
        if scheme == WELFARE_SCHEME:
            return welfare_terms(self, month)
        return None


ADAPTER = KhNssfAdapter
