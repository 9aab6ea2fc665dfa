"""Totalisation: own and totalised months, thresholds, pro-rata fractions, worked by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import FundCode, SchemeCode
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month, PeriodState
from ledger.settlement.agreement import bundled_agreement
from ledger.settlement.totalisation import (
    EligibilityRule,
    PeriodRecord,
    Threshold,
    TotalisationPolicy,
    apply_pro_rata,
    own_months,
    policy_of,
    pro_rata_benefit,
    totalise,
)

ACTIVE, WITHDRAWN, TRANSFERRED = PeriodState.ACTIVE, PeriodState.WITHDRAWN, PeriodState.TRANSFERRED
PILOT = bundled_agreement("clmtv-2019-pilot")
POLICY = PILOT.totalisation_policy()
AS_OF = Month(2028, 1)


def periods(
    fund: str, scheme: str, start: str, count: int, state: PeriodState = ACTIVE,
    to: str | None = None,
) -> list[PeriodRecord]:
    first = Month.parse(start)
    return [
        PeriodRecord(FundCode(fund), SchemeCode(scheme), first.plus(i), state,
                     FundCode(to) if to else None)
        for i in range(count)
    ]


def cambodian_worker() -> list[PeriodRecord]:
    """140 months in Thailand, 36 in Japan paid out as a lump sum, then 40 at home."""
    return [
        *periods("TH-SSO", "s33-old-age", "2010-01", 140),  # 2010-01 .. 2021-08
        *periods("JP-JPS", "epi", "2021-09", 36, WITHDRAWN),  # 2021-09 .. 2024-08, LSWP paid
        *periods("KH-NSSF", "pension", "2024-09", 40),  # 2024-09 .. 2027-12
    ]


# -- the worked example --------------------------------------------------------------------------


def test_cambodian_worker_thailand_totalises_to_180_and_pays_140_of_180() -> None:
    result = totalise(cambodian_worker(), POLICY, as_of=AS_OF, age_years=55)

    th = result.fund("TH-SSO")
    assert (th.own_months, th.totalised_months) == (140, 180)  # 140 + 40; Japan's 36 are gone
    assert th.qualifies_on_periods and th.eligible  # 180 months and age 55: Thai pension right
    assert th.pro_rata == Fraction(140, 180) == Fraction(7, 9)


def test_cambodian_worker_cambodia_sees_180_too_and_pays_40_of_180() -> None:
    result = totalise(cambodian_worker(), POLICY, as_of=AS_OF, age_years=55)

    kh = result.fund("KH-NSSF")
    assert (kh.own_months, kh.totalised_months) == (40, 180)
    assert kh.pro_rata == Fraction(40, 180) == Fraction(2, 9)
    assert kh.qualifies_on_periods
    assert kh.age_condition_met is False and not kh.eligible  # NSSF pays from 60
    assert totalise(cambodian_worker(), POLICY, as_of=AS_OF, age_years=60).fund("KH-NSSF").eligible


def test_cambodian_worker_japan_withdrawn_months_give_nothing() -> None:
    jp = totalise(cambodian_worker(), POLICY, as_of=AS_OF, age_years=65).fund("JP-JPS")
    assert jp.own_months == 0 and jp.pro_rata == 0
    assert not jp.qualifies_on_periods  # 180 totalised months, but none of them Japanese


def test_thai_pro_rata_pension_by_hand() -> None:
    """20% of the average wage for 180 months (funds.md §1.4); average capped at 15,000 THB:
    theoretical 3,000.00 THB; Thailand pays 7/9 = 2,333.333... -> 2,333.33 rounded down."""
    th = totalise(cambodian_worker(), POLICY, as_of=AS_OF, age_years=55).fund("TH-SSO")

    def thai_pension(months: int) -> Money:
        rate_bp = 2000 + 150 * (max(0, months - 180) // 12)  # basis points of the average wage
        return Money(1_500_000 * rate_bp // 10_000, Currency.THB)

    benefit = pro_rata_benefit(th, thai_pension, Rounding.DOWN)
    assert benefit.theoretical == Money(300_000, Currency.THB)
    assert benefit.fraction == Fraction(7, 9)
    assert benefit.amount == Money(233_333, Currency.THB)


def test_without_an_agreement_each_fund_counts_only_its_own() -> None:
    baseline = bundled_agreement("no-agreement").totalisation_policy()
    th = totalise(cambodian_worker(), baseline, as_of=AS_OF, age_years=55).fund("TH-SSO")
    assert (th.own_months, th.totalised_months) == (140, 140)
    assert not th.qualifies_on_periods  # 140 < 180: a lump sum at 55, no pension
    assert not th.member and not th.short_period


# -- counting rules ------------------------------------------------------------------------------


def test_withdrawn_periods_never_count_anywhere() -> None:
    records = [*periods("JP-JPS", "epi", "2020-01", 60, WITHDRAWN),
               *periods("VN-VSS", "retirement-survivorship", "2025-01", 12)]
    result = totalise(records, POLICY, as_of=AS_OF)
    assert len(result.union_months) == 12
    assert result.fund("JP-JPS").own_months == 0
    assert result.fund("VN-VSS").totalised_months == 12


def test_the_same_calendar_month_at_two_funds_counts_once() -> None:
    records = [*periods("TH-SSO", "s33-old-age", "2020-01", 12),  # 2020-01 .. 2020-12
               *periods("VN-VSS", "retirement-survivorship", "2020-07", 12)]  # .. 2021-06
    result = totalise(records, POLICY, as_of=AS_OF)
    assert len(result.union_months) == 18
    for fund in ("TH-SSO", "VN-VSS"):
        view = result.fund(fund)
        assert (view.own_months, view.totalised_months, view.pro_rata) == (12, 18, Fraction(2, 3))


def test_two_schemes_of_one_fund_in_one_month_are_one_month() -> None:
    records = [*periods("JP-JPS", "epi", "2022-04", 24), *periods("JP-JPS", "np", "2023-04", 24)]
    jp = totalise(records, POLICY, as_of=AS_OF).fund("JP-JPS")
    assert jp.own_months == 36  # 2022-04 .. 2025-03


def test_transferred_periods_count_at_the_receiving_fund_only() -> None:
    records = [*periods("TH-SSO", "s33-old-age", "2020-01", 24, TRANSFERRED, to="KH-NSSF"),
               *periods("TH-SSO", "s33-old-age", "2022-01", 6),
               *periods("KH-NSSF", "pension", "2023-01", 12)]
    result = totalise(records, POLICY, as_of=AS_OF)
    assert result.fund("TH-SSO").own_months == 6
    assert result.fund("KH-NSSF").own_months == 36
    assert len(result.union_months) == 42


def test_a_transferred_month_recorded_at_both_ends_still_counts_once() -> None:
    records = [*periods("TH-SSO", "s33-old-age", "2020-01", 24, TRANSFERRED, to="VN-VSS"),
               *periods("VN-VSS", "retirement-survivorship", "2020-01", 24)]  # the receipt
    result = totalise(records, POLICY, as_of=AS_OF)
    assert (result.fund("VN-VSS").own_months, len(result.union_months)) == (24, 24)
    assert result.fund("TH-SSO").own_months == 0


def test_a_fund_outside_the_agreement_neither_gives_nor_gets_months() -> None:
    rules = POLICY.rules.values()
    policy = policy_of(["TH-SSO", "KH-NSSF"], rules, 12)
    result = totalise(cambodian_worker() + periods("JP-JPS", "np", "2030-01", 24), policy,
                      as_of=Month(2032, 1))
    assert result.fund("JP-JPS").totalised_months == 24  # its own only
    assert result.fund("TH-SSO").totalised_months == 180  # Japan's 24 not added


def test_art_57_short_period_counts_for_others_but_its_fund_pays_nothing() -> None:
    records = [*periods("TH-SSO", "s33-old-age", "2005-01", 175),
               *periods("VN-VSS", "retirement-survivorship", "2020-01", 8)]
    result = totalise(records, POLICY, as_of=AS_OF, age_years=55)
    vn, th = result.fund("VN-VSS"), result.fund("TH-SSO")
    assert vn.short_period and vn.paying_fraction == 0 and vn.pro_rata == Fraction(8, 183)
    assert th.totalised_months == 183 and th.eligible and not th.short_period


def test_vietnam_threshold_drops_from_20_to_15_years_in_july_2025() -> None:
    records = periods("VN-VSS", "retirement-survivorship", "2008-01", 200)
    assert not totalise(records, POLICY, as_of=Month(2025, 6)).fund("VN-VSS").qualifies_on_periods
    assert totalise(records, POLICY, as_of=Month(2025, 7)).fund("VN-VSS").qualifies_on_periods


def test_age_unknown_means_not_yet_eligible_where_the_fund_sets_an_age() -> None:
    th = totalise(periods("TH-SSO", "s33-old-age", "2005-01", 180), POLICY, as_of=AS_OF)
    assert th.fund("TH-SSO").qualifies_on_periods
    assert th.fund("TH-SSO").age_condition_met is None and not th.fund("TH-SSO").eligible


# -- bad input -----------------------------------------------------------------------------------


def test_two_records_for_one_fund_scheme_month_are_refused_with_their_index() -> None:
    records = [*periods("TH-SSO", "s33-old-age", "2020-01", 3),
               *periods("TH-SSO", "s33-old-age", "2020-02", 1, WITHDRAWN)]
    with pytest.raises(DomainError) as err:
        totalise(records, POLICY, as_of=AS_OF)
    assert (err.value.code, err.value.index) == (ErrorCode.INVALID_INPUT, 3)


@pytest.mark.parametrize(
    ("fund", "scheme", "month", "code"),
    [
        ("KH-NSSF", "health-care", "2024-01", ErrorCode.INVALID_INPUT),  # short-term branch
        ("LA-SSO", "pension", "2024-01", ErrorCode.UNKNOWN_FUND),
        ("TH-SSO", "old-age", "2024-01", ErrorCode.UNKNOWN_SCHEME),
        ("KH-NSSF", "pension", "2021-01", ErrorCode.SCHEME_NOT_IN_FORCE),  # before Oct 2022
    ],
)
def test_bad_records_are_refused(fund: str, scheme: str, month: str, code: ErrorCode) -> None:
    with pytest.raises(DomainError) as err:
        totalise(periods(fund, scheme, month, 1), POLICY, as_of=AS_OF)
    assert (err.value.code, err.value.index) == (code, 0)


def test_transferred_to_is_required_exactly_for_transferred_periods() -> None:
    with pytest.raises(DomainError):
        PeriodRecord(FundCode("TH-SSO"), SchemeCode("s33-old-age"), AS_OF, TRANSFERRED)
    with pytest.raises(DomainError):
        PeriodRecord(FundCode("TH-SSO"), SchemeCode("s33-old-age"), AS_OF, ACTIVE,
                     FundCode("KH-NSSF"))
    with pytest.raises(DomainError):
        PeriodRecord(FundCode("TH-SSO"), SchemeCode("s33-old-age"), AS_OF, TRANSFERRED,
                     FundCode("TH-SSO"))


def test_a_fund_without_a_rule_is_an_error_not_a_guess() -> None:
    policy = TotalisationPolicy(frozenset({FundCode("TH-SSO")}), {})
    with pytest.raises(DomainError, match="no eligibility rule for fund TH-SSO"):
        totalise(periods("TH-SSO", "s33-old-age", "2020-01", 1), policy, as_of=AS_OF)


def test_a_threshold_not_yet_in_force_is_an_error() -> None:
    rule = EligibilityRule(FundCode("VN-VSS"), (Threshold(180, None, Month(2025, 7)),))
    with pytest.raises(DomainError, match="in force"):
        rule.threshold_at(Month(2025, 6))


# -- applying the fraction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rounding", "plus", "minus"),
    [
        (Rounding.HALF_UP, 3, -3),
        (Rounding.HALF_EVEN, 2, -2),
        (Rounding.DOWN, 2, -2),
        (Rounding.UP, 3, -3),
        (Rounding.FLOOR, 2, -3),
        (Rounding.CEILING, 3, -2),
    ],
)
def test_apply_pro_rata_rounds_an_exact_half_with_the_named_mode(
    rounding: Rounding, plus: int, minus: int
) -> None:
    half = Fraction(1, 2)
    assert apply_pro_rata(Money(5, Currency.THB), half, rounding) == Money(plus, Currency.THB)
    assert apply_pro_rata(Money(-5, Currency.THB), half, rounding) == Money(minus, Currency.THB)


def test_apply_pro_rata_refuses_a_fraction_outside_0_1() -> None:
    with pytest.raises(DomainError) as err:
        apply_pro_rata(Money(100, Currency.THB), Fraction(10, 9), Rounding.DOWN)
    assert err.value.code is ErrorCode.INVALID_RATE


def test_pro_rata_shares_rounded_down_never_exceed_the_theoretical_amount() -> None:
    amount = Money(1_000_001, Currency.VND)
    shares = [apply_pro_rata(amount, Fraction(n, 180), Rounding.DOWN) for n in (140, 31, 9)]
    assert sum(s.amount_minor for s in shares) <= amount.amount_minor


# -- property: counting against a model written month by month ----------------------------------

_SCHEMES = [("TH-SSO", "s33-old-age"), ("TH-SSO", "s39-voluntary"), ("JP-JPS", "epi"),
            ("JP-JPS", "np"), ("VN-VSS", "retirement-survivorship"), ("KH-NSSF", "pension")]
_FUNDS = sorted({f for f, _ in _SCHEMES})


@st.composite
def careers(draw: st.DrawFn) -> list[PeriodRecord]:
    keys = draw(st.sets(st.tuples(st.sampled_from(_SCHEMES), st.integers(0, 47)), max_size=60))
    records = []
    for (fund, scheme), offset in sorted(keys):
        state = draw(st.sampled_from(PeriodState))
        others = [f for f in _FUNDS if f != fund]
        to = draw(st.sampled_from(others)) if state is TRANSFERRED else None
        month = Month(2023, 1).plus(offset)
        records.append(PeriodRecord(FundCode(fund), SchemeCode(scheme), month, state,
                                    FundCode(to) if to else None))
    return records


def _holds(records: list[PeriodRecord], fund: str, month: Month) -> bool:
    return any(
        r.month == month and ((r.fund == fund and r.state is ACTIVE) or r.transferred_to == fund)
        for r in records
    )


@settings(max_examples=60, deadline=None)
@given(careers(), st.sets(st.sampled_from(_FUNDS)))
def test_counts_match_a_month_by_month_model(
    records: list[PeriodRecord], members: set[str]
) -> None:
    policy = policy_of(members, POLICY.rules.values(), 12)
    result = totalise(records, policy, as_of=AS_OF)
    calendar = [Month(2023, 1).plus(i) for i in range(48)]
    union = {m for m in calendar if any(_holds(records, f, m) for f in members)}
    assert result.union_months == union
    for fund, view in result.funds.items():
        own = sum(_holds(records, fund, m) for m in calendar)
        assert view.own_months == own
        assert view.totalised_months == (len(union) if fund in members else own)
        assert view.pro_rata == (Fraction(own, view.totalised_months) if own else 0)
    # Withdrawn periods are inert: dropping them changes nothing.
    kept = [r for r in records if r.state is not WITHDRAWN]
    assert {f: v for f, v in own_months(kept).items() if v} == {
        f: v for f, v in own_months(records).items() if v
    }
