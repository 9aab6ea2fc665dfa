"""Thailand SSO contribution rules: s33 (employees), s39 (voluntary continuation), s40 (informal).

s33: a percentage of the actual wage clamped to the floor and the dated ceiling. The employer
declares one amount per side (5% today), rounded half up to `amount_quantum` (whole baht: 5% of
the 1,650 floor = 82.50 is the published minimum of 83); the hub books it in three branches. The
sickness and unemployment branches are rounded on their own to the satang, and the old-age branch
takes the rest, so the branches always add up to the declared amount exactly (and the old-age
balance carries the whole-baht rounding). s39: 9% of a fixed 4,800 THB, paid by the worker. s40:
the flat amount of the chosen option. The old-age benefit (pension or lump sum) is in
`old_age.py`.
"""

from __future__ import annotations

from fractions import Fraction
from types import MappingProxyType

from ledger.adapters.arith import percent, quantum_minor
from ledger.adapters.base import FundAdapter, Plan, Share
from ledger.adapters.context import WorkerContext
from ledger.adapters.refunds import Claim, History, RefundResult
from ledger.adapters.th_sso import ids, old_age
from ledger.adapters.th_sso.params import (
    ALL,
    CEILING,
    FLOOR,
    QUANTUM,
    ROUNDING,
    S33_RATES,
    S39_RATE,
    S39_WAGE,
    S40_OPTIONS,
)
from ledger.adapters.wagebase import Clamp, Fixed
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.periods import Month

S33_BRANCHES = ("s33-sickness", "s33-old-age", "s33-unemployment")
RESIDUAL_BRANCH = "s33-old-age"  # absorbs the rounding of the declared total (see above)
SATANG = 1  # the branches' rounding step, in minor units

class ThSsoAdapter(FundAdapter):
    FUND_CODE = "TH-SSO"
    SCHEMES = (*S33_BRANCHES, "s39-voluntary", "s40-informal")
    DECLARATION_SCHEMES = S33_BRANCHES
    PARAMS = ALL
    GROUP_COLUMNS = ("s40_option",)
    ID_KINDS = MappingProxyType({
        "national_id": ids.national_id,
        "employer_account": ids.employer_account,
        "branch": ids.branch,
    })
    MEMBER_ID_KINDS = ("national_id",)

    def plan(self, scheme: str, month: Month, context: WorkerContext) -> Plan:
        p = self.parameters
        rounding = p.at(ROUNDING, month)
        quantum = quantum_minor(p.at(QUANTUM, month), self.currency.exponent)
        if scheme == "s39-voluntary":
            base = Fixed(self.minor(p.at(S39_WAGE, month)))
            return Plan(base, {Payer.VOLUNTARY: Share(percent(p.at(S39_RATE, month)))},
                        rounding, quantum)
        if scheme == "s40-informal":
            return Plan(Fixed(self._s40_amount(context, month)),
                        {Payer.VOLUNTARY: Share(Fraction(1))}, rounding, quantum)
        clamp = Clamp(self.minor(p.at(FLOOR, month)), self.minor(p.at(CEILING, month)))
        # Branches in satang; each payer's declared total (the residual's) in `quantum`.
        return Plan(clamp, self._s33_shares(scheme, month, quantum), rounding, SATANG)

    def _s33_shares(self, scheme: str, month: Month, quantum: int) -> dict[Payer, Share]:
        rates = self.parameters.at(S33_RATES, month)
        own = rates.get(scheme)
        if own is None:
            raise DomainError(ErrorCode.PARAMETER_NOT_IN_FORCE,
                              f"no s33 rates for {scheme} at {month}", field="scheme")
        shares: dict[Payer, Share] = {}
        for payer, rate in own.items():
            if scheme != RESIDUAL_BRANCH:
                if rate != 0:
                    shares[payer] = Share(percent(rate))
                continue
            parts = [percent(r[payer]) for b, r in rates.items() if payer in r and b != scheme]
            total = percent(rate) + sum(parts, Fraction(0))
            if total != 0:
                shares[payer] = Share(percent(rate), residual_of=total, others=tuple(parts),
                                      total_quantum=quantum)
        return shares

    def _s40_amount(self, context: WorkerContext, month: Month) -> int:
        options = self.parameters.at(S40_OPTIONS, month)
        if context.s40_option not in options:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"s40 option must be one of {sorted(options)} at {month}, "
                f"got {context.s40_option!r}",
                field="s40_option",
            )
        return self.minor(options[context.s40_option])

    def withdrawal(self, history: History, claim: Claim) -> tuple[RefundResult, ...]:
        return (old_age.old_age_benefit(self.parameters, history, claim),)


ADAPTER = ThSsoAdapter
