"""Malaysia SOCSO contribution rules for foreign workers (funds.md §1.6).

Foreign workers are covered by the Employment Injury Scheme only (Act 4, from 1 January 2019):
the employer pays 1.25% of the insured wage, capped at the ceiling; the worker pays nothing.
There is no invalidity or old-age scheme for them, so nothing is portable and nothing is refunded.
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType

from ledger.adapters.base import FundAdapter, Plan, shares_from_percent
from ledger.adapters.context import WorkerContext
from ledger.adapters.my_socso import ids
from ledger.adapters.my_socso.params import ALL, CEILING, RATES, ROUNDING
from ledger.adapters.wagebase import Clamp
from ledger.domain.funds import Payer
from ledger.domain.periods import Month


class MySocsoAdapter(FundAdapter):
    FUND_CODE = "MY-SOCSO"
    SCHEMES = ("employment-injury",)
    DECLARATION_SCHEMES = SCHEMES
    PARAMS = ALL
    ID_KINDS = MappingProxyType({"member_number": ids.member_number})
    MEMBER_ID_KINDS = ("member_number",)

    def plan(self, scheme: str, month: Month, context: WorkerContext) -> Plan:
        p = self.parameters
        rates: dict[Payer, Decimal] = p.at(RATES, month)
        return Plan(Clamp(0, self.minor(p.at(CEILING, month))), shares_from_percent(rates),
                    p.at(ROUNDING, month))


ADAPTER = MySocsoAdapter
