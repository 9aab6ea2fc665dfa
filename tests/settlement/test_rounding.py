"""Exact ratio rounding agrees with Decimal quantize, mode for mode, scalar and vectorised."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.errors import DomainError
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
    with pytest.raises(DomainError):
        round_ratio(1, 0, Rounding.DOWN)
    with pytest.raises(DomainError):
        round_ratio_array(np.array([1], dtype=np.int64), 0, Rounding.DOWN)


# Exact ties (x.5) by hand: HALF_UP goes away from zero, HALF_EVEN to the even neighbour.
TIES = [  # numerator, denominator, HALF_UP, HALF_EVEN
    (1, 2, 1, 0), (3, 2, 2, 2), (5, 2, 3, 2), (-1, 2, -1, 0), (-3, 2, -2, -2), (-5, 2, -3, -2),
    (25, 10, 3, 2), (-25, 10, -3, -2), (35, 10, 4, 4), (7 * 2**40 + 2**39, 2**40, 8, 8),
]


@pytest.mark.parametrize(("numerator", "denominator", "half_up", "half_even"), TIES)
def test_ties_round_by_the_named_mode_scalar_and_array(
    numerator: int, denominator: int, half_up: int, half_even: int
) -> None:
    """The array rounding (FX conversion of a window) at exact ties, which the random tests
    above almost never draw; the scalar rounding agrees."""
    for mode, expected in ((Rounding.HALF_UP, half_up), (Rounding.HALF_EVEN, half_even)):
        array = round_ratio_array(np.array([numerator, 1], dtype=np.int64), denominator, mode)
        assert array.tolist()[0] == expected, mode
        assert round_ratio(numerator, denominator, mode) == expected, mode
