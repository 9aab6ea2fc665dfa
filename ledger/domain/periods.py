"""Calendar months, the unit of contribution and of insurance periods.

A `Month` is stored as the integer yyyymm (e.g. 202601) and written `2026-01` on the wire.
Period kinds and states live here too: a period is in exactly one state at any time.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ledger.domain.errors import DomainError, ErrorCode

_MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")  # ASCII digits only, as the API says


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not (1900 <= self.year <= 2999 and 1 <= self.month <= 12):
            raise DomainError(
                ErrorCode.INVALID_MONTH, f"month out of range: {self.year}-{self.month:02d}"
            )

    @classmethod
    def parse(cls, text: object, field: str = "month") -> Month:
        if isinstance(text, Month):
            return text
        match = _MONTH_RE.match(text) if isinstance(text, str) else None
        if match is None:
            raise DomainError(
                ErrorCode.INVALID_MONTH, f"month must be YYYY-MM, got {text!r}", field=field
            )
        try:
            return cls(int(match.group(1)), int(match.group(2)))
        except DomainError as exc:
            raise DomainError(exc.code, exc.message, field=field) from None

    @classmethod
    def from_int(cls, yyyymm: int) -> Month:
        return cls(yyyymm // 100, yyyymm % 100)

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def to_int(self) -> int:
        return self.year * 100 + self.month

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def plus(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    def months_until(self, other: Month) -> int:
        """Number of months from self to other (other - self)."""
        return (other.year - self.year) * 12 + (other.month - self.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@functools.lru_cache(maxsize=4096)
def month_text(yyyymm: int) -> str:
    """`str(Month.from_int(yyyymm))`, checked the same way, memoised: views render the same few
    hundred months over and over (every acknowledged flow lists its months)."""
    return str(Month.from_int(yyyymm))


class PeriodKind(StrEnum):
    COMPULSORY = "compulsory"
    VOLUNTARY = "voluntary"
    CREDITED = "credited"


class PeriodState(StrEnum):
    """A period is credited to the worker (active) until a lump sum pays for it (withdrawn) or a
    portability transfer moves it to another fund (transferred).

    Withdrawn periods never totalise again."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    TRANSFERRED = "transferred"
