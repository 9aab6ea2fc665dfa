"""Voluntary payments into home-fund schemes: worked examples by hand from funds.md, and every
refusal with its code and field (`ledger/adapters/voluntary.py`, the payment channels' entry)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from ledger.adapters.voluntary import (
    OpenedScheme,
    VoluntaryPayer,
    price_voluntary_payment,
    quote_voluntary_payment,
)
from ledger.adapters.voluntary_terms import PaymentUnit
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.funds import Payer
from ledger.domain.money import Currency, Money
from ledger.domain.periods import Month

JAN_2026 = Month(2026, 1)
PAID = date(2026, 1, 10)
MM_OPEN = (OpenedScheme("MM-SSB", "voluntary-abroad", Month(2027, 1)),
           OpenedScheme("MM-SSB", "migrant-welfare", Month(2027, 1)))


def vnd(amount: int) -> Money:
    return Money(amount, Currency.VND)


def riel(amount: int) -> Money:
    return Money(amount * 100, Currency.KHR)


def kyat(amount: int) -> Money:
    return Money(amount * 100, Currency.MMK)


def kip(amount: int) -> Money:
    return Money(amount * 100, Currency.LAK)


def months(first: Month, count: int) -> list[Month]:
    return [first.plus(i) for i in range(count)]


def refused(*args: Any, **kwargs: Any) -> DomainError:
    """The error of `price_voluntary_payment` (six arguments) or `quote_voluntary_payment`."""
    call = price_voluntary_payment if len(args) == 6 else quote_voluntary_payment
    with pytest.raises(DomainError) as err:
        call(*args, **kwargs)
    return err.value


# -- Vietnam: voluntary social insurance (funds.md §1.3, "Voluntary SI") -----------------------


@pytest.mark.parametrize(("income", "monthly"), [
    (1_500_000, 330_000),  # the floor (the rural poverty line): 22% = 330,000
    (5_000_000, 1_100_000),
    (46_800_000, 10_296_000),  # the ceiling, 20 × base salary 2,340,000: 22% = 10,296,000
    (1_500_003, 330_001),  # 330,000.66 -> 330,001 (half up to the dong)
    (1_500_002, 330_000),  # 330,000.44 -> 330,000
])
def test_voluntary_si_is_22_percent_of_the_declared_income(income: int, monthly: int) -> None:
    quote = price_voluntary_payment("VN-VSS", "voluntary-si", [JAN_2026], vnd(income),
                                    vnd(monthly), PAID)
    assert quote.worker == vnd(monthly) and quote.state_support == vnd(0)
    assert quote.shares() == ((Payer.VOLUNTARY, vnd(monthly)),)
    (month,) = quote.contributions
    assert (month.month, month.wage_base, month.scheme) == (JAN_2026, vnd(income), "voluntary-si")
    assert (quote.unit, quote.months_covered, quote.insurance_periods) == (
        PaymentUnit.MONTH, (JAN_2026,), True)


@pytest.mark.parametrize(("group", "support"), [
    # The state pays a share of 22% × 1,500,000 = 330,000 (funds.md §1.3):
    ("poor", 165_000), ("near_poor", 132_000), ("ethnic_minority", 99_000), ("other", 66_000),
])
def test_the_states_support_by_group_is_a_share_of_22_percent_of_the_floor(
    group: str, support: int,
) -> None:
    # 22% of 5,000,000 = 1,100,000 a month; the worker pays the rest, the state its share.
    quote = quote_voluntary_payment("VN-VSS", "voluntary-si", months(JAN_2026, 3),
                                    vnd(5_000_000), PAID, payer=VoluntaryPayer(group))
    assert quote.state_support == vnd(3 * support)
    assert quote.worker == vnd(3 * (1_100_000 - support))
    assert quote.shares() == ((Payer.GOVERNMENT, vnd(3 * support)),
                              (Payer.VOLUNTARY, vnd(3 * (1_100_000 - support))))
    assert [q.share(Payer.GOVERNMENT) for q in quote.contributions] == [vnd(support)] * 3
    assert quote.months_covered == tuple(months(JAN_2026, 3))


def test_support_stops_after_120_months() -> None:
    # "for up to 10 years": with 118 months supported before, 2 of 3 months still are.
    quote = quote_voluntary_payment("VN-VSS", "voluntary-si", months(JAN_2026, 3),
                                    vnd(5_000_000), PAID,
                                    payer=VoluntaryPayer("poor", supported_months_before=118))
    assert [q.share(Payer.GOVERNMENT) for q in quote.contributions] == [
        vnd(165_000), vnd(165_000), vnd(0)]
    assert quote.worker == vnd(935_000 + 935_000 + 1_100_000)
    spent = quote_voluntary_payment("VN-VSS", "voluntary-si", [JAN_2026], vnd(5_000_000), PAID,
                                    payer=VoluntaryPayer("poor", supported_months_before=120))
    assert (spent.state_support, spent.worker) == (vnd(0), vnd(1_100_000))


def test_a_payment_covers_1_3_6_12_or_up_to_60_months_ahead() -> None:
    for count in (1, 3, 6, 12, 24, 60):
        quote = quote_voluntary_payment("VN-VSS", "voluntary-si", months(JAN_2026, count),
                                        vnd(1_500_000), PAID)
        assert quote.worker == vnd(330_000 * count) and len(quote.contributions) == count
    for count in (2, 5, 13, 61):
        error = refused("VN-VSS", "voluntary-si", months(JAN_2026, count), vnd(1_500_000), PAID)
        assert (error.code, error.field, error.details) == (
            ErrorCode.INVALID_INPUT, "months", {"reason": "count"})


@pytest.mark.parametrize(("income", "field_words"), [
    (1_499_999, "outside"), (46_800_001, "outside")])
def test_a_declared_income_outside_floor_and_ceiling_is_refused(
    income: int, field_words: str,
) -> None:
    error = refused("VN-VSS", "voluntary-si", [JAN_2026], vnd(income), PAID)
    assert (error.code, error.field) == (ErrorCode.INVALID_AMOUNT, "declared_income")
    assert error.details == {"floor": vnd(1_500_000).to_wire(),
                             "ceiling": vnd(46_800_000).to_wire()}
    assert field_words in error.message


def test_voluntary_si_is_priced_from_july_2025() -> None:
    first = quote_voluntary_payment("VN-VSS", "voluntary-si", [Month(2025, 7)],
                                    vnd(1_500_000), date(2025, 7, 1))
    assert first.worker == vnd(330_000)
    # Paid in June 2025: no payment rule yet (the earlier rules are not in funds.md).
    early = refused("VN-VSS", "voluntary-si", [Month(2025, 6)], vnd(1_500_000), date(2025, 6, 1))
    assert (early.code, early.field, early.details) == (
        ErrorCode.PARAMETER_NOT_IN_FORCE, "paid_on", {"parameter": "voluntary_payment_rules"})
    # Paid in July for June: June is one month in arrears (none allowed).
    arrears = refused("VN-VSS", "voluntary-si", [Month(2025, 6), Month(2025, 7), Month(2025, 8)],
                      vnd(1_500_000), date(2025, 7, 1))
    assert (arrears.code, arrears.field, arrears.details) == (
        ErrorCode.INVALID_INPUT, "months", {"reason": "arrears"})


def test_the_months_paid_must_lie_in_the_window_of_the_payment_month() -> None:
    # No arrears: January cannot be paid in February; up to 59 months ahead of the payment.
    late = refused("VN-VSS", "voluntary-si", [JAN_2026], vnd(1_500_000), date(2026, 2, 1))
    assert (late.field, late.details) == ("months", {"reason": "arrears"})
    last = quote_voluntary_payment("VN-VSS", "voluntary-si", [JAN_2026.plus(59)],
                                   vnd(1_500_000), PAID)
    assert last.months == (Month(2030, 12),)
    ahead = refused("VN-VSS", "voluntary-si", [JAN_2026.plus(60)], vnd(1_500_000), PAID)
    assert (ahead.code, ahead.field, ahead.details) == (
        ErrorCode.INVALID_INPUT, "months", {"reason": "advance"})


@pytest.mark.parametrize(("given", "reason"), [
    ([], "empty"),
    ([JAN_2026, Month(2026, 3), Month(2026, 4)], "not_consecutive"),
    ([JAN_2026, JAN_2026, Month(2026, 2)], "not_consecutive"),
    (["2026-01"], "type"),
])
def test_the_months_must_be_distinct_consecutive_months(given: Sequence[Any],
                                                         reason: str) -> None:
    error = refused("VN-VSS", "voluntary-si", given, vnd(1_500_000), PAID)
    assert (error.code, error.field, error.details) == (
        ErrorCode.INVALID_INPUT, "months", {"reason": reason})


def test_months_are_taken_in_order_whatever_order_they_are_given() -> None:
    quote = quote_voluntary_payment("VN-VSS", "voluntary-si",
                                    [Month(2026, 3), JAN_2026, Month(2026, 2)],
                                    vnd(1_500_000), PAID)
    assert quote.months == tuple(months(JAN_2026, 3))
    assert [q.month for q in quote.contributions] == months(JAN_2026, 3)


def test_the_declared_income_is_required_in_dong() -> None:
    missing = refused("VN-VSS", "voluntary-si", [JAN_2026], None, PAID)
    assert (missing.code, missing.field) == (ErrorCode.INVALID_INPUT, "declared_income")
    baht = refused("VN-VSS", "voluntary-si", [JAN_2026], Money(150_000, Currency.THB), PAID)
    assert (baht.code, baht.field) == (ErrorCode.CURRENCY_MISMATCH, "declared_income")


def test_an_unknown_support_group_and_negative_months_are_refused() -> None:
    error = refused("VN-VSS", "voluntary-si", [JAN_2026], vnd(1_500_000), PAID,
                    payer=VoluntaryPayer("rich"))
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "support_group")
    assert "poor, near_poor, ethnic_minority, other" in error.message
    error = refused("VN-VSS", "voluntary-si", [JAN_2026], vnd(1_500_000), PAID,
                    payer=VoluntaryPayer("poor", supported_months_before=-1))
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "supported_months_before")


# -- Vietnam: the Overseas Employment Support Fund (funds.md §1.3) ----------------------------


def test_the_oesf_is_100000_from_the_worker_and_150000_from_the_firm_per_contract() -> None:
    quote = price_voluntary_payment("VN-VSS", "migrant-welfare", [Month(2026, 2)], None,
                                    vnd(100_000), PAID)
    assert (quote.worker, quote.employer, quote.state_support) == (
        vnd(100_000), vnd(150_000), vnd(0))
    assert quote.shares() == ((Payer.EMPLOYEE, vnd(100_000)), (Payer.EMPLOYER, vnd(150_000)))
    assert (quote.unit, quote.months_covered, quote.insurance_periods) == (
        PaymentUnit.CONTRACT, (Month(2026, 2),), False)
    assert quote.contributions[0].wage_base == vnd(250_000)


def test_the_oesf_is_one_contract_a_month_either_side_of_its_start() -> None:
    two = refused("VN-VSS", "migrant-welfare", months(JAN_2026, 2), None, PAID)
    assert (two.field, two.details) == ("months", {"reason": "count"})
    # Paid in January for a contract starting in February (3 days before departure) or in
    # December (5 working days after registration): fine; two months away: refused.
    for start in (Month(2025, 12), Month(2026, 2)):
        quote_voluntary_payment("VN-VSS", "migrant-welfare", [start], None, PAID)
    assert refused("VN-VSS", "migrant-welfare", [Month(2026, 3)], None,
                   PAID).details == {"reason": "advance"}
    assert refused("VN-VSS", "migrant-welfare", [Month(2025, 11)], None,
                   PAID).details == {"reason": "arrears"}


def test_the_oesf_takes_no_declared_income_and_starts_in_2022() -> None:
    error = refused("VN-VSS", "migrant-welfare", [JAN_2026], vnd(1_500_000), PAID)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "declared_income")
    early = refused("VN-VSS", "migrant-welfare", [Month(2021, 12)], None, date(2021, 12, 1))
    assert (early.code, early.field) == (ErrorCode.SCHEME_NOT_IN_FORCE, "months")


# -- Cambodia: voluntary pension membership (funds.md §1.1; terms assumed) -------------------


@pytest.mark.parametrize(("month", "income", "monthly"), [
    (Month(2026, 1), 1_000_000, 40_000),  # scheme year 4: the total 4% of 1,000,000 riel
    (Month(2026, 1), 400_000, 16_000),  # the floor
    (Month(2026, 1), 1_200_000, 48_000),  # the ceiling
    (Month(2027, 9), 1_000_000, 40_000),  # the last month of year 5
    (Month(2027, 10), 1_000_000, 80_000),  # year 6: 8%
])
def test_kh_voluntary_member_pays_the_whole_pension_rate(month: Month, income: int,
                                                         monthly: int) -> None:
    quote = price_voluntary_payment("KH-NSSF", "voluntary-pension", [month], riel(income),
                                    riel(monthly), date(month.year, month.month, 5))
    assert quote.shares() == ((Payer.VOLUNTARY, riel(monthly)),)


def test_kh_voluntary_bounds_and_one_month_of_arrears() -> None:
    low = refused("KH-NSSF", "voluntary-pension", [JAN_2026], Money(39_999_999, Currency.KHR),
                  PAID)
    assert (low.code, low.field) == (ErrorCode.INVALID_AMOUNT, "declared_income")
    high = refused("KH-NSSF", "voluntary-pension", [JAN_2026], Money(120_000_001, Currency.KHR),
                   PAID)
    assert (high.code, high.field) == (ErrorCode.INVALID_AMOUNT, "declared_income")
    # Due by the 15th of the next month: January paid in February is fine, in March not.
    quote_voluntary_payment("KH-NSSF", "voluntary-pension", [JAN_2026], riel(1_000_000),
                            date(2026, 2, 28))
    late = refused("KH-NSSF", "voluntary-pension", [JAN_2026], riel(1_000_000), date(2026, 3, 1))
    assert late.details == {"reason": "arrears"}
    before = refused("KH-NSSF", "voluntary-pension", [Month(2022, 9)], riel(1_000_000),
                     date(2022, 9, 1))
    assert (before.code, before.field) == (ErrorCode.SCHEME_NOT_IN_FORCE, "months")


def test_kh_welfare_fund_is_closed_unless_an_agreement_opens_it() -> None:
    closed = refused("KH-NSSF", "migrant-welfare", [JAN_2026], None, PAID)
    assert (closed.code, closed.field) == (ErrorCode.SCHEME_NOT_IN_FORCE, "scheme")
    assert "does not open it" in closed.message
    opened = (OpenedScheme("KH-NSSF", "migrant-welfare", JAN_2026),)
    quote = quote_voluntary_payment("KH-NSSF", "migrant-welfare", [JAN_2026], None, PAID,
                                    opened=opened)
    # Placeholder fees: Vietnam's 100,000 + 150,000 VND at 25,000 VND and 4,100 KHR per USD.
    assert (quote.worker, quote.employer) == (riel(16_400), riel(24_600))


# -- Myanmar: a voluntary scheme for workers abroad (no product: an agreement option) --------


def test_mm_scheme_abroad_needs_the_agreement_and_its_effective_month() -> None:
    closed = refused("MM-SSB", "voluntary-abroad", [Month(2027, 1)], kyat(200_000),
                     date(2027, 1, 5))
    assert (closed.code, closed.field) == (ErrorCode.SCHEME_NOT_IN_FORCE, "scheme")
    # Opened from January 2027 (the pilot's effective date): December 2026 is refused.
    early = refused("MM-SSB", "voluntary-abroad", [Month(2026, 12)], kyat(200_000),
                    date(2026, 12, 5), opened=MM_OPEN)
    assert (early.code, early.field) == (ErrorCode.SCHEME_NOT_IN_FORCE, "months")
    # An opening for another fund's scheme opens nothing here.
    other = refused("MM-SSB", "voluntary-abroad", [Month(2027, 1)], kyat(200_000),
                    date(2027, 1, 5), opened=(OpenedScheme("KH-NSSF", "voluntary-abroad",
                                                           Month(2027, 1)),))
    assert other.field == "scheme"


@pytest.mark.parametrize(("income", "monthly"), [
    (200_000, 12_000),  # 6% (the 2012 law's self-employed old-age rate, unverified)
    (124_800, 7_488),  # the assumed floor: 4,800 kyat a day × 26
    (300_000, 18_000),  # the SSB ceiling
])
def test_mm_scheme_abroad_is_six_percent(income: int, monthly: int) -> None:
    quote = price_voluntary_payment("MM-SSB", "voluntary-abroad", months(Month(2027, 1), 3),
                                    kyat(income), kyat(3 * monthly), date(2027, 1, 5),
                                    opened=MM_OPEN)
    assert quote.shares() == ((Payer.VOLUNTARY, kyat(3 * monthly)),)
    high = refused("MM-SSB", "voluntary-abroad", [Month(2027, 1)],
                   Money(30_000_001, Currency.MMK), date(2027, 1, 5), opened=MM_OPEN)
    assert (high.code, high.field) == (ErrorCode.INVALID_AMOUNT, "declared_income")


def test_mm_welfare_fee_is_yearly_and_covers_twelve_months() -> None:
    quote = quote_voluntary_payment("MM-SSB", "migrant-welfare", [Month(2027, 3)], None,
                                    date(2027, 3, 1), opened=MM_OPEN)
    assert (quote.unit, quote.worker, quote.employer) == (
        PaymentUnit.YEAR, kyat(8_400), kyat(12_600))
    assert quote.months == (Month(2027, 3),)
    assert quote.months_covered == tuple(months(Month(2027, 3), 12))
    assert not quote.insurance_periods


# -- Lao PDR: the voluntary scheme (funds.md §1.6; terms unverified) --------------------------


def test_la_voluntary_member_pays_nine_percent_from_2026() -> None:
    quote = price_voluntary_payment("LA-LSSO", "voluntary", months(JAN_2026, 12),
                                    kip(3_000_000), kip(12 * 270_000), PAID)
    assert quote.worker == kip(3_240_000)  # 9% of 3,000,000 = 270,000 kip × 12
    early = refused("LA-LSSO", "voluntary", [Month(2025, 12)], kip(3_000_000), date(2025, 12, 1))
    # The minimum wage (the income floor) is not known before 2026-01.
    assert (early.code, early.field, early.index, early.details) == (
        ErrorCode.PARAMETER_NOT_IN_FORCE, "months", 0, {"parameter": "wage_floor"})
    low = refused("LA-LSSO", "voluntary", [JAN_2026], kip(2_499_999), PAID)
    assert (low.code, low.field) == (ErrorCode.INVALID_AMOUNT, "declared_income")


# -- the amount, the fund, the scheme ---------------------------------------------------------


def test_the_amount_must_be_exactly_the_workers_due() -> None:
    # 22% of 5,000,000 less the poor household's 165,000 = 935,000 dong.
    poor = VoluntaryPayer("poor")
    price_voluntary_payment("VN-VSS", "voluntary-si", [JAN_2026], vnd(5_000_000), vnd(935_000),
                            PAID, payer=poor)
    for amount in (934_999, 935_001, 1_100_000):
        error = refused("VN-VSS", "voluntary-si", [JAN_2026], vnd(5_000_000), vnd(amount), PAID,
                        payer=poor)
        assert (error.code, error.field) == (ErrorCode.INVALID_AMOUNT, "amount")
        assert error.details == {"expected": {"amount_minor": "935000", "currency": "VND"}}
    for amount in (0, -935_000):
        error = refused("VN-VSS", "voluntary-si", [JAN_2026], vnd(5_000_000), vnd(amount), PAID,
                        payer=poor)
        assert (error.code, error.field, error.details) == (
            ErrorCode.INVALID_AMOUNT, "amount", {})
    baht = refused("VN-VSS", "voluntary-si", [JAN_2026], vnd(5_000_000),
                   Money(935_000, Currency.THB), PAID, payer=poor)
    assert (baht.code, baht.field) == (ErrorCode.CURRENCY_MISMATCH, "amount")


@pytest.mark.parametrize(("fund", "scheme", "code", "field"), [
    ("XX-NONE", "voluntary-si", ErrorCode.UNKNOWN_FUND, "fund"),
    ("VN-VSS", "nothing", ErrorCode.UNKNOWN_SCHEME, "scheme"),
    ("VN-VSS", "retirement-survivorship", ErrorCode.UNKNOWN_SCHEME, "scheme"),  # compulsory
    ("TH-SSO", "s39-voluntary", ErrorCode.UNKNOWN_SCHEME, "scheme"),  # a host fund's scheme
    ("MM-SSB", "old-age", ErrorCode.UNKNOWN_SCHEME, "scheme"),
])
def test_only_the_voluntary_schemes_of_known_funds(fund: str, scheme: str, code: ErrorCode,
                                                   field: str) -> None:
    error = refused(fund, scheme, [JAN_2026], None, PAID)
    assert (error.code, error.field) == (code, field)


def test_the_terms_name_the_welfare_funds_benefits_and_only_voluntary_schemes_have_terms() -> None:
    from decimal import Decimal

    from ledger.adapters.registry import get_adapter

    vn = get_adapter("VN-VSS")
    terms = vn.voluntary_terms("migrant-welfare", JAN_2026)
    assert terms is not None and not terms.needs_income and not terms.insurance_periods
    # funds.md §1.3: 7-20m early return, 10-30m accident or illness, 1m a month for up to 6
    # months of vocational support, 40m on death or disappearance.
    assert [(b.event, b.amount_min, b.amount_max, b.per_month_for) for b in terms.benefits] == [
        ("early_return_disaster_war", Decimal(7_000_000), Decimal(20_000_000), None),
        ("accident_or_illness", Decimal(10_000_000), Decimal(30_000_000), None),
        ("vocational_support", Decimal(1_000_000), Decimal(1_000_000), 6),
        ("death_or_disappearance", Decimal(40_000_000), Decimal(40_000_000), None)]
    si = vn.voluntary_terms("voluntary-si", JAN_2026)
    assert si is not None and si.needs_income and si.benefits == ()
    assert (si.income_floor_minor, si.income_ceiling_minor, si.support_months_max) == (
        1_500_000, 46_800_000, 120)
    for fund, scheme in (("VN-VSS", "retirement-survivorship"), ("KH-NSSF", "pension"),
                         ("MM-SSB", "health-social-care"), ("LA-LSSO", "social-security"),
                         ("TH-SSO", "s39-voluntary")):
        assert get_adapter(fund).voluntary_terms(scheme, JAN_2026) is None, (fund, scheme)


def test_the_rules_own_plan_clamps_what_the_front_door_refuses() -> None:
    """The front door refuses an income outside the bounds; the plan underneath (read by the
    simulator's arrays) clamps to them, so the two can never price an out-of-range income
    differently: 1,000,000 dong is priced as the 1,500,000 floor, 50,000,000 as the ceiling."""
    from ledger.adapters.context import WorkerContext
    from ledger.adapters.registry import get_adapter

    vn = get_adapter("VN-VSS")
    low = vn.contribution(WorkerContext(), "voluntary-si", JAN_2026, vnd(1_000_000))
    assert (low.wage_base, low.shares) == (vnd(1_500_000), ((Payer.VOLUNTARY, vnd(330_000)),))
    high = vn.contribution(WorkerContext(support_group="other"), "voluntary-si", JAN_2026,
                           vnd(50_000_000))
    assert high.wage_base == vnd(46_800_000)
    assert high.shares == ((Payer.GOVERNMENT, vnd(66_000)), (Payer.VOLUNTARY, vnd(10_230_000)))
