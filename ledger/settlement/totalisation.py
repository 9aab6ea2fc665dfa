"""Totalisation of insurance periods and pro-rata shares (after EU Reg 883/2004 Arts 6, 52, 57).

Owns how a worker's months at several funds are counted for pension eligibility, and the exact
fraction each fund pays. Counting rules (docs/adr/0014-totalisation-counting.md):

- a fund's *own* months are the calendar months of its long-term schemes whose period is
  `active` there, plus months another fund *transferred* to it; two schemes of one fund in the
  same month (Japan's EPI and NP) are one month;
- `withdrawn` months (a lump sum paid for them) count nowhere, ever;
- a `transferred` month counts at the receiving fund only, never at the sender;
- the *totalised* months of a member fund are the union of every member fund's own months:
  the same calendar month at two funds counts once (Art 6: aggregation, not addition);
- a fund outside the agreement counts only its own months;
- a member fund's right is acquired when the worker has own months there and the totalised
  months reach its threshold; pro rata = own / totalised, an exact `Fraction` (Art 52(1)(b));
- a member fund with fewer own months than the agreement's short-period minimum and no
  independent right pays nothing for them (Art 57); the months still count for the others.

Thresholds are parameters (`EligibilityRule`), dated, because the funds' laws change them
(Vietnam: 20 years, then 15 from July 2025). Benefit formulas stay with the fund adapters: a
theoretical amount is computed by a formula the caller passes in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FundCode, SchemeCode, get_fund
from ledger.domain.money import Money, Rounding
from ledger.domain.periods import Month, PeriodState
from ledger.settlement.rounding import round_ratio


@dataclass(frozen=True, slots=True)
class PeriodRecord:
    """One insurance period: (fund, scheme, month) in one state. `transferred_to` names the
    receiving fund of a transferred period (and is set for no other state)."""

    fund: FundCode
    scheme: SchemeCode
    month: Month
    state: PeriodState
    transferred_to: FundCode | None = None

    def __post_init__(self) -> None:
        is_transfer = self.state is PeriodState.TRANSFERRED
        if is_transfer != (self.transferred_to is not None):
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                "transferred_to is required for a transferred period and only for one",
                field="transferred_to",
            )
        if self.transferred_to == self.fund:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"a period cannot be transferred from {self.fund} to itself",
                field="transferred_to",
            )


@dataclass(frozen=True, slots=True)
class Threshold:
    """A fund's qualifying condition for a pension from `effective_from` (None: since always)."""

    months_min: int
    age_min: int | None = None
    effective_from: Month | None = None


@dataclass(frozen=True, slots=True)
class EligibilityRule:
    """A fund's dated thresholds; the one in force at a claim month decides."""

    fund: FundCode
    thresholds: tuple[Threshold, ...]

    def threshold_at(self, month: Month) -> Threshold:
        in_force = [
            t for t in self.thresholds if t.effective_from is None or t.effective_from <= month
        ]
        if not in_force:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"no eligibility threshold of {self.fund} is in force at {month}",
            )
        # The latest start wins; an undated threshold is the oldest.
        return max(in_force, key=lambda t: t.effective_from or Month(1900, 1))


@dataclass(frozen=True, slots=True)
class TotalisationPolicy:
    """What an agreement says about counting: who is a member, thresholds, the Art 57 minimum."""

    member_funds: frozenset[FundCode]
    rules: Mapping[FundCode, EligibilityRule]
    short_period_months_min: int = 12

    def rule(self, fund: FundCode) -> EligibilityRule:
        found = self.rules.get(fund)
        if found is None:
            raise DomainError(
                ErrorCode.INVALID_INPUT, f"no eligibility rule for fund {fund}", field="rules"
            )
        return found


@dataclass(frozen=True, slots=True)
class FundTotalisation:
    """One fund's view of the worker's career."""

    fund: FundCode
    member: bool
    own_months: int
    totalised_months: int
    threshold: Threshold
    qualifies_on_periods: bool  # own months > 0 and totalised months reach the threshold
    age_condition_met: bool | None  # None: the threshold has an age and no age was given
    pro_rata: Fraction  # own / totalised, exact
    short_period: bool  # Art 57: too few own months and no independent right

    @property
    def eligible(self) -> bool:
        """Periods and (where the fund sets one) age are both met: a pension is payable."""
        return self.qualifies_on_periods and self.age_condition_met is True

    @property
    def paying_fraction(self) -> Fraction:
        """The share of the theoretical amount this fund pays: 0 for an Art 57 short period."""
        return Fraction(0) if self.short_period else self.pro_rata


@dataclass(frozen=True, slots=True)
class Totalisation:
    as_of: Month
    union_months: frozenset[Month]  # member funds' own months, each calendar month once
    funds: Mapping[FundCode, FundTotalisation]

    def fund(self, code: str) -> FundTotalisation:
        found = self.funds.get(FundCode(code))
        if found is None:
            raise DomainError(ErrorCode.UNKNOWN_FUND, f"the worker has no periods at {code}")
        return found


@dataclass(frozen=True, slots=True)
class ProRataBenefit:
    theoretical: Money  # as if every totalised month were the fund's own (Art 52(1)(b)(i))
    fraction: Fraction
    amount: Money  # theoretical × fraction, rounded with the named mode


def own_months(records: Iterable[PeriodRecord]) -> dict[FundCode, frozenset[Month]]:
    """Each fund's creditable calendar months: active there, or transferred to it.

    Rejects a second record for the same (fund, scheme, month) — the ledger's unique key — and
    any period of a short-term scheme, whose months never count toward a pension.
    """
    seen: set[tuple[FundCode, SchemeCode, Month]] = set()
    months: defaultdict[FundCode, set[Month]] = defaultdict(set)
    for index, record in enumerate(records):
        _check_record(record, seen, index)
        fund_months = months[record.fund]  # a fund with only withdrawn months still shows, at 0
        if record.state is PeriodState.ACTIVE:
            fund_months.add(record.month)
        elif record.state is PeriodState.TRANSFERRED and record.transferred_to is not None:
            months[record.transferred_to].add(record.month)
        # WITHDRAWN: paid out as a lump sum, so it counts nowhere.
    return {fund: frozenset(ms) for fund, ms in months.items()}


def _check_record(
    record: PeriodRecord, seen: set[tuple[FundCode, SchemeCode, Month]], index: int
) -> None:
    try:
        scheme = get_fund(record.fund).scheme(record.scheme)
        scheme.check_in_force(record.month)
        if record.transferred_to is not None:
            get_fund(record.transferred_to, field="transferred_to")
    except DomainError as exc:
        raise exc.at(index, "periods") from None
    if not scheme.long_term:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"{record.fund} {record.scheme} is a short-term branch: its periods do not totalise",
            field="periods.scheme",
            index=index,
        )
    key = (record.fund, record.scheme, record.month)
    if key in seen:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"two periods for {record.fund} {record.scheme} {record.month}",
            field="periods",
            index=index,
        )
    seen.add(key)


def totalise(
    records: Iterable[PeriodRecord],
    policy: TotalisationPolicy,
    *,
    as_of: Month,
    age_years: int | None = None,
) -> Totalisation:
    """Every fund's own and totalised months, eligibility at `as_of`, and its pro-rata fraction."""
    by_fund = own_months(records)
    union = frozenset().union(*(ms for f, ms in by_fund.items() if f in policy.member_funds))
    funds = {
        fund: _fund_view(fund, months, union, policy, as_of, age_years)
        for fund, months in sorted(by_fund.items())
    }
    return Totalisation(as_of, union, MappingProxyType(funds))


def _fund_view(
    fund: FundCode,
    months: frozenset[Month],
    union: frozenset[Month],
    policy: TotalisationPolicy,
    as_of: Month,
    age_years: int | None,
) -> FundTotalisation:
    member = fund in policy.member_funds
    own = len(months)
    total = len(union) if member else own
    threshold = policy.rule(fund).threshold_at(as_of)
    independent_right = own >= threshold.months_min
    return FundTotalisation(
        fund=fund,
        member=member,
        own_months=own,
        totalised_months=total,
        threshold=threshold,
        # A fund where the worker never contributed owes nothing, whatever the others count.
        qualifies_on_periods=own > 0 and total >= threshold.months_min,
        age_condition_met=_age_met(threshold, age_years),
        pro_rata=Fraction(own, total) if total else Fraction(0),
        short_period=member and 0 < own < policy.short_period_months_min and not independent_right,
    )


def _age_met(threshold: Threshold, age_years: int | None) -> bool | None:
    if threshold.age_min is None:
        return True
    return None if age_years is None else age_years >= threshold.age_min


def apply_pro_rata(amount: Money, fraction: Fraction, rounding: Rounding) -> Money:
    """`amount × fraction` in minor units, rounded once with the named mode (exact, no Decimal)."""
    if not 0 <= fraction <= 1:
        raise DomainError(
            ErrorCode.INVALID_RATE, f"a pro-rata fraction is in [0, 1], not {fraction}"
        )
    minor = round_ratio(amount.amount_minor * fraction.numerator, fraction.denominator, rounding)
    return Money(minor, amount.currency)


def pro_rata_benefit(
    view: FundTotalisation, formula: Callable[[int], Money], rounding: Rounding
) -> ProRataBenefit:
    """The theoretical amount `formula(totalised months)` and the share this fund pays of it."""
    theoretical = formula(view.totalised_months)
    fraction = view.paying_fraction
    return ProRataBenefit(theoretical, fraction, apply_pro_rata(theoretical, fraction, rounding))


def policy_of(
    member_funds: Collection[str], rules: Iterable[EligibilityRule], short_period_months_min: int
) -> TotalisationPolicy:
    """A policy from plain values (the agreement loader and tests build it this way)."""
    return TotalisationPolicy(
        frozenset(FundCode(f) for f in member_funds),
        MappingProxyType({r.fund: r for r in rules}),
        short_period_months_min,
    )
