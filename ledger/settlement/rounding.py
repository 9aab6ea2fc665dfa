"""Exact rounding of a ratio of integers to an integer, one value or a whole numpy array.

Owns the one place where settlement turns an exact rational amount (a pro-rata share
`amount × own/total`, an FX conversion `amount × p/q`) into integer minor units. It agrees with
`ledger.domain.money.round_to_int` mode for mode, but never goes through a `Decimal` quotient:
140/180 of an amount has no finite decimal expansion, so dividing first and rounding after would
depend on the context precision. Here the remainder decides, which is exact for any size of int.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Rounding

Int64Array = npt.NDArray[np.int64]
_DENOMINATOR_MAX = 2**62  # so that twice the remainder still fits in int64


def round_ratio(numerator: int, denominator: int, rounding: Rounding) -> int:
    """`numerator / denominator` rounded to an integer with the named mode (Python ints, exact)."""
    if denominator == 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "cannot round a ratio with denominator 0")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    floor, remainder = divmod(numerator, denominator)  # 0 <= remainder < denominator
    if remainder == 0:
        return floor
    return floor + _step_up(floor, remainder, denominator, numerator >= 0, rounding)


def _step_up(floor: int, remainder: int, denominator: int, positive: bool, mode: Rounding) -> int:
    """1 if the inexact quotient rounds up from its floor, else 0."""
    twice = 2 * remainder
    if mode is Rounding.FLOOR:
        return 0
    if mode is Rounding.CEILING:
        return 1
    if mode is Rounding.DOWN:  # toward zero: the floor for positives, the ceiling for negatives
        return 0 if positive else 1
    if mode is Rounding.UP:
        return 1 if positive else 0
    if twice != denominator:  # not a tie: nearest
        return 1 if twice > denominator else 0
    if mode is Rounding.HALF_UP:  # ties away from zero
        return 1 if positive else 0
    return floor % 2  # HALF_EVEN: step up only from an odd floor


def round_ratio_array(numerators: Int64Array, denominator: int, rounding: Rounding) -> Int64Array:
    """Element-wise `numerators / denominator` rounded with the named mode, in int64, no floats.

    The caller guarantees the numerators fit in int64 (see `netting.convert_to_settlement`).
    """
    if not 0 < denominator <= _DENOMINATOR_MAX:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"denominator must be in 1..2**62, not {denominator}"
        )
    floor, remainder = np.divmod(numerators, np.int64(denominator))  # numpy divmod floors too
    inexact = remainder != 0
    twice = 2 * remainder  # remainder < denominator <= 2**62: no overflow
    positive = numerators >= 0
    step = _step_up_array(floor, twice, denominator, positive, rounding)
    result: Int64Array = floor + (inexact & step).astype(np.int64)
    return result


def _step_up_array(
    floor: Int64Array,
    twice: Int64Array,
    denominator: int,
    positive: npt.NDArray[np.bool_],
    mode: Rounding,
) -> npt.NDArray[np.bool_]:
    if mode is Rounding.FLOOR:
        return np.zeros(floor.shape, dtype=np.bool_)
    if mode is Rounding.CEILING:
        return np.ones(floor.shape, dtype=np.bool_)
    if mode is Rounding.DOWN:
        return ~positive
    if mode is Rounding.UP:
        return positive
    above: npt.NDArray[np.bool_] = twice > denominator
    tie: npt.NDArray[np.bool_] = twice == denominator
    if mode is Rounding.HALF_UP:
        return above | (tie & positive)
    odd: npt.NDArray[np.bool_] = floor % 2 == 1
    return above | (tie & odd)  # HALF_EVEN: step up only from an odd floor
