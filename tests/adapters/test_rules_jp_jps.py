"""Japanese rules: EPI grades and premiums, the National Pension premium, the LSWP worked
examples from funds.md §1.5 (computed by hand in the comments)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ledger.adapters.base import Plan, Share, WorkerContext
from ledger.adapters.jp_jps import lswp
from ledger.adapters.jp_jps.rules import JpJpsAdapter
from ledger.adapters.refunds import BenefitKind, Claim, History, MonthRecord
from ledger.adapters.registry import get_adapter
from ledger.adapters.wagebase import Fixed
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month

JP = get_adapter("JP-JPS")
NONE = WorkerContext()


def yen(amount: int) -> Money:
    return Money(amount, Currency.JPY)


@pytest.mark.parametrize(("remuneration", "standard"), [
    (0, 88_000), (92_999, 88_000), (93_000, 98_000), (100_999, 98_000), (101_000, 104_000),
    (230_000, 240_000), (249_999, 240_000), (250_000, 260_000), (604_999, 590_000),
    (605_000, 620_000), (634_999, 620_000), (635_000, 650_000), (2_000_000, 650_000)])
def test_grade_lookup(remuneration: int, standard: int) -> None:
    # "93,000 yen or more, less than 101,000 yen" -> 98,000 (Art. 20 EPI Act table).
    quote = JP.contribution(NONE, "epi", Month(2025, 5), yen(remuneration))
    assert quote.wage_base == yen(standard)


def test_epi_premium_of_230000_is_21960_a_side() -> None:
    # 230,000 falls in [230,000, 250,000) -> 240,000; × 9.15% = 21,960 each side.
    quote = JP.contribution(NONE, "epi", Month(2025, 5), yen(230_000))
    assert quote.shares == ((Payer.EMPLOYEE, yen(21_960)), (Payer.EMPLOYER, yen(21_960)))


def test_grade_32_exists_from_september_2020_only() -> None:
    assert JP.contribution(NONE, "epi", Month(2020, 8), yen(700_000)).wage_base == yen(620_000)
    assert JP.contribution(NONE, "epi", Month(2020, 9), yen(700_000)).wage_base == yen(650_000)


def test_every_standard_amount_is_its_own_grade_and_shares_are_whole_yen() -> None:
    for month in (Month(2019, 1), Month(2025, 1)):
        assert isinstance(JP, JpJpsAdapter)
        steps = JP.grades(month)
        for standard in steps.values:
            quote = JP.contribution(NONE, "epi", month, yen(standard))
            assert quote.wage_base == yen(standard)
            assert standard * 915 % 10_000 == 0  # 9.15% of every grade is whole yen


@pytest.mark.parametrize(("month", "premium"), [
    (Month(2021, 4), 16_610), (Month(2022, 3), 16_610), (Month(2022, 4), 16_590),
    (Month(2023, 4), 16_520), (Month(2024, 4), 16_980), (Month(2025, 4), 17_510),
    (Month(2026, 3), 17_510), (Month(2026, 4), 17_920)])
def test_national_pension_premium_by_fiscal_year(month: Month, premium: int) -> None:
    quote = JP.contribution(NONE, "np", month, yen(0))
    assert quote.shares == ((Payer.VOLUNTARY, yen(premium)),)


# -- LSWP ----------------------------------------------------------------------------------------
def test_payment_rates_are_the_published_ones() -> None:
    # 18.3% × ½ × 6 = 0.549 -> 0.5; × 12 = 1.098 -> 1.1; 18 -> 1.647 -> 1.6; 24 -> 2.196 -> 2.2;
    # 30 -> 2.745 -> 2.7; 36 -> 3.294 -> 3.3; 42 -> 3.843 -> 3.8; 48 -> 4.392 -> 4.4;
    # 54 -> 4.941 -> 4.9; 60 -> 5.49 -> 5.5 (one decimal, half up).
    rates = [lswp.payment_rate(JP.parameters, f, Month(2025, 3)) for f in range(6, 61, 6)]
    assert rates == [Fraction(x, 10) for x in (5, 11, 16, 22, 27, 33, 38, 44, 49, 55)]


MARCH_2025 = Month(2025, 3)


def epi_history(months: int, standard: int = 250_000, last: Month = MARCH_2025) -> History:
    first = last.plus(1 - months)
    return History("JP-JPS", Currency.JPY, tuple(
        MonthRecord(first.plus(i), "epi", standard,
                    {Payer.EMPLOYEE: standard * 915 // 10_000,
                     Payer.EMPLOYER: standard * 915 // 10_000})
        for i in range(months)))


def np_history(months: int, last: Month) -> History:
    first = last.plus(1 - months)
    return History("JP-JPS", Currency.JPY, tuple(
        MonthRecord(first.plus(i), "np", 17_510, {Payer.VOLUNTARY: 17_510})
        for i in range(months)))


LEFT = Claim(Month(2025, 6), left_country_month=Month(2025, 4))


def test_epi_250000_for_30_months() -> None:
    """250,000 × 2.7 = 675,000 gross; 675,000 × 20.42% = 137,835 withheld;
    675,000 - 137,835 = 537,165 paid now.

    Tax really due: 30 months are 3 years of service (a part year counts whole); deduction
    max(400,000 × 3, 800,000) = 1,200,000 >= 675,000, so nothing is taxable and all 137,835
    comes back (the funds.md §1.5 example: "most of the 137,835 reclaimable")."""
    (result,) = JP.withdrawal(epi_history(30), LEFT)
    assert result.scheme == "epi" and result.kind is BenefitKind.LUMP_SUM
    assert result.gross == yen(675_000)
    assert [(p.label, p.amount.amount_minor, p.receivable) for p in result.payments] == [
        ("lump_sum", 537_165, False), ("tax_refund", 137_835, True)]
    assert result.withheld == yen(137_835)
    assert (result.basis["service_years"], result.basis["retirement_deduction"],
            result.basis["tax_due"]) == ("3", "1200000", "0")
    assert result.paid_now == yen(537_165)
    assert result.basis["payment_rate"] == "2.7"
    assert len(result.months) == 30


def test_a_large_lump_sum_gets_less_than_the_whole_withholding_back() -> None:
    """60 months at the top grade, 650,000, last insured month March 2025 (cap 60 months).

    Gross: 650,000 × 5.5 = 3,575,000 (18.3% × ½ × 60 = 5.49, published as 5.5).
    Withheld: 3,575,000 × 20.42% = 730,015; paid now 3,575,000 - 730,015 = 2,844,985.
    Tax really due, as retirement income paid in June 2025:
      service 60 months = 5 years; deduction 400,000 × 5 = 2,000,000;
      above it 1,575,000; short service (5 years or less, from 2022): the first 3,000,000 of it
      is halved: 787,500, down to 1,000 yen: 787,000 taxable;
      income tax 5% × 787,000 = 39,350; surtax 2.1% × 39,350 = 826.35, down to 826;
      due 39,350 + 826 = 40,176.
    Refund: 730,015 - 40,176 = 689,839, not the whole 730,015."""
    (result,) = JP.withdrawal(epi_history(60, 650_000), LEFT)
    assert result.gross == yen(3_575_000)
    assert result.paid_now == yen(2_844_985) and result.withheld == yen(730_015)
    assert result.receivable == yen(689_839)
    assert (result.basis["taxable_income"], result.basis["tax_due"]) == ("787000", "40176")


def test_retirement_tax_above_the_short_service_limit_and_before_the_rule() -> None:
    """5,000,000 yen for 24 insured months (2 years): deduction max(800,000, 800,000) = 800,000;
    4,200,000 above it.

    Paid June 2025 (short-service rule): 3,000,000 × ½ + (4,200,000 - 3,000,000) = 2,700,000
      taxable; 10% × 2,700,000 - 97,500 = 172,500; surtax 2.1% = 3,622.5, down to 3,622;
      due 176,122.
    Paid June 2021 (no such rule yet): 4,200,000 × ½ = 2,100,000; 10% - 97,500 = 112,500;
      surtax 2,362.5, down to 2,362; due 114,862."""
    from ledger.adapters.jp_jps.retirement_tax import retirement_tax

    params = JP.parameters
    now = retirement_tax(params, 5_000_000, 24, Month(2025, 6))
    assert (now.deduction, now.taxable, now.income_tax, now.surtax, now.due) == (
        800_000, 2_700_000, 172_500, 3_622, 176_122)
    before = retirement_tax(params, 5_000_000, 24, Month(2021, 6))
    assert (before.taxable, before.due) == (2_100_000, 114_862)
    # 13 months are 2 years (a part year counts whole): 800,000 either way; 25 are 3: 1,200,000.
    assert retirement_tax(params, 1_000_000, 25, Month(2025, 6)).deduction == 1_200_000


def test_epi_36_months_is_rate_3_3() -> None:
    # 250,000 × 3.3 = 825,000.
    (result,) = JP.withdrawal(epi_history(36), LEFT)
    assert result.basis["payment_rate"] == "3.3" and result.gross == yen(825_000)


def test_epi_average_includes_bonuses() -> None:
    # 6 months at 200,000 plus one standard bonus of 300,000: (1,200,000 + 300,000) / 6
    # = 250,000; × 0.5 = 125,000.
    hist = epi_history(6, 200_000)
    records = list(hist.records)
    r = records[2]
    records[2] = MonthRecord(r.month, r.scheme, r.wage_base_minor, r.shares_minor, 300_000)
    (result,) = JP.withdrawal(History("JP-JPS", Currency.JPY, tuple(records)), LEFT)
    assert result.gross == yen(125_000)


def test_months_cap_is_dated_by_last_insured_month() -> None:
    # Last month March 2021: cap 36 (3.3); April 2021: cap 60 (5.5). 72 months either way, and
    # every one of them is erased, beyond the cap too.
    before = Claim(Month(2021, 5), left_country_month=Month(2021, 4))
    (old,) = JP.withdrawal(epi_history(72, last=Month(2021, 3)), before)
    assert old.basis["months_factor"] == "36" and old.gross == yen(825_000)
    (new,) = JP.withdrawal(epi_history(72, last=Month(2021, 4)), before)
    assert new.basis["months_factor"] == "60" and new.gross == yen(1_375_000)
    assert len(new.months) == 72


def test_national_pension_fy2025() -> None:
    # FY2025 premium 17,510 × ½ × 6 = 52,530; × ½ × 60 = 525,300; untaxed.
    claim = Claim(Month(2026, 2), left_country_month=Month(2026, 1))
    (six,) = JP.withdrawal(np_history(6, Month(2025, 12)), claim)
    assert six.gross == yen(52_530) and six.paid_now == yen(52_530)
    (sixty,) = JP.withdrawal(np_history(60, Month(2025, 12)), claim)
    assert sixty.gross == yen(525_300) and len(sixty.payments) == 1


def test_both_schemes_pay_separately() -> None:
    hist = History("JP-JPS", Currency.JPY,
                   epi_history(30).records + np_history(6, Month(2022, 12)).records)
    results = JP.withdrawal(hist, LEFT)
    assert [r.scheme for r in results] == ["epi", "np"]
    # NP: last paid month Dec 2022 is FY2022: 16,590 × ½ × 6 = 49,770.
    assert results[1].gross == yen(49_770)


def test_lswp_conditions() -> None:
    with pytest.raises(DomainError) as err:
        JP.withdrawal(epi_history(30), Claim(Month(2025, 6)))
    assert err.value.code is ErrorCode.NOT_ELIGIBLE
    assert err.value.details["reasons"] == ["still has an address in Japan"]
    late = Claim(Month(2027, 5), left_country_month=Month(2025, 4))  # 25 months after leaving
    with pytest.raises(DomainError, match="more than 24 months"):
        JP.withdrawal(epi_history(30), late)
    assert JP.withdrawal(epi_history(30), Claim(Month(2027, 4), left_country_month=Month(2025, 4)))
    with pytest.raises(DomainError, match="epi: 5 insured months, 6 needed"):
        JP.withdrawal(epi_history(5), LEFT)
    with pytest.raises(DomainError, match="non-Japanese"):
        JP.withdrawal(epi_history(30), Claim(Month(2025, 6), left_country_month=Month(2025, 4),
                                             foreign_national=False))


# -- plans term by term --------------------------------------------------------------------------


def test_epi_grades_are_steps_from_each_lower_bound() -> None:
    assert isinstance(JP, JpJpsAdapter)
    steps = JP.grades(Month(2025, 5))
    assert steps.lower_inclusive is True
    assert (steps.bounds[:3], steps.values[:3]) == ((93_000, 101_000, 107_000),
                                                    (88_000, 98_000, 104_000))
    assert (steps.bounds[-1], steps.values[-1]) == (635_000, 650_000)
    assert len(steps.values) == len(steps.bounds) + 1 == 32


def test_jp_plans_term_by_term() -> None:
    assert isinstance(JP, JpJpsAdapter)
    may = Month(2025, 5)
    assert JP.plan("np", may, NONE) == Plan(
        Fixed(17_510), {Payer.VOLUNTARY: Share(Fraction(1))}, Rounding.HALF_UP, 1)
    assert JP.plan("epi", may, NONE) == Plan(
        JP.grades(may), {Payer.EMPLOYEE: Share(Fraction(183, 2000)),
                         Payer.EMPLOYER: Share(Fraction(183, 2000))}, Rounding.HALF_UP, 1)
