"""Pricing and checking one voluntary payment into a home-fund scheme: the adapters' front door
for payment channels.

`price_voluntary_payment(fund, scheme, months, declared_income, amount, paid_on)` says what a
payment buys, or why it is not acceptable: the months it covers, each month's contribution (the
same `ContributionQuote` the ledger books, from the fund's own `rules.py`), who pays what (the
worker, the state's support, a sending firm's separate share) and, when anything is wrong, a
`DomainError` with a stable code and the field at fault. `quote_voluntary_payment` is the same
without an amount: what the worker owes, for a channel to show before the worker pays.

A scheme no product operates (`Scheme.agreement_option`, e.g. Myanmar SSB for workers abroad)
is refused unless the caller passes it in `opened`, which comes from the agreement in force
(`Agreement.opened_voluntary_schemes()`): the adapters never read agreements themselves.

Checks, in order (the first failure is raised), as `code` at `field`:

- the fund: `unknown_fund` at `fund`;
- the scheme is a voluntary scheme of the fund: `unknown_scheme` at `scheme`;
- it operates, or the agreement opens it: `scheme_not_in_force` at `scheme`;
- the months are given, as `Month`s: `invalid_input` at `months` (`details.reason`: empty,
  type);
- no month before the scheme starts (or before the agreement opens it): `scheme_not_in_force` at
  `months`;
- the fund has a payment rule at the payment month: `parameter_not_in_force` at `paid_on`;
- the months are distinct consecutive units, as many as one payment may cover: `invalid_input`
  at `months` (`details.reason`: not_consecutive, count);
- the months lie within the arrears and advance window of the payment month: `invalid_input` at
  `months` (`details.reason`: arrears, advance);
- the declared income: given when the scheme needs one and only then (`invalid_input`), in the
  fund's currency (`currency_mismatch`), between floor and ceiling (`invalid_amount`,
  `details.floor` and `ceiling`), all at `declared_income`;
- the state-support group is one the fund knows: `invalid_input` at `support_group`;
- the fund's parameters cover every month paid: `parameter_not_in_force` at `months` with
  `index` (`details.parameter` names the key, here and at `paid_on`);
- the amount: in the fund's currency (`currency_mismatch`), positive and exactly the worker's
  due (`invalid_amount`, `details.expected`), at `amount`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from ledger.adapters.base import ContributionQuote, FundAdapter
from ledger.adapters.context import WorkerContext
from ledger.adapters.registry import get_adapter
from ledger.adapters.voluntary_terms import PaymentRule, PaymentUnit, VoluntaryTerms, payment_rule
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FundCode, Payer, Scheme, SchemeCode, get_fund
from ledger.domain.money import Money
from ledger.domain.periods import Month

__all__ = [
    "OpenedScheme", "VoluntaryPayer", "VoluntaryQuote", "price_voluntary_payment",
    "quote_voluntary_payment",
]

# Shares paid by the worker through the payment; the state's and a sending firm's are not.
WORKER_PAYERS = (Payer.VOLUNTARY, Payer.EMPLOYEE)


@dataclass(frozen=True, slots=True)
class OpenedScheme:
    """A scheme no product operates that an agreement opens from `from_month` on."""

    fund: str
    scheme: str
    from_month: Month


@dataclass(frozen=True, slots=True)
class VoluntaryPayer:
    """What the fund must know of the worker beyond the payment itself."""

    support_group: str | None = None  # VN voluntary SI: poor, near_poor, ethnic_minority, other
    supported_months_before: int = 0  # months of state support the worker has already had


ANY_PAYER = VoluntaryPayer()


@dataclass(frozen=True, slots=True)
class VoluntaryQuote:
    """What one voluntary payment buys. `contributions` are what the ledger books, one per unit
    paid (a month, a contract or a year), in order."""

    fund: FundCode
    scheme: SchemeCode
    unit: PaymentUnit
    paid_on: date
    months: tuple[Month, ...]  # the units paid, as given (a contract's or a year's first month)
    months_covered: tuple[Month, ...]  # every month of cover the payment buys
    insurance_periods: bool  # months_covered are voluntary insurance periods (else welfare cover)
    contributions: tuple[ContributionQuote, ...]
    worker: Money  # what this payment must carry
    state_support: Money  # paid by the state beside it (Payer.GOVERNMENT)
    employer: Money  # owed separately by a sending firm (Payer.EMPLOYER), not by this payment

    def shares(self) -> tuple[tuple[Payer, Money], ...]:
        """Every payer's total over the units paid, in payer order, zeros omitted."""
        totals: dict[Payer, Money] = {}
        for quote in self.contributions:
            for payer, money in quote.shares:
                totals[payer] = totals[payer] + money if payer in totals else money
        return tuple((p, totals[p]) for p in Payer if p in totals)


def quote_voluntary_payment(
    fund: str,
    scheme: str,
    months: Sequence[Month],
    declared_income: Money | None,
    paid_on: date,
    *,
    payer: VoluntaryPayer = ANY_PAYER,
    opened: Collection[OpenedScheme] = (),
) -> VoluntaryQuote:
    """What paying `months` of `scheme` on `paid_on` costs and covers (every check but the
    amount's). See the module docstring for the checks and their codes."""
    adapter = get_adapter(fund)
    known = _voluntary_scheme(adapter, scheme)
    opens = _opening(known, adapter.FUND_CODE, opened)
    units = _months(months)
    for month in units:
        _in_force(known, month, opens)
    payment_month = Month.of(paid_on)
    try:
        rule = payment_rule(adapter.parameters, scheme, payment_month)
    except DomainError as exc:
        raise _not_in_force(exc, "paid_on") from None
    _units(units, rule)
    _window(units, payment_month, rule)
    quotes = []
    for index, month in enumerate(units):
        try:
            terms = _terms(adapter, scheme, month)
        except DomainError as exc:
            raise _not_in_force(exc, "months", index) from None
        wage = _declared(adapter, terms, declared_income)
        context = _context(terms, payer, index)
        try:
            quotes.append(adapter.contribution(context, scheme, month, wage,
                                               opened=opens is not None))
        except DomainError as exc:
            raise _not_in_force(exc, "months", index) from None
    return _quote(adapter, scheme, rule, paid_on, units, tuple(quotes), terms.insurance_periods)


def _not_in_force(exc: DomainError, field: str, index: int | None = None) -> DomainError:
    """A parameter with no value at a month names the input at fault (and the parameter in
    `details`); any other error is passed on unchanged."""
    if exc.code is not ErrorCode.PARAMETER_NOT_IN_FORCE:
        return exc
    return DomainError(exc.code, exc.message, field=field, index=index,
                       details={"parameter": exc.field})


def price_voluntary_payment(
    fund: str,
    scheme: str,
    months: Sequence[Month],
    declared_income: Money | None,
    amount: Money,
    paid_on: date,
    *,
    payer: VoluntaryPayer = ANY_PAYER,
    opened: Collection[OpenedScheme] = (),
) -> VoluntaryQuote:
    """`quote_voluntary_payment`, and `amount` (in the scheme's currency, after any exchange)
    must be exactly the worker's due: a payment is for whole units, never part of one."""
    quote = quote_voluntary_payment(fund, scheme, months, declared_income, paid_on,
                                    payer=payer, opened=opened)
    if amount.currency is not quote.worker.currency:
        raise DomainError(ErrorCode.CURRENCY_MISMATCH,
                          f"{quote.scheme} is paid in {quote.worker.currency}, "
                          f"got {amount.currency}", field="amount")
    if amount.amount_minor <= 0:
        raise DomainError(ErrorCode.INVALID_AMOUNT, "the amount must be positive", field="amount")
    if amount != quote.worker:
        raise DomainError(
            ErrorCode.INVALID_AMOUNT,
            f"{len(quote.months)} {quote.unit.value}(s) of {quote.fund} {quote.scheme} cost "
            f"{quote.worker}, the payment carries {amount}",
            field="amount", details={"expected": quote.worker.to_wire()},
        )
    return quote


# -- the checks ----------------------------------------------------------------------------------
def _voluntary_scheme(adapter: FundAdapter, scheme: str) -> Scheme:
    known = get_fund(adapter.FUND_CODE).scheme(scheme)
    if not known.voluntary or scheme not in adapter.SCHEMES:
        raise DomainError(ErrorCode.UNKNOWN_SCHEME,
                          f"{adapter.FUND_CODE} {scheme} is not a voluntary scheme", field="scheme")
    return known


def _opening(known: Scheme, fund: str, opened: Collection[OpenedScheme]) -> Month | None:
    """The month an agreement opens a scheme no product operates (None: it operates)."""
    if known.operating:
        return None
    for item in opened:
        if item.fund == fund and item.scheme == known.code and known.agreement_option:
            return item.from_month
    raise DomainError(
        ErrorCode.SCHEME_NOT_IN_FORCE,
        f"{fund} {known.code} is not operating"
        + ("; the agreement in force does not open it" if known.agreement_option else ""),
        field="scheme",
    )


def _terms(adapter: FundAdapter, scheme: str, month: Month) -> VoluntaryTerms:
    terms = adapter.voluntary_terms(scheme, month)
    if terms is None:  # the registry says voluntary, the rules do not: a bug, said plainly
        raise DomainError(ErrorCode.INVALID_PARAMETERS,
                          f"{adapter.FUND_CODE} rules give no terms for {scheme}", field="scheme")
    return terms


def _invalid_months(message: str, reason: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_INPUT, message, field="months",
                       details={"reason": reason})


def _months(months: Sequence[Month]) -> tuple[Month, ...]:
    given = list(months)
    if not given:
        raise _invalid_months("at least one month is required", "empty")
    if any(not isinstance(m, Month) for m in given):
        raise _invalid_months("months must be Month values", "type")
    return tuple(sorted(given))


def _units(units: tuple[Month, ...], rule: PaymentRule) -> None:
    step = rule.unit.months
    for earlier, later in pairwise(units):
        if earlier.months_until(later) != step:
            raise _invalid_months(
                f"the {rule.unit.value}s paid must be consecutive and distinct "
                f"({earlier} then {later})", "not_consecutive")
    if len(units) not in rule.counts:
        raise _invalid_months(
            f"one payment covers {', '.join(map(str, rule.counts))} {rule.unit.value}(s), "
            f"not {len(units)}", "count")


def _in_force(known: Scheme, month: Month, opens: Month | None) -> None:
    first = max(known.starts, opens) if opens is not None else known.starts
    if month < first:
        raise DomainError(ErrorCode.SCHEME_NOT_IN_FORCE,
                          f"{known.code} accepts months from {first}, not {month}",
                          field="months")


def _window(units: tuple[Month, ...], paid: Month, rule: PaymentRule) -> None:
    if units[0].months_until(paid) > rule.arrears_months_max:
        raise _invalid_months(
            f"{units[0]} is more than {rule.arrears_months_max} month(s) before the payment "
            f"month {paid}", "arrears")
    if paid.months_until(units[-1]) > rule.advance_months_max:
        raise _invalid_months(
            f"{units[-1]} is more than {rule.advance_months_max} month(s) after the payment "
            f"month {paid}", "advance")


def _declared(adapter: FundAdapter, terms: VoluntaryTerms, income: Money | None) -> Money:
    if not terms.needs_income:
        if income is not None:
            raise DomainError(ErrorCode.INVALID_INPUT,
                              "this scheme is a flat amount: it takes no declared income",
                              field="declared_income")
        return Money.zero(adapter.currency)
    if income is None:
        raise DomainError(ErrorCode.INVALID_INPUT, "this scheme needs the declared income",
                          field="declared_income")
    if income.currency is not adapter.currency:
        raise DomainError(ErrorCode.CURRENCY_MISMATCH,
                          f"the declared income must be in {adapter.currency}, "
                          f"got {income.currency}", field="declared_income")
    floor, ceiling = terms.income_floor_minor, terms.income_ceiling_minor
    assert floor is not None
    if income.amount_minor < floor or (ceiling is not None and income.amount_minor > ceiling):
        bounds = {"floor": Money(floor, adapter.currency).to_wire()}
        if ceiling is not None:
            bounds["ceiling"] = Money(ceiling, adapter.currency).to_wire()
        raise DomainError(
            ErrorCode.INVALID_AMOUNT,
            f"the declared income {income} is outside "
            f"{Money(floor, adapter.currency)} - "
            f"{Money(ceiling, adapter.currency) if ceiling is not None else 'no ceiling'}",
            field="declared_income", details=bounds,
        )
    return income


def _context(terms: VoluntaryTerms, payer: VoluntaryPayer, index: int) -> WorkerContext:
    """The worker facts for the `index`-th unit: support while the cap is not reached."""
    group = payer.support_group
    if group is None or terms.support_months_max is None:
        return WorkerContext()
    if group not in terms.support_groups:
        raise DomainError(ErrorCode.INVALID_INPUT,
                          f"support_group must be one of {', '.join(terms.support_groups)}, "
                          f"got {group!r}", field="support_group")
    if payer.supported_months_before < 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "supported_months_before must not be negative",
                          field="supported_months_before")
    if payer.supported_months_before + index >= terms.support_months_max:
        return WorkerContext()
    return WorkerContext(support_group=group)


def _quote(adapter: FundAdapter, scheme: str, rule: PaymentRule, paid_on: date,
           units: tuple[Month, ...], quotes: tuple[ContributionQuote, ...],
           insurance_periods: bool) -> VoluntaryQuote:
    zero = Money.zero(adapter.currency)
    worker, support, employer = zero, zero, zero
    for quote in quotes:
        for who in WORKER_PAYERS:
            worker = worker + quote.share(who)
        support = support + quote.share(Payer.GOVERNMENT)
        employer = employer + quote.share(Payer.EMPLOYER)
    span = rule.unit.months
    covered = tuple(m.plus(i) for m in units for i in range(span))
    return VoluntaryQuote(
        adapter.fund_code, SchemeCode(scheme), rule.unit, paid_on, units, covered,
        insurance_periods, quotes, worker, support, employer,
    )
