"""Cambodian NSSF and Myanmar SSB rules: worked examples by hand from funds.md §1.1-1.2."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ledger.adapters.base import WorkerContext
from ledger.adapters.kh_nssf.rules import KhNssfAdapter
from ledger.adapters.refunds import Claim, History
from ledger.adapters.registry import get_adapter
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month

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
