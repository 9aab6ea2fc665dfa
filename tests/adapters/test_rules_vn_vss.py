"""Vietnamese rules: caps, floors, regimes, the one-time withdrawal (by hand, funds.md §1.3)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pytest

from ledger.adapters.base import Share, WorkerContext
from ledger.adapters.refunds import Claim, History, MonthRecord
from ledger.adapters.registry import get_adapter
from ledger.adapters.voluntary_terms import PaymentRule, PaymentUnit, VoluntaryTerms
from ledger.adapters.wagebase import Clamp, PriorOrFixed
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money, Rounding
from ledger.domain.periods import Month
from tests.adapters.rules_support import adapter_with

VN = get_adapter("VN-VSS")
ZONE_1 = WorkerContext(zone=1)
ABROAD = WorkerContext(regime="abroad")


def vnd(amount: int) -> Money:
    return Money(amount, Currency.VND)


def test_cap_20_base_salaries_from_july_2024() -> None:
    # 20 × 2,340,000 = 46,800,000 for social and health insurance; unemployment's cap is
    # 20 × 4,960,000 (zone I) = 99,200,000, so 60,000,000 is not capped there.
    quotes = {q.scheme: q for q in VN.declaration(ZONE_1, Month(2024, 7), vnd(60_000_000))}
    assert quotes["retirement-survivorship"].wage_base == vnd(46_800_000)
    assert quotes["health-insurance"].wage_base == vnd(46_800_000)
    assert quotes["unemployment"].wage_base == vnd(60_000_000)
    # 46,800,000 × 8% = 3,744,000 employee; × 14% = 6,552,000 employer.
    assert quotes["retirement-survivorship"].shares == (
        (Payer.EMPLOYEE, vnd(3_744_000)), (Payer.EMPLOYER, vnd(6_552_000)))
    # 120,000,000 in zone IV: unemployment capped at 20 × 3,450,000 = 69,000,000.
    ui = VN.contribution(WorkerContext(zone=4), "unemployment", Month(2024, 7), vnd(120_000_000))
    assert ui.wage_base == vnd(69_000_000)


def test_employee_totals_10_5_and_21_5_percent() -> None:
    # 10,000,000 in zone I (2026-10, the D02 sample): employee 8 + 1.5 + 1 = 10.5% = 1,050,000;
    # employer 14 + 3 + 0.5 + 3 + 1 = 21.5% = 2,150,000.
    quotes = VN.declaration(ZONE_1, Month(2026, 10), vnd(10_000_000))
    assert sum(q.share(Payer.EMPLOYEE).amount_minor for q in quotes) == 1_050_000
    assert sum(q.share(Payer.EMPLOYER).amount_minor for q in quotes) == 2_150_000


def test_floor_is_the_regional_minimum_wage() -> None:
    quote = VN.contribution(WorkerContext(zone=3), "retirement-survivorship", Month(2025, 1),
                            vnd(3_000_000))
    assert quote.wage_base == vnd(3_860_000)


def test_abroad_worker_pays_22_percent_of_twice_the_base_salary() -> None:
    # 2 × 2,340,000 = 4,680,000 × 22% = 1,029,600 VND a month, all self-paid (employee).
    quote = VN.contribution(ABROAD, "retirement-survivorship", Month(2024, 7), vnd(0))
    assert quote.wage_base == vnd(4_680_000)
    assert quote.shares == ((Payer.EMPLOYEE, vnd(1_029_600)),)
    # July 2023 - June 2024: 2 × 1,800,000 × 22% = 792,000.
    earlier = VN.contribution(ABROAD, "retirement-survivorship", Month(2024, 6), vnd(0))
    assert earlier.shares == ((Payer.EMPLOYEE, vnd(792_000)),)
    # With a last Vietnamese insured wage of 7,000,000: × 22% = 1,540,000.
    prior = WorkerContext(regime="abroad", prior_si_wage=vnd(7_000_000))
    assert VN.contribution(prior, "retirement-survivorship", Month(2024, 7), vnd(0)).shares == (
        (Payer.EMPLOYEE, vnd(1_540_000)),)
    # No other branch is paid.
    assert VN.contribution(ABROAD, "health-insurance", Month(2024, 7), vnd(0)).shares == ()


def test_foreign_employees_pay_no_unemployment_insurance() -> None:
    foreign = WorkerContext(regime="foreign", zone=1)
    quotes = VN.declaration(foreign, Month(2024, 7), vnd(30_000_000))
    assert sum(q.share(Payer.EMPLOYER).amount_minor for q in quotes) == 30_000_000 * 205 // 1000
    assert sum(q.share(Payer.EMPLOYEE).amount_minor for q in quotes) == 30_000_000 * 95 // 1000
    assert {q.scheme: q.shares for q in quotes}["unemployment"] == ()
    with pytest.raises(DomainError) as err:  # the foreign regime is modelled from July 2022
        VN.contribution(foreign, "health-insurance", Month(2022, 6), vnd(30_000_000))
    assert err.value.code is ErrorCode.PARAMETER_NOT_IN_FORCE


def test_context_errors() -> None:
    with pytest.raises(DomainError) as err:
        VN.contribution(WorkerContext(), "health-insurance", Month(2025, 1), vnd(1))
    assert err.value.field == "zone"
    with pytest.raises(DomainError) as err:
        VN.contribution(WorkerContext(zone=5), "health-insurance", Month(2025, 1), vnd(1))
    assert err.value.field == "zone"
    with pytest.raises(DomainError) as err:
        VN.contribution(WorkerContext(regime="tourist"), "health-insurance", Month(2025, 1),
                        vnd(1))
    assert err.value.field == "regime"


# -- one-time withdrawal -------------------------------------------------------------------------
def rs_history(first: Month, months: int, wage: int) -> History:
    return History("VN-VSS", Currency.VND, tuple(
        MonthRecord(first.plus(i), "retirement-survivorship", wage,
                    {Payer.EMPLOYEE: wage * 8 // 100, Payer.EMPLOYER: wage * 14 // 100})
        for i in range(months)))


def test_ten_years_from_2016() -> None:
    # 120 months from Jan 2016, all after 2014: 10 years × 2 months × 10,000,000 = 200,000,000.
    (result,) = VN.withdrawal(rs_history(Month(2016, 1), 120, 10_000_000),
                              Claim(Month(2026, 3), reason="emigrating"))
    assert result.gross == vnd(200_000_000)
    assert len(result.months) == 120


def test_years_before_and_after_2014_with_odd_months() -> None:
    # May 2010 - Dec 2015: 44 months before 2014 = 3 years + 8 odd months, carried into the
    # later period: 24 + 8 = 32 months = 2 years + 8 months -> a full year (7-11) = 3 years.
    # 3 × 1.5 + 3 × 2 = 10.5 months × 5,000,000 = 52,500,000.
    (result,) = VN.withdrawal(rs_history(Month(2010, 5), 68, 5_000_000),
                              Claim(Month(2017, 1), reason="one_year_after_leaving"))
    assert result.basis["years_before_split"] == "3"
    assert result.basis["years_from_split"] == "3"
    assert result.gross == vnd(52_500_000)


def test_half_year_band() -> None:
    # 18 months from 2016 = 1 year + 6 odd months -> 1.5 years × 2 = 3 months × 8,000,000.
    (result,) = VN.withdrawal(rs_history(Month(2016, 1), 18, 8_000_000),
                              Claim(Month(2018, 1), reason="emigrating"))
    assert result.gross == vnd(24_000_000)


def test_under_one_year_pays_contributions_capped_at_two_months() -> None:
    # 8 months × 22% × 6,000,000 = 10,560,000 < 2 × 6,000,000: paid in full.
    (eight,) = VN.withdrawal(rs_history(Month(2020, 1), 8, 6_000_000),
                             Claim(Month(2021, 1), reason="emigrating"))
    assert eight.gross == vnd(10_560_000)
    # 11 months × 1,320,000 = 14,520,000 > 12,000,000: capped.
    (eleven,) = VN.withdrawal(rs_history(Month(2020, 1), 11, 6_000_000),
                              Claim(Month(2021, 1), reason="emigrating"))
    assert eleven.gross == vnd(12_000_000)


def test_withdrawal_conditions_by_claim_month_and_first_month() -> None:
    # One year after leaving: 6 months is not enough.
    with pytest.raises(DomainError, match="only 6 months since the last contribution, 12"):
        VN.withdrawal(rs_history(Month(2016, 1), 24, 5_000_000),
                      Claim(Month(2018, 6), reason="one_year_after_leaving"))
    # 20 years or more leads to a pension.
    with pytest.raises(DomainError, match="240 months"):
        VN.withdrawal(rs_history(Month(1996, 1), 240, 5_000_000),
                      Claim(Month(2017, 1), reason="one_year_after_leaving"))
    # First insured from July 2025: no "one year after leaving" ground.
    with pytest.raises(DomainError) as err:
        VN.withdrawal(rs_history(Month(2025, 8), 12, 5_000_000),
                      Claim(Month(2027, 1), reason="one_year_after_leaving"))
    assert err.value.code is ErrorCode.NOT_ELIGIBLE
    assert "allowed: emigrating, incapacity_81, retirement_age, severe_illness" in str(err.value)
    # ... but emigrating still is.
    (ok,) = VN.withdrawal(rs_history(Month(2025, 8), 12, 5_000_000),
                          Claim(Month(2027, 1), reason="emigrating"))
    assert ok.gross == vnd(10_000_000)  # 1 year × 2 months × 5,000,000
    # From July 2025, retirement age needs fewer than 15 years (was 20).
    with pytest.raises(DomainError, match="15 years or more"):
        VN.withdrawal(rs_history(Month(2008, 1), 192, 5_000_000),
                      Claim(Month(2025, 7), reason="retirement_age"))


# -- plans term by term, refusals by message, fields read from a declaration ----------------------

JUL_2024 = Month(2024, 7)
HALF_UP = Rounding.HALF_UP


def test_an_employee_plan_clamps_between_the_zone_minimum_and_the_cap() -> None:
    # zone II from July 2024: 4,410,000; SI/HI cap 20 × 2,340,000; UI cap 20 × 4,410,000
    zone_2 = WorkerContext(zone=2)
    rs = VN.plan("retirement-survivorship", JUL_2024, zone_2)
    assert (rs.base, rs.rounding, rs.quantum) == (Clamp(4_410_000, 46_800_000), HALF_UP, 1)
    assert rs.shares == {Payer.EMPLOYEE: Share(Fraction(8, 100)),
                         Payer.EMPLOYER: Share(Fraction(14, 100))}
    assert VN.plan("unemployment", JUL_2024, zone_2).base == Clamp(4_410_000, 88_200_000)


def test_an_abroad_plan_is_the_prior_wage_or_twice_the_base_salary() -> None:
    plan = VN.plan("retirement-survivorship", JUL_2024, ABROAD)
    assert (plan.base, plan.rounding, plan.quantum) == (PriorOrFixed(4_680_000), HALF_UP, 1)
    assert plan.shares == {Payer.EMPLOYEE: Share(Fraction(22, 100))}
    assert VN.plan("unemployment", JUL_2024, ABROAD).shares == {}  # no rates: nothing owed


def refused(call: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as err:
        call()
    return err.value


def test_plan_refusals_by_code_field_and_message() -> None:
    err = refused(lambda: VN.plan("health-insurance", Month(2022, 6),
                                  WorkerContext(regime="foreign", zone=1)))
    assert (err.code, err.field, err.message) == (
        ErrorCode.PARAMETER_NOT_IN_FORCE, "regime", "no foreign rates at 2022-06")
    err = refused(lambda: VN.plan("health-insurance", JUL_2024, WorkerContext(zone=5)))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_INPUT, "zone", "zone must be one of [1, 2, 3, 4], got 5")
    err = refused(lambda: VN.plan("health-insurance", JUL_2024, WorkerContext(regime="tourist")))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_INPUT, "regime",
        "regime must be one of employee, foreign, abroad, got 'tourist'")
    thb = WorkerContext(regime="abroad", prior_si_wage=Money(100, Currency.THB))
    err = refused(lambda: VN.plan("retirement-survivorship", JUL_2024, thb))
    assert (err.code, err.field, err.message) == (
        ErrorCode.CURRENCY_MISMATCH, "prior_si_wage", "the prior insured wage must be in VND")


def test_a_fractional_multiple_of_the_base_salary_is_a_parameter_error() -> None:
    vn = adapter_with("VN-VSS", abroad_base_multiple=Decimal("1.5"), base_salary=Decimal(1_000_001))
    err = refused(lambda: vn.plan("retirement-survivorship", JUL_2024, ABROAD))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_PARAMETERS, None,
        "1500001.5 VND is not a whole amount (check the multiples)")
    whole = adapter_with("VN-VSS", abroad_base_multiple=Decimal("1.5"))
    assert whole.plan("retirement-survivorship", JUL_2024, ABROAD).base == PriorOrFixed(3_510_000)


@pytest.mark.parametrize(("fields", "context"), [
    ({}, WorkerContext()),
    ({"regime": " abroad ", "zone": " "}, WorkerContext(regime="abroad")),
    ({"regime": "", "zone": "02"}, WorkerContext(zone=2)),
    ({"regime": "foreign", "zone": "4"}, WorkerContext(regime="foreign", zone=4)),
])
def test_context_from_declaration_fields(fields: dict[str, str], context: WorkerContext) -> None:
    assert VN.context_from_fields(fields) == context


@pytest.mark.parametrize("zone", ["II", "-1", "1.5"])
def test_a_zone_that_is_not_a_number_is_refused(zone: str) -> None:
    err = refused(lambda: VN.context_from_fields({"zone": zone}))
    assert (err.code, err.field, err.message) == (
        ErrorCode.INVALID_INPUT, "zone", f"zone must be 01-04, got {zone!r}")


def test_voluntary_si_plan_with_and_without_the_states_support() -> None:
    # funds.md §1.3: 22% of a declared income between 1,500,000 (the rural poverty line) and
    # 20 base salaries (20 x 2,340,000 = 46,800,000); the state pays a share of 22% of the
    # floor for a poor worker: 50% x 330,000 = 165,000, taken off the worker's part.
    jan = Month(2026, 1)
    plan = VN.plan("voluntary-si", jan, WorkerContext())
    assert plan.base == Clamp(1_500_000, 46_800_000)
    assert plan.shares == {Payer.VOLUNTARY: Share(Fraction(22, 100), fixed=0)}
    poor = VN.plan("voluntary-si", jan, WorkerContext(support_group="poor"))
    assert poor.base == plan.base and poor.rounding is plan.rounding
    assert poor.shares == {Payer.VOLUNTARY: Share(Fraction(22, 100), fixed=-165_000),
                           Payer.GOVERNMENT: Share(Fraction(0), fixed=165_000)}
    # 2,000,000 declared: 440,000, of which the state pays 165,000
    quote = VN.contribution(WorkerContext(support_group="poor"), "voluntary-si", jan,
                            vnd(2_000_000))
    assert quote.shares == ((Payer.GOVERNMENT, vnd(165_000)), (Payer.VOLUNTARY, vnd(275_000)))
    # near-poor: 40% x 330,000 = 132,000
    near = VN.contribution(WorkerContext(support_group="near_poor"), "voluntary-si", jan,
                           vnd(2_000_000))
    assert near.shares == ((Payer.GOVERNMENT, vnd(132_000)), (Payer.VOLUNTARY, vnd(308_000)))
    # an income above 46,800,000 is cut to it: 22% = 10,296,000, no support
    top = VN.contribution(WorkerContext(), "voluntary-si", jan, vnd(50_000_000))
    assert (top.wage_base, top.shares) == (vnd(46_800_000), ((Payer.VOLUNTARY, vnd(10_296_000)),))


def test_voluntary_si_refuses_a_support_group_the_parameters_do_not_name() -> None:
    with pytest.raises(DomainError) as err:
        VN.plan("voluntary-si", Month(2026, 1), WorkerContext(support_group="rich"))
    assert (err.value.code, err.value.field, err.value.message) == (
        ErrorCode.INVALID_INPUT, "support_group",
        "support_group must be one of poor, near_poor, ethnic_minority, other, got 'rich'")


def test_voluntary_si_payment_terms() -> None:
    # Law 41/2024 (funds.md §1.3): 1, 3, 6 or 12 months, or up to 5 years ahead at once, never
    # in arrears; income between 1,500,000 and 46,800,000; support for 120 months, four groups
    assert VN.voluntary_terms("voluntary-si", Month(2026, 1)) == VoluntaryTerms(
        PaymentRule(unit=PaymentUnit.MONTH, counts=(1, 3, 6, 12, 24, 36, 48, 60),
                    advance_months_max=59, arrears_months_max=0),
        income_floor_minor=1_500_000, income_ceiling_minor=46_800_000, support_months_max=120,
        support_groups=("poor", "near_poor", "ethnic_minority", "other"))
    assert VN.voluntary_terms("retirement-survivorship", Month(2026, 1)) is None
