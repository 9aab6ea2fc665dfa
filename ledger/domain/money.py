"""Money: integer minor units with an ISO 4217 currency; every conversion names its rounding.

Owns the currency table (exponents), the `Money` value type, rounding modes and the wire form
`{"amount_minor": "123456", "currency": "THB"}` (amounts are strings on the wire because JSON
numbers above 2**53 lose precision and signed payloads must canonicalise exactly).
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ledger.domain.errors import DomainError, ErrorCode


class Currency(StrEnum):
    """Currencies the hub books. Exponent = number of minor-unit digits (ISO 4217)."""

    KHR = "KHR"
    LAK = "LAK"
    MMK = "MMK"
    THB = "THB"
    VND = "VND"
    JPY = "JPY"
    MYR = "MYR"
    USD = "USD"

    @property
    def exponent(self) -> int:
        return _EXPONENTS[self]

    @classmethod
    def parse(cls, value: object, field: str = "currency") -> Currency:
        if isinstance(value, Currency):
            return value
        if isinstance(value, str) and value in cls.__members__:
            return cls(value)
        raise DomainError(
            ErrorCode.UNKNOWN_CURRENCY,
            f"unknown currency {value!r}; expected one of {', '.join(cls.__members__)}",
            field=field,
        )


# ISO 4217 minor units. KHR, LAK and MMK formally have 2 even though coins are not in use.
_EXPONENTS: dict[Currency, int] = {
    Currency.KHR: 2,
    Currency.LAK: 2,
    Currency.MMK: 2,
    Currency.THB: 2,
    Currency.VND: 0,
    Currency.JPY: 0,
    Currency.MYR: 2,
    Currency.USD: 2,
}

# Ledger balances are stored in signed 64-bit integers (PostgreSQL BIGINT).
AMOUNT_MINOR_MAX = 2**63 - 1


class Rounding(StrEnum):
    """Named rounding modes; a fund's parameters choose one for each computation."""

    HALF_UP = "half_up"  # 0.5 away from zero: common statutory rule
    HALF_EVEN = "half_even"  # banker's rounding
    DOWN = "down"  # toward zero (truncate): "fractions of a satang are dropped"
    UP = "up"  # away from zero
    FLOOR = "floor"  # toward -infinity
    CEILING = "ceiling"  # toward +infinity

    @property
    def decimal_mode(self) -> str:
        return _DECIMAL_MODES[self]


_DECIMAL_MODES: dict[Rounding, str] = {
    Rounding.HALF_UP: decimal.ROUND_HALF_UP,
    Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    Rounding.DOWN: decimal.ROUND_DOWN,
    Rounding.UP: decimal.ROUND_UP,
    Rounding.FLOOR: decimal.ROUND_FLOOR,
    Rounding.CEILING: decimal.ROUND_CEILING,
}

# Enough digits for any product of a 64-bit amount and a rate with 18 decimals.
_CONTEXT = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.Overflow])


def round_to_int(value: Decimal, rounding: Rounding) -> int:
    """Round a Decimal to an integer with the named mode (no float ever involved)."""
    return int(value.quantize(Decimal(1), rounding=rounding.decimal_mode, context=_CONTEXT))


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in integer minor units of one currency. Immutable; arithmetic keeps currency."""

    amount_minor: int
    currency: Currency

    def __post_init__(self) -> None:
        # bool is an int subclass; a float or Decimal here is always a bug upstream.
        if type(self.amount_minor) is not int:
            raise DomainError(
                ErrorCode.INVALID_AMOUNT,
                f"amount_minor must be an integer, got {type(self.amount_minor).__name__}",
                field="amount_minor",
            )
        if abs(self.amount_minor) > AMOUNT_MINOR_MAX:
            raise DomainError(
                ErrorCode.INVALID_AMOUNT, "amount_minor exceeds 64 bits", field="amount_minor"
            )
        if not isinstance(self.currency, Currency):
            object.__setattr__(self, "currency", Currency.parse(self.currency))

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: Currency) -> Money:
        return cls(0, currency)

    @classmethod
    def of_major(cls, major: Decimal | str | int, currency: Currency, rounding: Rounding) -> Money:
        """From a major-unit amount (e.g. Decimal('750.005') THB), rounding to minor units."""
        if isinstance(major, float):
            raise DomainError(ErrorCode.INVALID_AMOUNT, "floats are not money", field="amount")
        scaled = Decimal(major).scaleb(currency.exponent, context=_CONTEXT)
        return cls(round_to_int(scaled, rounding), currency)

    @classmethod
    def from_wire(cls, data: Any, field: str = "amount") -> Money:
        """Parse `{"amount_minor": "123", "currency": "THB"}`; the amount must be a digit string."""
        if not isinstance(data, dict):
            raise DomainError(ErrorCode.INVALID_AMOUNT, "money must be an object", field=field)
        currency = Currency.parse(data.get("currency"), field=f"{field}.currency")
        return cls(parse_amount_minor(data.get("amount_minor"), f"{field}.amount_minor"), currency)

    # -- views ----------------------------------------------------------------------------------
    def to_wire(self) -> dict[str, str]:
        return {"amount_minor": str(self.amount_minor), "currency": self.currency.value}

    def to_major(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-self.currency.exponent, context=_CONTEXT)

    def __str__(self) -> str:
        exp = self.currency.exponent
        return f"{self.to_major():.{exp}f} {self.currency.value}"

    def display(self) -> str:
        """For a person: major units with the currency's decimals and thousands separated,
        `268,975.00 THB`, `1,185,840 JPY` (exact: no rounding, the decimals are the minor
        units)."""
        exp = self.currency.exponent
        return f"{self.to_major():,.{exp}f} {self.currency.value}"

    # -- arithmetic -----------------------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if other.currency is not self.currency:
            raise DomainError(
                ErrorCode.CURRENCY_MISMATCH,
                f"cannot combine {self.currency} and {other.currency}",
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor <= other.amount_minor

    def times(self, rate: Decimal, rounding: Rounding) -> Money:
        """This amount multiplied by a rate (e.g. Decimal('0.05')), rounded to minor units."""
        product = Decimal(self.amount_minor) * _as_rate(rate)
        return Money(round_to_int(product, rounding), self.currency)

    def convert(self, to: Currency, rate: Decimal, rounding: Rounding) -> Money:
        """Convert at `rate` units of `to` per one unit of this currency (major units)."""
        minor = Decimal(self.amount_minor).scaleb(to.exponent - self.currency.exponent)
        return Money(round_to_int(minor * _as_rate(rate), rounding), to)


def _as_rate(rate: Decimal) -> Decimal:
    if not isinstance(rate, Decimal):
        raise DomainError(ErrorCode.INVALID_RATE, f"rates are Decimal, got {type(rate).__name__}")
    if not rate.is_finite():
        raise DomainError(ErrorCode.INVALID_RATE, "rate must be finite")
    return rate


def parse_amount_minor(value: object, field: str = "amount_minor") -> int:
    """Parse a wire amount: a string of ASCII digits with an optional leading '-'.

    Integers are accepted too (convenient in Python callers) but never floats or decimals.
    """
    if type(value) is int:
        amount = value
    elif isinstance(value, str):
        body = value[1:] if value.startswith("-") else value
        if not body or not body.isascii() or not body.isdigit() or len(body) > 19:
            raise DomainError(
                ErrorCode.INVALID_AMOUNT,
                f"amount_minor must be a string of digits in minor units, got {value!r}",
                field=field,
            )
        amount = int(value)
    else:
        raise DomainError(
            ErrorCode.INVALID_AMOUNT,
            f"amount_minor must be a string of digits, got {type(value).__name__}",
            field=field,
        )
    if abs(amount) > AMOUNT_MINOR_MAX:
        raise DomainError(ErrorCode.INVALID_AMOUNT, "amount_minor exceeds 64 bits", field=field)
    return amount
