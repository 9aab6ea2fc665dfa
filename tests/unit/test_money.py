"""Money: integer minor units, exponents, named rounding, wire format, no floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import AMOUNT_MINOR_MAX, Currency, Money, Rounding, parse_amount_minor


def test_exponents_follow_iso_4217() -> None:
    assert {c.value: c.exponent for c in Currency} == {
        "KHR": 2, "LAK": 2, "MMK": 2, "THB": 2, "VND": 0, "JPY": 0, "MYR": 2, "USD": 2}


@pytest.mark.parametrize(("value", "mode", "expected"), [
    ("750.005", Rounding.HALF_UP, 75001),
    ("750.005", Rounding.HALF_EVEN, 75000),
    ("750.015", Rounding.HALF_EVEN, 75002),
    ("750.009", Rounding.DOWN, 75000),
    ("750.001", Rounding.UP, 75001),
    ("-750.005", Rounding.HALF_UP, -75001),
    ("-750.001", Rounding.FLOOR, -75001),
    ("-750.009", Rounding.CEILING, -75000),
])
def test_of_major_names_its_rounding(value: str, mode: Rounding, expected: int) -> None:
    assert Money.of_major(value, Currency.THB, mode) == Money(expected, Currency.THB)


def test_times_and_convert_round_as_told() -> None:
    wage = Money(1_650_00, Currency.THB)  # the Thai floor, 1,650 THB
    assert wage.times(Decimal("0.05"), Rounding.HALF_UP) == Money(82_50, Currency.THB)
    assert Money(3333, Currency.THB).times(Decimal("0.5"), Rounding.HALF_EVEN).amount_minor \
        == 1666
    # 100.00 USD at 25,400.5 VND per USD -> 2,540,050 VND (VND has no minor unit)
    usd = Money(100_00, Currency.USD)
    assert usd.convert(Currency.VND, Decimal("25400.5"), Rounding.HALF_UP) == Money(
        2_540_050, Currency.VND)
    # 1,000 JPY at 0.0065 USD per JPY -> 6.50 USD
    assert Money(1000, Currency.JPY).convert(Currency.USD, Decimal("0.0065"),
                                             Rounding.HALF_UP) == Money(650, Currency.USD)


def test_floats_are_never_money() -> None:
    with pytest.raises(DomainError) as err:
        Money(1.5, Currency.THB)  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.INVALID_AMOUNT
    with pytest.raises(DomainError):
        Money(True, Currency.THB)
    with pytest.raises(DomainError):
        Money(1, Currency.THB).times(0.05, Rounding.HALF_UP)  # type: ignore[arg-type]


def test_currencies_do_not_mix() -> None:
    with pytest.raises(DomainError) as err:
        Money(1, Currency.THB) + Money(1, Currency.JPY)
    assert err.value.code is ErrorCode.CURRENCY_MISMATCH


@pytest.mark.parametrize("bad", ["1.5", "1e3", "", "-", " 1", "１２", "+1", 1.0, None,
                                 "9" * 20, str(AMOUNT_MINOR_MAX + 1)])
def test_wire_amounts_are_digit_strings(bad: object) -> None:
    with pytest.raises(DomainError) as err:
        parse_amount_minor(bad)
    assert err.value.code is ErrorCode.INVALID_AMOUNT


@given(st.integers(-AMOUNT_MINOR_MAX, AMOUNT_MINOR_MAX), st.sampled_from(list(Currency)))
def test_wire_round_trip(amount: int, currency: Currency) -> None:
    money = Money(amount, currency)
    assert Money.from_wire(money.to_wire()) == money


@given(st.integers(0, 10**12), st.integers(0, 10**6))
def test_half_up_is_exact_integer_arithmetic(amount: int, rate_ppm: int) -> None:
    """The Decimal path equals pure integer half-up rounding: no binary float anywhere."""
    got = Money(amount, Currency.THB).times(Decimal(rate_ppm) / 10**6, Rounding.HALF_UP)
    assert got.amount_minor == (2 * amount * rate_ppm + 10**6) // (2 * 10**6)


def test_display_follows_each_currencys_convention() -> None:
    assert Money(26_897_500, Currency.THB).display() == "268,975.00 THB"
    assert Money(1_185_840, Currency.JPY).display() == "1,185,840 JPY"
    assert Money(15_120_000, Currency.VND).display() == "15,120,000 VND"
    assert Money(5, Currency.USD).display() == "0.05 USD"
    assert Money(-123_456, Currency.KHR).display() == "-1,234.56 KHR"
