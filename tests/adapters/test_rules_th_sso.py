"""Thai SSO rules: s33 worked examples by hand from funds.md §1.4, s39/s40, the old-age benefit."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from ledger.adapters.base import Plan, Share, WorkerContext
from ledger.adapters.refunds import BenefitKind, Claim, History, MonthRecord
from ledger.adapters.registry import get_adapter
from ledger.adapters.wagebase import Clamp, Fixed
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month, PeriodState
from tests.adapters.rules_support import adapter_with

TH = get_adapter("TH-SSO")
S33 = ("s33-sickness", "s33-old-age", "s33-unemployment")
NONE = WorkerContext()


def thb(satang: int) -> Money:
    return Money(satang, Currency.THB)


def s33_totals(wage_satang: int, month: Month) -> dict[Payer, int]:
    totals: dict[Payer, int] = {}
    for q in TH.declaration(NONE, month, thb(wage_satang)):
        for payer, amount in q.shares:
            totals[payer] = totals.get(payer, 0) + amount.amount_minor
    return totals


def test_wage_20000_pays_750_a_side_before_2026_and_875_from_2026() -> None:
    # 20,000 > ceiling 15,000 (to Dec 2025): 15,000 × 5% = 750 per side; government
    # 15,000 × 2.75% = 412.50, rounded half up to whole baht (amount_quantum 1): 413.
    assert s33_totals(2_000_000, Month(2025, 12)) == {
        Payer.EMPLOYEE: 75_000, Payer.EMPLOYER: 75_000, Payer.GOVERNMENT: 41_300}
    # From Jan 2026 the ceiling is 17,500: 17,500 × 5% = 875; × 2.75% = 481.25 -> 481.
    assert s33_totals(2_000_000, Month(2026, 1)) == {
        Payer.EMPLOYEE: 87_500, Payer.EMPLOYER: 87_500, Payer.GOVERNMENT: 48_100}


def test_branch_split_of_20000_in_2026() -> None:
    # Base 17,500: sickness 1.5% = 262.50, old age 3% = 525.00, unemployment 0.5% = 87.50 per
    # side; 262.50 + 525.00 + 87.50 = 875. The branches keep satang; only each side's total is
    # whole baht. Government: 481 declared; 262.50 + 43.75 on their own, old age the rest:
    # 481 - 262.50 - 43.75 = 174.75 (its 1% would be 175.00).
    quotes = {q.scheme: q for q in TH.declaration(NONE, Month(2026, 1), thb(2_000_000))}
    assert [quotes[s].share(Payer.EMPLOYEE).amount_minor for s in S33] == [26_250, 52_500, 8_750]
    assert [quotes[s].share(Payer.GOVERNMENT).amount_minor for s in S33] == [26_250, 17_475, 4_375]
    assert all(q.wage_base == thb(1_750_000) for q in quotes.values())


def test_floor_wage_1000_pays_83_a_side() -> None:
    # funds.md §1.4: "Min contribution 83". 1,000 < floor 1,650: base 1,650 × 5% = 82.50,
    # 50 satang and up round up to whole baht (amount_quantum 1, half up): 83 per side.
    totals = s33_totals(100_000, Month(2025, 6))
    assert totals[Payer.EMPLOYEE] == totals[Payer.EMPLOYER] == 8_300
    # Branches: 1.5% = 24.75 and 0.5% = 8.25 on their own; old age takes the rest,
    # 83 - 24.75 - 8.25 = 50.00 (its 3% would be 49.50). Government 2.75% = 45.375 -> 45:
    # 24.75 + 4.125 -> 4.13, old age 45 - 24.75 - 4.13 = 16.12.
    quotes = TH.declaration(NONE, Month(2025, 6), thb(100_000))
    assert [q.share(Payer.EMPLOYEE).amount_minor for q in quotes] == [2_475, 5_000, 825]
    assert [q.share(Payer.GOVERNMENT).amount_minor for q in quotes] == [2_475, 1_612, 413]
    assert totals[Payer.GOVERNMENT] == 4_500


def test_the_published_maximum_and_a_half_baht_round_up() -> None:
    # funds.md §1.4: "max 750" (15,000 × 5%); 875 / 1,000 / 1,150 from 2026 / 2029 / 2032.
    for month, most in ((Month(2025, 12), 75_000), (Month(2026, 1), 87_500),
                        (Month(2029, 1), 100_000), (Month(2032, 1), 115_000)):
        assert s33_totals(5_000_000, month)[Payer.EMPLOYEE] == most
    # 1,650.00 -> 82.50 -> 83 and 1,649.99 (the floor lifts it) too; 1,670.00 × 5% = 83.50
    # -> 84; 1,669.99 × 5% = 83.4995 -> 83.
    for wage, side in ((165_000, 8_300), (164_999, 8_300), (167_000, 8_400),
                       (166_999, 8_300)):
        assert s33_totals(wage, Month(2026, 3))[Payer.EMPLOYER] == side, wage


def test_branches_always_add_up_to_the_declared_five_percent() -> None:
    # 12,345.67 THB: 5% = 617.2835 -> 617 declared (whole baht). Sickness 1.5% = 185.18505 ->
    # 185.19, unemployment 0.5% = 61.72835 -> 61.73, old age takes the rest: 617 - 185.19 -
    # 61.73 = 370.08. Rounding old age on its own (3% = 370.3701 -> 370.37) would make the
    # branches 617.29, not what the employer declares.
    quotes = {q.scheme: q for q in TH.declaration(NONE, Month(2025, 6), thb(1_234_567))}
    employee = [quotes[s].share(Payer.EMPLOYEE).amount_minor for s in S33]
    assert employee == [18_519, 37_008, 6_173]
    assert sum(employee) == 61_700
    for wage in range(165_000, 1_750_000, 997):  # every wage between floor and ceiling
        totals = s33_totals(wage, Month(2026, 3))
        # wage × 5% rounded half up to whole baht (100 satang), integers only
        five_percent = (wage * 5 + 5_000) // 10_000 * 100
        assert totals[Payer.EMPLOYEE] == totals[Payer.EMPLOYER] == five_percent


@pytest.mark.parametrize(("month", "ceiling_thb"), [
    (Month(2025, 12), 15_000), (Month(2026, 1), 17_500), (Month(2028, 12), 17_500),
    (Month(2029, 1), 20_000), (Month(2031, 12), 20_000), (Month(2032, 1), 23_000)])
def test_dated_ceiling(month: Month, ceiling_thb: int) -> None:
    quote = TH.contribution(NONE, "s33-old-age", month, thb(10_000_000))
    assert quote.wage_base == thb(ceiling_thb * 100)


def test_s39_is_432_and_s40_options() -> None:
    # s39: 9% × 4,800 = 432.00 THB, all voluntary, whatever the wage.
    s39 = TH.contribution(NONE, "s39-voluntary", Month(2025, 1), thb(0))
    assert s39.shares == ((Payer.VOLUNTARY, thb(43_200)),)
    for option, baht in ((1, 70), (2, 100), (3, 300)):
        s40 = TH.contribution(WorkerContext(s40_option=option), "s40-informal", Month(2025, 1),
                              thb(0))
        assert s40.shares == ((Payer.VOLUNTARY, thb(baht * 100)),)
    with pytest.raises(DomainError) as err:
        TH.contribution(NONE, "s40-informal", Month(2025, 1), thb(0))
    assert err.value.field == "s40_option"


def test_before_the_first_dated_rates_is_refused() -> None:
    with pytest.raises(DomainError) as err:
        TH.contribution(NONE, "s33-sickness", Month(2003, 12), thb(1_000_000))
    assert err.value.code is ErrorCode.PARAMETER_NOT_IN_FORCE and err.value.field == "s33_rates"


def test_wrong_currency_and_negative_wage() -> None:
    with pytest.raises(DomainError) as err:
        TH.contribution(NONE, "s33-sickness", Month(2025, 1), Money(100, Currency.JPY))
    assert err.value.code is ErrorCode.CURRENCY_MISMATCH
    with pytest.raises(DomainError) as err:
        TH.contribution(NONE, "s33-sickness", Month(2025, 1), thb(-1))
    assert err.value.code is ErrorCode.INVALID_AMOUNT


# -- old-age benefit -----------------------------------------------------------------------------
JANUARY_2010 = Month(2010, 1)


def history(months: int, wage_satang: int = 1_500_000, start: Month = JANUARY_2010) -> History:
    """`months` s33 old-age months at one wage: 3% a side (450.00 THB at 15,000)."""
    share = wage_satang * 3 // 100
    records = tuple(
        MonthRecord(start.plus(i), "s33-old-age", wage_satang,
                    {Payer.EMPLOYEE: share, Payer.EMPLOYER: share, Payer.GOVERNMENT: share // 3})
        for i in range(months))
    return History("TH-SSO", Currency.THB, records)


AT_55 = Claim(Month(2030, 1), age_years=55, insured_status_ended=True)


def test_lump_sum_under_12_months_is_own_share_only() -> None:
    # 11 months × 450.00 (employee's 3%) = 4,950.00 THB; employer's share is not refunded.
    result = TH.withdrawal(history(11), AT_55)[0]
    assert result.kind is BenefitKind.LUMP_SUM
    assert result.gross == thb(495_000)
    assert result.months == tuple(Month(2010, 1).plus(i) for i in range(11))


def test_lump_sum_from_12_months_adds_employer_share() -> None:
    # 12 months × (450.00 + 450.00) = 10,800.00 THB; the return rate is a 0 placeholder.
    result = TH.withdrawal(history(12), AT_55)[0]
    assert result.gross == thb(1_080_000)
    assert [p.label for p in result.payments] == ["contributions"]


def test_pension_from_180_months() -> None:
    # 240 months (20 years) at 15,000: 20% + 1.5% × (240 - 180) / 12 = 27.5% of 15,000
    # = 4,125.00 THB a month (funds.md: "20 years -> 27.5%").
    result = TH.withdrawal(history(240), AT_55)[0]
    assert result.kind is BenefitKind.PENSION
    assert result.gross == thb(412_500)
    assert result.basis["rate"] == "27.5%"
    # 180 months exactly: 20% of 15,000 = 3,000.00.
    assert TH.withdrawal(history(180), AT_55)[0].gross == thb(300_000)


def with_s39(s33_months: int, s39_months: int) -> History:
    """`s33_months` at 15,000 from January 2010, then `s39_months` of s39 (9% of 4,800 = 432)."""
    first_s39 = JANUARY_2010.plus(s33_months)
    s39 = tuple(MonthRecord(first_s39.plus(i), "s39-voluntary", 480_000,
                            {Payer.VOLUNTARY: 43_200}) for i in range(s39_months))
    return History("TH-SSO", Currency.THB, history(s33_months).records + s39)


def test_s39_months_count_with_s33_months_170_plus_12_is_a_pension() -> None:
    """170 s33 months at 15,000 (2010-01 .. 2024-02), then 12 s39 months (2024-03 .. 2025-02).

    Months: 170 + 12 = 182 >= 180, so a pension, not a lump sum.
    Rate: 20% + 1.5% x floor((182 - 180) / 12) = 20% + 0 = 20%.
    Average wage base of the last 60 months: 48 s33 months at 15,000 and 12 s39 months at 4,800:
      (48 x 15,000 + 12 x 4,800) / 60 = (720,000 + 57,600) / 60 = 12,960.00 THB
      (under the 15,000 ceiling of 2025-02).
    Pension: 20% x 12,960.00 = 2,592.00 THB a month (whole baht already).
    Without the s39 months it was 170 < 180 months: a lump sum of 170 x (450 + 450) = 153,000.
    """
    result = TH.withdrawal(with_s39(170, 12), AT_55)[0]
    assert result.kind is BenefitKind.PENSION
    assert result.gross == thb(259_200)
    assert result.basis["months"] == "182" and result.basis["s39_months"] == "12"
    assert result.basis["rate"] == "20%"
    s33_only = TH.withdrawal(history(170), AT_55)[0]
    assert s33_only.kind is BenefitKind.LUMP_SUM and s33_only.gross == thb(15_300_000)


def test_s39_months_reach_the_12_month_step_of_the_lump_sum() -> None:
    """6 s33 months and 6 s39 months are 12 months: the lump sum adds the employer's share.

    Money: the s33 old-age branch only (the old-age part of s39's 432 is not sourced):
      6 x (450.00 + 450.00) = 5,400.00 THB, where 6 s33 months alone give 6 x 450.00 = 2,700.00.
    """
    result = TH.withdrawal(with_s39(6, 6), AT_55)[0]
    assert result.kind is BenefitKind.LUMP_SUM
    assert result.gross == thb(540_000)
    assert result.basis["shares"] == "employee+employer"
    assert len(result.months) == 12
    assert TH.withdrawal(history(6), AT_55)[0].gross == thb(270_000)


def test_a_thai_claim_after_the_two_year_window_is_refused() -> None:
    """The right arose in 2027-12; a claim in 2030-01 is 25 months later: over the 24-month
    window (funds.md §1.4: within 2 years of entitlement). From 2028-01 it is 24: in time."""
    late = Claim(Month(2030, 1), age_years=55, insured_status_ended=True,
                 entitled_month=Month(2027, 12))
    with pytest.raises(DomainError) as err:
        TH.withdrawal(history(24), late)
    assert err.value.code is ErrorCode.NOT_ELIGIBLE
    assert err.value.details["reasons"] == [
        "claimed 25 months after the right arose (2027-12): the claim window is 24 months"]
    in_time = Claim(Month(2030, 1), age_years=55, insured_status_ended=True,
                    entitled_month=Month(2028, 1))
    assert TH.withdrawal(history(24), in_time)[0].gross == thb(24 * 90_000)


def test_old_age_conditions() -> None:
    with pytest.raises(DomainError) as err:
        TH.withdrawal(history(24), Claim(Month(2030, 1), age_years=40))
    assert err.value.code is ErrorCode.NOT_ELIGIBLE
    assert err.value.details["reasons"] == [
        "age 40 is under 55", "insured status under s33 has not ended"]
    # Withdrawn months never pay twice: they are not counted.
    used = history(24)
    withdrawn = History("TH-SSO", Currency.THB, tuple(
        MonthRecord(r.month, r.scheme, r.wage_base_minor, r.shares_minor,
                    state=PeriodState.WITHDRAWN)
        for r in used.records))
    with pytest.raises(DomainError, match="no s33 or s39 old-age contributions"):
        TH.withdrawal(withdrawn, AT_55)


# -- plans term by term, and the branches the bundled parameters never reach ---------------------

JAN_2025 = Month(2025, 1)
E, R, G, V = Payer.EMPLOYEE, Payer.EMPLOYER, Payer.GOVERNMENT, Payer.VOLUNTARY


def pct(value: str) -> Fraction:
    return Fraction(Decimal(value)) / 100


def test_s33_plans_clamp_the_wage_and_the_old_age_branch_takes_the_rest() -> None:
    clamp = Clamp(165_000, 1_500_000)  # 1,650 to 15,000 THB in 2025
    assert TH.plan("s33-sickness", JAN_2025, NONE) == Plan(
        clamp, {E: Share(pct("1.5")), R: Share(pct("1.5")), G: Share(pct("1.5"))},
        Rounding.HALF_UP, 1)
    # Whole baht per payer's monthly total (ADR 0035): the old-age branch takes the rest of the
    # rounded total, the other branches keep their satang.
    assert TH.plan("s33-old-age", JAN_2025, NONE) == Plan(clamp, {
        E: Share(pct("3"), residual_of=pct("5"), others=(pct("1.5"), pct("0.5")),
                 total_quantum=100),
        R: Share(pct("3"), residual_of=pct("5"), others=(pct("1.5"), pct("0.5")),
                 total_quantum=100),
        G: Share(pct("1"), residual_of=pct("2.75"), others=(pct("1.5"), pct("0.25")),
                 total_quantum=100),
    }, Rounding.HALF_UP, 1)


def test_s39_and_s40_plans_are_fixed_bases_paid_by_the_worker() -> None:
    assert TH.plan("s39-voluntary", JAN_2025, NONE) == Plan(
        Fixed(480_000), {V: Share(pct("9"))}, Rounding.HALF_UP, 100)
    assert TH.plan("s40-informal", JAN_2025, WorkerContext(s40_option=2)) == Plan(
        Fixed(10_000), {V: Share(Fraction(1))}, Rounding.HALF_UP, 100)


@pytest.mark.parametrize("option", [None, 0, 4])
def test_an_s40_option_outside_the_table_is_refused_naming_the_options(
    option: int | None
) -> None:
    with pytest.raises(DomainError) as err:
        TH.plan("s40-informal", JAN_2025, WorkerContext(s40_option=option))
    assert (err.value.code, err.value.field) == (ErrorCode.INVALID_INPUT, "s40_option")
    assert err.value.message == f"s40 option must be one of [1, 2, 3] at 2025-01, got {option!r}"


def test_a_branch_without_rates_is_refused_by_code_field_and_message() -> None:
    with pytest.raises(DomainError) as err:
        TH.plan("s33-maternity", JAN_2025, NONE)
    assert (err.value.code, err.value.field) == (ErrorCode.PARAMETER_NOT_IN_FORCE, "scheme")
    assert err.value.message == "no s33 rates for s33-maternity at 2025-01"


def test_zero_rates_are_left_out_and_a_payer_with_no_old_age_total_has_no_share() -> None:
    zero = Decimal(0)
    th = adapter_with("TH-SSO", s33_rates={
        "s33-sickness": {E: Decimal("1.5"), R: Decimal("1.5"), G: zero},
        "s33-old-age": {E: Decimal(3), R: zero, G: zero},
        "s33-unemployment": {E: Decimal("0.5"), R: Decimal(1), G: zero},
    })
    assert th.plan("s33-sickness", JAN_2025, NONE).shares == {
        E: Share(pct("1.5")), R: Share(pct("1.5"))}
    # the employer pays nothing to old age itself, but its branch total (2.5%) still has a rest
    assert th.plan("s33-old-age", JAN_2025, NONE).shares == {
        E: Share(pct("3"), residual_of=pct("5"), others=(pct("1.5"), pct("0.5")),
                 total_quantum=100),
        R: Share(Fraction(0), residual_of=pct("2.5"), others=(pct("1.5"), pct("1")),
                 total_quantum=100),
    }


def test_the_old_age_rest_counts_only_branches_that_charge_the_payer() -> None:
    th = adapter_with("TH-SSO", s33_rates={
        "s33-sickness": {E: Decimal("1.5"), R: Decimal("1.5")},
        "s33-old-age": {E: Decimal(3), R: Decimal(3), G: Decimal(1)},
        "s33-unemployment": {E: Decimal("0.5"), R: Decimal("0.5"), G: Decimal("0.25")},
    })
    shares = th.plan("s33-old-age", JAN_2025, NONE).shares
    assert shares[G] == Share(pct("1"), residual_of=pct("1.25"), others=(pct("0.25"),),
                              total_quantum=100)


def test_the_old_age_benefit_is_the_only_withdrawal() -> None:
    records = tuple(MonthRecord(Month(2010, 1).plus(i), "s33-old-age", 1_500_000,
                                {E: 45_000, R: 45_000})
                    for i in range(6))
    results = TH.withdrawal(History("TH-SSO", Currency.THB, records),
                            Claim(Month(2030, 1), age_years=55, insured_status_ended=True))
    assert [(r.fund, r.scheme, r.kind) for r in results] == [
        ("TH-SSO", "s33-old-age", BenefitKind.LUMP_SUM)]


def test_a_whole_baht_rounding_step_reaches_every_plan() -> None:
    # The bundled reading (ADR 0035): whole baht per payer's monthly total, the old-age branch
    # taking the rest; s39 and s40 amounts whole baht; the other s33 branches keep satang.
    assert TH.plan("s33-sickness", JAN_2025, NONE).quantum == 1
    assert {s.total_quantum for s in TH.plan("s33-old-age", JAN_2025, NONE).shares.values()} == {
        100}
    for scheme, context in (("s39-voluntary", NONE), ("s40-informal", WorkerContext(s40_option=1))):
        assert TH.plan(scheme, JAN_2025, context).quantum == 100, scheme
    # 5% of the 1,650 floor is 82.50: the employee pays 83 baht a month in all
    totals = sum(q.share(E).amount_minor for q in TH.declaration(NONE, JAN_2025, thb(100_000)))
    assert totals == 8_300
    # In satang (amount_quantum 0.01) the same month is 82.50
    satang = adapter_with("TH-SSO", amount_quantum=Decimal("0.01"))
    assert sum(q.share(E).amount_minor
               for q in satang.declaration(NONE, JAN_2025, thb(100_000))) == 8_250
