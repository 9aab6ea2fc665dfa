"""Myanmar SSB contribution rules (funds.md §1.2): a percentage of the wage capped at 300,000 kyat.

Health and social care 2% + 2% (2.5% + 2.5% for a worker 60 or over when registering), employment
injury 1% employer. Together that is the "3% employer / 2% employee in practice" (at most 15,000
kyat a month) that payroll vendors quote; the two readings differ only for workers registered at
60 or over, and `rate_reading` picks one. The old-age, invalidity and survivors' branch and
unemployment are not operating (the domain registry refuses them); the employment-injury
surcharge to 1.5% is a sanction and is not modelled. No floor is applied (unverified).
`voluntary-abroad` (no operating product: an agreement option) assumes the law's self-employed
6% of a declared income between the minimum wage and the 300,000 ceiling, paid by the worker;
`migrant-welfare` is a placeholder yearly fee (`welfare.py`). Both are unverified.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ledger.adapters.arith import percent, quantum_minor
from ledger.adapters.base import FundAdapter, Plan, Share, shares_from_percent
from ledger.adapters.context import WorkerContext
from ledger.adapters.mm_ssb import ids
from ledger.adapters.mm_ssb.params import (
    ALL,
    CEILING,
    FLOOR,
    QUANTUM,
    RATE_READING,
    RATES,
    RATES_60_PLUS,
    ROUNDING,
    VOLUNTARY_FLOOR,
    VOLUNTARY_RATE,
    RateReading,
)
from ledger.adapters.voluntary_terms import VoluntaryTerms, payment_rule
from ledger.adapters.wagebase import Clamp
from ledger.adapters.welfare import SCHEME as WELFARE_SCHEME
from ledger.adapters.welfare import welfare_plan, welfare_terms
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.periods import Month

COMPULSORY = ("health-social-care", "employment-injury")
VOLUNTARY_ABROAD = "voluntary-abroad"


class MmSsbAdapter(FundAdapter):
    FUND_CODE = "MM-SSB"
    SCHEMES = (*COMPULSORY, VOLUNTARY_ABROAD, WELFARE_SCHEME)
    DECLARATION_SCHEMES = COMPULSORY
    PARAMS = ALL
    GROUP_COLUMNS = ("registered_at_60_or_over",)
    ID_KINDS = MappingProxyType({"member_number": ids.member_number})
    MEMBER_ID_KINDS = ("member_number",)

    def plan(self, scheme: str, month: Month, context: WorkerContext) -> Plan:
        p = self.parameters
        quantum = quantum_minor(p.at(QUANTUM, month), self.currency.exponent)
        if scheme == WELFARE_SCHEME:
            return welfare_plan(self, month, p.at(ROUNDING, month))
        if scheme == VOLUNTARY_ABROAD:
            shares = {Payer.VOLUNTARY: Share(percent(p.at(VOLUNTARY_RATE, month)))}
            return Plan(self._voluntary_clamp(month), shares, p.at(ROUNDING, month), quantum)
        table = p.at(RATES, month)
        uplift = p.at(RATE_READING, month) is RateReading.BRANCH_TABLE
        if uplift and context.registered_at_60_or_over:
            older = p.at(RATES_60_PLUS, month)
            table = {**table, **older}
        rates = table.get(scheme)
        if rates is None:
            raise DomainError(ErrorCode.PARAMETER_NOT_IN_FORCE,
                              f"no rates for {scheme} at {month}", field="scheme")
        clamp = Clamp(self.minor(p.at(FLOOR, month)), self.minor(p.at(CEILING, month)))
        return Plan(clamp, shares_from_percent(rates), p.at(ROUNDING, month), quantum)

    def _voluntary_clamp(self, month: Month) -> Clamp:
        p = self.parameters
        return Clamp(self.minor(p.at(VOLUNTARY_FLOOR, month)), self.minor(p.at(CEILING, month)))

    def voluntary_terms(self, scheme: str, month: Month) -> VoluntaryTerms | None:
        if scheme == VOLUNTARY_ABROAD:
            clamp = self._voluntary_clamp(month)
            return VoluntaryTerms(payment_rule(self.parameters, scheme, month),
                                  income_floor_minor=clamp.floor,
                                  income_ceiling_minor=clamp.ceiling)
        if scheme == WELFARE_SCHEME:
            return welfare_terms(self, month)
        return None

    def context_from_fields(self, fields: Mapping[str, str]) -> WorkerContext:
        flag = fields.get("registered_at_60_or_over", "no").strip().lower()
        if flag not in ("yes", "no"):
            raise DomainError(ErrorCode.INVALID_INPUT, f"must be yes or no, got {flag!r}",
                              field="registered_at_60_or_over")
        return WorkerContext(registered_at_60_or_over=flag == "yes")


ADAPTER = MmSsbAdapter
