"""The adapters' exact arithmetic at its edges: every mode on ties (scalar, Decimal and array),
quantum steps, the int64 limit, rounding steps from parameters files and fractions as text."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from ledger.adapters.arith import (
    apply_rate,
    apply_rate_array,
    fraction_text,
    percent,
    quantum_minor,
    round_div_array,
    round_fraction,
)
from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Rounding

I64_MAX = 2**63 - 1

# Tenths: exact ties from an odd and an even floor on both sides of zero, and values off the tie.
TENTHS = [25, -25, 15, -15, 16, -16, 14, 5, -5, 20, -20, 1, -1]
TIE_TABLE = [
    (Rounding.HALF_UP, [3, -3, 2, -2, 2, -2, 1, 1, -1, 2, -2, 0, 0]),
    (Rounding.HALF_EVEN, [2, -2, 2, -2, 2, -2, 1, 0, 0, 2, -2, 0, 0]),
    (Rounding.DOWN, [2, -2, 1, -1, 1, -1, 1, 0, 0, 2, -2, 0, 0]),
    (Rounding.UP, [3, -3, 2, -2, 2, -2, 2, 1, -1, 2, -2, 1, -1]),
    (Rounding.FLOOR, [2, -3, 1, -2, 1, -2, 1, 0, -1, 2, -2, 0, -1]),
    (Rounding.CEILING, [3, -2, 2, -1, 2, -1, 2, 1, 0, 2, -2, 1, 0]),
]


@pytest.mark.parametrize(("rounding", "expected"), TIE_TABLE)
def test_every_path_rounds_ties_and_fractions_by_the_table(
    rounding: Rounding, expected: list[int]
) -> None:
    tenth = Fraction(1, 10)
    assert [round_fraction(Fraction(n, 10), rounding) for n in TENTHS] == expected
    assert [apply_rate(n, tenth, rounding) for n in TENTHS] == expected
    amounts = np.array(TENTHS, dtype=np.int64)
    assert apply_rate_array(amounts, tenth, rounding).tolist() == expected
    assert round_div_array(amounts, np.int64(10), rounding).tolist() == expected
    per_row = np.full(len(TENTHS), 10, dtype=np.int64)  # one denominator per element
    assert round_div_array(amounts, per_row, rounding).tolist() == expected


@pytest.mark.parametrize(("rounding", "expected"), TIE_TABLE)
def test_a_quantum_rounds_to_whole_steps_with_the_same_table(
    rounding: Rounding, expected: list[int]
) -> None:
    # n × 10 minor units at rate 1/10 is n tenths of a 10-unit step: the table, times 10.
    amounts = [10 * n for n in TENTHS]
    scaled = [10 * e for e in expected]
    rate = Fraction(1, 10)
    assert [round_fraction(Fraction(a, 10), rounding, 10) for a in amounts] == scaled
    assert [apply_rate(a, rate, rounding, 10) for a in amounts] == scaled
    array = apply_rate_array(np.array(amounts, dtype=np.int64), rate, rounding, 10)
    assert array.tolist() == scaled


@pytest.mark.parametrize(("rounding", "expected"), [
    (Rounding.HALF_UP, [1, -1, 2, -2]), (Rounding.HALF_EVEN, [0, 0, 2, -2]),
    (Rounding.DOWN, [0, 0, 1, -1]), (Rounding.UP, [1, -1, 2, -2]),
    (Rounding.FLOOR, [0, -1, 1, -2]), (Rounding.CEILING, [1, 0, 2, -1]),
])
def test_halves_of_one_and_three(rounding: Rounding, expected: list[int]) -> None:
    odd = np.array([1, -1, 3, -3], dtype=np.int64)
    assert round_div_array(odd, np.int64(2), rounding).tolist() == expected
    assert [round_fraction(Fraction(int(n), 2), rounding) for n in odd] == expected


def test_percent_is_exact() -> None:
    assert percent(Decimal("9.15")) == Fraction(183, 2000)
    assert percent(5) == Fraction(1, 20)
    assert percent(Decimal("0")) == 0


def test_a_zero_rate_gives_zeros_of_the_same_shape() -> None:
    amounts = np.array([I64_MAX, -5, 7], dtype=np.int64)
    zeros = apply_rate_array(amounts, Fraction(0), Rounding.UP)
    assert zeros.tolist() == [0, 0, 0] and zeros.dtype == np.int64


def test_an_empty_array_gives_an_empty_array() -> None:
    empty = apply_rate_array(np.array([], dtype=np.int64), Fraction(3, 100), Rounding.HALF_UP)
    assert empty.tolist() == []


@pytest.mark.parametrize("numerator", [3, -3])
def test_amounts_up_to_the_int64_limit_are_taken_and_one_more_is_refused(numerator: int) -> None:
    rate = Fraction(numerator, 100)
    limit = I64_MAX // (2 * 3)  # the half-way test doubles a remainder
    exact = apply_rate_array(np.array([limit, -limit], dtype=np.int64), rate, Rounding.HALF_UP)
    assert exact.tolist() == [apply_rate(limit, rate, Rounding.HALF_UP),
                              apply_rate(-limit, rate, Rounding.HALF_UP)]
    for beyond in (limit + 1, -(limit + 1)):
        with pytest.raises(DomainError) as err:
            apply_rate_array(np.array([0, beyond], dtype=np.int64), rate, Rounding.HALF_UP)
        assert (err.value.code, err.value.field) == (ErrorCode.OVERFLOW, None)
        assert err.value.message == "amount too large for an exact int64 rate product"


@pytest.mark.parametrize(("step", "exponent", "minor"), [
    (Decimal("0.01"), 2, 1), (Decimal("1"), 2, 100), (Decimal("0.1"), 2, 10),
    (Decimal("1000"), 0, 1000), (Decimal("1"), 0, 1), (Decimal("10.00"), 2, 1000)])
def test_rounding_steps_in_major_units_become_minor_units(
    step: Decimal, exponent: int, minor: int
) -> None:
    assert quantum_minor(step, exponent) == minor


@pytest.mark.parametrize(("step", "exponent", "message"), [
    (Decimal("0.001"), 2,
     "rounding step 0.001 is not a positive whole number of minor units"),
    (Decimal("0"), 2, "rounding step 0 is not a positive whole number of minor units"),
    (Decimal("-0.01"), 2, "rounding step -0.01 is not a positive whole number of minor units"),
    (Decimal("0.05"), 2, "rounding step 0.05 must be a power of ten of minor units"),
    (Decimal("0.20"), 2, "rounding step 0.20 must be a power of ten of minor units"),
    (Decimal("11"), 0, "rounding step 11 must be a power of ten of minor units"),
])
def test_other_rounding_steps_are_refused_by_code_and_message(
    step: Decimal, exponent: int, message: str
) -> None:
    with pytest.raises(DomainError) as err:
        quantum_minor(step, exponent)
    assert (err.value.code, err.value.field) == (ErrorCode.INVALID_PARAMETERS, None)
    assert err.value.message == message


@pytest.mark.parametrize(("value", "text"), [
    (Fraction(55, 2), "27.5"), (Fraction(1, 3), "1/3"), (Fraction(1, 6), "1/6"),
    (Fraction(2, 7), "2/7"), (Fraction(100), "100"), (Fraction(0), "0"),
    (Fraction(1, 20), "0.05"), (Fraction(-3, 4), "-0.75"), (Fraction(7, 40), "0.175"),
    (Fraction(1, 2), "0.5"), (Fraction(250, 1), "250"), (Fraction(1001, 10), "100.1"),
    (Fraction(4, 25), "0.16"), (Fraction(1, 8), "0.125"), (Fraction(3, 1280), "0.00234375"),
    (Fraction(-1, 10**7), "-0.0000001"), (Fraction(-5), "-5"), (Fraction(-1, 3), "-1/3"),
    # more digits than a Decimal context holds: every one is kept
    (Fraction(1, 2**45), "0.000000000000028421709430404007434844970703125"),
    (Fraction(12345678901234567890123456796, 100), "123456789012345678901234567.96"),
    # a large odd factor next to a 2: not a terminating decimal, whatever floats would say
    (Fraction(1, 2 * (2**60 + 1)), f"1/{2 * (2**60 + 1)}"),
])
def test_fractions_print_as_decimals_when_they_terminate(value: Fraction, text: str) -> None:
    assert fraction_text(value) == text

