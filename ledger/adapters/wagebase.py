"""How a fund turns a declared wage into its contribution base, scalar and vectorised.

Four shapes cover the five funds: a clamp (Thai, Vietnamese, Myanmar and Cambodian pension
wages), a step table (Cambodian wage ranks, Japanese remuneration grades), a fixed base
(Thai s39/s40, Japanese National Pension) and "the worker's prior wage, else a fixed base"
(Vietnamese contract workers abroad). Each has a plain-int `scalar` and an int64 `array` form that
must agree exactly; the property tests check it.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from ledger.adapters.arith import IntArray
from ledger.adapters.context import WorkerContext


class WageBase(Protocol):
    def scalar(self, wage_minor: int, context: WorkerContext) -> int: ...

    def array(self, wages: IntArray, columns: Mapping[str, IntArray]) -> IntArray: ...


@dataclass(frozen=True, slots=True)
class Clamp:
    """The wage itself, raised to `floor` and cut at `ceiling` (None: no ceiling)."""

    floor: int
    ceiling: int | None

    def scalar(self, wage_minor: int, context: WorkerContext) -> int:
        base = max(wage_minor, self.floor)
        return base if self.ceiling is None else min(base, self.ceiling)

    def array(self, wages: IntArray, columns: Mapping[str, IntArray]) -> IntArray:
        base: IntArray = np.maximum(wages, np.int64(self.floor))
        if self.ceiling is not None:
            base = np.minimum(base, np.int64(self.ceiling))
        return base


@dataclass(frozen=True, slots=True)
class Steps:
    """A lookup table: `values[i]` for the i-th interval cut by ascending `bounds`.

    `lower_inclusive=True`: a wage equal to a bound belongs to the step above it (Japanese
    grades: "93,000 yen or more"). False: it belongs to the step below (Cambodian ranks:
    "200,001-250,000", so exactly 200,000 is still rank 1).
    """

    bounds: tuple[int, ...]
    values: tuple[int, ...]  # len(bounds) + 1
    lower_inclusive: bool

    def __post_init__(self) -> None:
        if len(self.values) != len(self.bounds) + 1 or list(self.bounds) != sorted(self.bounds):
            raise ValueError("steps need ascending bounds and one more value than bounds")

    def index(self, wage_minor: int) -> int:
        if self.lower_inclusive:
            return bisect.bisect_right(self.bounds, wage_minor)
        return bisect.bisect_left(self.bounds, wage_minor)

    def scalar(self, wage_minor: int, context: WorkerContext) -> int:
        return self.values[self.index(wage_minor)]

    def array(self, wages: IntArray, columns: Mapping[str, IntArray]) -> IntArray:
        side: Literal["left", "right"] = "right" if self.lower_inclusive else "left"
        idx = np.searchsorted(np.asarray(self.bounds, dtype=np.int64), wages, side=side)
        values: IntArray = np.asarray(self.values, dtype=np.int64)[idx]
        return values


@dataclass(frozen=True, slots=True)
class Fixed:
    """A prescribed base whatever the wage (flat premiums use it with a 100% rate)."""

    amount: int

    def scalar(self, wage_minor: int, context: WorkerContext) -> int:
        return self.amount

    def array(self, wages: IntArray, columns: Mapping[str, IntArray]) -> IntArray:
        return np.full(wages.shape, self.amount, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class PriorOrFixed:
    """The worker's prior insured wage if known (context `prior_si_wage`, column
    `prior_si_wage_minor`, 0 meaning unknown), else a prescribed base."""

    default: int

    def scalar(self, wage_minor: int, context: WorkerContext) -> int:
        prior = context.prior_si_wage
        return prior.amount_minor if prior is not None and prior.amount_minor > 0 else self.default

    def array(self, wages: IntArray, columns: Mapping[str, IntArray]) -> IntArray:
        prior = columns.get("prior_si_wage_minor")
        if prior is None:
            return np.full(wages.shape, self.default, dtype=np.int64)
        base: IntArray = np.where(prior > 0, prior, np.int64(self.default)).astype(np.int64)
        return base
