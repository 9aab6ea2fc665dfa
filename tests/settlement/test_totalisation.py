"""Totalisation: own and totalised months, thresholds, pro-rata fractions, worked by hand."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

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


# -- thresholds at their boundaries --------------------------------------------------------------

TH, VN, KH = FundCode("TH-SSO"), FundCode("VN-VSS"), FundCode("KH-NSSF")


def one_fund_policy(fund: FundCode, *thresholds: Threshold, short_min: int = 12,
                    member: bool = True) -> TotalisationPolicy:
    return policy_of([fund] if member else [], [EligibilityRule(fund, thresholds)], short_min)


def th_view(own: int, policy: TotalisationPolicy, age: int | None = None) -> Any:
    records = periods("TH-SSO", "s33-old-age", "2010-01", own)
    return totalise(records, policy, as_of=AS_OF, age_years=age).fund("TH-SSO")


@pytest.mark.parametrize(("own", "qualifies"), [(179, False), (180, True), (181, True)])
def test_periods_qualify_from_exactly_the_threshold(own: int, qualifies: bool) -> None:
    view = th_view(own, one_fund_policy(TH, Threshold(180)))
    assert (view.own_months, view.totalised_months) == (own, own)
    assert view.qualifies_on_periods is qualifies
    assert view.eligible is qualifies  # no age condition: periods alone decide
    assert view.age_condition_met is True


@pytest.mark.parametrize(("age", "met"), [(None, None), (54, False), (55, True), (56, True)])
def test_the_age_condition_from_exactly_the_minimum_age(age: int | None, met: bool | None) -> None:
    view = th_view(180, one_fund_policy(TH, Threshold(180, age_min=55)), age)
    assert view.age_condition_met is met
    assert view.eligible is (met is True)


def test_a_fund_without_an_age_condition_meets_it_whatever_the_age() -> None:
    for age in (None, 15, 70):
        assert th_view(12, one_fund_policy(TH, Threshold(12)), age).age_condition_met is True


def test_a_fund_where_the_worker_never_contributed_does_not_qualify() -> None:
    records = [*periods("VN-VSS", "retirement-survivorship", "2010-01", 200),
               *periods("TH-SSO", "s33-old-age", "2030-01", 3, WITHDRAWN)]
    policy = policy_of(["TH-SSO", "VN-VSS"], POLICY.rules.values(), 12)
    th = totalise(records, policy, as_of=AS_OF).fund("TH-SSO")  # shown, at 0
    assert (th.own_months, th.totalised_months) == (0, 200)
    assert not th.qualifies_on_periods and not th.short_period
    assert th.pro_rata == 0 and th.paying_fraction == 0


def test_a_fund_with_only_withdrawn_months_outside_the_agreement_has_nothing() -> None:
    records = periods("JP-JPS", "epi", "2020-01", 12, WITHDRAWN)
    jp = totalise(records, one_fund_policy(FundCode("JP-JPS"), Threshold(120), member=False),
                  as_of=AS_OF).fund("JP-JPS")
    assert (jp.member, jp.own_months, jp.totalised_months, jp.pro_rata) == (False, 0, 0, 0)


# The Art 57 minimum is 12 months in the pilot: a member fund with 1..11 own months and no
# independent right pays nothing; 12 own months is no short period.
@pytest.mark.parametrize(("own", "short"), [(1, True), (11, True), (12, False), (13, False)])
def test_art_57_short_period_below_exactly_the_minimum(own: int, short: bool) -> None:
    records = [*periods("VN-VSS", "retirement-survivorship", "2000-01", 200),
               *periods("TH-SSO", "s33-old-age", "2020-01", own)]
    result = totalise(records, POLICY, as_of=AS_OF, age_years=55)
    th = result.fund("TH-SSO")
    assert (result.as_of, th.fund, th.member) == (AS_OF, "TH-SSO", True)
    assert th.qualifies_on_periods  # 200 + own totalised months: even one own month qualifies
    assert th.short_period is short
    assert th.paying_fraction == (0 if short else Fraction(own, 200 + own))
    assert th.pro_rata == Fraction(own, 200 + own)


@pytest.mark.parametrize(("own", "short"), [(11, True), (12, False), (23, False), (24, False)])
def test_no_short_period_where_the_own_months_give_an_independent_right(
    own: int, short: bool
) -> None:
    # Art 57 minimum 24 months; the fund's own threshold is 12: from 12 own months it pays.
    view = th_view(own, one_fund_policy(TH, Threshold(12), short_min=24))
    assert view.short_period is short
    assert view.qualifies_on_periods is (own >= 12)


def test_a_fund_outside_the_agreement_has_no_short_period() -> None:
    view = th_view(5, one_fund_policy(TH, Threshold(180), member=False))
    assert (view.member, view.short_period, view.paying_fraction) == (False, False, 1)


def test_policy_of_keeps_members_rules_and_the_art_57_minimum() -> None:
    rule = EligibilityRule(TH, (Threshold(180),))
    policy = policy_of(["TH-SSO", "KH-NSSF"], [rule], 7)
    assert policy.member_funds == frozenset({TH, KH})
    assert policy.rule("TH-SSO") is rule
    assert policy.short_period_months_min == 7
    assert TotalisationPolicy(frozenset(), {}).short_period_months_min == 12


# -- dated thresholds ------------------------------------------------------------------------------

OLD, NEW = Threshold(240), Threshold(180, effective_from=Month(2025, 7))
NEWER = Threshold(120, age_min=60, effective_from=Month(2030, 1))


@pytest.mark.parametrize("order", [(OLD, NEW, NEWER), (NEWER, NEW, OLD), (NEW, NEWER, OLD)])
def test_the_threshold_in_force_is_the_latest_started_one(
    order: tuple[Threshold, ...]
) -> None:
    rule = EligibilityRule(VN, order)
    assert rule.threshold_at(Month(1900, 1)) is OLD  # undated: in force since always
    assert rule.threshold_at(Month(2025, 6)) is OLD
    assert rule.threshold_at(Month(2025, 7)) is NEW  # from its first month
    assert rule.threshold_at(Month(2029, 12)) is NEW
    assert rule.threshold_at(Month(2030, 1)) is NEWER


def test_a_threshold_dated_in_1900_still_beats_an_undated_one() -> None:
    early = Threshold(60, effective_from=Month(1900, 6))
    for order in ((OLD, early), (early, OLD)):
        rule = EligibilityRule(VN, order)
        assert rule.threshold_at(Month(1900, 5)) is OLD
        assert rule.threshold_at(Month(1900, 6)) is early


def test_no_threshold_in_force_is_refused_by_code_and_message() -> None:
    rule = EligibilityRule(VN, (NEW,))
    assert rule.threshold_at(Month(2025, 7)) is NEW
    with pytest.raises(DomainError) as err:
        rule.threshold_at(Month(2025, 6))
    assert (err.value.code, err.value.field) == (ErrorCode.INVALID_INPUT, None)
    assert err.value.message == "no eligibility threshold of VN-VSS is in force at 2025-06"


def test_the_view_carries_the_threshold_in_force_at_the_claim_month() -> None:
    records = periods("VN-VSS", "retirement-survivorship", "2008-01", 200)
    policy = one_fund_policy(VN, OLD, NEW)
    assert totalise(records, policy, as_of=Month(2025, 6)).fund("VN-VSS").threshold is OLD
    assert totalise(records, policy, as_of=Month(2025, 7)).fund("VN-VSS").threshold is NEW


# -- refusals by code, field and message ---------------------------------------------------------


def refusal(call: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as err:
        call()
    return err.value


def test_a_missing_rule_names_the_field_rules() -> None:
    err = refusal(lambda: TotalisationPolicy(frozenset(), {}).rule("TH-SSO"))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_INPUT, "rules", "no eligibility rule for fund TH-SSO")


def test_a_fund_without_periods_is_unknown_to_the_result() -> None:
    result = totalise(periods("TH-SSO", "s33-old-age", "2020-01", 1), POLICY, as_of=AS_OF)
    err = refusal(lambda: result.fund("JP-JPS"))
    assert (err.code, err.field, err.message) == (
        ErrorCode.UNKNOWN_FUND, None, "the worker has no periods at JP-JPS")


@pytest.mark.parametrize(
    ("state", "to", "message"),
    [
        (TRANSFERRED, None,
         "transferred_to is required for a transferred period and only for one"),
        (ACTIVE, "KH-NSSF",
         "transferred_to is required for a transferred period and only for one"),
        (WITHDRAWN, "KH-NSSF",
         "transferred_to is required for a transferred period and only for one"),
        (TRANSFERRED, "TH-SSO", "a period cannot be transferred from TH-SSO to itself"),
    ],
)
def test_transferred_to_refusals_name_the_field(
    state: PeriodState, to: str | None, message: str
) -> None:
    err = refusal(lambda: PeriodRecord(TH, SchemeCode("s33-old-age"), AS_OF, state,
                                       FundCode(to) if to else None))
    assert (err.code, err.field, err.message) == (ErrorCode.INVALID_INPUT, "transferred_to",
                                                  message)


def test_a_record_refusal_names_its_index_and_field_under_periods() -> None:
    good = periods("TH-SSO", "s33-old-age", "2020-01", 2)
    short_term = periods("KH-NSSF", "health-care", "2024-01", 1)
    err = refusal(lambda: totalise([*good, *short_term], POLICY, as_of=AS_OF))
    assert (err.code, err.field, err.index) == (ErrorCode.INVALID_INPUT, "periods.scheme", 2)
    assert err.message == "KH-NSSF health-care is a short-term branch: its periods do not totalise"

    twice = [*good, *periods("TH-SSO", "s33-old-age", "2020-02", 1)]
    err = refusal(lambda: totalise(twice, POLICY, as_of=AS_OF))
    assert (err.code, err.field, err.index) == (ErrorCode.INVALID_INPUT, "periods", 2)
    assert err.message == "two periods for TH-SSO s33-old-age 2020-02"

    err = refusal(lambda: totalise([*good, *periods("TH-SSO", "old-age", "2020-03", 1)], POLICY,
                                   as_of=AS_OF))
    assert (err.code, err.field, err.index) == (ErrorCode.UNKNOWN_SCHEME, "periods.scheme", 2)

    err = refusal(lambda: totalise([*good, *periods("KH-NSSF", "pension", "2021-01", 1)], POLICY,
                                   as_of=AS_OF))
    assert (err.code, err.field, err.index) == (ErrorCode.SCHEME_NOT_IN_FORCE, "periods.month", 2)

    unknown_receiver = [*good, *periods("TH-SSO", "s33-old-age", "2020-03", 1, TRANSFERRED,
                                        to="LA-SSO")]
    err = refusal(lambda: totalise(unknown_receiver, POLICY, as_of=AS_OF))
    assert (err.code, err.field, err.index) == (
        ErrorCode.UNKNOWN_FUND, "periods.transferred_to", 2)


def test_the_same_month_in_two_schemes_or_two_funds_is_no_duplicate() -> None:
    records = [*periods("JP-JPS", "epi", "2020-01", 1), *periods("JP-JPS", "np", "2020-01", 1),
               *periods("TH-SSO", "s33-old-age", "2020-01", 1)]
    result = totalise(records, POLICY, as_of=AS_OF)
    assert [(f, v.own_months) for f, v in result.funds.items()] == [("JP-JPS", 1), ("TH-SSO", 1)]


# -- applying the fraction at its bounds -----------------------------------------------------------


@pytest.mark.parametrize("fraction", [Fraction(0), Fraction(1), Fraction(1, 3)])
def test_apply_pro_rata_takes_fractions_from_0_to_1(fraction: Fraction) -> None:
    amount = Money(900, Currency.THB)
    assert apply_pro_rata(amount, fraction, Rounding.DOWN) == Money(int(900 * fraction),
                                                                    Currency.THB)


@pytest.mark.parametrize("fraction", [Fraction(-1, 9), Fraction(10, 9)])
def test_apply_pro_rata_refusal_names_the_fraction(fraction: Fraction) -> None:
    err = refusal(lambda: apply_pro_rata(Money(100, Currency.THB), fraction, Rounding.DOWN))
    assert (err.code, err.field) == (ErrorCode.INVALID_RATE, None)
    assert err.message == f"a pro-rata fraction is in [0, 1], not {fraction}"


def test_a_short_period_fund_pays_nothing_of_its_theoretical_amount() -> None:
    records = [*periods("TH-SSO", "s33-old-age", "2005-01", 175),
               *periods("VN-VSS", "retirement-survivorship", "2020-01", 8)]
    vn = totalise(records, POLICY, as_of=AS_OF).fund("VN-VSS")
    seen: list[int] = []

    def formula(months: int) -> Money:
        seen.append(months)
        return Money(183_000, Currency.VND)

    benefit = pro_rata_benefit(vn, formula, Rounding.HALF_UP)
    assert seen == [183]  # the theoretical amount is for every totalised month
    assert (benefit.theoretical, benefit.fraction, benefit.amount) == (
        Money(183_000, Currency.VND), Fraction(0), Money(0, Currency.VND))


def test_pro_rata_benefit_rounds_with_the_named_mode() -> None:
    records = [*periods("TH-SSO", "s33-old-age", "2005-01", 2 * 12),
               *periods("VN-VSS", "retirement-survivorship", "2020-01", 12)]
    th = totalise(records, POLICY, as_of=AS_OF).fund("TH-SSO")  # 24 / 36 = 2/3

    def formula(_: int) -> Money:
        return Money(100, Currency.THB)

    assert pro_rata_benefit(th, formula, Rounding.DOWN).amount == Money(66, Currency.THB)
    assert pro_rata_benefit(th, formula, Rounding.HALF_UP).amount == Money(67, Currency.THB)
