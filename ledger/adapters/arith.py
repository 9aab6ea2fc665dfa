"""Exact rate arithmetic for fund rules: one rounding rule, three implementations.

Rates are `fractions.Fraction` built from the Decimal strings of parameters.yaml (so their
denominators are products of 2 and 5). A share is `round(amount × rate / quantum) × quantum`
with a named `Rounding`:

- `apply_rate` does it with Decimal (exact: a context that traps any inexact step), the reference
  the ledger uses one record at a time;
- `apply_rate_array` does it over numpy int64 arrays with integer floor division and an explicit
  correction per mode, for the simulator;
- `round_fraction` rounds any Fraction (averages divide by a month count) with the same rules.

No float is ever involved. The property tests check the three agree bit for bit.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from ledger.domain.errors import DomainError, ErrorCode
from ledger.domain.money import Rounding, round_to_int

IntArray = npt.NDArray[np.int64]

_I64_MAX = 2**63 - 1
# Exact or nothing: a rate whose division does not terminate within 80 digits is a bug upstream.
_EXACT = decimal.Context(
    prec=80, traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow]
)


def percent(value: Decimal | int) -> Fraction:
    """A percentage from parameters.yaml (e.g. Decimal('9.15')) as an exact fraction."""
    return Fraction(value) / 100


def _round_quotient(p: int, d: int, rounding: Rounding) -> int:
    """round(p / d) for integers, d > 0; the integer twin of the numpy correction below."""
    q, r = divmod(p, d)  # floor division: 0 <= r < d
    if r == 0 or rounding is Rounding.FLOOR:
        return q
    if rounding is Rounding.CEILING:
        return q + 1
    if rounding is Rounding.DOWN:
        return q + (p < 0)
    if rounding is Rounding.UP:
        return q + (p > 0)
    if 2 * r != d:
        return q + (2 * r > d)
    if rounding is Rounding.HALF_UP:  # exactly half: away from zero
        return q + (p > 0)
    return q + (q % 2)  # HALF_EVEN: to the even neighbour


def round_fraction(value: Fraction, rounding: Rounding, quantum: int = 1) -> int:
    """`value` (in minor units) rounded to a multiple of `quantum` minor units."""
    return _round_quotient(value.numerator, value.denominator * quantum, rounding) * quantum


def apply_rate(amount_minor: int, rate: Fraction, rounding: Rounding, quantum: int = 1) -> int:
    """amount × rate rounded to `quantum` minor units, computed with Decimal (the reference)."""
    exact = _EXACT.divide(
        _EXACT.multiply(Decimal(amount_minor), Decimal(rate.numerator)),
        Decimal(rate.denominator * quantum),
    )
    return round_to_int(exact, rounding) * quantum


def apply_rate_array(
    amounts: IntArray, rate: Fraction, rounding: Rounding, quantum: int = 1
) -> IntArray:
    """`apply_rate` over an int64 array: integer arithmetic only, bit-identical results."""
    if rate.numerator == 0:
        return np.zeros_like(amounts)
    limit = _I64_MAX // (2 * abs(rate.numerator))  # 2×: the half-way test doubles a remainder
    if amounts.size and int(np.max(np.abs(amounts))) > limit:
        raise DomainError(ErrorCode.OVERFLOW, "amount too large for an exact int64 rate product")
    p = amounts * np.int64(rate.numerator)
    d = np.int64(rate.denominator * quantum)
    result: IntArray = round_div_array(p, d, rounding) * np.int64(quantum)
    return result


def round_div_array(num: IntArray, den: IntArray | np.int64, rounding: Rounding) -> IntArray:
    """num / den per element (den > 0, an array or one value), rounded with the named mode:
    the array twin of `round_fraction`, integers only."""
    q, r = np.divmod(num, den)
    if rounding is Rounding.FLOOR:
        bump = np.zeros(q.shape, dtype=np.bool_)
    elif rounding is Rounding.CEILING:
        bump = r > 0
    elif rounding is Rounding.DOWN:
        bump = (r > 0) & (num < 0)
    elif rounding is Rounding.UP:
        bump = (r > 0) & (num > 0)
    else:
        twice = 2 * r
        tie = twice == den
        tie_bump = (num > 0) if rounding is Rounding.HALF_UP else (q % 2 == 1)
        bump = (twice > den) | (tie & tie_bump)
    out: IntArray = q + bump.astype(np.int64)
    return out


def quantum_minor(quantum_major: Decimal, exponent: int) -> int:
    """A rounding step written in major units (e.g. 0.01 THB) as minor units (1 satang)."""
    scaled = quantum_major.scaleb(exponent)
    if scaled != scaled.to_integral_value() or scaled <= 0:
        raise DomainError(
            ErrorCode.INVALID_PARAMETERS,
            f"rounding step {quantum_major} is not a positive whole number of minor units",
        )
    steps = int(scaled)
    if str(steps).rstrip("0") != "1":
        # Decimal division by the step must terminate: keep steps to powers of ten.
        raise DomainError(
            ErrorCode.INVALID_PARAMETERS,
            f"rounding step {quantum_major} must be a power of ten of minor units",
        )
    return steps


def fraction_text(value: Fraction) -> str:
    """An exact fraction as a decimal string when it terminates (27.5), else "n/d".

    Every digit is kept: the digits are computed with integers, not by a Decimal division,
    which would round beyond the context's 28 significant digits."""
    d, places = value.denominator, 0
    for p in (2, 5):
        count = 0
        while d % p == 0:
            d //= p
            count += 1
        places = max(places, count)
    if d != 1:
        return f"{value.numerator}/{value.denominator}"
    scaled = abs(value.numerator) * 10**places // value.denominator  # exact: d | 10**places
    digits = str(scaled).rjust(places + 1, "0")
    whole, fraction = digits[: len(digits) - places], digits[len(digits) - places:]
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{fraction}" if places else f"{sign}{whole}"
