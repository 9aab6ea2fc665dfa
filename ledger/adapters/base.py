"""The fund-adapter contract: what the hub asks of every fund's rules.

A fund's rules say, for a scheme, a month and a worker, how the wage becomes a base and what
share each payer owes: a `Plan`. `FundAdapter` turns a plan into a `ContributionQuote` for one
worker (Decimal arithmetic, the ledger's path) or into int64 arrays for a million workers (the
simulator's path); both give identical amounts. It also holds the fund's ID validators and its
refund and withdrawal rules. Subclasses live in `ledger/adapters/<fund>/rules.py`, found by
`registry.py`. File formats are not part of this contract (see `formats.py`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from ledger.adapters.arith import IntArray, apply_rate, apply_rate_array, percent
from ledger.adapters.context import COLUMNS, EMPTY, WorkerContext, column_value, with_column_value
from ledger.adapters.parameters import Param, Parameters
from ledger.adapters.refunds import Claim, History, RefundResult, not_eligible
from ledger.adapters.voluntary_terms import VoluntaryTerms
from ledger.adapters.wagebase import WageBase
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FUNDS, FundCode, Payer, SchemeCode
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month

__all__ = ["ContributionQuote", "FundAdapter", "IntArray", "Plan", "Share", "WorkerContext"]

_PAYER_ORDER = {p: i for i, p in enumerate(Payer)}


@dataclass(frozen=True, slots=True)
class Share:
    """One payer's share of a base: `base × rate`, rounded.

    With `residual_of`, the share is instead `round(base × residual_of)` minus the rounded
    `others`: the branches of one declared amount (Thai s33 5%) then add up to it exactly;
    `total_quantum` rounds that declared amount to its own step (whole baht) while the other
    branches keep the plan's (satang).
    `fixed` is added to the rounded amount: a flat state support is `Share(0, fixed=s)` and the
    worker's 22% less it `Share(22%, fixed=-s)` (Vietnamese voluntary SI).
    """

    rate: Fraction
    residual_of: Fraction | None = None
    others: tuple[Fraction, ...] = ()
    fixed: int = 0  # minor units added after rounding: a flat state support, or minus it
    total_quantum: int | None = None  # the residual's total rounds to this step, not the plan's

    def scalar(self, base: int, rounding: Rounding, quantum: int) -> int:
        if self.residual_of is None:
            return apply_rate(base, self.rate, rounding, quantum) + self.fixed
        total = apply_rate(base, self.residual_of, rounding, self.total_quantum or quantum)
        return total - sum(apply_rate(base, o, rounding, quantum) for o in self.others) + self.fixed

    def array(self, bases: IntArray, rounding: Rounding, quantum: int) -> IntArray:
        if self.residual_of is None:
            out = apply_rate_array(bases, self.rate, rounding, quantum)
        else:
            out = apply_rate_array(bases, self.residual_of, rounding,
                                   self.total_quantum or quantum)
            for other in self.others:
                out = out - apply_rate_array(bases, other, rounding, quantum)
        return out + np.int64(self.fixed) if self.fixed else out


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything needed to price one scheme-month for one kind of worker."""

    base: WageBase
    shares: Mapping[Payer, Share]
    rounding: Rounding
    quantum: int = 1  # minor units amounts are rounded to


def shares_from_percent(rates: Mapping[Payer, Any]) -> dict[Payer, Share]:
    """Plain shares from percentages, leaving out zero rates (zero shares are omitted)."""
    return {p: Share(percent(r)) for p, r in rates.items() if r != 0}


@dataclass(frozen=True, slots=True)
class ContributionQuote:
    """One worker's contribution to one scheme for one month: the base used, each payer's share
    and the rounding applied (the ledger books `shares` as one linked batch)."""

    fund: FundCode
    scheme: SchemeCode
    month: Month
    wage: Money
    wage_base: Money
    shares: tuple[tuple[Payer, Money], ...]  # payer order; zero shares omitted
    rounding: Rounding
    quantum_minor: int = 1

    def share(self, payer: Payer) -> Money:
        for p, m in self.shares:
            if p is payer:
                return m
        return Money.zero(self.wage_base.currency)

    def total(self) -> Money:
        total = Money.zero(self.wage_base.currency)
        for _, m in self.shares:
            total = total + m
        return total

    def shares_minor(self) -> dict[Payer, int]:
        return {p: m.amount_minor for p, m in self.shares}


IdValidator = Callable[[str], str]


class FundAdapter(ABC):
    """One fund's rules. Subclasses set the class attributes and implement `plan`."""

    FUND_CODE: ClassVar[str]
    SCHEMES: ClassVar[tuple[str, ...]]  # schemes this adapter prices
    DECLARATION_SCHEMES: ClassVar[tuple[str, ...]]  # what an employer's monthly return covers
    PARAMS: ClassVar[tuple[Param[Any], ...]]
    GROUP_COLUMNS: ClassVar[tuple[str, ...]] = ()  # per-worker columns that change the plan
    ID_KINDS: ClassVar[Mapping[str, IdValidator]]
    MEMBER_ID_KINDS: ClassVar[tuple[str, ...]]  # kinds accepted as a member number, in order

    def __init__(self, parameters: Parameters) -> None:
        if parameters.fund != self.FUND_CODE:
            raise DomainError(
                ErrorCode.INVALID_PARAMETERS,
                f"parameters are for {parameters.fund}, not {self.FUND_CODE}",
            )
        known = FUNDS.get(self.FUND_CODE)
        if known is not None and known.currency is not parameters.currency:
            raise DomainError(
                ErrorCode.INVALID_PARAMETERS,
                f"{self.FUND_CODE} books {known.currency}, parameters say {parameters.currency}",
                field="currency",
            )
        self.parameters = parameters

    @property
    def fund_code(self) -> FundCode:
        return FundCode(self.FUND_CODE)

    @property
    def currency(self) -> Currency:
        return self.parameters.currency

    def minor(self, amount: Decimal) -> int:
        """A parameter amount in major units as minor units (the loader checked it is exact)."""
        return int(amount.scaleb(self.currency.exponent))

    # -- the rules -------------------------------------------------------------------------------
    @abstractmethod
    def plan(self, scheme: str, month: Month, context: WorkerContext) -> Plan:
        """The base and shares of `scheme` at `month` for a worker described by `context`."""

    def withdrawal(self, history: History, claim: Claim) -> tuple[RefundResult, ...]:
        """The lump sums (or pension right) `claim` opens; funds without one refuse."""
        raise not_eligible(self.FUND_CODE, ["no lump-sum withdrawal is modelled for this fund"])

    def voluntary_terms(self, scheme: str, month: Month) -> VoluntaryTerms | None:
        """How a voluntary scheme may be paid at `month` (None: not a voluntary scheme of this
        fund). `ledger/adapters/voluntary.py` prices payments with it."""
        return None

    # -- one worker ------------------------------------------------------------------------------
    def contribution(
        self, context: WorkerContext, scheme: str, month: Month, wage: Money, *,
        opened: bool = False,
    ) -> ContributionQuote:
        """`opened`: an agreement in force opens this scheme, which no product operates."""
        self._check_scheme(scheme, month, opened)
        if wage.currency is not self.currency:
            raise DomainError(
                ErrorCode.CURRENCY_MISMATCH,
                f"{self.FUND_CODE} wages are in {self.currency}, got {wage.currency}",
                field="wage",
            )
        if wage.amount_minor < 0:
            raise DomainError(ErrorCode.INVALID_AMOUNT, "wage must not be negative", field="wage")
        plan = self.plan(scheme, month, context)
        base = plan.base.scalar(wage.amount_minor, context)
        amounts = [(p, s.scalar(base, plan.rounding, plan.quantum)) for p, s in plan.shares.items()]
        shares = tuple(
            (p, Money(a, self.currency))
            for p, a in sorted(amounts, key=lambda pa: _PAYER_ORDER[pa[0]])
            if a != 0
        )
        return ContributionQuote(
            self.fund_code, SchemeCode(scheme), month, wage, Money(base, self.currency), shares,
            plan.rounding, plan.quantum,
        )

    def on_base(self, context: WorkerContext, scheme: str, month: Month, base: Money
                ) -> tuple[ContributionQuote, int]:
        """The quote on a base as declared (`POST /v1/contributions` sends the base, not the
        wage), and the base the rules give for that amount taken as a wage: equal when the
        declared base is one the rules give, or it is a value of the plan's table (a Cambodian
        rank's base lies outside its own rank's wages)."""
        self._check_scheme(scheme, month)
        if base.currency is not self.currency:
            raise DomainError(
                ErrorCode.CURRENCY_MISMATCH,
                f"{self.FUND_CODE} wages are in {self.currency}, got {base.currency}",
                field="wage_base",
            )
        plan = self.plan(scheme, month, context)
        amounts = [(p, s.scalar(base.amount_minor, plan.rounding, plan.quantum))
                   for p, s in plan.shares.items()]
        shares = tuple(
            (p, Money(a, self.currency))
            for p, a in sorted(amounts, key=lambda pa: _PAYER_ORDER[pa[0]])
            if a != 0
        )
        quote = ContributionQuote(self.fund_code, SchemeCode(scheme), month, base, base, shares,
                                  plan.rounding, plan.quantum)
        table = getattr(plan.base, "values", None)
        if isinstance(table, tuple) and base.amount_minor in table:
            return quote, base.amount_minor
        return quote, plan.base.scalar(base.amount_minor, context)

    def declaration(
        self, context: WorkerContext, month: Month, wage: Money
    ) -> tuple[ContributionQuote, ...]:
        """Quotes for every scheme of an employer's monthly return that is in force at `month`."""
        known = FUNDS.get(self.FUND_CODE)
        return tuple(
            self.contribution(context, s, month, wage)
            for s in self.DECLARATION_SCHEMES
            if known is None or known.scheme(s).starts <= month
        )

    # -- a million workers -----------------------------------------------------------------------
    def contribution_arrays(
        self,
        scheme: str,
        month: Month,
        wages_minor: IntArray,
        context: WorkerContext | None = None,
        columns: Mapping[str, IntArray] | None = None,
        *,
        opened: bool = False,
    ) -> dict[Payer, IntArray]:
        """Shares by payer for every wage (int64 minor units), identical to `contribution`.

        `columns` give per-worker facts (see `context.COLUMNS`); the workers are split into the
        few groups those facts select (zones, options, flags), never looped over one by one.
        Every payer the plan names gets an array, zeros included. `opened` as in `contribution`.
        """
        ctx = context or EMPTY
        self._check_scheme(scheme, month, opened)
        wages = _vector(wages_minor, "wages_minor")
        if wages.size and int(wages.min()) < 0:
            raise DomainError(ErrorCode.INVALID_AMOUNT, "wages must not be negative",
                              field="wages_minor")
        given = {k: _vector(v, k, wages.shape) for k, v in (columns or {}).items()}
        for name in given:
            if name not in COLUMNS:
                raise DomainError(ErrorCode.INVALID_INPUT, f"unknown column {name!r}", field=name)
        cols = dict(given)
        for name in COLUMNS:
            value = column_value(ctx, name)
            if name not in cols and value is not None:
                cols[name] = np.full(wages.shape, value, dtype=np.int64)
        grouping = [c for c in self.GROUP_COLUMNS if c in given]
        if not grouping:
            return self._apply(self.plan(scheme, month, ctx), wages, cols)
        # One integer code per worker from the distinct values of each grouping column.
        code = np.zeros(wages.shape, dtype=np.int64)
        distinct = []
        for name in grouping:
            values, inverse = np.unique(given[name], return_inverse=True)
            code = code * len(values) + inverse.reshape(-1)
            distinct.append(values)
        out: dict[Payer, IntArray] = {}
        for g in np.unique(code).tolist():
            sub, rest = ctx, g
            for name, values in reversed(list(zip(grouping, distinct, strict=True))):
                rest, i = divmod(rest, len(values))
                sub = with_column_value(sub, name, int(values[i]))
            mask = code == g
            part = self._apply(
                self.plan(scheme, month, sub), wages[mask], {k: v[mask] for k, v in cols.items()}
            )
            for payer, amounts in part.items():
                out.setdefault(payer, np.zeros(wages.shape, dtype=np.int64))[mask] = amounts
        return out

    def quote_arrays(
        self, scheme: str, month: Month, wages_minor: IntArray, context: WorkerContext
    ) -> tuple[IntArray, dict[Payer, IntArray]]:
        """Bases and shares by payer for workers who share one `context` (an import chunk's
        group): the same plan and arithmetic as `contribution`, with the base kept."""
        self._check_scheme(scheme, month)
        wages = _vector(wages_minor, "wages_minor")
        cols = {
            name: np.full(wages.shape, value, dtype=np.int64)
            for name in COLUMNS
            if (value := column_value(context, name)) is not None
        }
        plan = self.plan(scheme, month, context)
        bases = plan.base.array(wages, cols)
        return bases, {p: s.array(bases, plan.rounding, plan.quantum)
                       for p, s in plan.shares.items()}

    def context_from_fields(self, fields: Mapping[str, str]) -> WorkerContext:
        """The worker facts a declaration row carries in its fund-specific columns
        (`DeclaredRow.extra`); funds whose rules need none return the empty context."""
        return EMPTY

    @staticmethod
    def _apply(plan: Plan, wages: IntArray, cols: Mapping[str, IntArray]) -> dict[Payer, IntArray]:
        bases = plan.base.array(wages, cols)
        return {p: s.array(bases, plan.rounding, plan.quantum) for p, s in plan.shares.items()}

    # -- identities ------------------------------------------------------------------------------
    def validate_id(self, kind: str, value: str) -> str:
        """Check `value` as an ID of `kind` and return its canonical form."""
        validator = self.ID_KINDS.get(kind)
        if validator is None:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"{self.FUND_CODE} knows no ID kind {kind!r}; known: {', '.join(self.ID_KINDS)}",
                field="kind",
            )
        return validator(value)

    def validate_member_number(self, value: str) -> str:
        """The first member-number kind that accepts `value`, else the first kind's error."""
        first: DomainError | None = None
        for kind in self.MEMBER_ID_KINDS:
            try:
                return self.ID_KINDS[kind](value)
            except DomainError as exc:
                first = first or exc
        assert first is not None
        raise first

    # -- checks ----------------------------------------------------------------------------------
    def _check_scheme(self, scheme: str, month: Month, opened: bool = False) -> None:
        known = FUNDS.get(self.FUND_CODE)
        if known is not None:
            known.scheme(scheme).check_in_force(month, opened=opened)
        if scheme not in self.SCHEMES:
            raise DomainError(
                ErrorCode.UNKNOWN_SCHEME,
                f"{self.FUND_CODE} has no contribution rules for {scheme!r}",
                field="scheme",
            )


def _vector(values: Any, name: str, shape: tuple[int, ...] | None = None) -> IntArray:
    if not isinstance(values, np.ndarray) or values.dtype != np.int64 or values.ndim != 1:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"{name} must be a 1-D numpy int64 array", field=name
        )
    if shape is not None and values.shape != shape:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"{name} must have one value per wage", field=name
        )
    return values
