"""Lao PDR LSSO contribution rules (funds.md §1.6).

Private-sector employees: employer 6% + employee 5.5% = 11.5% of the wage raised to the minimum
wage (2,500,000 kip) and cut at the ceiling (4,500,000 kip from January 2017), in one scheme
(`social-security`): the split by branch is unverified. Kip amounts are kept in att (ISO minor
unit), rounded half up (unverified). The voluntary scheme for people outside formal employment
(`voluntary`): an assumed 9% of a declared income between the same floor and ceiling, paid by the
member. `migrant-welfare` is a placeholder welfare fund no product operates (`welfare.py`; an
agreement may open it). No withdrawal is modelled.
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from ledger.adapters.arith import percent, quantum_minor
from ledger.adapters.base import FundAdapter, Plan, Share, shares_from_percent
from ledger.adapters.context import WorkerContext
from ledger.adapters.la_lsso import ids
from ledger.adapters.la_lsso.params import (
    ALL,
    CEILING,
    FLOOR,
    QUANTUM,
    RATES,
    ROUNDING,
    VOLUNTARY_RATE,
)
from ledger.adapters.voluntary_terms import VoluntaryTerms, payment_rule
from ledger.adapters.wagebase import Clamp
from ledger.adapters.welfare import SCHEME as WELFARE_SCHEME
from ledger.adapters.welfare import welfare_plan, welfare_terms
from ledger.domain.funds import Payer
from ledger.domain.periods import Month

COMPULSORY = "social-security"
VOLUNTARY = "voluntary"


class LaLssoAdapter(FundAdapter):
    FUND_CODE = "LA-LSSO"
    SCHEMES = (COMPULSORY, VOLUNTARY, WELFARE_SCHEME)
    DECLARATION_SCHEMES = (COMPULSORY,)
    PARAMS = ALL
    ID_KINDS = MappingProxyType({"member_number": ids.member_number})
    MEMBER_ID_KINDS = ("member_number",)

    def plan(self, scheme: str, month: Month, context: WorkerContext) -> Plan:
        p = self.parameters
        rounding = p.at(ROUNDING, month)
        if scheme == WELFARE_SCHEME:
            return welfare_plan(self, month, rounding)
        quantum = quantum_minor(p.at(QUANTUM, month), self.currency.exponent)
        if scheme == VOLUNTARY:
            shares = {Payer.VOLUNTARY: Share(percent(p.at(VOLUNTARY_RATE, month)))}
        else:
            rates: dict[Payer, Decimal] = p.at(RATES, month)
            shares = shares_from_percent(rates)
        return Plan(self.clamp(month), shares, rounding, quantum)

    def clamp(self, month: Month) -> Clamp:
        """The minimum wage to the ceiling: employees' wages and voluntary incomes alike."""
        p = self.parameters
        return Clamp(self.minor(p.at(FLOOR, month)), self.minor(p.at(CEILING, month)))

    def voluntary_terms(self, scheme: str, month: Month) -> VoluntaryTerms | None:
        if scheme == VOLUNTARY:
            clamp = self.clamp(month)
            return VoluntaryTerms(payment_rule(self.parameters, scheme, month),
                                  income_floor_minor=clamp.floor,
                                  income_ceiling_minor=clamp.ceiling)
        if scheme == WELFARE_SCHEME:
            return welfare_terms(self, month)
        return None


ADAPTER = LaLssoAdapter
