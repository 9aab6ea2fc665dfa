"""Vietnam Social Security contribution rules (funds.md §1.3).

Vietnamese employees: retirement & survivorship 14 / 8, sickness & maternity 3 / 0, occupational
accident 0.5 / 0, health insurance 3 / 1.5, unemployment 1 / 1 (employer / employee, percent).
The base is the declared wage, raised to the regional minimum wage of the worker's zone and
capped at 20 × the base salary (social and health insurance) or 20 × the regional minimum wage
(unemployment insurance). Foreign employees from July 2022: the same without unemployment.
Contract workers abroad: 22% into retirement & survivorship, all paid by the worker
(`Payer.EMPLOYEE`), on the last wage insured in Vietnam if any (context `prior_si_wage`), else
2 × the base salary; their declared wage is not used. `WorkerContext.regime` selects the regime
(default "employee"); employees need `zone`. Dong have no minor unit; amounts round half up.
The one-time withdrawal is in `withdrawal.py`.

Voluntary social insurance (from July 2025, Law 41/2024): 22% of the income the worker declares,
between the rural poverty line (1,500,000) and 20 × the base salary; for up to 10 years the
state pays a share of 22% of the floor (50% poor, 40% near-poor, 30% ethnic minorities, 20%
others: `WorkerContext.support_group`), which the worker does not pay (`Payer.GOVERNMENT` beside
`Payer.VOLUNTARY`). The Overseas Employment Support Fund (`migrant-welfare`): 100,000 dong from
the worker and 150,000 from the sending firm per contract (`welfare.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from ledger.adapters.arith import apply_rate, percent
from ledger.adapters.base import FundAdapter, Plan, Share, shares_from_percent
from ledger.adapters.context import WorkerContext
from ledger.adapters.refunds import Claim, History, RefundResult
from ledger.adapters.vn_vss import ids, withdrawal
from ledger.adapters.vn_vss.params import (
    ABROAD_BASE_MULTIPLE,
    ALL,
    BASE_SALARY,
    RATES,
    REGIONAL_MIN_WAGE,
    ROUNDING,
    SI_CAP_MULTIPLE,
    SUPPORT_MONTHS,
    SUPPORT_RATES,
    UI_CAP_MULTIPLE,
    VOLUNTARY_CEILING_MULTIPLE,
    VOLUNTARY_FLOOR,
    VOLUNTARY_RATE,
    Regime,
)
from ledger.adapters.voluntary_terms import VoluntaryTerms, payment_rule
from ledger.adapters.wagebase import Clamp, PriorOrFixed, WageBase
from ledger.adapters.welfare import SCHEME as WELFARE_SCHEME
from ledger.adapters.welfare import welfare_plan, welfare_terms
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.periods import Month

COMPULSORY = ("retirement-survivorship", "sickness-maternity", "occupational-accident",
              "health-insurance", "unemployment")
VOLUNTARY_SI = "voluntary-si"


class VnVssAdapter(FundAdapter):
    FUND_CODE = "VN-VSS"
    SCHEMES = (*COMPULSORY, VOLUNTARY_SI, WELFARE_SCHEME)
    DECLARATION_SCHEMES = COMPULSORY
    PARAMS = ALL
    GROUP_COLUMNS = ("zone",)
    ID_KINDS = MappingProxyType({"si_code": ids.si_code, "cccd": ids.cccd})
    MEMBER_ID_KINDS = ("si_code", "cccd")

    def plan(self, scheme: str, month: Month, context: WorkerContext) -> Plan:
        if scheme == VOLUNTARY_SI:
            return self._voluntary_si(month, context)
        if scheme == WELFARE_SCHEME:
            return welfare_plan(self, month, self.parameters.at(ROUNDING, month))
        regime = _regime(context)
        table = self.parameters.at(RATES, month)
        if regime not in table:
            raise DomainError(ErrorCode.PARAMETER_NOT_IN_FORCE,
                              f"no {regime} rates at {month}", field="regime")
        rates = table[regime].get(scheme, {})
        return Plan(self._base(scheme, month, regime, context), shares_from_percent(rates),
                    self.parameters.at(ROUNDING, month))

    def _base(self, scheme: str, month: Month, regime: Regime, context: WorkerContext) -> WageBase:
        p = self.parameters
        base_salary = p.at(BASE_SALARY, month)
        if regime is Regime.ABROAD:
            prior = context.prior_si_wage
            if prior is not None and prior.currency is not self.currency:
                raise DomainError(ErrorCode.CURRENCY_MISMATCH,
                                  "the prior insured wage must be in VND", field="prior_si_wage")
            return PriorOrFixed(self._whole(base_salary * p.at(ABROAD_BASE_MULTIPLE, month)))
        zones = p.at(REGIONAL_MIN_WAGE, month)
        zone = context.require_zone()
        if zone not in zones:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              f"zone must be one of {sorted(zones)}, got {zone}", field="zone")
        minimum = zones[zone]
        if scheme == "unemployment":
            cap = minimum * p.at(UI_CAP_MULTIPLE, month)
        else:
            cap = base_salary * p.at(SI_CAP_MULTIPLE, month)
        return Clamp(self._whole(minimum), self._whole(cap))

    def _voluntary_si(self, month: Month, context: WorkerContext) -> Plan:
        p = self.parameters
        rate, rounding = percent(p.at(VOLUNTARY_RATE, month)), p.at(ROUNDING, month)
        floor = self.minor(p.at(VOLUNTARY_FLOOR, month))
        support = 0
        if context.support_group is not None:
            groups = p.at(SUPPORT_RATES, month)
            share = groups.get(context.support_group)
            if share is None:
                raise DomainError(ErrorCode.INVALID_INPUT,
                                  f"support_group must be one of {', '.join(groups)}, "
                                  f"got {context.support_group!r}", field="support_group")
            support = apply_rate(floor, rate * percent(share), rounding)
        shares = {Payer.VOLUNTARY: Share(rate, fixed=-support)}
        if support:
            shares[Payer.GOVERNMENT] = Share(Fraction(0), fixed=support)
        return Plan(Clamp(floor, self._voluntary_ceiling(month)), shares, rounding)

    def _voluntary_ceiling(self, month: Month) -> int:
        p = self.parameters
        return self._whole(p.at(BASE_SALARY, month) * p.at(VOLUNTARY_CEILING_MULTIPLE, month))

    def voluntary_terms(self, scheme: str, month: Month) -> VoluntaryTerms | None:
        if scheme == VOLUNTARY_SI:
            p = self.parameters
            groups: dict[str, Decimal] = p.at(SUPPORT_RATES, month)
            return VoluntaryTerms(
                payment_rule(self.parameters, scheme, month),
                income_floor_minor=self.minor(p.at(VOLUNTARY_FLOOR, month)),
                income_ceiling_minor=self._voluntary_ceiling(month),
                support_months_max=p.at(SUPPORT_MONTHS, month),
                support_groups=tuple(groups),
            )
        if scheme == WELFARE_SCHEME:
            return welfare_terms(self, month)
        return None

    def _whole(self, amount: Decimal) -> int:
        # A multiple (20 ×, 2 ×) of a whole-dong amount is whole; a fractional multiple is not.
        if amount != amount.to_integral_value():
            raise DomainError(ErrorCode.INVALID_PARAMETERS,
                              f"{amount} VND is not a whole amount (check the multiples)")
        return self.minor(amount)

    def context_from_fields(self, fields: Mapping[str, str]) -> WorkerContext:
        regime = fields.get("regime", "").strip() or None
        zone_text = fields.get("zone", "").strip()
        if not zone_text:
            return WorkerContext(regime=regime)
        if not zone_text.isdigit():
            raise DomainError(ErrorCode.INVALID_INPUT, f"zone must be 01-04, got {zone_text!r}",
                              field="zone")
        return WorkerContext(regime=regime, zone=int(zone_text))

    def withdrawal(self, history: History, claim: Claim) -> tuple[RefundResult, ...]:
        return (withdrawal.one_time_withdrawal(self.parameters, history, claim),)


def _regime(context: WorkerContext) -> Regime:
    try:
        return Regime(context.regime or Regime.EMPLOYEE)
    except ValueError:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"regime must be one of {', '.join(Regime)}, got {context.regime!r}",
            field="regime",
        ) from None


ADAPTER = VnVssAdapter
