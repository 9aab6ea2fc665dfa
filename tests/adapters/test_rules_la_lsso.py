"""Lao LSSO: worked examples by hand from funds.md §1.6 — employer 6% + employee 5.5% of a wage
between the minimum wage (2,500,000 kip) and the ceiling (4,500,000 kip from January 2017) —
and the unverified voluntary scheme (9% of a declared income between the same bounds)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from ledger.adapters.context import WorkerContext
from ledger.adapters.registry import get_adapter
from ledger.adapters.voluntary_terms import PaymentRule, PaymentUnit, VoluntaryTerms
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer, get_fund
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month
from tests.adapters.rules_support import adapter_with

LA = get_adapter("LA-LSSO")
OCT_2026 = Month(2026, 10)
NONE = WorkerContext()


def kip(att: int) -> Money:
    return Money(att, Currency.LAK)


@pytest.mark.parametrize(("wage_att", "base_att", "employee_att", "employer_att"), [
    # 2,000,000 kip is below the minimum wage: base 2,500,000 -> 137,500 and 150,000.
    (200_000_000, 250_000_000, 13_750_000, 15_000_000),
    # at the floor, exactly
    (250_000_000, 250_000_000, 13_750_000, 15_000_000),
    # 3,000,000 kip -> 165,000 and 180,000
    (300_000_000, 300_000_000, 16_500_000, 18_000_000),
    # at the ceiling: 4,500,000 -> 247,500 and 270,000; one att above is cut to it
    (450_000_000, 450_000_000, 24_750_000, 27_000_000),
    (450_000_001, 450_000_000, 24_750_000, 27_000_000),
    # 6,000,000 kip is cut to 4,500,000
    (600_000_000, 450_000_000, 24_750_000, 27_000_000),
    # 2,500,001.00 kip: 5.5% = 137,500.055 -> 137,500.06 (half up to the att); 6% = 150,000.06
    (250_000_100, 250_000_100, 13_750_006, 15_000_006),
    # 3,456,789.01 kip: 5.5% = 190,123.395555 -> 190,123.40; 6% = 207,407.3406 -> 207,407.34
    (345_678_901, 345_678_901, 19_012_340, 20_740_734),
])
def test_employee_five_and_a_half_employer_six_percent_of_the_clamped_wage(
    wage_att: int, base_att: int, employee_att: int, employer_att: int,
) -> None:
    quote = LA.contribution(NONE, "social-security", OCT_2026, kip(wage_att))
    assert quote.wage_base == kip(base_att)
    assert quote.shares_minor() == {Payer.EMPLOYEE: employee_att, Payer.EMPLOYER: employer_att}
    arrays = LA.contribution_arrays("social-security", OCT_2026,
                                    np.asarray([wage_att], dtype=np.int64))
    assert (int(arrays[Payer.EMPLOYEE][0]), int(arrays[Payer.EMPLOYER][0])) == (
        employee_att, employer_att)


def test_a_monthly_return_is_the_one_scheme() -> None:
    (quote,) = LA.declaration(NONE, OCT_2026, kip(300_000_000))
    assert quote.scheme == "social-security" and quote.total() == kip(34_500_000)  # 11.5%


def test_months_before_the_known_minimum_wage_are_not_priced() -> None:
    # The minimum wage (the floor) is known from 2026-01 only (peoplepartners.la 2026-01-20).
    LA.contribution(NONE, "social-security", Month(2026, 1), kip(300_000_000))
    with pytest.raises(DomainError) as err:
        LA.contribution(NONE, "social-security", Month(2025, 12), kip(300_000_000))
    assert (err.value.code, err.value.field) == (ErrorCode.PARAMETER_NOT_IN_FORCE, "wage_floor")


def test_a_month_before_the_scheme_is_refused_by_the_registry() -> None:
    with pytest.raises(DomainError) as err:
        LA.contribution(NONE, "social-security", Month(2000, 12), kip(300_000_000))
    assert (err.value.code, err.value.field) == (ErrorCode.SCHEME_NOT_IN_FORCE, "month")


@pytest.mark.parametrize(("income_att", "member_att"), [
    (250_000_000, 22_500_000),  # the floor: 9% of 2,500,000 = 225,000 kip
    (300_000_000, 27_000_000),  # 9% of 3,000,000 = 270,000
    (450_000_000, 40_500_000),  # the ceiling: 405,000
    (250_000_050, 22_500_005),  # 2,500,000.50 × 9% = 225,000.045 -> 225,000.05 (half up)
])
def test_the_voluntary_member_pays_nine_percent(income_att: int, member_att: int) -> None:
    quote = LA.contribution(NONE, "voluntary", OCT_2026, kip(income_att))
    assert quote.shares_minor() == {Payer.VOLUNTARY: member_att}


def test_the_folder_declares_the_fund_its_schemes_and_their_flags() -> None:
    fund = get_fund("LA-LSSO")
    assert (fund.country, fund.currency) == ("LA", Currency.LAK)
    assert list(fund.schemes) == ["social-security", "voluntary", "migrant-welfare"]
    compulsory, voluntary, welfare = fund.schemes.values()
    assert (compulsory.starts, compulsory.long_term, compulsory.voluntary) == (
        Month(2001, 1), True, False)
    assert (voluntary.starts, voluntary.long_term, voluntary.voluntary, voluntary.operating) == (
        Month(2015, 7), True, True, True)
    assert (welfare.operating, welfare.agreement_option, welfare.long_term) == (
        False, True, False)
    assert LA.DECLARATION_SCHEMES == ("social-security",)


def test_member_numbers_are_the_permissive_format() -> None:
    assert LA.validate_member_number(" lsso-0000001 ") == "LSSO-0000001"
    with pytest.raises(DomainError) as err:
        LA.validate_member_number("LSSO--1")
    assert (err.value.code, err.value.field) == (ErrorCode.INVALID_ID, "member_number")


def test_amounts_round_to_the_quantum_the_parameters_set() -> None:
    # The bundled quantum is one att; a file that rounds to whole thousands of kip is honoured
    # by both schemes. 3,456,789.01 kip: 5.5% = 190,123.395555 -> 190,000; 6% = 207,407.3406 ->
    # 207,000; 9% (voluntary) = 311,111.0109 -> 311,000 (half up to 1,000 kip).
    la = adapter_with("LA-LSSO", amount_quantum=Decimal(1000))
    wage = kip(345_678_901)
    assert la.plan("social-security", OCT_2026, NONE).quantum == 100_000  # 1,000 kip in att
    quote = la.contribution(NONE, "social-security", OCT_2026, wage)
    assert quote.shares_minor() == {Payer.EMPLOYEE: 19_000_000, Payer.EMPLOYER: 20_700_000}
    assert quote.quantum_minor == 100_000
    assert la.plan("voluntary", OCT_2026, NONE).quantum == 100_000
    voluntary = la.contribution(NONE, "voluntary", OCT_2026, wage)
    assert voluntary.shares_minor() == {Payer.VOLUNTARY: 31_100_000}


def test_the_voluntary_schemes_terms() -> None:
    # The voluntary scheme: 1, 3, 6 or 12 months a payment, up to 11 ahead and 1 in arrears
    # (unverified terms), a declared income between the minimum wage and the ceiling.
    terms = LA.voluntary_terms("voluntary", OCT_2026)
    assert terms == VoluntaryTerms(
        PaymentRule(unit=PaymentUnit.MONTH, counts=(1, 3, 6, 12), advance_months_max=11,
                    arrears_months_max=1),
        income_floor_minor=250_000_000, income_ceiling_minor=450_000_000)
    assert terms.insurance_periods and terms.benefits == ()
    # the welfare fund (an agreement option): one contract a payment, no declared income, no
    # insurance periods, and the benefits the parameters list
    welfare = LA.voluntary_terms("migrant-welfare", OCT_2026)
    assert welfare is not None
    assert welfare.rule == PaymentRule(unit=PaymentUnit.CONTRACT, counts=(1,),
                                       advance_months_max=1, arrears_months_max=1)
    assert (welfare.income_floor_minor, welfare.income_ceiling_minor) == (None, None)
    assert not welfare.insurance_periods
    assert [b.event for b in welfare.benefits] == [
        "early_return_disaster_war", "accident_or_illness", "vocational_support",
        "death_or_disappearance"]
    assert LA.voluntary_terms("social-security", OCT_2026) is None
