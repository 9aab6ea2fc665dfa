"""Exact ratio rounding agrees with Decimal quantize, mode for mode, scalar and vectorised."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Rounding, round_to_int
from ledger.settlement.rounding import round_ratio, round_ratio_array

INT64 = st.integers(-(2**62), 2**62)


@settings(max_examples=300, deadline=None)
@given(INT64, st.integers(0, 12), st.sampled_from(Rounding))
def test_round_ratio_matches_decimal_for_decimal_denominators(
    numerator: int, digits: int, rounding: Rounding
) -> None:
    expected = round_to_int(Decimal(numerator).scaleb(-digits), rounding)
    assert round_ratio(numerator, 10**digits, rounding) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(INT64, max_size=40), st.integers(1, 2**40), st.sampled_from(Rounding))
def test_array_rounding_matches_scalar(
    values: list[int], denominator: int, rounding: Rounding
) -> None:
    got = round_ratio_array(np.array(values, dtype=np.int64), denominator, rounding)
    assert got.tolist() == [round_ratio(v, denominator, rounding) for v in values]


def test_a_negative_denominator_flips_the_sign_first() -> None:
    assert round_ratio(7, -2, Rounding.FLOOR) == -4
    assert round_ratio(-7, -2, Rounding.FLOOR) == 3


def test_zero_denominators_are_refused() -> None:
    with pytest.raises(DomainError) as scalar:
        round_ratio(1, 0, Rounding.DOWN)
    assert (scalar.value.code, scalar.value.field) == (ErrorCode.INVALID_INPUT, None)
    assert scalar.value.message == "cannot round a ratio with denominator 0"
    with pytest.raises(DomainError) as array:
        round_ratio_array(np.array([1], dtype=np.int64), 0, Rounding.DOWN)
    assert (array.value.code, array.value.field) == (ErrorCode.INVALID_INPUT, None)
    assert array.value.message == "denominator must be in 1..2**62, not 0"


def test_array_denominators_up_to_2_pow_62_are_taken_and_larger_refused() -> None:
    got = round_ratio_array(np.array([2**62 - 1, 2**61], dtype=np.int64), 2**62, Rounding.HALF_UP)
    assert got.tolist() == [1, 1]
    with pytest.raises(DomainError) as err:
        round_ratio_array(np.array([1], dtype=np.int64), 2**62 + 1, Rounding.HALF_UP)
    assert err.value.code is ErrorCode.INVALID_INPUT
    assert err.value.message == f"denominator must be in 1..2**62, not {2**62 + 1}"


# Tenths: exact ties from an odd and an even floor on both sides of zero, and values off the tie.
# The random tests above almost never draw an exact tie; this table names every mode's answer.
TENTHS = [25, -25, 15, -15, 16, -16, 14, 5, -5]  # 2.5, -2.5, 1.5, -1.5, 1.6, -1.6, 1.4, .5, -.5
TIE_TABLE = [
    (Rounding.HALF_UP, [3, -3, 2, -2, 2, -2, 1, 1, -1]),
    (Rounding.HALF_EVEN, [2, -2, 2, -2, 2, -2, 1, 0, 0]),
    (Rounding.DOWN, [2, -2, 1, -1, 1, -1, 1, 0, 0]),
    (Rounding.UP, [3, -3, 2, -2, 2, -2, 2, 1, -1]),
    (Rounding.FLOOR, [2, -3, 1, -2, 1, -2, 1, 0, -1]),
    (Rounding.CEILING, [3, -2, 2, -1, 2, -1, 2, 1, 0]),
]


@pytest.mark.parametrize(("rounding", "expected"), TIE_TABLE)
def test_rounding_modes_on_ties_and_fractions(rounding: Rounding, expected: list[int]) -> None:
    assert [round_ratio(n, 10, rounding) for n in TENTHS] == expected
    assert [round_ratio(-n, -10, rounding) for n in TENTHS] == expected  # same ratio
    # the FX conversion's array path (netting.convert_to_settlement): amount × 1 / 10
    assert round_ratio_array(np.array(TENTHS, dtype=np.int64), 10, rounding).tolist() == expected
