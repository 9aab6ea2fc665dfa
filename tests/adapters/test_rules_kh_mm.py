"""Cambodian NSSF and Myanmar SSB rules: worked examples by hand from funds.md §1.1-1.2."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from ledger.adapters.base import Plan, Share, WorkerContext
from ledger.adapters.kh_nssf.params import PensionSchedule
from ledger.adapters.kh_nssf.rules import KhNssfAdapter
from ledger.adapters.mm_ssb.params import RateReading
from ledger.adapters.refunds import Claim, History
from ledger.adapters.registry import get_adapter
from ledger.adapters.voluntary_terms import PaymentRule, PaymentUnit, VoluntaryTerms
from ledger.adapters.wagebase import Clamp, Steps
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month
from tests.adapters.rules_support import adapter_with

KH = get_adapter("KH-NSSF")
MM = get_adapter("MM-SSB")
NONE = WorkerContext()


def riel(amount: int) -> Money:
    return Money(amount * 100, Currency.KHR)


def kyat(amount: int) -> Money:
    return Money(amount * 100, Currency.MMK)


def test_pension_wage_1500000_clamped_to_1200000_at_4_percent() -> None:
    # March 2023 is scheme year 1 (Oct 2022 - Sep 2023): 4% total, 2% + 2%.
    # 1,500,000 -> ceiling 1,200,000; × 2% = 24,000 riel each side.
    quote = KH.contribution(NONE, "pension", Month(2023, 3), riel(1_500_000))
    assert quote.wage_base == riel(1_200_000)
    assert quote.shares == ((Payer.EMPLOYEE, riel(24_000)), (Payer.EMPLOYER, riel(24_000)))
    # Floor: 300,000 -> 400,000 × 2% = 8,000.
    low = KH.contribution(NONE, "pension", Month(2023, 3), riel(300_000))
    assert low.wage_base == riel(400_000) and low.share(Payer.EMPLOYEE) == riel(8_000)


@pytest.mark.parametrize(("month", "total_percent"), [
    (Month(2022, 10), Fraction(4)), (Month(2027, 9), Fraction(4)),  # years 1-5
    (Month(2027, 10), Fraction(8)), (Month(2032, 9), Fraction(8)),  # years 6-10
    (Month(2032, 10), Fraction(1075, 100)), (Month(2042, 9), Fraction(1075, 100)),  # 11-20
    (Month(2042, 10), Fraction(1350, 100))])  # +2.75 points after 10 more years
def test_pension_rate_steps_with_scheme_age(month: Month, total_percent: Fraction) -> None:
    assert isinstance(KH, KhNssfAdapter)
    assert KH.pension_total_rate(month) == total_percent / 100


def test_pension_at_10_75_percent_splits_in_halves() -> None:
    # Year 11 (Oct 2032): 10.75% / 2 = 5.375% of 1,200,000 = 64,500 riel each side.
    quote = KH.contribution(NONE, "pension", Month(2032, 10), riel(2_000_000))
    assert quote.share(Payer.EMPLOYEE) == quote.share(Payer.EMPLOYER) == riel(64_500)


@pytest.mark.parametrize(("wage", "rank_wage"), [
    (0, 200_000), (150_000, 200_000),
    (200_000, 200_000),  # rank 1 is "below 200,000"; rank 2 starts at 200,001
    (200_001, 225_000), (250_000, 225_000), (250_001, 275_000), (612_345, 625_000),
    (1_150_000, 1_125_000), (1_150_001, 1_175_000),
    (1_200_000, 1_175_000),  # rank 21 is "1,150,001-1,200,000"
    (1_200_001, 1_200_000), (9_000_000, 1_200_000)])  # rank 22 is "1,200,001 up"
def test_rank_lookup(wage: int, rank_wage: int) -> None:
    quote = KH.contribution(NONE, "occupational-risk", Month(2024, 1), riel(wage))
    assert quote.wage_base == riel(rank_wage)
    # 0.8% of the rank's wage, employer only: e.g. 1,200,000 -> 9,600.
    assert quote.shares == ((Payer.EMPLOYER, Money(rank_wage * 8 // 10, Currency.KHR)),)


def test_rank_boundary_in_sen() -> None:
    # 200,000.01 riel exceeds 200,000: rank 2.
    quote = KH.contribution(NONE, "health-care", Month(2024, 1), Money(20_000_001, Currency.KHR))
    assert quote.wage_base == riel(225_000)


def test_health_care_split_changes_in_2018() -> None:
    # 1,500,000 -> rank 22 = 1,200,000. 2017: 1.3% each = 15,600; 2018: employer 2.6% = 31,200.
    before = KH.contribution(NONE, "health-care", Month(2017, 12), riel(1_500_000))
    assert before.shares == ((Payer.EMPLOYEE, riel(15_600)), (Payer.EMPLOYER, riel(15_600)))
    after = KH.contribution(NONE, "health-care", Month(2018, 1), riel(1_500_000))
    assert after.shares == ((Payer.EMPLOYER, riel(31_200)),)


def test_declaration_skips_schemes_not_yet_in_force() -> None:
    assert [q.scheme for q in KH.declaration(NONE, Month(2022, 9), riel(500_000))] == [
        "occupational-risk", "health-care"]
    with pytest.raises(DomainError) as err:
        KH.contribution(NONE, "pension", Month(2022, 9), riel(500_000))
    assert err.value.code is ErrorCode.SCHEME_NOT_IN_FORCE


def test_no_withdrawal_rule_at_nssf() -> None:
    with pytest.raises(DomainError) as err:
        KH.withdrawal(History("KH-NSSF", Currency.KHR, ()), Claim(Month(2025, 1)))
    assert err.value.code is ErrorCode.NOT_ELIGIBLE


# -- Myanmar -------------------------------------------------------------------------------------
def test_myanmar_cap_at_300000() -> None:
    # 400,000 -> 300,000: health & social care 2% = 6,000 each side; employment injury 1% =
    # 3,000 employer. Totals 6,000 employee, 9,000 employer (the 15,000 maximum).
    quotes = MM.declaration(NONE, Month(2026, 10), kyat(400_000))
    assert [(q.scheme, q.wage_base, q.shares) for q in quotes] == [
        ("health-social-care", kyat(300_000),
         ((Payer.EMPLOYEE, kyat(6_000)), (Payer.EMPLOYER, kyat(6_000)))),
        ("employment-injury", kyat(300_000), ((Payer.EMPLOYER, kyat(3_000)),)),
    ]
    # Under the cap: 250,000 × 2% = 5,000; employer 5,000 + 2,500.
    under = MM.declaration(NONE, Month(2026, 10), kyat(250_000))
    assert sum(q.share(Payer.EMPLOYER).amount_minor for q in under) == 750_000


def test_myanmar_registered_at_60_or_over() -> None:
    # 2.5% × 300,000 = 7,500 each side for health & social care; injury unchanged.
    old = WorkerContext(registered_at_60_or_over=True)
    quote = MM.contribution(old, "health-social-care", Month(2026, 10), kyat(400_000))
    assert quote.shares == ((Payer.EMPLOYEE, kyat(7_500)), (Payer.EMPLOYER, kyat(7_500)))


def test_myanmar_old_age_branch_is_not_operating() -> None:
    with pytest.raises(DomainError) as err:
        MM.contribution(NONE, "old-age", Month(2026, 10), kyat(100_000))
    assert err.value.code is ErrorCode.SCHEME_NOT_IN_FORCE


# -- plans term by term, refusals by message -----------------------------------------------------

MAR_2023, OCT_2026 = Month(2023, 3), Month(2026, 10)
E, R = Payer.EMPLOYEE, Payer.EMPLOYER
RANK_BOUNDS = tuple(riel(b).amount_minor for b in range(200_000, 1_200_001, 50_000))
RANK_WAGES = tuple(riel(w).amount_minor for w in (
    200_000, *range(225_000, 1_175_001, 50_000), 1_200_000))


def test_the_rank_table_as_steps_above_each_bound() -> None:
    assert isinstance(KH, KhNssfAdapter)
    assert KH.ranks(MAR_2023) == Steps(RANK_BOUNDS, RANK_WAGES, lower_inclusive=False)


def test_a_higher_rank_floor_lifts_the_low_ranks_to_it() -> None:
    kh = adapter_with("KH-NSSF", ranked_wage_floor=Decimal(400_000))
    assert isinstance(kh, KhNssfAdapter)
    lifted = tuple(max(w, riel(400_000).amount_minor) for w in RANK_WAGES)
    assert kh.ranks(MAR_2023) == Steps(RANK_BOUNDS, lifted, lower_inclusive=False)
    assert lifted[:6] == (riel(400_000).amount_minor,) * 5 + (riel(425_000).amount_minor,)


def test_kh_plans_term_by_term() -> None:
    assert KH.plan("pension", MAR_2023, NONE) == Plan(
        Clamp(riel(400_000).amount_minor, riel(1_200_000).amount_minor),
        {E: Share(Fraction(2, 100)), R: Share(Fraction(2, 100))}, Rounding.HALF_UP, 1)
    assert isinstance(KH, KhNssfAdapter)
    ranks = KH.ranks(MAR_2023)
    assert KH.plan("health-care", MAR_2023, NONE) == Plan(
        ranks, {R: Share(Fraction(26, 1000))}, Rounding.HALF_UP, 1)
    assert KH.plan("occupational-risk", MAR_2023, NONE) == Plan(
        ranks, {R: Share(Fraction(8, 1000))}, Rounding.HALF_UP, 1)


def test_a_zero_pension_split_is_left_out() -> None:
    kh = adapter_with("KH-NSSF", pension_split={E: Decimal(0), R: Decimal(100)})
    assert kh.plan("pension", MAR_2023, NONE).shares == {R: Share(Fraction(4, 100))}


@pytest.mark.parametrize(("month", "total_percent"), [
    (Month(2052, 9), Fraction(1350, 100)),  # year 30: still the first increment
    (Month(2052, 10), Fraction(1625, 100)),  # year 31: a second one
    (Month(2023, 9), Fraction(4)), (Month(2023, 10), Fraction(4)),
])
def test_pension_rate_increments_every_ten_years_after_the_last_step(
    month: Month, total_percent: Fraction
) -> None:
    assert isinstance(KH, KhNssfAdapter)
    assert KH.pension_total_rate(month) == total_percent / 100


def test_the_pension_rate_before_the_scheme_started_is_refused() -> None:
    # The schedule in force says the scheme starts later than the month asked for.
    schedule = PensionSchedule(scheme_start="2023-01", steps=[(1, Decimal(4))],
                               increment=Decimal(0), increment_every_years=10)
    kh = adapter_with("KH-NSSF", pension_rate_schedule=schedule)
    assert isinstance(kh, KhNssfAdapter)
    assert kh.pension_total_rate(Month(2023, 1)) == Fraction(4, 100)
    with pytest.raises(DomainError) as err:
        kh.pension_total_rate(Month(2022, 12))
    assert (err.value.code, err.value.field) == (ErrorCode.PARAMETER_NOT_IN_FORCE, "month")
    assert err.value.message == "the pension scheme starts 2023-01, not 2022-12"


def test_mm_plans_term_by_term_and_the_60_plus_uplift() -> None:
    clamp = Clamp(0, kyat(300_000).amount_minor)
    assert MM.plan("health-social-care", OCT_2026, NONE) == Plan(
        clamp, {E: Share(Fraction(2, 100)), R: Share(Fraction(2, 100))}, Rounding.HALF_UP, 1)
    old = WorkerContext(registered_at_60_or_over=True)
    assert MM.plan("health-social-care", OCT_2026, old).shares == {
        E: Share(Fraction(25, 1000)), R: Share(Fraction(25, 1000))}
    assert MM.plan("employment-injury", OCT_2026, old) == Plan(
        clamp, {R: Share(Fraction(1, 100))}, Rounding.HALF_UP, 1)  # the uplift is one branch


def test_the_practice_reading_gives_no_60_plus_uplift() -> None:
    practice = adapter_with("MM-SSB", rate_reading=RateReading.PRACTICE_3_2)
    old = WorkerContext(registered_at_60_or_over=True)
    assert practice.plan("health-social-care", OCT_2026, old).shares == {
        E: Share(Fraction(2, 100)), R: Share(Fraction(2, 100))}


def test_mm_a_branch_without_rates_is_refused_by_message() -> None:
    with pytest.raises(DomainError) as err:
        MM.plan("old-age", OCT_2026, NONE)
    assert (err.value.code, err.value.field) == (ErrorCode.PARAMETER_NOT_IN_FORCE, "scheme")
    assert err.value.message == "no rates for old-age at 2026-10"


@pytest.mark.parametrize(("fields", "flag"), [
    ({}, False), ({"registered_at_60_or_over": "no"}, False),
    ({"registered_at_60_or_over": " YES "}, True), ({"registered_at_60_or_over": "yes"}, True),
])
def test_mm_context_from_declaration_fields(fields: dict[str, str], flag: bool) -> None:
    assert MM.context_from_fields(fields) == WorkerContext(registered_at_60_or_over=flag)


def test_mm_a_flag_other_than_yes_or_no_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        MM.context_from_fields({"registered_at_60_or_over": "Maybe"})
    assert (err.value.code, err.value.field) == (ErrorCode.INVALID_INPUT,
                                                 "registered_at_60_or_over")
    assert err.value.message == "must be yes or no, got 'maybe'"


def test_a_rounding_step_of_100_riel_or_kyat_reaches_every_plan() -> None:
    kh = adapter_with("KH-NSSF", amount_quantum=Decimal(100))
    for scheme in ("pension", "health-care", "occupational-risk"):
        assert kh.plan(scheme, MAR_2023, NONE).quantum == riel(100).amount_minor, scheme
    mm = adapter_with("MM-SSB", amount_quantum=Decimal(100))
    assert mm.plan("employment-injury", OCT_2026, NONE).quantum == kyat(100).amount_minor


def test_kh_voluntary_pension_is_the_members_share_of_the_total_rate_to_the_quantum() -> None:
    # The bundled member share is 100% and the quantum one sen, where multiplying and dividing
    # by the share agree and every quantum is the same: a file with a 50% share and whole
    # hundreds of riel tells them apart. 4% total x 50% = 2%; 1,000,050 riel -> 20,001 -> 20,000.
    kh = adapter_with("KH-NSSF", voluntary_pension_member_share=Decimal(50),
                      amount_quantum=Decimal(100))
    assert kh.plan("voluntary-pension", MAR_2023, NONE) == Plan(
        Clamp(riel(400_000).amount_minor, riel(1_200_000).amount_minor),
        {Payer.VOLUNTARY: Share(Fraction(2, 100))}, Rounding.HALF_UP, 10_000)
    quote = kh.contribution(NONE, "voluntary-pension", MAR_2023, riel(1_000_050))
    assert quote.shares_minor() == {Payer.VOLUNTARY: riel(20_000).amount_minor}
    # the bundled file: the whole 4%, to the sen (1,000,050 riel -> 40,002 riel)
    assert KH.contribution(NONE, "voluntary-pension", MAR_2023, riel(1_000_050)).shares_minor() \
        == {Payer.VOLUNTARY: riel(40_002).amount_minor}


def test_mm_scheme_abroad_is_six_percent_of_the_declared_income_to_the_quantum() -> None:
    # funds.md §1.2: an agreement option; 6% of an income between 124,800 kyat and the ceiling
    # (300,000). 250,050 kyat: 15,003 kyat; with a file rounding to 100 kyat, 15,000.
    plan = Plan(Clamp(kyat(124_800).amount_minor, kyat(300_000).amount_minor),
                {Payer.VOLUNTARY: Share(Fraction(6, 100))}, Rounding.HALF_UP, 1)
    assert MM.plan("voluntary-abroad", OCT_2026, NONE) == plan
    quote = MM.contribution(NONE, "voluntary-abroad", OCT_2026, kyat(250_050), opened=True)
    assert quote.shares_minor() == {Payer.VOLUNTARY: kyat(15_003).amount_minor}
    mm = adapter_with("MM-SSB", amount_quantum=Decimal(100))
    assert mm.plan("voluntary-abroad", OCT_2026, NONE).quantum == 10_000
    quote = mm.contribution(NONE, "voluntary-abroad", OCT_2026, kyat(250_050), opened=True)
    assert quote.shares_minor() == {Payer.VOLUNTARY: kyat(15_000).amount_minor}
    # above the ceiling the income is cut to it: 6% of 300,000 = 18,000
    top = MM.contribution(NONE, "voluntary-abroad", OCT_2026, kyat(400_000), opened=True)
    assert (top.wage_base, top.shares_minor()) == (
        kyat(300_000), {Payer.VOLUNTARY: kyat(18_000).amount_minor})


def test_mm_scheme_abroads_payment_terms() -> None:
    # 1, 3, 6 or 12 months a payment, up to 11 ahead and 3 in arrears (unverified terms), a
    # declared income between 124,800 kyat and the ceiling (300,000)
    assert MM.voluntary_terms("voluntary-abroad", OCT_2026) == VoluntaryTerms(
        PaymentRule(unit=PaymentUnit.MONTH, counts=(1, 3, 6, 12), advance_months_max=11,
                    arrears_months_max=3),
        income_floor_minor=kyat(124_800).amount_minor,
        income_ceiling_minor=kyat(300_000).amount_minor)
    assert MM.voluntary_terms("old-age", OCT_2026) is None


def test_kh_voluntary_pensions_payment_terms() -> None:
    # 1, 3, 6 or 12 months a payment, up to 11 ahead and 1 in arrears (unverified terms), a
    # declared income between 400,000 and 1,200,000 riel
    assert KH.voluntary_terms("voluntary-pension", MAR_2023) == VoluntaryTerms(
        PaymentRule(unit=PaymentUnit.MONTH, counts=(1, 3, 6, 12), advance_months_max=11,
                    arrears_months_max=1),
        income_floor_minor=riel(400_000).amount_minor,
        income_ceiling_minor=riel(1_200_000).amount_minor)
    assert KH.voluntary_terms("pension", MAR_2023) is None
